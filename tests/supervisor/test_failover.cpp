// Hitless failover, tested on the audio: a capture client records the supervisor's output
// while the active worker is killed, stopped, crashed, poisoned with NaN and stalled, 20
// times in a row, with parameter changes flowing throughout. The recording must have no
// missing frame and be bit-identical to chronus-render of the supervisor's journal.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"
#include "live_fixture.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <regex>
#include <set>
#include <thread>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using chronus::osc::Arg;
using chronus::osc::Client;
using chronus::osc::Protocol;

struct Fault {
    const char *name;
    int signal;
};
// SIGUSR1 makes a worker publish a NaN block, SIGUSR2 makes it miss several deadlines
// (test hooks in chronus-synth-worker).
constexpr Fault kFaults[] = {
    {"SIGKILL", SIGKILL}, {"SIGSTOP (hang)", SIGSTOP}, {"SIGSEGV", SIGSEGV}, {"NaN block", SIGUSR1},
    {"falling behind", SIGUSR2},
};

bool waitRedundant(Client &c, double minFailovers, std::chrono::milliseconds timeout, Status &last)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto s = status(c, 500)) {
            last = *s;
            if (num(*s, "redundant") == 1 && num(*s, "failovers") >= minFailovers)
                return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

// One run of the scenario. Failures are collected, not asserted, so that a run disturbed
// by JACK itself (an xrun reported by the server: the dummy backend runs without real-time
// scheduling on a shared machine) can be told apart from a failure of ours.
struct Attempt {
    std::vector<std::string> failures;   // ours: always fatal
    std::vector<std::string> jackLosses; // cycles JACK did not run the supervisor or the capture client for
    double xruns = 0;
    std::vector<std::string> lateClients; // JACK's own xrun reports naming a non-worker client
    double supervisorSkipped = 0;         // frames JACK did not run the supervisor for
    std::size_t captureGaps = 0;          // cycles JACK did not run the capture client for
    bool jackSkipped() const { return !jackLosses.empty(); }
    std::vector<double> restoreMs;
    std::vector<std::pair<double, std::string>> failoverFrames; // timeline frame, fault
    std::string nearestFault(double frame) const
    {
        std::string best = "none";
        double distance = 1e300;
        for (const auto &[f, name] : failoverFrames)
            if (std::abs(f - frame) < distance) {
                distance = std::abs(f - frame);
                best = name + " (failover " + std::to_string(long(f - frame)) + " frames away)";
            }
        return best;
    }
    void check(bool ok, const std::string &what)
    {
        if (!ok)
            failures.push_back(what);
    }
};

// JACK names the client that was not finished when a cycle ended. Workers we killed or
// stopped are expected there; the supervisor or the capture client mean the machine did
// not schedule them in time, which disturbs the measurement itself.
std::vector<std::string> lateNonWorkers(const fs::path &jackdLog)
{
    std::vector<std::string> out;
    const std::string text = readText(jackdLog);
    const std::regex late("client = ([^ ]+) was not finished");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), late); it != std::sregex_iterator(); ++it) {
        const std::string name = (*it)[1];
        if (name.find("-worker-") == std::string::npos)
            out.push_back(name);
    }
    return out;
}

