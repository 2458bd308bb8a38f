// chronus-recorder end to end: a private dummy jackd, the ramp source as "chronus:out_*",
// the real binary driven over OSC, and every recorded frame checked.
#include "tests/recorder/jack_fixture.hpp"
#include "common/osc.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sys/statvfs.h>

using namespace chronus;
using namespace testing_rec;
using namespace std::chrono_literals;

namespace {

// A JACK client of the test's own, to read the server's frame clock (the clock the
// recorder stamps frames with) at moments the test chooses.
class JackClock {
public:
    JackClock()
    {
        jack_status_t st{};
        client_ = jack_client_open("clock-probe", JackNoStartServer, &st);
    }
    ~JackClock()
    {
        if (client_)
            jack_client_close(client_);
    }
    bool ok() const { return client_ != nullptr; }
    std::uint32_t now() const { return jack_frame_time(client_); }
    // Whether the server keeps time: its estimate of the frame now is within two periods of
    // the current cycle's first frame. A non-real-time jackd on a loaded machine falls
    // behind; its estimate then runs ahead and snaps back when it catches up.
    bool steady() const
    {
        const std::int64_t d = std::int32_t(jack_frame_time(client_) - jack_last_frame_time(client_));
        return d >= 0 && d <= 2 * std::int64_t(jack_get_buffer_size(client_));
    }

    // The clock read around `action`, which makes the recorder read it too.
    struct Bracket {
        std::uint32_t before = 0, after = 0;
        bool steady = false; // the readings mean something (see steady())
    };
    Bracket around(const std::function<void()> &action) const
    {
        Bracket b;
        const bool steadyBefore = steady();
        b.before = now();
        action();
        b.after = now();
        const std::int32_t span = std::int32_t(b.after - b.before);
        b.steady = steadyBefore && steady() && span >= 0 && span < 48000 / 2;
        return b;
    }

private:
    jack_client_t *client_ = nullptr;
};

// a - b for JACK frame times, across the 32-bit wrap.
std::int64_t frameDelta(std::uint64_t a, std::uint64_t b) { return std::int32_t(std::uint32_t(a) - std::uint32_t(b)); }

// The value after `key` in a key/value reply.
std::optional<osc::Arg> valueOf(const osc::Message &m, const std::string &key)
{
    for (std::size_t i = 0; i + 1 < m.args.size(); i += 2)
        if (m.stringAt(i) == key)
            return m.args[i + 1];
    return std::nullopt;
}
std::optional<double> numberOf(const osc::Message &m, const std::string &key)
{
    for (std::size_t i = 0; i + 1 < m.args.size(); i += 2)
        if (m.stringAt(i) == key)
            return m.numberAt(i + 1);
    return std::nullopt;
}

class RecorderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        REQUIRE_JACKD();
        dir_ = chronus::harness::freshTestDir("chronus-rec-test");
        ASSERT_TRUE(jack_.start(dir_)) << jack_.failure();
    }
    void TearDown() override
    {
        if (recorder_ > 0)
            stopChild(recorder_);
        if (ramp_ > 0)
            stopChild(ramp_);
        if (!HasFailure())
            fs::remove_all(dir_);
    }

    void startRamp(int channels, const std::vector<std::string> &extra = {}, const std::string &log = "ramp.log")
    {
        std::vector<std::string> argv{envOr("CHRONUS_RAMP", "chronus-ramp-source"), "--channels",
                                      std::to_string(channels)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        ramp_ = spawn(argv, (dir_ / log).string());
    }

    // checkRamp with what the ramp source said it misplayed (it prints that within 20 ms).
    RampCheck checkTake(const fs::path &path, std::uint64_t firstJackFrame, const std::vector<std::size_t> &sourceOf = {})
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        return checkRamp(path, firstJackFrame, sourceOf, rampMisplays(dir_ / "ramp.log"));
    }

    // Starts the recorder and waits until it answers /ping.
    void startRecorder(std::vector<std::string> extra = {}, const std::function<void()> &beforeExec = {})
    {
        port_ = freeUdpPort();
        std::vector<std::string> argv{envOr("CHRONUS_RECORDER", "chronus-recorder"), "--osc-port",
                                      std::to_string(port_), "--dir", (dir_ / "rec").string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        recorder_ = spawn(argv, (dir_ / "recorder.log").string(), beforeExec);
        auto c = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", port_);
        ASSERT_TRUE(c) << c.error();
        client_ = std::move(*c);
        for (int i = 0; i < 100; ++i) {
            if (client_->request("/ping", {}, 100))
                return;
            ASSERT_TRUE(alive(recorder_)) << "recorder exited; see " << dir_ << "/recorder.log";
        }
        FAIL() << "recorder never answered /ping";
    }

    static bool awaitConnected(const std::string &port, int timeoutMs)
    {
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("connection-probe", JackNoStartServer, &st);
        if (!probe)
            return false;
        bool connected = false;
        for (int i = 0; i < timeoutMs / 10 && !connected; ++i) {
            jack_port_t *p = jack_port_by_name(probe, port.c_str());
            connected = p && jack_port_connected(p) > 0;
            if (!connected)
                std::this_thread::sleep_for(10ms);
        }
        jack_client_close(probe);
        return connected;
    }

    // The source ports `port` is connected to, asked through a probe client of our own.
    static std::vector<std::string> connectionsOf(const std::string &port)
    {
        std::vector<std::string> out;
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("connection-probe", JackNoStartServer, &st);
        if (!probe)
            return out;
        if (jack_port_t *p = jack_port_by_name(probe, port.c_str()))
            if (const char **c = jack_port_get_all_connections(probe, p)) {
                for (const char **i = c; *i; ++i)
                    out.emplace_back(*i);
                jack_free(c);
            }
        jack_client_close(probe);
        return out;
    }
    // Waits until each input is connected to exactly the source named with it.
    static ::testing::AssertionResult awaitConnections(const std::vector<std::pair<std::string, std::string>> &want,
                                                       int timeoutMs)
    {
        std::string last;
        for (int i = 0; i < timeoutMs / 20; ++i) {
            last.clear();
            for (const auto &[input, source] : want)
                if (const auto c = connectionsOf(input); c != std::vector<std::string>{source})
                    last += input + " has " + std::to_string(c.size()) + " connections" +
                            (c.empty() ? std::string() : ", first " + c[0]) + "; ";
            if (last.empty())
                return ::testing::AssertionSuccess();
            std::this_thread::sleep_for(20ms);
        }
        return ::testing::AssertionFailure() << last;
    }

    osc::Message call(const std::string &address, const std::vector<osc::Arg> &args = {}, int timeoutMs = 5000)
    {
        auto r = client_->request(address, args, timeoutMs);
        EXPECT_TRUE(r) << "no reply to " << address;
        return r ? *r : osc::Message{};
    }

    // Waits for an unsolicited message (e.g. /done /record/stop after a duration limit).
    std::optional<osc::Message> await(const std::string &address, const std::string &first, int timeoutMs)
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < end)
            if (auto m = client_->receive(100); m && m->address == address && m->stringAt(0) == first)
                return m;
        return std::nullopt;
    }

    // A take of `seconds` named `name`, started now and ended by its duration limit, checked
    // against the ramp source.
    struct RampTake {
        osc::Message started;
        std::optional<osc::Message> ended;
        RampCheck check;
    };
    RampTake recordRamp(const std::string &name, float seconds)
    {
        RampTake t;
        t.started = call("/record/start", {name, seconds});
        if (t.started.address != "/done") {
            ADD_FAILURE() << osc::toString(t.started);
            return t;
        }
        t.ended = await("/done", "/record/stop", int(seconds * 1000) + 5000);
        if (!t.ended) {
            ADD_FAILURE() << "the take did not end";
            return t;
        }
        const fs::path path = *t.started.stringAt(1);
        t.check = checkTake(path, sidecarFirstFrame(path));
        return t;
    }

    // Records `seconds` with the duration limit and checks every frame. JACK's frame clock
    // cannot say where a cycle belongs when a late callback was then skipped (see
    // common/jack_time.hpp and the sidecar's "uncertain_frames"), and a late callback can
    // also miss a take's stop: a take during which JACK reported xruns and that fails the
    // strict check is tried again, up to five takes (a 256-port graph on two busy cores has
    // xruns in most takes). A take without xruns must be exact.
    void recordsEveryFrame(int channels, double seconds)
    {
        constexpr int kTakes = 5;
        startRamp(channels);
        startRecorder({"--channels", std::to_string(channels)});
        // Every channel is checked from the first frame: wait until the last input is
        // connected (the ramp may register its ports after the recorder started).
        ASSERT_TRUE(awaitConnected("chronus-recorder:in_" + std::to_string(channels), 5000));
        std::this_thread::sleep_for(50ms); // a few cycles, so the graph uses the connection
        for (int attempt = 1; attempt <= kTakes; ++attempt) {
            const auto xrunsBefore = recorderXruns();
            std::vector<std::string> problems;
            auto started = call("/record/start", {"ramp" + std::to_string(attempt), float(seconds)});
            ASSERT_EQ(started.address, "/done") << osc::toString(started);
            const fs::path path = *started.stringAt(1);
            auto ended = await("/done", "/record/stop", int(seconds * 1000) + 5000);
            if (!ended) {
                problems.push_back("no /done /record/stop within 5 s of the duration limit; status then: " +
                                   osc::toString(call("/record/status", {})).substr(0, 400));
                call("/record/stop", {});
            } else {
                const RampCheck r = checkTake(path, sidecarFirstFrame(path));
                if (!r.opened || r.channels != channels)
                    problems.push_back("cannot open the take, or wrong channel count: " + r.describe());
                if (*ended->intAt(2) != std::int64_t(seconds * 48000) || r.frames != std::uint64_t(seconds * 48000))
                    problems.push_back("frame count: " + r.describe());
                if (r.mismatches != 0)
                    problems.push_back("frames that are neither the ramp nor silence: " + r.describe());
                // Silence only where the recorder said frames were lost (a loaded machine can
                // make the dummy driver skip a cycle), and exactly that much.
                if (std::int64_t(r.silentFrames) != *ended->intAt(3))
                    problems.push_back("silence not as reported (" + std::to_string(*ended->intAt(3)) +
                                       " lost): " + r.describe());
            }
            if (problems.empty())
                return;
            const auto xruns = recorderXruns() - xrunsBefore;
            for (const auto &p : problems)
                std::printf("take %d (%lld JACK xruns): %s\n", attempt, static_cast<long long>(xruns), p.c_str());
            if (xruns == 0 || attempt == kTakes) {
                for (const auto &p : problems)
                    ADD_FAILURE() << p << (xruns == 0 ? " (no JACK xrun during the take)" : " (last take)");
                return;
            }
        }
    }

    // The recorder's count of JACK xruns since it started.
    std::int64_t recorderXruns()
    {
        auto st = call("/record/status", {});
        for (std::size_t i = 0; i + 1 < st.args.size(); ++i)
            if (st.stringAt(i) == std::string("xruns"))
                if (auto n = st.numberAt(i + 1))
                    return std::int64_t(*n);
        return 0;
    }

    fs::path dir_;
    JackServer jack_;
    pid_t ramp_ = -1, recorder_ = -1;
    int port_ = 0;
    std::unique_ptr<osc::Client> client_;
};

