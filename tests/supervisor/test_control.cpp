// The supervisor's OSC surface and process rules against a private dummy jackd: replies
// to the sender, bad input answered with /fail while the audio keeps matching the offline
// render, bundles on their exact frame, one instance per name and port, stale segments,
// JACK going away.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"
#include "supervisor/control_surface.hpp"
#include "common/shm_layout.hpp"

#include <boost/interprocess/shared_memory_object.hpp>
#include <jack/metadata.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <regex>
#include <thread>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using chronus::osc::Arg;
using chronus::osc::Client;
using chronus::osc::Message;
using chronus::osc::Protocol;

class LiveControl : public ::testing::Test {
protected:
    void SetUp() override
    {
        CHRONUS_REQUIRE_JACKD();
        ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
        journal = dir.path / "journal.txt";
        ASSERT_TRUE(sup.start(dir.path, {"--journal", journal.string(), "--patch-dir", (dir.path / "patches").string()}))
            << sup.log();
        auto c = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
        ASSERT_TRUE(c);
        client = std::move(*c);
        ASSERT_TRUE(waitRedundant(*client)) << sup.log();
    }
    void patch()
    {
        for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
                 {"/patch/create", {"s1", "sine", "freq", 440.0f, "gain", 0.5f}},
                 {"/patch/connect", {"s1", "output"}},
                 {"/patch/commit", {}}}) {
            auto r = command(*client, addr, args);
            ASSERT_TRUE(r) << addr;
            ASSERT_EQ(r->address, "/done") << toString(*r);
        }
    }
    // Sends a command that must be refused: passes when the answer is /fail <address>
    // <reason> and the reason contains `fragment`; returns the reason.
    std::string expectFail(const std::string &addr, const std::vector<Arg> &args, const std::string &fragment = "")
    {
        auto r = command(*client, addr, args);
        if (!r) {
            ADD_FAILURE() << addr.substr(0, 80) << ": no reply";
            return {};
        }
        EXPECT_EQ(r->address, "/fail") << addr.substr(0, 80) << " was answered " << toString(*r).substr(0, 300);
        EXPECT_EQ(r->stringAt(0), addr) << "the /fail does not name the address";
        const std::string reason = r->stringAt(1).value_or("");
        EXPECT_FALSE(reason.empty()) << addr.substr(0, 80) << ": /fail without a reason";
        EXPECT_NE(reason.find(fragment), std::string::npos) << addr.substr(0, 80) << ": reason '" << reason
                                                            << "' does not mention '" << fragment << "'";
        return reason;
    }

    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    Supervisor sup;
    fs::path journal;
    std::unique_ptr<Client> client;
};

TEST_F(LiveControl, PingStatusModulesAndSyncAnswerTheSender)
{
    auto pong = client->request("/ping", {std::int32_t(7)}, 2000);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->address, "/pong");
    EXPECT_EQ(pong->intAt(0), 7);

    auto s = status(*client);
    ASSERT_TRUE(s);
    EXPECT_EQ(num(*s, "redundant"), 1);
    EXPECT_EQ(str(*s, "slot0_state") == "active" || str(*s, "slot1_state") == "active", true);
    EXPECT_GT(num(*s, "slot0_pid"), 0);
    EXPECT_GT(num(*s, "slot1_pid"), 0);

    auto modules = client->request("/modules", {}, 2000);
    ASSERT_TRUE(modules);
    ASSERT_EQ(modules->address, "/done");
    EXPECT_NE(modules->stringAt(1).value_or("").find("\"sine\""), std::string::npos);

    patch();
    client->send("/mod/s1/freq", {550.0f});
    ASSERT_TRUE(sync(*client));
    // Once /synced arrived, the output is already at or past the /mod's frame.
    auto after = status(*client);
    ASSERT_TRUE(after);
    EXPECT_GE(num(*after, "slot0_events_applied") + num(*after, "slot1_events_applied"), 1);
}