Attempt runScenario(const fs::path &dir)
{
    Attempt a;
    PrivateJackd jack;
    if (!jack.start(dir)) {
        a.failures.push_back("jackd did not start: " + readText(dir / "jackd.log"));
        return a;
    }
    const fs::path journal = dir / "journal.txt";
    Supervisor sup;
    // Three periods of lookahead: on this non-real-time dummy server JACK holds a client's
    // cycle off now and then around another client's death or arrival (jackd's log says
    // "Process error"), both workers' alike; with two periods that made both slots miss the
    // same block in 1 run of 6 on a quiet 2-core machine, with three in none of 6.
    const char *lookahead = std::getenv("CHRONUS_TEST_LOOKAHEAD");
    std::vector<std::string> extra = {"--journal", journal.string(), "--lookahead", lookahead ? lookahead : "3"};
    if (!sup.start(dir, extra)) {
        a.failures.push_back("supervisor did not start: " + sup.log());
        return a;
    }
    auto client = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    if (!client) {
        a.failures.push_back("no OSC client");
        return a;
    }
    Client &c = **client;
    Capture cap;
    if (!cap.open("chronus", 120)) {
        a.failures.push_back("capture client did not open");
        return a;
    }

    // Two detuned sines, one per side of the mix, so any lost or altered sample shows.
    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {"a", "sine", "freq", 220.0f, "gain", 0.4f}},
             {"/patch/create", {"b", "sine", "freq", 331.0f, "gain", 0.3f}},
             {"/patch/connect", {"a", "output"}},
             {"/patch/connect", {"b", "output"}},
             {"/patch/commit", {}}}) {
        auto r = command(c, addr, args);
        if (!r || r->address != "/done") {
            a.failures.push_back(addr + " failed: " + (r ? toString(*r) : "no reply"));
            return a;
        }
    }
    Status st;
    if (!waitRedundant(c, 0, 5s, st)) {
        a.failures.push_back("never redundant: " + sup.log());
        return a;
    }
    std::this_thread::sleep_for(200ms); // let the graph settle after the capture client joined
    const auto before = status(c);
    if (!before) {
        a.failures.push_back("no status");
        return a;
    }
    cap.start();

    std::mt19937 rng(42);
    std::uniform_real_distribution<float> freq(100.0f, 900.0f);
    for (int i = 0; i < 20; ++i) {
        // CHRONUS_TEST_FAULT=<index> repeats one kind (for investigating one failure mode).
        const char *only = std::getenv("CHRONUS_TEST_FAULT");
        const Fault &fault = kFaults[only ? std::atoi(only) % std::size(kFaults) : i % std::size(kFaults)];
        // A cycle JACK skipped for both slots leaves none active for that cycle: ask again
        // for up to a second before calling it a failure.
        std::optional<Status> now;
        int active = -1;
        pid_t victim = -1;
        for (int ask = 0; ask < 20 && victim <= 0; ++ask) {
            if (ask > 0)
                std::this_thread::sleep_for(50ms);
            now = status(c);
            active = now ? int(num(*now, "active_slot")) : -1;
            victim = active >= 0 ? pid_t(num(*now, "slot" + std::to_string(active) + "_pid")) : -1;
        }
        if (victim <= 0) {
            a.failures.push_back("no active worker before failover " + std::to_string(i + 1));
            return a;
        }
        // Commands keep arriving around the failure: they must reach the replacement too.
        for (int k = 0; k < 3; ++k)
            c.send("/mod/a/freq", {freq(rng)});
        const auto t0 = std::chrono::steady_clock::now();
        ::kill(victim, fault.signal);
        for (int k = 0; k < 3; ++k) {
            std::this_thread::sleep_for(10ms);
            c.send("/mod/b/freq", {freq(rng)});
        }
        if (!waitRedundant(c, num(*before, "failovers") + i + 1, 5s, st)) {
            a.failures.push_back("failover " + std::to_string(i + 1) + " (" + fault.name +
                                 ") did not restore redundancy:\n" + sup.log());
            return a;
        }
        a.restoreMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        a.failoverFrames.emplace_back(num(st, "last_failover_frame"), fault.name);
        std::printf("failover %2d %-15s restored in %6.1f ms (supervisor: %6.1f ms)\n", i + 1, fault.name,
                    a.restoreMs.back(), num(st, "last_restore_ms"));
    }
    std::this_thread::sleep_for(200ms);
    cap.stop();
    a.lateClients = lateNonWorkers(dir / "jackd.log");
    const auto end = status(c);
    if (!end) {
        a.failures.push_back("no status at the end");
        return a;
    }
    a.xruns = num(*end, "xruns") - num(*before, "xruns");
    // Every fault fails over. One more is JACK's doing, not ours: a non-real-time server holds
    // a live worker's cycle off now and then, and the output then plays the other slot's
    // block (hitless: the comparison below still checks every frame). Such a run is retried.
    const double failovers = num(*end, "failovers") - num(*before, "failovers");
    a.check(failovers >= 20, "failovers: " + std::to_string(failovers) + " for 20 faults");
    if (failovers > 20)
        a.jackLosses.push_back(std::to_string(long(failovers - 20)) + " failover(s) beyond the 20 faults");
    a.supervisorSkipped = num(*end, "skipped_frames") - num(*before, "skipped_frames");
    // A gap (no slot had the block) is JACK's only when JACK skipped cycles: the workers
    // missed them too and, more than the lookahead behind, could not have the block yet.
    if (const double gaps = num(*end, "gaps") - num(*before, "gaps"); gaps > 0) {
        if (a.supervisorSkipped > 0)
            a.jackLosses.push_back(std::to_string(long(gaps)) + " gap(s) after JACK skipped the supervisor's cycles");
        else
            a.failures.push_back("the supervisor counted " + std::to_string(long(gaps)) +
                                 " gap(s) though JACK skipped none of its cycles");
    }
    a.check(num(*end, "divergences") == 0, "the slots diverged");
    a.check(sup.stop() == 0, "the supervisor did not exit cleanly: " + sup.log());

    // No gap: every cycle follows the previous one, so recorded frames == elapsed frames.
    if (cap.overflowed() || cap.cycleCount() < 100) {
        a.failures.push_back("capture overflowed or recorded nothing");
        return a;
    }
    const auto &first = cap.cycle(0);
    const auto &last = cap.cycle(cap.cycleCount() - 1);
    const std::uint64_t elapsed = std::uint64_t(last.frame - first.frame) + last.frames;
    if (cap.frames() != elapsed)
        a.jackLosses.push_back("recorded " + std::to_string(cap.frames()) + " frames but " + std::to_string(elapsed) +
                               " elapsed");
    if (a.supervisorSkipped > 0)
        a.jackLosses.push_back("JACK did not run the supervisor for " + std::to_string(long(a.supervisorSkipped)) +
                               " frames");

    // Bit-identical to the offline render of the journal.
    const auto origin = journalOrigin(journal);
    if (!origin || first.frame < *origin) {
        a.failures.push_back("journal has no usable origin");
        return a;
    }
    for (std::size_t i = 1; i < cap.cycleCount(); ++i)
        if (cap.cycle(i).frame != cap.cycle(i - 1).frame + cap.cycle(i - 1).frames) {
            const double at = double(cap.cycle(i - 1).frame - *origin);
            ++a.captureGaps;
            a.jackLosses.push_back("capture gap after timeline frame " + std::to_string(long(at)) + ", nearest fault " +
                                 a.nearestFault(at));
        }
    const std::uint64_t t0 = first.frame - *origin;
    const auto rendered = renderJournal(journal, t0 + elapsed, dir);
    if (!rendered) {
        a.failures.push_back("chronus-render failed: " + readText(dir / "render.log"));
        return a;
    }
    const Comparison cmp = compareWithRender(cap, *rendered, *origin, journalDeclarations(journal));
    if (cmp.excused > 0)
        a.jackLosses.push_back(std::to_string(cmp.excused) + " cycle(s) left over from a cycle JACK skipped");
    // Blocks the journal declares (a gap, or one that may have gone out a cycle early) come
    // from JACK skipping cycles; without a skip they are failures.
    if (cmp.declared > 0)
        (a.supervisorSkipped > 0 ? a.jackLosses : a.failures)
            .push_back(std::to_string(cmp.declared) + " cycle(s) as the journal declares (gap, or a cycle early)");
    // A repeated block is JACK's doing only if JACK skipped the supervisor's cycle there, and
    // the supervisor sees every skipped cycle of its own (its frame clock jumps): a repeat it
    // did not count is ours.
    a.check(double(cmp.repeated) * double(first.frames) <= a.supervisorSkipped,
            std::to_string(cmp.repeated) + " cycle(s) repeated the previous block, but the supervisor counted only " +
                std::to_string(long(a.supervisorSkipped)) + " skipped frames");
    a.check(cmp.mismatchFrames == 0, std::to_string(cmp.mismatchFrames) +
                                         " frames differ from the offline render, the first block at timeline frame " +
                                         std::to_string(cmp.firstMismatch) + ", nearest fault " +
                                         a.nearestFault(double(cmp.firstMismatch)));
    a.check(cmp.rms > 0.05, "the recording is (nearly) silent");
    return a;
}