TEST_F(RecorderTest, TwoChannelTakeHoldsExactlyDurationTimesRateFramesInOrder) { recordsEveryFrame(2, 1.5); }

TEST_F(RecorderTest, ThirtyTwoChannelTakeHoldsEveryFrameOnTheRightChannel) { recordsEveryFrame(32, 1.0); }

TEST_F(RecorderTest, TwoHundredFiftySixChannelTakeHoldsEveryFrameOnTheRightChannel) { recordsEveryFrame(256, 1.0); }

TEST_F(RecorderTest, StopWhileIdleAndStartWhileRecordingFailAndChangeNothing)
{
    startRamp(2);
    startRecorder();
    auto m = call("/record/stop");
    EXPECT_EQ(m.address, "/fail");
    auto started = call("/record/start", {std::string("one")});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    auto again = call("/record/start", {std::string("two")});
    EXPECT_EQ(again.address, "/fail") << osc::toString(again);
    EXPECT_FALSE(fs::exists(dir_ / "rec" / "two.wav"));
    std::this_thread::sleep_for(500ms);
    auto status = call("/record/status");
    ASSERT_EQ(status.address, "/record/status.reply");
    EXPECT_EQ(status.stringAt(1), "recording");
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done") << osc::toString(stopped);
    EXPECT_EQ(stopped.stringAt(1), started.stringAt(1));
    EXPECT_GT(*stopped.intAt(2), 48000 / 4);
    const fs::path path = *stopped.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    EXPECT_EQ(std::int64_t(r.frames), *stopped.intAt(2)) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *stopped.intAt(3)) << r.describe();
    EXPECT_EQ(call("/record/stop").address, "/fail");
    auto unknown = call("/record/bogus");
    EXPECT_EQ(unknown.address, "/fail");
}

