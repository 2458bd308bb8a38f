// The supervisor's OSC surface and process rules against a private dummy jackd: replies
// to the sender, bad input answered with /fail while the audio keeps matching the offline
// render, bundles on their exact frame, one instance per name and port, stale segments,
// JACK going away.
#include "live_fixture.hpp"
#include "shm_layout.hpp"

#include <boost/interprocess/shared_memory_object.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <cstring>

namespace {

using namespace live;
using chronus::osc::Arg;
using chronus::osc::Client;
using chronus::osc::Message;
using chronus::osc::Protocol;

class LiveControl : public ::testing::Test {
protected:
    void SetUp() override
    {
        LIVE_REQUIRE_JACKD();
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
    std::string failReason(const std::string &addr, const std::vector<Arg> &args)
    {
        auto r = command(*client, addr, args);
        if (!r)
            return "<no reply>";
        if (r->address != "/fail")
            return "<" + toString(*r) + ">";
        return r->stringAt(1).value_or("<no reason>");
    }

    TempDir dir;
    JackServer jack;
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
}

TEST_F(LiveControl, BadInputIsAnsweredWithFailAndNeverDisturbsTheAudio)
{
    patch();
    Capture cap;
    ASSERT_TRUE(cap.open("chronus"));
    cap.start();

    EXPECT_NE(failReason("/nonsense", {}), "<no reply>");
    EXPECT_NE(failReason("/mod/nosuchnode/freq", {1.0f}).find("nosuchnode"), std::string::npos);
    EXPECT_NE(failReason("/mod/s1/nosuchparam", {1.0f}), "<no reply>");
    EXPECT_NE(failReason("/mod/s1/freq", {}), "<no reply>");
    EXPECT_NE(failReason("/mod/s1/freq", {"loud"}), "<no reply>");
    EXPECT_NE(failReason("/gate/s1", {"maybe"}), "<no reply>");
    EXPECT_NE(failReason("/patch/create", {"x"}), "<no reply>");
    EXPECT_NE(failReason("/patch/create", {"x", "nosuchtype"}).find("nosuchtype"), std::string::npos);
    EXPECT_NE(failReason("/patch/commit", {"soon"}), "<no reply>");
    EXPECT_NE(failReason("/patch/connect", {"s1", "s1"}), "<no reply>");
    EXPECT_NE(failReason("/mod/s1/freq", {chronus::osc::Blob{1, 2, 3}}).find("type"), std::string::npos);
    EXPECT_NE(failReason("/notify", {"perhaps"}), "<no reply>");
    // Huge strings: answered, and the reply is cut to a sane size.
    const std::string huge(60000, 'x');
    const std::string reason = failReason("/mod/" + huge + "/freq", {1.0f});
    EXPECT_NE(reason, "<no reply>");
    EXPECT_LT(reason.size(), 2000u);
    EXPECT_NE(failReason("/patch/create", {huge, "sine"}), "<no reply>");
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
    const auto origin = journalOrigin(journal);
    ASSERT_TRUE(origin);
    ASSERT_GT(cap.cycleCount(), 10u);
    const auto &last = cap.cycle(cap.cycleCount() - 1);
    const auto rendered = renderJournal(journal, last.frame - *origin + last.frames, dir.path);
    ASSERT_TRUE(rendered) << readText(dir.path / "render.log");
    const Comparison cmp = compareWithRender(cap, *rendered, *origin);
    EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch;
    EXPECT_GT(cmp.rms, 0.1);
    if (cmp.excused + cmp.captureGaps > 0)
        std::printf("NOTE: JACK skipped %zu capture cycle(s); %zu cycle(s) left over from skipped cycles\n",
                    cmp.captureGaps, cmp.excused);
}

TEST_F(LiveControl, AFutureBundleTakesEffectOnItsExactFrame)
{
    patch();
    // 300 ms from now, in NTP time.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const double when = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9 + 0.3 + 2208988800.0;
    const auto ntp = (std::uint64_t(when) << 32) | std::uint64_t((when - std::floor(when)) * 4294967296.0);
    auto before = status(*client);
    ASSERT_TRUE(before);
    const double frameNow = num(*before, "frame");
    ASSERT_TRUE(client->sendBundle(ntp, "/mod/s1/gain", {0.125f}));
    auto r = client->receive(2000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->address, "/done");
    ASSERT_TRUE(sync(*client));
    ASSERT_EQ(sup.stop(), 0);
    std::smatch m;
    const std::string text = readText(journal);
    ASSERT_TRUE(std::regex_search(text, m, std::regex("@([0-9]+) /mod/s1/gain")));
    const double frame = std::stod(m[1]);
    // 300 ms = 14400 frames after "now" (the status round trip blurs "now" by a period or two).
    EXPECT_NEAR(frame - frameNow, 14400.0, 1500.0);
    // Its frame is not a period boundary: the timetag, not the cycle, chose it.
    EXPECT_GT(frame - frameNow, 4 * 256.0);
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
}

int freeUdpPort()
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST_F(LiveControl, RecordCommandsSentToTheSupervisorReachTheRecorderAndItsAnswersComeBack)
{
    const char *recorder = std::getenv("CHRONUS_RECORDER");
    if (!recorder) {
        if (std::getenv("CI"))
            FAIL() << "CHRONUS_RECORDER is not set and CI is set";
        GTEST_SKIP() << "CHRONUS_RECORDER is not set (the recorder is not built)";
    }
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
    stopChild(rec);
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
    EXPECT_NE(failReason("/patch/save", {"../escape"}), "<no reply>");

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
    const auto st = chronus::testsupport::waitExit(sup.pid(), 5000);
    ASSERT_TRUE(st) << sup.log();
    sup.reaped();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
    EXPECT_NE(sup.log().find("buffer size"), std::string::npos) << sup.log();
}

TEST_F(LiveControl, AJackServerShutdownEndsTheSupervisorWithAnError)
{
    jack.stop();
    const auto st = chronus::testsupport::waitExit(sup.pid(), 5000);
    ASSERT_TRUE(st) << sup.log();
    sup.reaped();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
    EXPECT_NE(sup.log().find("JACK server shut down"), std::string::npos) << sup.log();
}

} // namespace