TEST(LiveFailover, TwentyFailoversInARowLoseNoFrameAndMatchTheOfflineRenderBitForBit)
{
    CHRONUS_REQUIRE_JACKD();
    // A JACK client that dies or joins makes jackd skip a cycle now and then (it cannot
    // finish the graph that still holds the dead client: "Process error" in its log), and
    // on this non-real-time dummy server that cycle is sometimes the supervisor's or the
    // capture client's, more often the busier the machine. The strict bar (no frame lost,
    // every frame identical) is tried three times. If JACK disturbed all three, the last
    // run still has to pass everything else: all 20 failovers, no gap or divergence
    // counted by the supervisor, and every cycle JACK did run bit-identical to the render.
    Attempt a;
    bool strict = false;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        TestScratchDir dir{"chronus-live"};
        a = runScenario(dir.path);
        strict = a.failures.empty() && a.jackLosses.empty();
        if (strict || !a.failures.empty())
            break;
        std::printf("attempt %d disturbed by JACK (%g xruns, %zu late non-worker clients in jackd's log):\n", attempt,
                    a.xruns, a.lateClients.size());
        for (const auto &f : a.jackLosses)
            std::printf("  %s\n", f.substr(0, 300).c_str());
    }
    for (const auto &f : a.failures)
        ADD_FAILURE() << f;
    if (!a.failures.empty())
        return;
    RecordProperty("strict", strict ? "yes" : "no");
    if (!strict)
        std::printf("NOTE: no run free of JACK-skipped cycles in 3 attempts; the last run passed on every cycle JACK "
                    "ran\n");

    double worst = 0, sum = 0;
    for (double ms : a.restoreMs) {
        worst = std::max(worst, ms);
        sum += ms;
    }
    std::printf("redundancy restore (signal -> standby verified, seen by the test): mean %.1f ms, worst %.1f ms over "
                "%zu failovers\n",
                sum / double(a.restoreMs.size()), worst, a.restoreMs.size());
    RecordProperty("restore_ms_worst", std::to_string(worst));
    EXPECT_LT(worst, 1000.0) << "goal: redundancy restored within 1 s";
}

} // namespace