TEST_F(RecorderTest, NamesThatEscapeTheRecordingsDirectoryAreRefused)
{
    startRamp(2);
    startRecorder();
    for (const std::string bad : {"../escape", "/tmp/escape", "a/../../escape", "sub/../../../escape"}) {
        auto m = call("/record/start", {bad});
        EXPECT_EQ(m.address, "/fail") << bad << ": " << osc::toString(m);
    }
    EXPECT_FALSE(fs::exists(dir_ / "escape.wav"));
    EXPECT_FALSE(fs::exists("/tmp/escape.wav"));
    auto ok = call("/record/start", {std::string("sub/inside")});
    EXPECT_EQ(ok.address, "/done") << osc::toString(ok);
    EXPECT_EQ(call("/record/stop").address, "/done");
    EXPECT_TRUE(fs::exists(dir_ / "rec" / "sub" / "inside.wav"));
}

TEST_F(RecorderTest, ExistingFilesAreNeverOverwritten)
{
    startRamp(2);
    startRecorder();
    ASSERT_EQ(call("/record/start", {std::string("same")}).address, "/done");
    std::this_thread::sleep_for(300ms);
    auto first = call("/record/stop");
    ASSERT_EQ(first.address, "/done");
    const auto size = fs::file_size(*first.stringAt(1));
    auto second = call("/record/start", {std::string("same")});
    ASSERT_EQ(second.address, "/done");
    EXPECT_NE(second.stringAt(1), first.stringAt(1));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(call("/record/stop").address, "/done");
    EXPECT_EQ(fs::file_size(*first.stringAt(1)), size);
    EXPECT_TRUE(fs::exists(dir_ / "rec" / "same-1.wav"));
}

TEST_F(RecorderTest, SplitContinuesSampleContiguouslyInNumberedParts)
{
    startRamp(2);
    startRecorder();
    ASSERT_EQ(call("/record/start", {std::string("take")}).address, "/done");
    std::this_thread::sleep_for(400ms);
    auto split = call("/record/split");
    ASSERT_EQ(split.address, "/done") << osc::toString(split);
    std::this_thread::sleep_for(400ms);
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done");
    const fs::path p1 = dir_ / "rec" / "take_0001.wav", p2 = dir_ / "rec" / "take_0002.wav";
    ASSERT_TRUE(fs::exists(p1));
    ASSERT_TRUE(fs::exists(p2));
    EXPECT_FALSE(fs::exists(dir_ / "rec" / "take.wav"));
    // The split names the new part, and the first part by the _0001 name it took then.
    EXPECT_EQ(fs::path(*split.stringAt(1)), fs::canonical(p2));
    EXPECT_EQ(fs::path(*split.stringAt(2)), fs::canonical(p1));
    const std::uint64_t f1 = sidecarFirstFrame(p1);
    const RampCheck a = checkTake(p1, f1);
    const RampCheck b = checkTake(p2, f1 + a.frames); // part 2 starts where part 1 ended
    EXPECT_EQ(a.mismatches, 0u) << a.describe();
    EXPECT_EQ(a.silentFrames % 256, 0u) << a.describe();
    EXPECT_EQ(b.mismatches, 0u) << b.describe();
    EXPECT_EQ(b.silentFrames % 256, 0u) << b.describe();
    EXPECT_EQ(sidecarFirstFrame(p2), f1 + a.frames);
    EXPECT_EQ(std::int64_t(a.frames + b.frames), *stopped.intAt(2));
}

TEST_F(RecorderTest, WithSplittingSetUpFrontTheStartReplyNamesTheFirstPartForGood)
{
    startRamp(2);
    startRecorder({"--split-frames", "24000"});
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    std::this_thread::sleep_for(50ms);
    auto started = call("/record/start", {std::string("parts"), 1.2f});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    const fs::path first = *started.stringAt(1);
    EXPECT_EQ(first.filename(), "parts_0001.wav");
    EXPECT_TRUE(fs::exists(first));
    auto ended = await("/done", "/record/stop", 6000);
    ASSERT_TRUE(ended) << "no /done /record/stop after the duration limit";
    EXPECT_EQ(fs::path(*ended->stringAt(1)).filename(), "parts_0003.wav");
    EXPECT_EQ(ended->intAt(2), 57600);
    EXPECT_FALSE(fs::exists(dir_ / "rec" / "parts.wav"));
    // The path the start reply named still holds the first part, and the parts join up.
    std::uint64_t frame = sidecarFirstFrame(first);
    std::uint64_t lost = 0;
    const std::uint64_t expect[] = {24000, 24000, 9600};
    for (int i = 0; i < 3; ++i) {
        const fs::path p = dir_ / "rec" / ("parts_000" + std::to_string(i + 1) + ".wav");
        SCOPED_TRACE(p.filename().string());
        EXPECT_EQ(sidecarFirstFrame(p), frame);
        const RampCheck r = checkTake(p, frame);
        EXPECT_EQ(r.frames, expect[i]) << r.describe();
        EXPECT_EQ(r.mismatches, 0u) << r.describe();
        lost += r.silentFrames;
        frame += r.frames;
    }
    EXPECT_EQ(std::int64_t(lost), *ended->intAt(3));
}

TEST_F(RecorderTest, PrerollStartsTheFileExactlyThatEarlierAndSeamlessly)
{
    startRamp(2);
    startRecorder({"--preroll", "0.5"});
    JackClock clock;
    ASSERT_TRUE(clock.ok());
    std::this_thread::sleep_for(1000ms);
    osc::Message started, stopped;
    JackClock::Bracket at;
    constexpr int kAttempts = 6; // a busy 2-core machine can stall JACK around a few in a row
    for (int attempt = 0; attempt < kAttempts && !at.steady; ++attempt) {
        // A take's pre-roll cannot reach back into the take before it (those frames went to
        // that file): after a retry, let the history fill again.
        if (attempt > 0)
            std::this_thread::sleep_for(700ms);
        at = clock.around([&] { started = call("/record/start", {std::string("pre")}); });
        ASSERT_EQ(started.address, "/done");
        std::this_thread::sleep_for(300ms);
        stopped = call("/record/stop");
        ASSERT_EQ(stopped.address, "/done");
    }
    const fs::path path = *stopped.stringAt(1);
    // The file's first frame is the JACK frame of the start command less 0.5 s: the command
    // arrived between `before` and `after`, and the recorder's estimate of the frame now
    // may be off by up to a period.
    const std::uint64_t first = sidecarFirstFrame(path);
    if (at.steady) {
        EXPECT_GE(frameDelta(first, at.before), -24000 - 256) << "before " << at.before << ", first " << first;
        EXPECT_LE(frameDelta(first, at.after), -24000 + 256) << "after " << at.after << ", first " << first;
    } else {
        ADD_FAILURE() << "JACK did not keep time around any of six start commands (a loaded machine?)";
    }
    const RampCheck r = checkTake(path, first);
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.frames), *stopped.intAt(2)) << r.describe();
    // At least pre-roll + the 300 ms between start and stop, less one period for JACK's
    // estimate of the current frame (the stop frame is exact, not rounded up to a cycle).
    EXPECT_GE(r.frames, 24000u + 300 * 48 - 256) << r.describe();
}