TEST_F(LiveControl, JackToolsSeeTheOutputAndWorkerPortsTheirNamesAndTheLatency)
{
    jack_status_t st{};
    jack_client_t *probe = jack_client_open("ports-probe", JackNoStartServer, &st);
    ASSERT_TRUE(probe);
    const std::string names[] = {"chronus:out_L", "chronus:out_R", "chronus-worker-0:out_L",
                                 "chronus-worker-0:out_R", "chronus-worker-1:out_L", "chronus-worker-1:out_R"};
    for (const std::string &name : names) {
        jack_port_t *p = jack_port_by_name(probe, name.c_str());
        ASSERT_TRUE(p) << name << " is missing";
        EXPECT_TRUE(jack_port_flags(p) & JackPortIsOutput) << name;
        char *value = nullptr, *type = nullptr;
        ASSERT_EQ(jack_get_property(jack_port_uuid(p), JACK_METADATA_PRETTY_NAME, &value, &type), 0)
            << name << " has no pretty-name";
        EXPECT_NE(std::string(value), "") << name;
        jack_free(value);
        jack_free(type);
    }
    // What comes in at chronus:in_N leaves the outputs lookahead + 2 periods later (4 by
    // default): the outputs' capture latency; the inputs' playback latency is the same.
    jack_port_t *out = jack_port_by_name(probe, "chronus:out_L");
    jack_recompute_total_latencies(probe);
    jack_latency_range_t range{};
    jack_port_get_latency_range(out, JackCaptureLatency, &range);
    EXPECT_EQ(range.min, 4u * jack_get_buffer_size(probe));
    EXPECT_EQ(range.max, 4u * jack_get_buffer_size(probe));
    jack_port_t *in = jack_port_by_name(probe, "chronus:in_1");
    ASSERT_TRUE(in) << "chronus:in_1 is missing";
    jack_port_get_latency_range(in, JackPlaybackLatency, &range);
    EXPECT_EQ(range.max, 4u * jack_get_buffer_size(probe));
    jack_client_close(probe);
}

TEST_F(LiveControl, TcpClientsGetTheirRepliesOnTheSamePort)
{
    auto tcp = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
    ASSERT_TRUE(tcp);
    auto pong = (*tcp)->request("/ping", {}, 2000);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->address, "/pong");
    auto r = (*tcp)->request("/patch/create", {"t1", "sine"}, 2000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->address, "/done");
    // A patch bigger than any UDP datagram (here: 100 KB of JSON) travels over TCP.
    const std::string big = R"({"nodes":[{"id":"t2","type":"sine"}],)" + std::string(100000, ' ') +
                            R"("connections":[{"from":"t2","to":"output"}]})";
    auto loaded = (*tcp)->request("/patch/load", {big}, 5000);
    ASSERT_TRUE(loaded) << "no answer to a 100 KB /patch/load over TCP";
    EXPECT_EQ(loaded->address, "/done") << toString(*loaded).substr(0, 300);
}