// When both workers are lost at once there is a gap (counted); the replacements start
// empty and the supervisor commits the live patch again. From that commit on, the output
// must again be exactly what chronus-render makes of the journal.
TEST(LiveFailover, AfterLosingBothWorkersTheOutputMatchesTheJournalAgainFromTheRestart)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    const fs::path journal = dir.path / "journal.txt";
    Supervisor sup;
    ASSERT_TRUE(sup.start(dir.path, {"--journal", journal.string()})) << sup.log();
    auto client = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    ASSERT_TRUE(client);
    Client &c = **client;
    Capture cap;
    ASSERT_TRUE(cap.open("chronus", 30));
    // Oscillator phases are state: a restart from fresh state shows in every sample.
    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {"a", "sine", "freq", 220.0f, "gain", 0.4f}},
             {"/patch/create", {"b", "osc", "waveform", "saw", "freq", 97.0f, "amp", 0.2f}},
             {"/patch/connect", {"a", "output"}},
             {"/patch/connect", {"b", "output"}},
             {"/patch/commit", {}}}) {
        auto r = command(c, addr, args);
        ASSERT_TRUE(r && r->address == "/done") << addr;
    }
    Status st;
    ASSERT_TRUE(waitRedundant(c, 0, 5s, st));
    std::this_thread::sleep_for(200ms);
    cap.start();
    std::this_thread::sleep_for(300ms);
    auto before = status(c);
    ASSERT_TRUE(before);
    ::kill(pid_t(num(*before, "slot0_pid")), SIGKILL);
    ::kill(pid_t(num(*before, "slot1_pid")), SIGKILL);
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(waitRedundant(c, 0, 10s, st)) << sup.log();
    c.send("/mod/a/freq", {330.0f}); // and commands after the restart reach the replay too
    std::this_thread::sleep_for(500ms);
    cap.stop();
    auto end = status(c);
    ASSERT_TRUE(end);
    EXPECT_GT(num(*end, "gaps"), num(*before, "gaps")) << "losing both workers must show as a gap";
    ASSERT_EQ(sup.stop(), 0) << sup.log();

    const std::string text = readText(journal);
    std::uint64_t restart = 0;
    const std::regex reload("@([0-9]+) /patch/load");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), reload); it != std::sregex_iterator(); ++it)
        restart = std::stoull((*it)[1]);
    ASSERT_GT(restart, 0u) << "no re-commit in the journal:\n" << text;
    std::uint64_t origin = 0;
    const auto rendered = renderCaptured(cap, journal, dir.path, origin);
    ASSERT_TRUE(rendered) << rendered.error();
    auto matches = [&](std::size_t at, std::uint64_t frame, std::uint32_t n) {
        for (int ch = 0; ch < 2; ++ch)
            if (std::memcmp(cap.channel(ch) + at, (*rendered)[ch].data() + frame, n * sizeof(float)) != 0)
                return false;
        return true;
    };
    // Each cycle at the timeline frame the supervisor gave it (chronus:clock): JACK's clock
    // cannot always tell this test's capture from a cycle late or skipped. A cycle the clock
    // did not label (the supervisor still at work when the capture ran) is not compared.
    std::size_t compared = 0, differing = 0, unlabelled = 0;
    for (std::size_t i = 0, at = 0; i < cap.cycleCount(); at += cap.cycle(i).frames, ++i) {
        const std::uint32_t n = cap.cycle(i).frames;
        if (cap.cycle(i).frame - origin < restart)
            continue;
        if (cap.cycle(i).timeline < 0) {
            ++unlabelled;
            continue;
        }
        const std::uint64_t frame = std::uint64_t(cap.cycle(i).timeline);
        if (frame < restart || frame + 2 * n > (*rendered)[0].size())
            continue;
        ++compared;
        if (!matches(at, frame, n))
            ++differing;
    }
    EXPECT_GT(compared, 50u);
    EXPECT_LT(unlabelled, compared / 10) << "cycles the timeline clock did not label";
    EXPECT_EQ(differing, 0u) << "of " << compared << " cycles after the restart at timeline frame " << restart;
}