TEST_F(RecorderTest, SigkillLeavesAFileThatOpensWithAtMostASecondMissing)
{
    startRamp(2);
    startRecorder();
    auto started = call("/record/start", {std::string("killed")});
    ASSERT_EQ(started.address, "/done");
    std::this_thread::sleep_for(2500ms);
    kill(recorder_, SIGKILL);
    waitpid(recorder_, nullptr, 0);
    recorder_ = -1;
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened) << "libsndfile cannot open the killed take";
    EXPECT_GE(r.frames, std::uint64_t(48000 * 1.3)) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << "silence not in whole skipped periods: " << r.describe();

    // PCM 16 so Python's wave module (PCM only) can read it too.
    startRecorder({"--sample-format", "16"});
    auto s2 = call("/record/start", {std::string("killed16")});
    ASSERT_EQ(s2.address, "/done");
    std::this_thread::sleep_for(2500ms);
    kill(recorder_, SIGKILL);
    waitpid(recorder_, nullptr, 0);
    recorder_ = -1;
    const std::string cmd = "/usr/bin/python3 -c \"import wave,sys; w=wave.open(sys.argv[1]); "
                            "sys.exit(0 if w.getnframes() >= 48000*1.3 and w.getnchannels()==2 else 3)\" " +
                            *s2.stringAt(1);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "Python's wave rejects the killed take " << *s2.stringAt(1);
}

TEST_F(RecorderTest, SigtermAndSigintFinalizeTheTake)
{
    startRamp(2);
    for (int sig : {SIGTERM, SIGINT}) {
        SCOPED_TRACE(strsignal(sig));
        startRecorder();
        auto started = call("/record/start", {std::string("signalled")});
        ASSERT_EQ(started.address, "/done");
        std::this_thread::sleep_for(700ms);
        const int status = stopChild(recorder_, sig);
        recorder_ = -1;
        expectFinalizedTake(status, *started.stringAt(1), 48000 / 2, dir_ / "ramp.log");
    }
}

TEST_F(RecorderTest, JackServerShutdownFinalizesTheTakeAndExitsOneSoTheServiceManagerRestartsIt)
{
    startRamp(2);
    startRecorder();
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    std::this_thread::sleep_for(50ms);
    auto started = call("/record/start", {std::string("orphaned")});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    std::this_thread::sleep_for(700ms);
    jack_.stop();
    // The starter hears that the take ended, with its length.
    auto ended = await("/done", "/record/stop", 5000);
    const auto status = chronus::harness::waitExit(recorder_, 10000);
    ASSERT_TRUE(status) << "the recorder kept running without its JACK server";
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "wait status " << *status;
    const std::string log = chronus::harness::readText(dir_ / "recorder.log");
    EXPECT_NE(log.find("exiting with status 1: the JACK server went away"), std::string::npos) << log;
    ASSERT_TRUE(ended) << "no /done /record/stop after the server went away";
    const fs::path path = *started.stringAt(1);
    EXPECT_EQ(ended->stringAt(1), path.string());
    // Drained and finalized: every frame that reached the ring is in the file, and the
    // header counts exactly those.
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GE(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(std::int64_t(r.frames), *ended->intAt(2)) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *ended->intAt(3)) << r.describe();
    EXPECT_GE(fs::file_size(path), r.frames * 8);
    EXPECT_LT(fs::file_size(path), r.frames * 8 + 4096);
}

TEST_F(RecorderTest, DiskFullStopsTheTakeLeavesAValidFileAnswersFailAndStaysUp)
{
    startRamp(2);
    // A 1 MiB file-size limit in the recorder's process stands in for a full disk.
    startRecorder({}, [] {
        signal(SIGXFSZ, SIG_IGN);
        rlimit rl{1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
    });
    auto started = call("/record/start", {std::string("full")});
    ASSERT_EQ(started.address, "/done");
    auto failed = await("/fail", "/record/start", 10000);
    ASSERT_TRUE(failed) << "no /fail after the disk filled";
    EXPECT_TRUE(alive(recorder_));
    EXPECT_EQ(call("/ping").address, "/pong");
    auto status = call("/record/status");
    ASSERT_EQ(status.address, "/record/status.reply");
    std::optional<std::int64_t> diskErrors;
    for (std::size_t i = 0; i + 1 < status.args.size(); i += 2)
        if (status.stringAt(i) == "disk_errors")
            diskErrors = status.intAt(i + 1);
    EXPECT_EQ(diskErrors, 1);
    EXPECT_EQ(valueOf(status, "state"), osc::Arg(std::string("error")));
    const auto lastError = valueOf(status, "last_error");
    ASSERT_TRUE(lastError);
    EXPECT_NE(std::get<std::string>(*lastError), "");
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GT(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    EXPECT_LE(fs::file_size(path), std::uintmax_t(1) << 20);

    // A short take fits the limit: the state follows it again, and the error is history.
    ASSERT_EQ(call("/record/start", {std::string("after")}).address, "/done");
    auto during = call("/record/status");
    EXPECT_EQ(valueOf(during, "state"), osc::Arg(std::string("recording")));
    EXPECT_EQ(valueOf(during, "disk_errors"), osc::Arg(std::int64_t(1)));
    EXPECT_EQ(valueOf(during, "last_error"), lastError);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(call("/record/stop").address, "/done");
    auto after = call("/record/status");
    EXPECT_EQ(valueOf(after, "state"), osc::Arg(std::string("idle")));
    EXPECT_EQ(valueOf(after, "disk_errors"), osc::Arg(std::int64_t(1)));
}

TEST_F(RecorderTest, CyclesJackSkipsBecomeSilenceExactlyWhereStatusAndSidecarSay)
{
    startRamp(2);
    startRecorder();
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    std::this_thread::sleep_for(50ms);
    auto started = call("/record/start", {std::string("held")});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    std::this_thread::sleep_for(400ms);
    // Held off the CPU for 0.2 s, the recorder misses about 37 of JACK's cycles.
    kill(recorder_, SIGSTOP);
    std::this_thread::sleep_for(200ms);
    kill(recorder_, SIGCONT);
    std::this_thread::sleep_for(400ms);
    auto status = call("/record/status");
    ASSERT_EQ(status.address, "/record/status.reply");
    auto value = [&status](const std::string &key) -> osc::Arg {
        for (std::size_t i = 0; i + 1 < status.args.size(); i += 2)
            if (status.stringAt(i) == key)
                return status.args[i + 1];
        ADD_FAILURE() << "status has no " << key;
        return std::string();
    };
    const auto skipped = std::get<std::int64_t>(value("skipped_frames"));
    EXPECT_GE(skipped, 48000 / 10) << "the hold should have cost at least 0.1 s of cycles";
    EXPECT_EQ(std::get<std::int64_t>(value("overrun_frames")), 0);
    // A late cycle whose data could not be told from the next one's is lost too.
    const auto lost = skipped + std::get<std::int64_t>(value("doubtful_frames"));
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done") << osc::toString(stopped);
    EXPECT_EQ(stopped.intAt(3), lost);

    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), lost) << r.describe();
    // The sidecar and the status name every run of silence the file holds.
    std::ifstream in(path.string() + ".json");
    const auto side = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(side.is_discarded());
    std::vector<std::pair<std::uint64_t, std::uint64_t>> listed;
    std::string statusList;
    for (const auto &g : side.at("gaps")) {
        listed.emplace_back(g.at("at_frame").get<std::uint64_t>(), g.at("frames").get<std::uint64_t>());
        if (!statusList.empty())
            statusList += ' ';
        statusList += std::to_string(listed.back().first);
        statusList += '+';
        statusList += std::to_string(listed.back().second);
    }
    EXPECT_FALSE(listed.empty());
    EXPECT_EQ(listed, r.runs) << r.describe();
    status = call("/record/status");
    EXPECT_EQ(std::get<std::string>(value("gaps")), statusList);
}