TEST_F(LiveControl, BadInputIsAnsweredWithFailAndNeverDisturbsTheAudio)
{
    patch();
    // An envelope (not connected) to gate with wrong words.
    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {"env1", "adsr"}}, {"/patch/commit", {}}}) {
        auto r = command(*client, addr, args);
        ASSERT_TRUE(r && r->address == "/done") << addr;
    }
    Capture cap;
    ASSERT_TRUE(cap.open("chronus"));
    cap.start();

    expectFail("/nonsense", {}, "unknown");
    expectFail("/mod/nosuchnode/freq", {1.0f}, "nosuchnode");
    expectFail("/mod/s1/nosuchparam", {1.0f}, "nosuchparam");
    expectFail("/mod/s1/freq", {});
    expectFail("/mod/s1/freq", {"loud"}, "loud");
    expectFail("/gate/env1", {"maybe"}, "maybe");
    expectFail("/gate/s1", {1}, "has no gate");
    expectFail("/patch/create", {"x"});
    expectFail("/patch/create", {"x", "nosuchtype"}, "nosuchtype");
    expectFail("/patch/commit", {"soon"});
    expectFail("/patch/connect", {"s1", "s1"});
    expectFail("/mod/s1/freq", {chronus::osc::Blob{1, 2, 3}}, "type");
    expectFail("/notify", {"perhaps"});
    expectFail("/patch/delete", {"s1", "extra"}, "argument");
    expectFail("/seq/start", {"nosuchseq", "extra"}, "argument");
    // Huge strings: answered, and the reply is cut to a sane size.
    const std::string huge(60000, 'x');
    const std::string reason = expectFail("/mod/" + huge + "/freq", {1.0f});
    EXPECT_LT(reason.size(), 2000u);
    expectFail("/patch/create", {huge, "sine"});
    ASSERT_TRUE(answers(*client)) << "no answer after huge strings";

    // Out of range: clamped, applied, and reported in /done.
    auto clamped = command(*client, "/mod/s1/freq", {1.0e9f});
    ASSERT_TRUE(clamped);
    EXPECT_EQ(clamped->address, "/done") << toString(*clamped);
    EXPECT_NE(toString(*clamped).find("clamp"), std::string::npos) << toString(*clamped);

    // Malformed datagrams straight at the port.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(sup.port()));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char *garbage[] = {"", "x", "/mod/s1/freq\0\0\0\0,f\0\0", "#bundle\0garbage", "/a\0\0,sssss\0\0\0\0"};
    const std::size_t sizes[] = {0, 1, 20, 15, 16};
    // Each kind is answered: /fail <address as far as readable> "malformed OSC packet: ...".
    timeval wait{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    for (std::size_t i = 0; i < std::size(garbage); ++i) {
        ::sendto(fd, garbage[i], sizes[i], 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
        char answer[2048];
        const ssize_t n = ::recv(fd, answer, sizeof answer, 0);
        ASSERT_GT(n, 8) << "no answer to malformed packet " << i;
        const std::string text(answer, std::size_t(n));
        EXPECT_EQ(text.substr(0, 6), std::string("/fail\0", 6)) << "packet " << i;
        EXPECT_NE(text.find("malformed OSC packet"), std::string::npos) << "packet " << i;
        if (i == 2) { // the address is readable: it is named
            EXPECT_NE(text.find("/mod/s1/freq"), std::string::npos) << "packet " << i;
        }
    }
    for (int round = 0; round < 50; ++round)
        for (std::size_t i = 0; i < std::size(garbage); ++i)
            ::sendto(fd, garbage[i], sizes[i], 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    ASSERT_TRUE(answers(*client)) << "no answer after truncated datagrams";
    std::vector<char> random(1400);
    std::uint32_t seed = 1;
    for (int round = 0; round < 200; ++round) {
        for (char &ch : random)
            ch = char((seed = seed * 1664525u + 1013904223u) >> 24);
        random[0] = '/';
        ::sendto(fd, random.data(), 1 + seed % random.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    }
    ::close(fd);
    ASSERT_TRUE(answers(*client)) << "no answer after malformed datagrams";

    // A flood of valid and invalid commands from a client that never reads its replies.
    auto flooder = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    ASSERT_TRUE(flooder);
    for (int i = 0; i < 5000; ++i) {
        (*flooder)->send("/mod/s1/freq", {float(300 + i % 200)});
        (*flooder)->send("/mod/s1/nosuch", {1.0f});
    }
    ASSERT_TRUE(answers(*client)) << "the supervisor stopped answering after the flood";
    std::this_thread::sleep_for(300ms);
    cap.stop();

    auto s = status(*client);
    ASSERT_TRUE(s);
    EXPECT_EQ(num(*s, "gaps"), 0);
    EXPECT_EQ(num(*s, "divergences"), 0);
    EXPECT_EQ(num(*s, "failovers"), 0);
    EXPECT_EQ(num(*s, "redundant"), 1);
    ASSERT_EQ(sup.stop(), 0) << sup.log();

    // The audio is exactly what the accepted commands describe: no glitch.
    std::uint64_t origin = 0;
    const auto rendered = renderCaptured(cap, journal, dir.path, origin);
    ASSERT_TRUE(rendered) << rendered.error();
    const Comparison cmp = compareWithRender(cap, *rendered, origin, journalDeclarations(journal));
    EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch
                                       << " (" << cmp.declared << " cycle(s) differ as the journal declares)";
    EXPECT_GT(cmp.rms, 0.1);
    if (cmp.excused + cmp.captureGaps > 0)
        std::printf("NOTE: JACK skipped %zu capture cycle(s); %zu cycle(s) left over from skipped cycles\n",
                    cmp.captureGaps, cmp.excused);
}

TEST_F(LiveControl, AFutureBundleTakesEffectOnTheFrameItsTimetagNamesAndALateOneIsCounted)
{
    patch();
    Capture cap;
    ASSERT_TRUE(cap.open("chronus"));
    cap.start();
    std::this_thread::sleep_for(200ms);
    auto before = status(*client);
    ASSERT_TRUE(before);
    const auto origin = journalOrigin(journal);
    ASSERT_TRUE(origin);

    // The frame JACK itself maps "now + 300 ms" to, found through our own client, and the
    // same moment as an NTP timetag.
    auto ntpAt = [](double unixSeconds) {
        const double t = unixSeconds + 2208988800.0;
        return (std::uint64_t(t) << 32) | std::uint64_t((t - std::floor(t)) * 4294967296.0);
    };
    // Both clocks read at one moment: the tightest of a few (wall clock between two JACK reads).
    timespec ts{};
    jack_time_t jackNow = 0, tightest = ~jack_time_t(0);
    double wallNow = 0;
    for (int i = 0; i < 20 && tightest > 20; ++i) {
        const jack_time_t j0 = jack_get_time();
        clock_gettime(CLOCK_REALTIME, &ts);
        const jack_time_t j1 = jack_get_time();
        if (j1 - j0 < tightest) {
            tightest = j1 - j0;
            jackNow = j0 + (j1 - j0) / 2;
            wallNow = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
        }
    }
    // JACK's best estimate of the frame at that time: this cycle's frame and (filtered) start,
    // plus the elapsed time at its best estimate of the period. (jack_time_to_frames uses the
    // time to the predicted next wake-up instead, which jitters by tens of microseconds per
    // cycle on a busy non-real-time server: a few periods' worth after 300 ms.)
    jack_nframes_t cycleFrame = 0;
    jack_time_t cycleUsecs = 0, nextUsecs = 0;
    float periodUsecs = 0;
    ASSERT_EQ(jack_get_cycle_times(cap.client(), &cycleFrame, &cycleUsecs, &nextUsecs, &periodUsecs), 0);
    const std::uint32_t expectAbs = cycleFrame + std::uint32_t(std::llround(
        double(std::int64_t(jackNow + 300000) - std::int64_t(cycleUsecs)) * 256.0 / double(periodUsecs)));
    ASSERT_TRUE(client->sendBundle(ntpAt(wallNow + 0.3), "/mod/s1/gain", {0.125f}));
    auto r = client->receive(2000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->address, "/done") << toString(*r);

    // A bundle whose time has passed takes effect at once and is counted as late.
    clock_gettime(CLOCK_REALTIME, &ts);
    ASSERT_TRUE(client->sendBundle(ntpAt(double(ts.tv_sec) - 1.0), "/mod/s1/freq", {220.0f}));
    auto late = client->receive(2000);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->address, "/done") << toString(*late);
    std::this_thread::sleep_for(1500ms); // the bundle's frame, and a second of the new gain

    ASSERT_TRUE(sync(*client));
    auto after = status(*client);
    ASSERT_TRUE(after);
    EXPECT_EQ(num(*after, "late_commands") - num(*before, "late_commands"), 1);
    cap.stop();
    ASSERT_EQ(sup.stop(), 0) << sup.log();

    // The journal holds the timetag's frame (within JACK's own clock estimate, 1 ms)...
    std::smatch m;
    const std::string text = readText(journal);
    ASSERT_TRUE(std::regex_search(text, m, std::regex("@([0-9]+) /mod/s1/gain")));
    const std::int64_t frame = std::stoll(m[1]);
    const std::int64_t expect = std::int64_t(std::uint32_t(expectAbs - std::uint32_t(*origin)));
    EXPECT_NEAR(double(frame), double(expect), 48.0) << "journal frame " << frame << ", JACK's " << expect;
    // ...and the audio changed exactly there: what went out is the render of that journal.
    std::uint64_t renderOrigin = 0;
    const auto rendered = renderCaptured(cap, journal, dir.path, renderOrigin);
    ASSERT_TRUE(rendered) << rendered.error();
    const Comparison cmp = compareWithRender(cap, *rendered, renderOrigin, journalDeclarations(journal));
    EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch
                                       << " (" << cmp.declared << " cycle(s) differ as the journal declares)";
    // The render itself turns down at that frame and not before.
    const std::vector<float> &L = (*rendered)[0];
    ASSERT_GT(L.size(), std::size_t(frame + 48000));
    auto peak = [&L](std::int64_t from, std::int64_t to) {
        float p = 0;
        for (std::int64_t i = std::max<std::int64_t>(from, 0); i < to; ++i)
            p = std::max(p, std::fabs(L[std::size_t(i)]));
        return p;
    };
    EXPECT_NEAR(peak(frame - 4800, frame), 0.5f, 0.01f);
    EXPECT_NEAR(peak(frame + 24000, frame + 48000), 0.125f, 0.01f);
}

namespace {

std::uint64_t ntpIn(double seconds)
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const double t = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9 + seconds + 2208988800.0;
    return (std::uint64_t(t) << 32) | std::uint64_t((t - std::floor(t)) * 4294967296.0);
}

} // namespace

TEST_F(LiveControl, AFutureCommitIsAnsweredWhenItGoesLiveWithoutHoldingUpOtherClients)
{
    patch();
    ASSERT_TRUE(command(*client, "/patch/create", {"s2", "sine", "freq", 660.0f}));
    ASSERT_TRUE(client->sendBundle(ntpIn(1.5), "/patch/commit", {}));
    const auto sent = std::chrono::steady_clock::now();
    // Another client is answered at once meanwhile.
    auto other = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    ASSERT_TRUE(other);
    auto pong = (*other)->request("/ping", {}, 500);
    ASSERT_TRUE(pong) << "the supervisor stopped reading while a commit waited to go live";
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 500ms);
    // The commit's /done comes once it is live, about 1.5 s later.
    const auto done = awaitMessage(*client, "/done", "/patch/commit", 5000);
    ASSERT_TRUE(done) << "no /done for the commit";
    EXPECT_GT(std::chrono::steady_clock::now() - sent, 1300ms);
    auto s = status(*client);
    ASSERT_TRUE(s);
    EXPECT_GE(num(*s, "frame"), double(done->intAt(done->args.size() - 1).value_or(-1)));
}

