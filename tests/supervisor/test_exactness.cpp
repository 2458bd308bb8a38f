// The slot that matches the history wins: a worker that gets a command after it has rendered
// the command's frame cannot apply it where the journal says, so it withdraws its blocks from
// that frame and asks to be replaced; the output plays the other slot's blocks inside the
// cycle and stays equal to the journal's render, every frame.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"

#include <csignal>

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
