// The slot that matches the history wins: a worker that gets a command after it has rendered
// the command's frame cannot apply it where the journal says, so it withdraws its blocks from
// that frame and asks to be replaced; the output plays the other slot's blocks inside the
// cycle and stays equal to the journal's render, every frame.
#include "live_fixture.hpp"

#include "harness/process.hpp"

#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <algorithm>
#include <csignal>
#include <fstream>

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace chronus::osc;

TEST(LiveExactness, AWorkerThatGetsACommandAfterItsFrameIsReplacedAndTheOutputFollowsTheJournal)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    const fs::path journal = dir.path / "journal.txt";
    Supervisor sup;
    ASSERT_TRUE(sup.start(dir.path, {"--journal", journal.string(), "--lookahead", "3"})) << sup.log();
    auto client = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    ASSERT_TRUE(client);
    Client &c = **client;
    Capture cap;
    ASSERT_TRUE(cap.open("chronus", 30));
    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {"a", "sine", "freq", 220.0f, "gain", 0.4f}},
             {"/patch/create", {"b", "osc", "waveform", "saw", "freq", 97.0f, "amp", 0.2f}},
             {"/patch/connect", {"a", "output"}},
             {"/patch/connect", {"b", "output"}},
             {"/patch/commit", {0.0f}}}) {
        auto r = command(c, addr, args);
        ASSERT_TRUE(r && r->address == "/done") << addr;
    }
    ASSERT_TRUE(waitRedundant(c, 5s));
    cap.start();
    std::this_thread::sleep_for(300ms);
    const auto before = status(c);
    ASSERT_TRUE(before);
    const int faulted = int(num(*before, "active_slot"));
    ASSERT_GE(faulted, 0);
    const pid_t victim = pid_t(num(*before, "slot" + std::to_string(faulted) + "_pid"));
    // The active worker leaves its event ring alone for a few blocks; the commands sent now
    // reach it after their frames.
    ASSERT_EQ(::kill(victim, SIGRTMIN), 0);
    for (int k = 0; k < 10; ++k) {
        c.send("/mod/a/freq", {220.0f + 10.0f * float(k)});
        std::this_thread::sleep_for(5ms);
    }
    // The other slot plays on; the faulted one is replaced and redundancy comes back.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    Status st;
    bool replaced = false;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto s = status(c)) {
            st = *s;
            replaced = num(st, "slot" + std::to_string(faulted) + "_pid") != double(victim) &&
                       num(st, "redundant") == 1;
            if (replaced)
                break;
        }
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(replaced) << sup.log();
    std::this_thread::sleep_for(300ms);
    cap.stop();
    const auto end = status(c);
    ASSERT_TRUE(end);
    EXPECT_EQ(num(*end, "failovers") - num(*before, "failovers"), 1) << "the other slot took over once";
    EXPECT_EQ(num(*end, "gaps"), num(*before, "gaps"));
    EXPECT_EQ(num(*end, "divergences"), 0);
    ASSERT_EQ(sup.stop(), 0) << sup.log();
    EXPECT_NE(sup.log().find("a command reached the worker after its frame was rendered"), std::string::npos)
        << sup.log();

    std::uint64_t origin = 0;
    const auto rendered = renderCaptured(cap, journal, dir.path, origin);
    ASSERT_TRUE(rendered) << rendered.error();
    const Comparison cmp = compareWithRender(cap, *rendered, origin, journalDeclarations(journal));
    EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch
                                       << " (" << cmp.declared << " cycle(s) differ as the journal declares)";
    EXPECT_GT(cmp.rms, 0.05) << "the recording is (nearly) silent";
}

namespace {

using LiveClockedTake = LiveSuiteTest;

// A take read back: planar channels, and its sidecar.
struct Take {
    std::vector<std::vector<float>> channels;
    nlohmann::json side;
};
std::optional<Take> readTake(const fs::path &path)
{
    SF_INFO info{};
    SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
    if (!sf)
        return std::nullopt;
    std::vector<float> data(std::size_t(info.frames) * std::size_t(info.channels));
    const sf_count_t got = sf_readf_float(sf, data.data(), info.frames);
    sf_close(sf);
    Take t;
    t.channels.assign(std::size_t(info.channels), std::vector<float>(std::size_t(got)));
    for (sf_count_t i = 0; i < got; ++i)
        for (int c = 0; c < info.channels; ++c)
            t.channels[std::size_t(c)][std::size_t(i)] = data[std::size_t(i) * std::size_t(info.channels) + std::size_t(c)];
    std::ifstream in(path.string() + ".json");
    t.side = nlohmann::json::parse(in, nullptr, false);
    return t;
}

} // namespace