namespace {

// How long `c` takes to answer /ping (nullopt: no answer within a second).
std::optional<std::chrono::steady_clock::duration> pingTime(Client &c)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (!c.request("/ping", {}, 1000))
        return std::nullopt;
    return std::chrono::steady_clock::now() - t0;
}

double ms(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

} // namespace

TEST_F(LiveControl, ATcpClientWaitingForItsCommitHoldsUpNoOtherClient)
{
    patch();
    auto tcp = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
    ASSERT_TRUE(tcp);
    auto r = command(**tcp, "/patch/create", {"s2", "sine", "freq", 660.0f});
    ASSERT_TRUE(r && r->address == "/done");
    // A commit stamped 1.5 s ahead: its answer waits until it is live.
    ASSERT_TRUE((*tcp)->sendBundle(ntpIn(1.5), "/patch/commit", {}));
    const auto sent = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(100ms); // the supervisor has read it by now
    // Meanwhile other clients, over UDP and over TCP, are answered at once.
    auto otherTcp = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
    ASSERT_TRUE(otherTcp);
    std::vector<double> udpMs, tcpMs;
    for (int i = 0; i < 5; ++i) {
        const auto u = pingTime(*client);
        const auto t = pingTime(**otherTcp);
        ASSERT_TRUE(u) << "no /pong over UDP while a TCP commit waited to go live";
        ASSERT_TRUE(t) << "no /pong over TCP while a TCP commit waited to go live";
        udpMs.push_back(ms(*u));
        tcpMs.push_back(ms(*t));
    }
    ASSERT_LT(std::chrono::steady_clock::now() - sent, 1300ms) << "the pings took until the commit went live";
    std::sort(udpMs.begin(), udpMs.end());
    std::sort(tcpMs.begin(), tcpMs.end());
    std::printf("NOTE: /ping while a TCP commit waits: UDP median %.2f ms, max %.2f ms; TCP median %.2f ms, max %.2f ms\n",
                udpMs[2], udpMs[4], tcpMs[2], tcpMs[4]);
    EXPECT_LT(udpMs[2], 50.0);
    EXPECT_LT(tcpMs[2], 50.0);
    // The commit's /done comes on its own connection once it is live, with its frame.
    const auto done = awaitMessage(**tcp, "/done", "/patch/commit", 5000);
    ASSERT_TRUE(done) << "no /done for the commit on its TCP connection";
    EXPECT_GT(std::chrono::steady_clock::now() - sent, 1300ms);
    auto s = status(*client);
    ASSERT_TRUE(s);
    EXPECT_GE(num(*s, "frame"), double(done->intAt(done->args.size() - 1).value_or(-1)));
    // And a TCP client that hangs up before its answer costs nothing: the next one is served.
    {
        auto gone = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
        ASSERT_TRUE(gone);
        ASSERT_TRUE((*gone)->sendBundle(ntpIn(0.5), "/sync", {}));
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(700ms);
    EXPECT_TRUE(pingTime(**otherTcp)) << sup.log();
}

TEST_F(LiveControl, ACommitAfterACommandScheduledAheadTakesEffectAfterItLiveAndInTheJournal)
{
    patch();
    Capture cap;
    ASSERT_TRUE(cap.open("chronus"));
    cap.start();
    ASSERT_TRUE(client->sendBundle(ntpIn(0.5), "/mod/s1/gain", {0.125f}));
    auto r = client->receive(2000);
    ASSERT_TRUE(r && r->address == "/done");
    ASSERT_TRUE(command(*client, "/patch/create", {"s2", "sine", "freq", 880.0f, "gain", 0.25f}));
    ASSERT_TRUE(command(*client, "/patch/connect", {"s2", "output"}));
    auto commit = command(*client, "/patch/commit", {}, 5000);
    ASSERT_TRUE(commit);
    ASSERT_EQ(commit->address, "/done") << toString(*commit);
    std::this_thread::sleep_for(300ms);
    cap.stop();
    ASSERT_EQ(sup.stop(), 0) << sup.log();
    std::smatch m;
    const std::string text = readText(journal);
    ASSERT_TRUE(std::regex_search(text, m, std::regex("@([0-9]+) /mod/s1/gain")));
    const std::uint64_t modFrame = std::stoull(m[1]);
    const auto commitFrame = commit->intAt(commit->args.size() - 1);
    ASSERT_TRUE(commitFrame);
    EXPECT_GT(std::uint64_t(*commitFrame), modFrame) << "the commit overtook a command sent before it";
    // Live and the replay of the journal agree, both with the scheduled gain applied.
    std::uint64_t origin = 0;
    const auto rendered = renderCaptured(cap, journal, dir.path, origin);
    ASSERT_TRUE(rendered) << rendered.error();
    const Comparison cmp = compareWithRender(cap, *rendered, origin, journalDeclarations(journal));
    EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch
                                       << " (" << cmp.declared << " cycle(s) differ as the journal declares)";
}

TEST_F(LiveControl, TimetagsTooFarAheadAndTooManyScheduledCommandsAreRefused)
{
    patch();
    ASSERT_TRUE(client->sendBundle(ntpIn(3600), "/mod/s1/gain", {0.1f}));
    auto far = client->receive(2000);
    ASSERT_TRUE(far);
    EXPECT_EQ(far->address, "/fail") << toString(*far);
    EXPECT_NE(far->stringAt(1).value_or("").find("--max-ahead"), std::string::npos) << toString(*far);

    // Fill the budget of commands scheduled ahead (sending in batches, reading the answers
    // so none is lost in a full socket), then one more.
    const std::uint64_t tag = ntpIn(20);
    std::size_t done = 0, failed = 0;
    for (std::size_t sentCount = 0; sentCount < chronus::supervisor::kMaxScheduledAhead;) {
        for (int i = 0; i < 256 && sentCount < chronus::supervisor::kMaxScheduledAhead; ++i, ++sentCount)
            ASSERT_TRUE(client->sendBundle(tag, "/mod/s1/gain", {0.25f}));
        while (done + failed < sentCount) {
            auto m = client->receive(2000);
            ASSERT_TRUE(m) << "an answer went missing after " << done << " /done";
            (m->address == "/done" ? done : failed)++;
        }
    }
    EXPECT_EQ(done, chronus::supervisor::kMaxScheduledAhead);
    EXPECT_EQ(failed, 0u);
    ASSERT_TRUE(client->sendBundle(tag, "/mod/s1/gain", {0.25f}));
    auto over = client->receive(2000);
    ASSERT_TRUE(over);
    EXPECT_EQ(over->address, "/fail") << toString(*over);
    EXPECT_NE(over->stringAt(1).value_or("").find("too many commands scheduled ahead"), std::string::npos);
    // Commands for now still go through.
    auto now = command(*client, "/mod/s1/freq", {330.0f});
    ASSERT_TRUE(now);
    EXPECT_EQ(now->address, "/done");
    auto st = status(*client);
    ASSERT_TRUE(st);
    EXPECT_EQ(num(*st, "divergences"), 0);
    EXPECT_EQ(num(*st, "failovers"), 0);
}

TEST_F(LiveControl, NotifySubscribersHearAboutFailovers)
{
    auto r = command(*client, "/notify", {std::int32_t(1)});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->address, "/done");
    auto s = status(*client);
    ASSERT_TRUE(s);
    const int active = int(num(*s, "active_slot"));
    ::kill(pid_t(num(*s, "slot" + std::to_string(active) + "_pid")), SIGKILL);
    bool failover = false, synced = false;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && !(failover && synced)) {
        auto m = client->receive(100);
        if (!m || m->address != "/event")
            continue;
        failover = failover || m->stringAt(0) == "failover";
        synced = synced || m->stringAt(0) == "worker_synced";
    }
    EXPECT_TRUE(failover);
    EXPECT_TRUE(synced);
}