// The JACK server itself held off the CPU (SIGSTOP for 0.3 s, three times in one take): its
// clock stands still meanwhile (the dummy driver resumes where it stopped), and every frame
// of the take is the source's frame for that place, or silence the recorder reports as lost;
// nothing shifted. The source is the reference: each sample carries its own frame.
TEST_F(RecorderTest, AStarvedJackServerCostsOnlyReportedSilenceAndShiftsNoFrame)
{
    startRamp(2);
    startRecorder();
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    std::this_thread::sleep_for(50ms);
    auto started = call("/record/start", {std::string("starved")});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(300ms);
        ASSERT_EQ(kill(jack_.pid(), SIGSTOP), 0);
        std::this_thread::sleep_for(300ms);
        kill(jack_.pid(), SIGCONT);
    }
    std::this_thread::sleep_for(300ms);
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done") << osc::toString(stopped);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GT(r.frames, 48000u) << r.describe();
    // The starvation happened: the take holds at least 0.6 s less than the wall time.
    EXPECT_LT(double(r.frames), (wall - 0.6) * 48000.0) << "wall " << wall << " s; " << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *stopped.intAt(3)) << r.describe();
}

TEST_F(RecorderTest, BadOptionsGiveOneErrorAndExitTwo)
{
    const std::string exe = envOr("CHRONUS_RECORDER", "chronus-recorder");
    // Runs the recorder; its exit status and what it wrote on stderr.
    auto run = [&exe](const std::string &args) {
        std::string err;
        FILE *p = popen((exe + " " + args + " 2>&1 >/dev/null </dev/null").c_str(), "r");
        char buf[512];
        while (p && std::fgets(buf, sizeof buf, p))
            err += buf;
        const int status = p ? pclose(p) : -1;
        return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, err);
    };
    const std::pair<std::string, std::string> cases[] = {
        {"--channels 0", "--channels needs a number between 1 and 1024"},
        {"--bogus", "unknown option '--bogus'"},
        {"--osc-port", "--osc-port needs a port number"},
        {"--format mp3", "--format: unknown format 'mp3'"},
        {"--format flac --split-size 100000", "--split-size cannot hold flac files to a size"},
        {"--format ogg --channels 256", "--format ogg holds at most 255 channels"},
        {"--channels 9 --format flac", "--format flac holds at most 8 channels"},
    };
    for (const auto &[args, says] : cases) {
        SCOPED_TRACE(args);
        const auto [code, err] = run(args);
        EXPECT_EQ(code, 2);
        // One line, naming the program and the problem.
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_EQ(err.rfind("chronus-recorder: ", 0), 0u) << err;
        EXPECT_NE(err.find(says), std::string::npos) << err;
    }
    EXPECT_EQ(WEXITSTATUS(std::system((exe + " --help >/dev/null").c_str())), 0);
}

TEST_F(RecorderTest, PortPatternsMapToInputsInTheOrderGiven)
{
    startRamp(4);
    // in_1 follows the port named first; in_2 and in_3 the glob's first matches, in
    // natural order (out_4 matches the glob too, but the inputs are used up by then).
    startRecorder({"--channels", "3", "--port", "chronus:out_4", "chronus:out_?"});
    ASSERT_TRUE(awaitConnections({{"chronus-recorder:in_1", "chronus:out_4"},
                                  {"chronus-recorder:in_2", "chronus:out_1"},
                                  {"chronus-recorder:in_3", "chronus:out_2"}},
                                 5000));
    std::this_thread::sleep_for(50ms);
    auto started = call("/record/start", {std::string("mapped"), 0.5f});
    ASSERT_EQ(started.address, "/done") << osc::toString(started);
    auto ended = await("/done", "/record/stop", 5000);
    ASSERT_TRUE(ended);
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkTake(path, sidecarFirstFrame(path), {3, 0, 1});
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.channels, 3);
    EXPECT_EQ(r.frames, 24000u) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *ended->intAt(3)) << r.describe();
}

TEST_F(RecorderTest, FollowsTheSourceWhenItRestartsAndRecordsEveryFrameOnTheRightChannel)
{
    const std::vector<std::pair<std::string, std::string>> wiring = {{"chronus-recorder:in_1", "chronus:out_1"},
                                                                      {"chronus-recorder:in_2", "chronus:out_2"},
                                                                      {"chronus-recorder:in_3", "chronus:out_3"},
                                                                      {"chronus-recorder:in_4", "chronus:out_4"}};
    startRamp(4);
    startRecorder({"--channels", "4"});
    ASSERT_TRUE(awaitConnections(wiring, 5000));
    // The source goes away (a supervisor restarting, say) and comes back as a new client.
    stopChild(ramp_);
    ramp_ = -1;
    for (int i = 0; i < 250 && !connectionsOf("chronus-recorder:in_1").empty(); ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(connectionsOf("chronus-recorder:in_1").empty());
    startRamp(4);
    ASSERT_TRUE(awaitConnections(wiring, 5000));
    std::this_thread::sleep_for(50ms);
    const RampTake take = recordRamp("again", 1.0f);
    ASSERT_TRUE(take.ended);
    const RampCheck &r = take.check;
    const auto &ended = take.ended;
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.channels, 4);
    EXPECT_EQ(r.frames, 48000u) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *ended->intAt(3)) << r.describe();
}

