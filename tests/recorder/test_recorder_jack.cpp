// chronus-recorder end to end: a private dummy jackd, the ramp source as "chronus:out_*",
// the real binary driven over OSC, and every recorded frame checked.
#include "jack_fixture.hpp"
#include "osc.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace chronus;
using namespace testing_rec;
using namespace std::chrono_literals;

namespace {

class RecorderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        REQUIRE_JACKD();
        dir_ = chronus::testsupport::freshTestDir("chronus-rec-test");
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

    void startRamp(int channels)
    {
        ramp_ = spawn({envOr("CHRONUS_RAMP", "chronus-ramp-source"), "--channels", std::to_string(channels)},
                      (dir_ / "ramp.log").string());
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

    // Records `seconds` with the duration limit and checks every frame.
    void recordsEveryFrame(int channels, double seconds)
    {
        startRamp(channels);
        startRecorder({"--channels", std::to_string(channels)});
        // Every channel is checked from the first frame: wait until the last input is
        // connected (the ramp may register its ports after the recorder started).
        ASSERT_TRUE(awaitConnected("chronus-recorder:in_" + std::to_string(channels), 5000));
        std::this_thread::sleep_for(50ms); // a few cycles, so the graph uses the connection
        auto started = call("/record/start", {std::string("ramp"), float(seconds)});
        ASSERT_EQ(started.address, "/done") << osc::toString(started);
        const fs::path path = *started.stringAt(1);
        auto ended = await("/done", "/record/stop", int(seconds * 1000) + 5000);
        ASSERT_TRUE(ended) << "no /done /record/stop after the duration limit";
        EXPECT_EQ(ended->intAt(2), std::int64_t(seconds * 48000));
        const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
        ASSERT_TRUE(r.opened);
        EXPECT_EQ(r.channels, channels);
        EXPECT_EQ(r.frames, std::uint64_t(seconds * 48000)) << r.describe();
        EXPECT_EQ(r.mismatches, 0u) << r.describe();
        // Silence only where the recorder said frames were lost (a loaded machine can make
        // the dummy driver skip a cycle), and exactly that much.
        EXPECT_EQ(std::int64_t(r.silentFrames), *ended->intAt(3)) << r.describe();
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
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
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
    const RampCheck a = checkRamp(p1, f1);
    const RampCheck b = checkRamp(p2, f1 + a.frames); // part 2 starts where part 1 ended
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
        const RampCheck r = checkRamp(p, frame);
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
    std::this_thread::sleep_for(1000ms);
    auto started = call("/record/start", {std::string("pre")});
    ASSERT_EQ(started.address, "/done");
    std::this_thread::sleep_for(300ms);
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done");
    const fs::path path = *stopped.stringAt(1);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
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
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
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

TEST_F(RecorderTest, SigtermFinalizesTheTake)
{
    startRamp(2);
    startRecorder();
    auto started = call("/record/start", {std::string("termed")});
    ASSERT_EQ(started.address, "/done");
    std::this_thread::sleep_for(700ms);
    const int status = stopChild(recorder_, SIGTERM);
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
    EXPECT_GE(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    // The header matches the data exactly: data bytes = frames x 2 channels x 4 bytes.
    EXPECT_GE(fs::file_size(path), r.frames * 8);
    EXPECT_LT(fs::file_size(path), r.frames * 8 + 4096);
}

TEST_F(RecorderTest, SigintFinalizesTheTake)
{
    startRamp(2);
    startRecorder();
    auto started = call("/record/start", {std::string("interrupted")});
    ASSERT_EQ(started.address, "/done");
    std::this_thread::sleep_for(700ms);
    const int status = stopChild(recorder_, SIGINT);
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GE(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    EXPECT_GE(fs::file_size(path), r.frames * 8);
    EXPECT_LT(fs::file_size(path), r.frames * 8 + 4096);
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
    const auto status = chronus::testsupport::waitExit(recorder_, 10000);
    ASSERT_TRUE(status) << "the recorder kept running without its JACK server";
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "wait status " << *status;
    const std::string log = chronus::testsupport::readText(dir_ / "recorder.log");
    EXPECT_NE(log.find("exiting with status 1: the JACK server went away"), std::string::npos) << log;
    ASSERT_TRUE(ended) << "no /done /record/stop after the server went away";
    const fs::path path = *started.stringAt(1);
    EXPECT_EQ(ended->stringAt(1), path.string());
    // Drained and finalized: every frame that reached the ring is in the file, and the
    // header counts exactly those.
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
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
    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GT(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    EXPECT_LE(fs::file_size(path), std::uintmax_t(1) << 20);
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
    auto stopped = call("/record/stop");
    ASSERT_EQ(stopped.address, "/done") << osc::toString(stopped);
    EXPECT_EQ(stopped.intAt(3), skipped);

    const fs::path path = *started.stringAt(1);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(std::int64_t(r.silentFrames), skipped) << r.describe();
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

TEST_F(RecorderTest, BadOptionsGiveOneErrorAndExitTwo)
{
    const std::string exe = envOr("CHRONUS_RECORDER", "chronus-recorder");
    EXPECT_EQ(WEXITSTATUS(std::system((exe + " --channels 0 2>/dev/null").c_str())), 2);
    EXPECT_EQ(WEXITSTATUS(std::system((exe + " --bogus 2>/dev/null").c_str())), 2);
    EXPECT_EQ(WEXITSTATUS(std::system((exe + " --help >/dev/null").c_str())), 0);
}

} // namespace