// Both workers starved at once (their audio threads stand still for 1.2 s, not stopped, as on a
// machine that gives them no CPU while JACK runs the supervisor on) are the machine's fault,
// not theirs: neither is replaced, the supervisor says so (both_late) and why, the output's
// silence meanwhile is declared, and every other frame is the journal's render. Replacing
// both cost a double loss, a re-commit and the CPU the machine lacked.
class LiveStarvation : public chronus::harness::LiveSuiteTest {
protected:
    std::vector<std::string> supervisorArgs() const override { return {}; } // the default lookahead
};

TEST_F(LiveStarvation, BothWorkersStarvedTogetherAreKeptAndTheirSilenceIsDeclared)
{
    Client &c = *client;
    Capture cap;
    playSineAndSaw(cap);
    if (HasFatalFailure())
        return;
    std::this_thread::sleep_for(300ms);
    auto before = status(c);
    ASSERT_TRUE(before);
    ::kill(pid_t(num(*before, "slot0_pid")), SIGRTMIN + 1);
    ::kill(pid_t(num(*before, "slot1_pid")), SIGRTMIN + 1);
    std::this_thread::sleep_for(2500ms);
    Status st;
    ASSERT_TRUE(waitRedundant(c, 0, 5s, st)) << sup.log();
    c.send("/mod/a/freq", {330.0f});
    std::this_thread::sleep_for(500ms);
    cap.stop();
    auto end = status(c);
    ASSERT_TRUE(end);
    EXPECT_EQ(num(*end, "respawns"), num(*before, "respawns")) << "a starved worker was replaced:\n" << sup.log();
    EXPECT_EQ(num(*end, "slot0_pid"), num(*before, "slot0_pid"));
    EXPECT_EQ(num(*end, "slot1_pid"), num(*before, "slot1_pid"));
    EXPECT_GE(num(*end, "both_late"), num(*before, "both_late") + 1) << sup.log();
    EXPECT_GE(num(*end, "both_late_max_ms"), 500.0) << sup.log();
    // And why: the hook sleeps in the audio thread, so the workers were asleep, not runnable.
    EXPECT_EQ(str(*end, "both_late_why").rfind("asleep", 0), 0u) << str(*end, "both_late_why");
    EXPECT_GT(num(*end, "gaps"), num(*before, "gaps")) << "neither slot had blocks for a second: a declared gap";
    ASSERT_EQ(sup.stop(), 0) << sup.log();
    const std::string log = sup.log();
    EXPECT_NE(log.find("both slots late"), std::string::npos) << log;
    if (const auto at = log.find("both slots run again"); at != std::string::npos)
        std::printf("%s\n", log.substr(at, log.find('\n', at) - at).c_str());
    EXPECT_NE(readText(journal).find("# gap: frames"), std::string::npos) << "the silence is declared in the journal";
    expectLiveEqualsRender(cap, 0.05);
}