// The runs of silence the sidecar declares for file channel `channel`, in file frames: the
// whole-frame gaps ("gaps") and the spans its input had no source ("input_gaps"), merged.
std::vector<std::pair<std::uint64_t, std::uint64_t>> declaredSilence(const nlohmann::json &side, std::size_t channel)
{
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans, merged;
    for (const auto &g : side.value("gaps", nlohmann::json::array()))
        spans.emplace_back(g.at("at_frame").get<std::uint64_t>(), g.at("frames").get<std::uint64_t>());
    for (const auto &g : side.value("input_gaps", nlohmann::json::array()))
        if (g.at("channel").get<std::size_t>() == channel)
            spans.emplace_back(g.at("at_frame").get<std::uint64_t>(), g.at("frames").get<std::uint64_t>());
    std::sort(spans.begin(), spans.end());
    for (const auto &[at, n] : spans)
        if (!merged.empty() && merged.back().first + merged.back().second >= at)
            merged.back().second = std::max(merged.back().second, at + n - merged.back().first);
        else
            merged.emplace_back(at, n);
    return merged;
}

nlohmann::json readSidecar(const fs::path &audio)
{
    std::ifstream in(audio.string() + ".json");
    return nlohmann::json::parse(in, nullptr, false);
}

std::string stringOf(const osc::Message &m, const std::string &key)
{
    const auto v = valueOf(m, key);
    return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "(no " + key + ")";
}

class SourceTest : public RecorderTest {
protected:
    const std::vector<std::pair<std::string, std::string>> wiring_ = {{"chronus-recorder:in_1", "chronus:out_1"},
                                                                       {"chronus-recorder:in_2", "chronus:out_2"}};

    // Starts the two-port ramp source, a recorder on chronus:out_* and a take; the source
    // client then leaves (its ports disappear) and the take goes on without it.
    void startTakeAndLoseTheSource(const std::string &name)
    {
        startRamp(2);
        startRecorder();
        ASSERT_TRUE(awaitConnections(wiring_, 5000));
        std::this_thread::sleep_for(50ms);
        started_ = call("/record/start", {name});
        ASSERT_EQ(started_.address, "/done") << osc::toString(started_);
        std::this_thread::sleep_for(500ms);
        stopChild(ramp_);
        ramp_ = -1;
        for (int i = 0; i < 250 && !(connectionsOf("chronus-recorder:in_1").empty() &&
                                     connectionsOf("chronus-recorder:in_2").empty());
             ++i)
            std::this_thread::sleep_for(20ms);
        ASSERT_TRUE(connectionsOf("chronus-recorder:in_1").empty());
        ASSERT_TRUE(connectionsOf("chronus-recorder:in_2").empty());
        std::this_thread::sleep_for(300ms);
        // While the source is away the status says so, and counts the frames.
        const auto away = call("/record/status");
        for (int k = 1; k <= 2; ++k) {
            const std::string n = std::to_string(k);
            EXPECT_EQ(stringOf(away, "source_" + n), "none") << osc::toString(away);
            EXPECT_EQ(stringOf(away, "waiting_for_" + n), "chronus:out_" + n) << osc::toString(away);
            EXPECT_GE(numberOf(away, "no_source_frames_" + n).value_or(0), 0.2 * 48000) << osc::toString(away);
        }
        EXPECT_EQ(numberOf(away, "inputs_without_source"), 2.0) << osc::toString(away);
    }

    // Stops the take; every sample of it is either the ramp of the source port its channel
    // is bound to or silence the sidecar declares, and each channel has exactly one span
    // without a source, of at least `minLostFrames`, declared with its source and reason,
    // and counted in /record/status. Returns the spans (file frames) per channel.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> stopAndCheck(std::uint64_t minLostFrames)
    {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> spans(2);
        auto stopped = call("/record/stop");
        EXPECT_EQ(stopped.address, "/done") << osc::toString(stopped);
        const fs::path path = *started_.stringAt(1);
        std::this_thread::sleep_for(60ms); // the ramp sources report misplays within 20 ms
        auto misplays = rampMisplays(dir_ / "ramp.log");
        const auto more = rampMisplays(dir_ / "ramp2.log");
        misplays.insert(misplays.end(), more.begin(), more.end());
        const ChannelsCheck r = checkRampChannels(path, sidecarFirstFrame(path), {}, misplays);
        EXPECT_TRUE(r.opened) << path;
        EXPECT_EQ(r.channels.size(), 2u);
        if (!r.opened || r.channels.size() != 2)
            return spans;
        const auto side = readSidecar(path);
        EXPECT_FALSE(side.is_discarded());
        const auto status = call("/record/status");
        for (std::size_t c = 0; c < 2; ++c) {
            SCOPED_TRACE("channel " + std::to_string(c));
            // No swap, no sum: every sample that is not silence is this channel's own ramp.
            EXPECT_EQ(r.channels[c].mismatches, 0u) << r.describe();
            // Silence exactly where the sidecar declares it.
            EXPECT_EQ(declaredSilence(side, c), r.channels[c].runs) << r.describe() << "\n" << side.dump();
            std::vector<nlohmann::json> mine;
            for (const auto &g : side.value("input_gaps", nlohmann::json::array()))
                if (g.at("channel") == c)
                    mine.push_back(g);
            EXPECT_EQ(mine.size(), 1u) << side.dump();
            if (mine.size() != 1)
                continue;
            EXPECT_EQ(mine[0].value("input", ""), "in_" + std::to_string(c + 1));
            EXPECT_EQ(mine[0].value("source", ""), "chronus:out_" + std::to_string(c + 1));
            EXPECT_EQ(mine[0].value("reason", ""), "no source");
            spans[c] = {mine[0].at("at_frame").get<std::uint64_t>(), mine[0].at("frames").get<std::uint64_t>()};
            EXPECT_GE(spans[c].second, minLostFrames);
            EXPECT_EQ(numberOf(status, "no_source_frames_" + std::to_string(c + 1)), double(spans[c].second))
                << osc::toString(status);
        }
        return spans;
    }

    osc::Message started_;
};