// chronus-recorder --clock chronus:clock places every cycle at the frame the supervisor
// wrote on its clock port: the take is in the journal's own frames, whatever JACK's clock
// said. Through a stopped recorder, a stopped supervisor and a killed worker, every block
// of the take is the journal's render at that frame, or silence where the sidecar or the
// journal declares a gap.
TEST_F(LiveClockedTake, ATakePlacedByTheTimelineClockIsTheJournalsRenderThroughStoppedClients)
{
    CHRONUS_REQUIRE_RECORDER(recorder);
    // Not periodic in a block: a block placed a cycle off differs from the render.
    loadPatch(R"({"nodes":[{"id":"a","type":"sine","params":{"freq":221,"gain":0.4}},
                           {"id":"b","type":"osc","params":{"waveform":"saw","freq":97,"amp":0.2}}],
                  "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"}]})");
    const int port = freeUdpPort();
    const fs::path log = dir.path / "recorder.log";
    const pid_t rec = spawn({recorder, "--osc-port", std::to_string(port), "--dir", (dir.path / "takes").string(),
                             "--clock", "chronus:clock"},
                            log.string());
    auto recClient = Client::open(Protocol::Udp, "127.0.0.1", port);
    ASSERT_TRUE(recClient);
    ASSERT_TRUE(answers(**recClient, 5000)) << readText(log);
    std::this_thread::sleep_for(300ms);
    auto started = (*recClient)->request("/record/start", {std::string("clocked")}, 4000);
    ASSERT_TRUE(started && started->address == "/done") << (started ? toString(*started) : "no reply");
    std::this_thread::sleep_for(400ms);
    ::kill(rec, SIGSTOP); // the recorder misses cycles: JACK skips it
    std::this_thread::sleep_for(300ms);
    ::kill(rec, SIGCONT);
    std::this_thread::sleep_for(400ms);
    ::kill(sup.pid(), SIGSTOP); // the supervisor misses cycles: its clock port holds its last block
    std::this_thread::sleep_for(300ms);
    ::kill(sup.pid(), SIGCONT);
    std::this_thread::sleep_for(400ms);
    killActiveWorker();
    std::this_thread::sleep_for(400ms);
    auto stopped = (*recClient)->request("/record/stop", {}, 4000);
    ASSERT_TRUE(stopped && stopped->address == "/done") << (stopped ? toString(*stopped) : "no reply");
    auto recStatus = (*recClient)->request("/record/status", {}, 4000);
    stopChild(rec);
    ASSERT_TRUE(recStatus);

    auto take = readTake(stopped->stringAt(1).value_or(""));
    ASSERT_TRUE(take && take->channels.size() == 2) << "cannot read the take";
    ASSERT_TRUE(take->side.is_object()) << "no sidecar";
    ASSERT_EQ(take->side.value("clock", ""), "chronus:clock") << take->side.dump();
    const std::uint64_t first = take->side.value("first_frame_timeline", std::uint64_t{0});
    const std::size_t n = take->channels[0].size();
    ASSERT_GT(n, std::size_t(48000)) << "the take is too short";
    // Where the take declares silence for frames it never got.
    std::vector<bool> declared(n, false);
    std::uint64_t declaredFrames = 0;
    for (const auto &g : take->side.value("gaps", nlohmann::json::array())) {
        const std::uint64_t at = g.value("at_frame", std::uint64_t{0}), len = g.value("frames", std::uint64_t{0});
        EXPECT_EQ(g.value("uncertain_frames", 0), 0) << "a clocked gap is exact";
        for (std::uint64_t f = at; f < at + len && f < n; ++f)
            declared[f] = true;
        declaredFrames += len;
    }
    EXPECT_GE(declaredFrames, std::uint64_t(256)) << "the stopped recorder lost cycles it did not declare";
    const auto rendered = renderJournal(journal, first + n, dir.path);
    ASSERT_TRUE(rendered);
    const JournalDeclarations journalSays = journalDeclarations(journal);
    constexpr std::size_t P = 256;
    std::size_t blocks = 0, equal = 0, inGap = 0, differing = 0;
    std::uint64_t firstDiffering = 0;
    for (std::size_t s = (P - first % P) % P; s + P <= n; s += P) {
        ++blocks;
        bool same = true;
        for (std::size_t c = 0; c < 2 && same; ++c)
            same = std::equal(take->channels[c].begin() + long(s), take->channels[c].begin() + long(s + P),
                              (*rendered)[c].begin() + long(first + s));
        if (same) {
            ++equal;
        } else if (std::find(declared.begin() + long(s), declared.begin() + long(s + P), true) !=
                       declared.begin() + long(s + P) ||
                   journalSays.inGap(first + s, P)) {
            ++inGap;
        } else if (differing++ == 0) {
            firstDiffering = first + s;
        }
    }
    EXPECT_EQ(differing, 0u) << "blocks neither the render's nor declared; the first at timeline frame "
                             << firstDiffering << " (" << equal << " of " << blocks << " equal)";
    EXPECT_GT(equal, blocks / 2) << "the stops cost about 112 blocks of some 400";
    std::printf("NOTE: clocked take: %zu blocks, %zu equal to the render, %zu declared\n", blocks, equal, inGap);
}