TEST_F(LiveControl, RecordCommandsAreForwardedAndAnUnreachableRecorderIsReported)
{
    // No recorder runs on the (unused) port: the sender still gets a /fail that says so.
    Supervisor other;
    ASSERT_TRUE(other.start(dir.path, {"--recorder-port", "1", "--jack-name", "chronus-b"}));
    auto c = Client::open(Protocol::Udp, "127.0.0.1", other.port());
    ASSERT_TRUE(c);
    auto r = (*c)->request("/record/status", {}, 4000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->address, "/fail");
    EXPECT_NE(r->stringAt(1).value_or("").find("recorder"), std::string::npos);
    // Over TCP the same, and while the request waits for the recorder (2 s), everyone else
    // is answered at once.
    auto tcp = Client::open(Protocol::Tcp, "127.0.0.1", other.port());
    ASSERT_TRUE(tcp);
    ASSERT_TRUE((*tcp)->send("/record/status"));
    std::this_thread::sleep_for(100ms);
    const auto pong = pingTime(**c);
    ASSERT_TRUE(pong) << "no /pong while a TCP request waited for the recorder";
    EXPECT_LT(ms(*pong), 50.0);
    const auto failed = awaitMessage(**tcp, "/fail", "/record/status", 4000);
    ASSERT_TRUE(failed) << "no /fail on the TCP connection";
    EXPECT_NE(failed->stringAt(1).value_or("").find("recorder"), std::string::npos);
}