TEST_F(SourceTest, ASourceThatLeavesAndReturnsKeepsItsChannelsAndItsAbsenceIsDeclared)
{
    ASSERT_NO_FATAL_FAILURE(startTakeAndLoseTheSource("leaves"));
    startRamp(2, {}, "ramp2.log");
    ASSERT_TRUE(awaitConnections(wiring_, 5000));
    std::this_thread::sleep_for(600ms);
    const auto back = call("/record/status");
    EXPECT_EQ(stringOf(back, "source_1"), "chronus:out_1") << osc::toString(back);
    EXPECT_EQ(stringOf(back, "source_2"), "chronus:out_2") << osc::toString(back);
    EXPECT_EQ(numberOf(back, "inputs_without_source"), 0.0) << osc::toString(back);
    const auto spans = stopAndCheck(48000 / 4);
    // The source came back: after its span, at least half a second of each channel is its
    // own ramp again (checked sample by sample above).
    const std::uint64_t frames = std::uint64_t(numberOf(call("/record/status"), "frames").value_or(0));
    for (const auto &[at, n] : spans)
        EXPECT_GE(frames, at + n + 48000 / 2) << "frames " << frames;
    const std::string log = chronus::harness::readText(dir_ / "recorder.log");
    EXPECT_NE(log.find("in_1 lost its source chronus:out_1"), std::string::npos) << log;
    EXPECT_NE(log.find("in_1 has its source chronus:out_1 again"), std::string::npos) << log;
}

// The source's ports come back last first, one every 150 ms: each input waits for its own.
TEST_F(SourceTest, ASourceThatReturnsInReverseRegistrationOrderKeepsItsChannels)
{
    ASSERT_NO_FATAL_FAILURE(startTakeAndLoseTheSource("reversed"));
    startRamp(2, {"--reverse", "--stagger-ms", "150"}, "ramp2.log");
    ASSERT_TRUE(awaitConnections(wiring_, 5000));
    std::this_thread::sleep_for(600ms);
    const auto spans = stopAndCheck(48000 / 4);
    // out_2 came back first: in_2's span ended before in_1's.
    EXPECT_LT(spans[1].first + spans[1].second, spans[0].first + spans[0].second);
}

// NetJACK2 registers a returning slave as "<name>-01" when its old name is still taken: the
// recorder does not guess; it says which input has no source and which new ports appeared.
TEST_F(SourceTest, ASourceThatReturnsUnderAnotherClientNameIsReportedAndConnectedNowhere)
{
    ASSERT_NO_FATAL_FAILURE(startTakeAndLoseTheSource("renamed"));
    startRamp(2, {"--name", "chronus-01"}, "ramp2.log");
    std::this_thread::sleep_for(1000ms);
    EXPECT_TRUE(connectionsOf("chronus-recorder:in_1").empty());
    EXPECT_TRUE(connectionsOf("chronus-recorder:in_2").empty());
    const auto status = call("/record/status");
    EXPECT_EQ(stringOf(status, "source_1"), "none") << osc::toString(status);
    EXPECT_EQ(stringOf(status, "waiting_for_1"), "chronus:out_1") << osc::toString(status);
    const std::string log = chronus::harness::readText(dir_ / "recorder.log");
    EXPECT_NE(log.find("chronus-01:out_1"), std::string::npos) << log;
    const auto spans = stopAndCheck(48000);
    // The inputs had no source until the take ended.
    const std::uint64_t frames = std::uint64_t(numberOf(call("/record/status"), "frames").value_or(0));
    for (const auto &[at, n] : spans)
        EXPECT_EQ(at + n, frames);
}

// A take started the moment its source's ports appeared, before the recorder would bind them
// on its own (200 ms after the graph settles, so a client's ports keep their order), begins
// with the source: /record/start binds them and starts once JACK uses the connections. It
// began with up to a quarter second of declared silence before, and a soak under load
// caught 15 such blocks at the start of its take.
TEST_F(RecorderTest, ATakeStartedTheMomentItsSourceAppearsBeginsWithTheSourceNotWithSilence)
{
    startRecorder();
    startRamp(2);
    jack_status_t st{};
    jack_client_t *probe = jack_client_open("port-probe", JackNoStartServer, &st);
    ASSERT_NE(probe, nullptr);
    bool there = false;
    for (int i = 0; i < 500 && !there; ++i) {
        there = jack_port_by_name(probe, "chronus:out_2") != nullptr;
        if (!there)
            std::this_thread::sleep_for(10ms);
    }
    jack_client_close(probe);
    ASSERT_TRUE(there) << "the ramp source's ports never appeared";
    std::this_thread::sleep_for(30ms); // the source runs; the recorder has not bound it yet
    const RampTake take = recordRamp("prompt", 0.5f);
    ASSERT_TRUE(take.ended);
    const RampCheck &r = take.check;
    const auto &ended = take.ended;
    const fs::path path = *take.started.stringAt(1);
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.frames, 24000u) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *ended->intAt(3)) << "silence only where JACK skipped cycles: "
                                                               << r.describe();
    const auto side = readSidecar(path);
    EXPECT_TRUE(side.value("input_gaps", nlohmann::json::array()).empty()) << side.dump();
}