// --lookahead auto: both workers miss their blocks together (each stands still for 6
// periods) and the lookahead grows a period; after a calm spell it shrinks back. A stream of
// commands (one every 4 ms) runs through both moves and plays at the frames the journal says. Through both moves neither worker is replaced, the two
// stay bit-identical and every frame the output played is the journal's render (the stall's
// own silence, if the output had no block, declared).
class LiveAutoLookahead : public chronus::harness::LiveSuiteTest {
protected:
    std::vector<std::string> supervisorArgs() const override
    {
        return {"--lookahead", "auto", "--lookahead-max", "4", "--lookahead-calm", "1"};
    }
    // The status once `done` holds, polled for up to `timeout`.
    template <typename Done>
    std::optional<Status> await(std::chrono::milliseconds timeout, Done &&done)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::optional<Status> st;
        while (std::chrono::steady_clock::now() < deadline) {
            st = status(*client);
            if (st && done(*st))
                return st;
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;
    }
};

TEST_F(LiveAutoLookahead, BothWorkersLateRaiseItACalmSpellLowersItAndEveryFrameIsTheJournalsRender)
{
    Client &c = *client;
    Capture cap;
    playSineAndSaw(cap);
    if (HasFatalFailure())
        return;
    // Where auto starts (and returns to, should start-up have raised it).
    const auto before = await(10s, [](const Status &s) { return num(s, "lookahead") == 2; });
    ASSERT_TRUE(before) << sup.log();
    EXPECT_EQ(str(*before, "lookahead_mode"), "auto");
    EXPECT_EQ(num(*before, "lookahead_max"), 4);
    int sent = 0;
    std::jthread stream([&](std::stop_token stop) { // joined on every way out of the test
        auto own = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
        if (!own)
            return;
        for (; !stop.stop_requested(); ++sent) {
            (*own)->send("/mod/b/freq", {97.0f + float(sent % 200)});
            std::this_thread::sleep_for(4ms);
        }
    });
    std::this_thread::sleep_for(300ms);
    ::kill(pid_t(num(*before, "slot0_pid")), SIGUSR2);
    ::kill(pid_t(num(*before, "slot1_pid")), SIGUSR2);
    const auto raised = await(3s, [&](const Status &s) {
        return num(s, "lookahead_raised") > num(*before, "lookahead_raised") && num(s, "lookahead") >= 3;
    });
    ASSERT_TRUE(raised) << "the lookahead did not grow when both workers were late\n" << sup.log();
    EXPECT_GT(num(*raised, "thin_cycles"), num(*before, "thin_cycles"));
    const auto lowered = await(15s, [&](const Status &s) {
        return num(s, "lookahead_lowered") > num(*raised, "lookahead_lowered") && num(s, "lookahead") == 2;
    });
    ASSERT_TRUE(lowered) << "the lookahead did not shrink back after a calm spell\n" << sup.log();
    std::this_thread::sleep_for(300ms);
    stream.request_stop();
    stream.join();
    std::this_thread::sleep_for(300ms);
    cap.stop();
    const auto end = status(c);
    ASSERT_TRUE(end);
    EXPECT_EQ(num(*end, "respawns"), num(*before, "respawns")) << "a late worker was replaced:\n" << sup.log();
    EXPECT_EQ(num(*end, "divergences"), 0);
    EXPECT_EQ(num(*end, "late_commands"), 0);
    EXPECT_EQ(num(*end, "commands_at_risk"), 0);
    ASSERT_EQ(sup.stop(), 0) << sup.log();
    EXPECT_NE(sup.log().find("lookahead raised to 3"), std::string::npos) << sup.log();
    EXPECT_NE(sup.log().find("lookahead lowered to 2"), std::string::npos) << sup.log();
    const std::string journalText = readText(journal);
    int journalled = 0;
    for (std::size_t at = journalText.find("/mod/b/freq"); at != std::string::npos;
         at = journalText.find("/mod/b/freq", at + 1))
        ++journalled;
    EXPECT_GT(sent, 300);
    EXPECT_EQ(journalled, sent) << "every command of the stream played, at a frame the journal gives";
    expectLiveEqualsRender(cap, 0.05);
}