TEST_F(LiveControl, RecordCommandsSentToTheSupervisorReachTheRecorderAndItsAnswersComeBack)
{
    CHRONUS_REQUIRE_RECORDER(recorder);
    patch();
    const int port = freeUdpPort();
    const fs::path log = dir.path / "recorder.log";
    const pid_t rec = spawn({recorder, "--osc-port", std::to_string(port), "--dir", (dir.path / "takes").string(),
                             "--port", "chronus:out_L", "--port", "chronus:out_R"},
                            log.string());
    auto recClient = Client::open(Protocol::Udp, "127.0.0.1", port);
    ASSERT_TRUE(recClient);
    ASSERT_TRUE(answers(**recClient, 5000)) << readText(log);

    Supervisor front;
    ASSERT_TRUE(front.start(dir.path, {"--recorder-port", std::to_string(port), "--jack-name", "chronus-front"}));
    auto c = Client::open(Protocol::Udp, "127.0.0.1", front.port());
    ASSERT_TRUE(c);
    auto started = (*c)->request("/record/start", {}, 4000);
    ASSERT_TRUE(started);
    EXPECT_EQ(started->address, "/done") << toString(*started);
    std::this_thread::sleep_for(500ms);
    auto st = (*c)->request("/record/status", {}, 4000);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->address, "/record/status.reply") << toString(*st);
    auto stopped = (*c)->request("/record/stop", {}, 4000);
    ASSERT_TRUE(stopped);
    ASSERT_EQ(stopped->address, "/done") << toString(*stopped);
    const std::string take = stopped->stringAt(1).value_or("");
    EXPECT_TRUE(fs::exists(take)) << take;
    EXPECT_GT(stopped->intAt(2).value_or(0), 48000 / 4) << "frames recorded";

    // A take that ends by itself (duration limit): the recorder's news reaches the client
    // that started it through the supervisor.
    auto timed = (*c)->request("/record/start", {"timed", 0.5f}, 4000);
    ASSERT_TRUE(timed);
    ASSERT_EQ(timed->address, "/done") << toString(*timed);
    const auto ended = awaitMessage(**c, "/done", "/record/stop", 5000);
    ASSERT_TRUE(ended) << "the end of the timed take was not relayed";
    EXPECT_EQ(ended->intAt(2), 24000) << toString(*ended);
    stopChild(rec);

    // A disk that fills up: the recorder's /fail reaches the starter too.
    const int fullPort = freeUdpPort();
    const pid_t full = spawn({recorder, "--osc-port", std::to_string(fullPort), "--dir",
                              (dir.path / "full").string(), "--port", "chronus:out_L", "--port", "chronus:out_R"},
                             (dir.path / "recorder-full.log").string(), [] {
                                 signal(SIGXFSZ, SIG_IGN);
                                 rlimit rl{1 << 20, 1 << 20};
                                 setrlimit(RLIMIT_FSIZE, &rl);
                             });
    auto fullClient = Client::open(Protocol::Udp, "127.0.0.1", fullPort);
    ASSERT_TRUE(fullClient);
    ASSERT_TRUE(answers(**fullClient, 5000)) << readText(dir.path / "recorder-full.log");
    Supervisor front2;
    ASSERT_TRUE(front2.start(dir.path, {"--recorder-port", std::to_string(fullPort), "--jack-name", "chronus-front2"}));
    auto c2 = Client::open(Protocol::Udp, "127.0.0.1", front2.port());
    ASSERT_TRUE(c2);
    auto big = (*c2)->request("/record/start", {"big"}, 4000);
    ASSERT_TRUE(big);
    ASSERT_EQ(big->address, "/done") << toString(*big);
    const auto failed = awaitMessage(**c2, "/fail", "/record/start", 15000);
    ASSERT_TRUE(failed) << "the disk error was not relayed";
    EXPECT_NE(failed->stringAt(1).value_or("").find("write"), std::string::npos) << toString(*failed);
    stopChild(full);
}