TEST_F(RecorderTest, PrerollSetOverOscStartsTheNextTakeThatMuchEarlier)
{
    startRamp(2);
    startRecorder();
    JackClock clock;
    ASSERT_TRUE(clock.ok());
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    // The default 8 s ring keeps 2 s for disk stalls: 7 s of history do not fit.
    auto tooLong = call("/record/preroll", {7.0f});
    EXPECT_EQ(tooLong.address, "/fail") << osc::toString(tooLong);
    EXPECT_NE(tooLong.stringAt(1).value_or("").find("--ring-seconds"), std::string::npos) << osc::toString(tooLong);
    EXPECT_EQ(call("/record/preroll", {std::string("soon")}).address, "/fail");
    auto set = call("/record/preroll", {0.5f});
    ASSERT_EQ(set.address, "/done") << osc::toString(set);
    EXPECT_EQ(set.stringAt(0), "/record/preroll");
    EXPECT_EQ(set.numberAt(1), 0.5);
    EXPECT_EQ(numberOf(call("/record/status"), "preroll"), 0.5);
    std::this_thread::sleep_for(1000ms); // the history fills
    osc::Message started, stopped;
    JackClock::Bracket at;
    constexpr int kAttempts = 6; // a busy 2-core machine can stall JACK around a few in a row
    for (int attempt = 0; attempt < kAttempts && !at.steady; ++attempt) {
        // A take's pre-roll cannot reach back into the take before it (those frames went to
        // that file): after a retry, let the history fill again.
        if (attempt > 0)
            std::this_thread::sleep_for(700ms);
        at = clock.around([&] { started = call("/record/start", {std::string("osc_pre")}); });
        ASSERT_EQ(started.address, "/done") << osc::toString(started);
        std::this_thread::sleep_for(300ms);
        stopped = call("/record/stop");
        ASSERT_EQ(stopped.address, "/done");
    }
    ASSERT_TRUE(at.steady) << "JACK did not keep time around any of " << kAttempts
                           << " start commands (a loaded machine?)";
    const fs::path path = *stopped.stringAt(1);
    const std::uint64_t first = sidecarFirstFrame(path);
    EXPECT_GE(frameDelta(first, at.before), -24000 - 256) << "before " << at.before << ", first " << first;
    EXPECT_LE(frameDelta(first, at.after), -24000 + 256) << "after " << at.after << ", first " << first;
    const RampCheck r = checkTake(path, first);
    EXPECT_EQ(std::int64_t(r.frames), *stopped.intAt(2)) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), *stopped.intAt(3)) << r.describe();

    // Back to none: the next take starts at the command (the next cycle), not before it.
    ASSERT_EQ(call("/record/preroll", {0.0f}).address, "/done");
    osc::Message s2;
    at = {};
    for (int attempt = 0; attempt < kAttempts && !at.steady; ++attempt) {
        // A take's pre-roll cannot reach back into the take before it (those frames went to
        // that file): after a retry, let the history fill again.
        if (attempt > 0)
            std::this_thread::sleep_for(700ms);
        at = clock.around([&] { s2 = call("/record/start", {std::string("osc_nopre")}); });
        ASSERT_EQ(s2.address, "/done") << osc::toString(s2);
        std::this_thread::sleep_for(200ms);
        ASSERT_EQ(call("/record/stop").address, "/done");
    }
    ASSERT_TRUE(at.steady);
    EXPECT_GE(frameDelta(sidecarFirstFrame(*s2.stringAt(1)), at.before), -256);
}

TEST_F(RecorderTest, StartIsAnsweredAfterTheTakesFirstFrameIsCapturedAndWithinTwoPeriods)
{
    startRamp(2);
    startRecorder();
    JackClock clock;
    ASSERT_TRUE(clock.ok());
    ASSERT_TRUE(awaitConnected("chronus-recorder:in_2", 5000));
    std::this_thread::sleep_for(50ms);
    std::int64_t quickest = INT64_MAX;
    int measured = 0;
    for (int i = 0; i < 6 && measured < 3; ++i) {
        osc::Message started;
        const auto at = clock.around([&] { started = call("/record/start", {std::string("prompt") + std::to_string(i)}); });
        ASSERT_EQ(started.address, "/done") << osc::toString(started);
        std::this_thread::sleep_for(100ms);
        ASSERT_EQ(call("/record/stop").address, "/done");
        if (!at.steady)
            continue; // the clock readings mean nothing this time
        ++measured;
        const std::int64_t late = frameDelta(at.after, sidecarFirstFrame(*started.stringAt(1)));
        // Never before the cycle that captured the take's first frame ran.
        EXPECT_GE(late, 0) << "take " << i;
        quickest = std::min(quickest, late);
    }
    ASSERT_GT(measured, 0) << "JACK did not keep time around any start command (a loaded machine?)";
    // The clock is read after the reply arrived, so it can only read late: the quickest
    // take bounds the recorder's own delay, which must stay within two periods.
    EXPECT_LE(quickest, 2 * 256);
}

TEST_F(RecorderTest, LiveStatusReportsFreeSpaceTimeLeftRingFillAndAPeakPerChannel)
{
    startRamp(3);
    startRecorder({"--channels", "3"});
    constexpr double kBytesPerSecond = 3 * 4 * 48000; // float WAV
    auto idle = call("/record/status");
    ASSERT_EQ(idle.address, "/record/status.reply");
    EXPECT_EQ(valueOf(idle, "state"), osc::Arg(std::string("idle")));
    // Before the first take, time left already follows from the configured format.
    const double idleFree = numberOf(idle, "free_bytes").value_or(-1);
    EXPECT_GT(idleFree, 0);
    EXPECT_NEAR(numberOf(idle, "seconds_left").value_or(-1), idleFree / kBytesPerSecond, 1e-6 * idleFree / kBytesPerSecond);

    ASSERT_TRUE(awaitConnected("chronus-recorder:in_3", 5000));
    std::this_thread::sleep_for(50ms);
    ASSERT_EQ(call("/record/start", {std::string("meters")}).address, "/done");
    std::this_thread::sleep_for(500ms);
    call("/record/status"); // peaks are since the last query
    std::this_thread::sleep_for(300ms);
    auto live = call("/record/status");
    ASSERT_EQ(live.address, "/record/status.reply");
    EXPECT_EQ(valueOf(live, "state"), osc::Arg(std::string("recording")));
    struct statvfs fs{};
    ASSERT_EQ(statvfs((dir_ / "rec").c_str(), &fs), 0);
    const double mine = double(fs.f_bavail) * double(fs.f_frsize);
    const double freeBytes = numberOf(live, "free_bytes").value_or(-1);
    EXPECT_NEAR(freeBytes, mine, std::max(0.05 * mine, 256.0 * 1024 * 1024));
    EXPECT_NEAR(numberOf(live, "seconds_left").value_or(-1), freeBytes / kBytesPerSecond,
                1e-6 * freeBytes / kBytesPerSecond);
    // The disk keeps up: the ring is far from full, now and at its fullest.
    const double fill = numberOf(live, "ring_fill").value_or(-1), peakFill = numberOf(live, "ring_peak").value_or(-1);
    EXPECT_GE(fill, 0.0);
    EXPECT_LT(fill, 0.5);
    EXPECT_GE(peakFill, 0.0);
    EXPECT_LT(peakFill, 0.5);
    const double frames = numberOf(live, "frames").value_or(-1);
    EXPECT_GT(frames, 0.7 * 48000);
    EXPECT_NEAR(numberOf(live, "seconds").value_or(-1), frames / 48000, 1e-6);
    // One peak per input; the ramp's samples are whole numbers below 2^24, and every
    // channel's values rise through the 300 ms since the last query.
    for (int c = 1; c <= 3; ++c) {
        const auto peak = numberOf(live, "peak_" + std::to_string(c));
        ASSERT_TRUE(peak) << "no peak_" << c;
        EXPECT_GT(*peak, 0.0) << "peak_" << c;
        EXPECT_LT(*peak, 16777216.0) << "peak_" << c;
    }
    EXPECT_FALSE(valueOf(live, "peak_4"));
    EXPECT_EQ(call("/record/stop").address, "/done");
}

} // namespace