TEST_F(LiveControl, ASecondInstanceWithTheSameNameOrPortFailsWithAClearMessage)
{
    Supervisor sameName;
    EXPECT_FALSE(sameName.start(dir.path, {"--jack-name", "chronus-2"}, sup.instance()));
    EXPECT_NE(sameName.log().find("already running"), std::string::npos) << sameName.log();

    const fs::path log = dir.path / "sameport.log";
    const pid_t pid = spawn({envOr("CHRONUS_SUPERVISOR", "chronus-supervisor"), "--osc-port",
                             std::to_string(sup.port()), "--instance", sup.instance() + "-b", "--jack-name", "chronus-3"},
                            log.string());
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    EXPECT_NE(readText(log).find("in use"), std::string::npos) << readText(log);
}

TEST_F(LiveControl, ThePortCanComeFromTheEnvironment)
{
    const int port = freeUdpPort();
    const fs::path log = dir.path / "envport.log";
    const pid_t pid = spawn({envOr("CHRONUS_SUPERVISOR", "chronus-supervisor"), "--instance", sup.instance() + "-env",
                             "--jack-name", "chronus-env", "--no-connect"},
                            log.string(), [port] {
                                setenv("CHRONUS_OSC_PORT", std::to_string(port).c_str(), 1);
                                setenv("CHRONUS_OSC_HOST", "127.0.0.1", 1);
                            });
    auto c = Client::open(Protocol::Udp, "127.0.0.1", port);
    ASSERT_TRUE(c);
    EXPECT_TRUE(answers(**c, 10000)) << readText(log);
    stopChild(pid);
}

TEST_F(LiveControl, WorkersDieWithTheSupervisorAndAStaleSegmentIsCleanedUp)
{
    auto s = status(*client);
    ASSERT_TRUE(s);
    const pid_t w0 = pid_t(num(*s, "slot0_pid")), w1 = pid_t(num(*s, "slot1_pid"));
    const std::string instance = sup.instance();
    // A crash of the supervisor leaves its segment behind...
    ::kill(sup.pid(), SIGKILL);
    sup.stop();
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(running(w0)) << "worker 0 outlived the supervisor";
    EXPECT_FALSE(running(w1)) << "worker 1 outlived the supervisor";
    EXPECT_TRUE(fs::exists("/dev/shm/" + chronus::shm::segmentName(instance)));
    // ...which the next start detects as stale, removes and replaces.
    Supervisor again;
    ASSERT_TRUE(again.start(dir.path, {}, instance)) << again.log();
    EXPECT_NE(again.log().find("stale"), std::string::npos) << again.log();
    auto c = Client::open(Protocol::Udp, "127.0.0.1", again.port());
    ASSERT_TRUE(c);
    EXPECT_TRUE((*c)->request("/ping", {}, 2000));
    EXPECT_EQ(again.stop(), 0);
    EXPECT_FALSE(fs::exists("/dev/shm/" + chronus::shm::segmentName(instance))) << "segment left after a clean stop";
}

TEST_F(LiveControl, PatchesSaveDumpAndLoadByName)
{
    patch();
    auto saved = command(*client, "/patch/save", {"my-sine"});
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->address, "/done") << toString(*saved);
    const std::string path = saved->stringAt(1).value_or("");
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_NE(readText(path).find("\"s1\""), std::string::npos);
    expectFail("/patch/save", {"../escape"});

    ASSERT_EQ(command(*client, "/patch/clear")->address, "/done");
    ASSERT_EQ(command(*client, "/patch/commit")->address, "/done");
    auto empty = command(*client, "/patch/dump");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->stringAt(1).value_or("").find("\"s1\""), std::string::npos);

    auto loaded = command(*client, "/patch/load", {"my-sine"});
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->address, "/done") << toString(*loaded);
    auto dump = command(*client, "/patch/dump");
    ASSERT_TRUE(dump);
    EXPECT_NE(dump->stringAt(1).value_or("").find("\"s1\""), std::string::npos);
}

TEST_F(LiveControl, LosingBothWorkersAtOnceRestoresTheLivePatch)
{
    patch();
    auto s = status(*client);
    ASSERT_TRUE(s);
    Capture cap;
    ASSERT_TRUE(cap.open("chronus"));
    ::kill(pid_t(num(*s, "slot0_pid")), SIGKILL);
    ::kill(pid_t(num(*s, "slot1_pid")), SIGKILL);
    // First the loss is seen (a gap), then both slots come back.
    for (int i = 0; i < 200; ++i) {
        auto now = status(*client);
        if (now && num(*now, "gaps") >= 1 && num(*now, "redundant") == 0)
            break;
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(waitRedundant(*client, 5000ms)) << sup.log();
    std::this_thread::sleep_for(200ms); // the re-commit goes live 50 ms after the restart
    cap.start();
    std::this_thread::sleep_for(300ms);
    cap.stop();
    double energy = 0;
    for (std::size_t i = 0; i < cap.frames(); ++i)
        energy += double(cap.channel(0)[i]) * cap.channel(0)[i];
    ASSERT_GT(cap.frames(), 0u);
    // The 440 Hz sine at gain 0.5 is back: RMS 0.35.
    EXPECT_NEAR(std::sqrt(energy / double(cap.frames())), 0.3536, 0.01) << sup.log();
    auto after = status(*client);
    ASSERT_TRUE(after);
    EXPECT_GE(num(*after, "gaps"), 1) << "losing both workers must be counted as a gap";
}

TEST_F(LiveControl, AJackBufferSizeChangeEndsTheSupervisorWithAClearError)
{
    if (std::system("command -v jack_bufsize >/dev/null 2>&1") != 0) {
        if (std::getenv("CI"))
            FAIL() << "jack_bufsize is not installed and CI is set";
        GTEST_SKIP() << "jack_bufsize is not installed";
    }
    ASSERT_EQ(std::system(("jack_bufsize 512 > " + (dir.path / "bufsize.log").string() + " 2>&1").c_str()), 0);
    const auto st = waitExit(sup.pid(), 5000);
    ASSERT_TRUE(st) << sup.log();
    sup.reaped();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
    EXPECT_NE(sup.log().find("buffer size"), std::string::npos) << sup.log();
}

TEST_F(LiveControl, AJackServerShutdownEndsTheSupervisorWithAnError)
{
    jack.stop();
    const auto st = waitExit(sup.pid(), 5000);
    ASSERT_TRUE(st) << sup.log();
    sup.reaped();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
    EXPECT_NE(sup.log().find("JACK server shut down"), std::string::npos) << sup.log();
}

} // namespace
