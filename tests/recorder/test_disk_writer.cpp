// The ring, the RT feeder and the disk thread together, without JACK: synthetic ramp cycles
// go through the real RingFeeder into the FrameRing while the DiskWriter's thread writes
// through an injected Sink that can stall on demand. Every frame of every file is checked.
#include "harness/gtest_support.hpp"
#include "recorder/disk_writer.hpp"
#include "tests/recorder/ramp_check.hpp"
#include "recorder/ring_feeder.hpp"
#include "tests/recorder/sparse_sink.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <tuple>
#include <unistd.h>

using namespace chronus::rec;
using namespace testing_rec;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kRate = 48000;
constexpr std::size_t kPeriod = 256;

// A gate the test closes to stall the disk thread inside its next write.
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool closed = false;
    bool blocked = false; // the disk thread is waiting at the gate

    void close()
    {
        std::lock_guard lock(mutex);
        closed = true;
    }
    void open()
    {
        std::lock_guard lock(mutex);
        closed = false;
        cv.notify_all();
    }
    bool awaitBlocked(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [this] { return blocked; });
    }
    void pass()
    {
        std::unique_lock lock(mutex);
        if (!closed)
            return;
        blocked = true;
        cv.notify_all();
        cv.wait(lock, [this] { return !closed; });
        blocked = false;
    }
};

// A file sink whose writes wait at the gate: a disk that stops answering for a while.
class StallingSink : public FileSink {
public:
    StallingSink(int fd, std::shared_ptr<Gate> gate) : FileSink(fd), gate_(std::move(gate)) {}
    sf_count_t write(const void *data, sf_count_t bytes) override
    {
        gate_->pass();
        return FileSink::write(data, bytes);
    }

private:
    std::shared_ptr<Gate> gate_;
};

// A file sink on a disk that fills up after `limitBytes` bytes (ENOSPC).
class FullDiskSink : public FileSink {
public:
    FullDiskSink(int fd, sf_count_t limitBytes) : FileSink(fd), limit_(limitBytes) {}

protected:
    bool writeAt(const char *data, sf_count_t bytes, sf_count_t offset) override
    {
        if (offset + bytes > limit_) {
            errno_ = ENOSPC;
            return false;
        }
        return FileSink::writeAt(data, bytes, offset);
    }

private:
    sf_count_t limit_;
};

// Plays the JACK thread: ramp cycles of `period` frames through the real RingFeeder.
class SyntheticJack {
public:
    SyntheticJack(FrameRing &ring, std::size_t channels, std::uint64_t firstFrame, std::size_t period = kPeriod)
        : ring_(ring), feeder_(ring, counters_), channels_(channels), period_(period), now_(firstFrame),
          data_(channels, std::vector<float>(period)), ptrs_(channels), connected(channels, 1)
    {
        for (std::size_t c = 0; c < channels; ++c)
            ptrs_[c] = data_[c].data();
    }
    // Cycles for which this says false carry silence instead of the ramp (cheap big takes).
    std::function<bool(std::uint64_t cycleFrame)> rampWhere;
    // One cycle at the current frame time; the clock advances by one period.
    void cycle(bool feeding = true)
    {
        const bool ramp = !rampWhere || rampWhere(now_);
        if (ramp || dataIsRamp_)
            for (std::size_t c = 0; c < channels_; ++c)
                for (std::size_t i = 0; i < period_; ++i)
                    data_[c][i] = ramp && connected[c] ? rampValue(now_ + i, c) : 0.0f;
        dataIsRamp_ = ramp;
        feeder_.cycle(now_, ptrs_.data(), period_, feeding, false, connected.data());
        now_ += period_;
    }
    // Cycles while the disk keeps up: waits (as a real-time source would not need to) until
    // the ring is at most half full, so no frame is lost by pacing alone.
    void run(std::size_t cycles)
    {
        for (std::size_t i = 0; i < cycles; ++i) {
            while (ring_.readableFrames() > ring_.capacityFrames() / 2)
                std::this_thread::sleep_for(1ms);
            cycle();
        }
    }
    // Waits until the disk thread has taken everything out of the ring.
    bool drain(std::chrono::milliseconds timeout = 5000ms)
    {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (ring_.readableFrames() > 0)
            if (std::chrono::steady_clock::now() > end)
                return false;
            else
                std::this_thread::sleep_for(1ms);
        return true;
    }
    // JACK skips `cycles` cycles: the clock jumps.
    void skip(std::size_t cycles) { now_ += cycles * period_; }
    std::uint64_t now() const { return now_; }
    const CaptureCounters &counters() const { return counters_; }

private:
    FrameRing &ring_;
    CaptureCounters counters_;
    RingFeeder feeder_;
    std::size_t channels_;
    std::size_t period_;
    bool dataIsRamp_ = true;
    std::uint64_t now_;
    std::vector<std::vector<float>> data_;
    std::vector<const float *> ptrs_;

public:
    // Per channel: a port is connected to the input (0: JACK hands it silence).
    std::vector<std::uint8_t> connected;
};

class DiskWriterTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir_ = chronus::harness::freshTestDir("chronus-writer-test");
    }
    void TearDown() override
    {
        if (!HasFailure())
            return (void)fs::remove_all(dir_);
        // Keep small files for diagnosis, never the multi-GiB (sparse) ones.
        for (const auto &e : fs::recursive_directory_iterator(dir_))
            if (e.is_regular_file() && e.file_size() > (std::uintmax_t(1) << 30))
                fs::remove(e.path());
    }
    WriterConfig config(std::size_t channels)
    {
        WriterConfig wc;
        wc.dir = dir_;
        wc.channels = channels;
        wc.rate = kRate;
        auto gate = gate_;
        wc.makeSink = [gate](int fd) { return std::make_unique<StallingSink>(fd, gate); };
        return wc;
    }

    fs::path dir_;
    std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
};

// Just below 2^32, so the take crosses JACK's 32-bit frame-clock wrap too.
constexpr std::uint64_t kFirstFrame = (std::uint64_t(1) << 32) - 3 * kRate;

struct StallResult {
    TakeSummary summary;
    RampCheck check;
    std::uint64_t takeFrames = 0;   // JACK frames from the take's start to its stop
    std::uint64_t stallAtFrame = 0; // take position of the first frame pushed during the stall
    std::uint64_t overrunFrames = 0;
    std::uint64_t overruns = 0;
};

// One second of ring; 1 s of normal recording, a stall of `stallCycles` cycles in which the
// source keeps producing, then 1 s more.
StallResult recordThroughStall(const WriterConfig &wc, Gate &gate, std::size_t stallCycles)
{
    StallResult out;
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    TakeRequest req;
    req.name = "stall";
    req.startFrame = jack.now();
    auto path = writer.begin(req);
    EXPECT_TRUE(path) << (path ? "" : path.error());
    if (!path)
        return out;
    jack.run(kRate / kPeriod);
    EXPECT_TRUE(jack.drain());
    // The disk thread takes the next cycle and blocks writing it; the cycle stays in the
    // ring (it is released only once written).
    gate.close();
    out.stallAtFrame = jack.now() - kFirstFrame;
    jack.cycle();
    EXPECT_TRUE(gate.awaitBlocked(5000ms)) << "the disk thread never reached the stalled write";
    for (std::size_t i = 0; i < stallCycles; ++i)
        jack.cycle();
    gate.open();
    jack.run(kRate / kPeriod);
    auto summary = writer.end(jack.now());
    EXPECT_TRUE(summary) << (summary ? "" : summary.error());
    writer.stop();
    if (!summary)
        return out;
    out.summary = *summary;
    out.takeFrames = jack.now() - kFirstFrame;
    out.overrunFrames = jack.counters().overrunFrames.load();
    out.overruns = jack.counters().overruns.load();
    EXPECT_EQ(summary->firstJackFrame, kFirstFrame);
    out.check = checkRamp(summary->path, kFirstFrame);
    return out;
}

} // namespace

TEST_F(DiskWriterTest, AHalfSecondDiskStallWithAOneSecondRingLosesNoFrame)
{
    const std::size_t stallCycles = (kRate / 2 + kPeriod - 1) / kPeriod; // >= 0.5 s of frames
    const StallResult r = recordThroughStall(config(2), *gate_, stallCycles);
    ASSERT_TRUE(r.check.opened);
    EXPECT_EQ(r.check.frames, r.takeFrames) << r.check.describe();
    EXPECT_EQ(r.check.mismatches, 0u) << r.check.describe();
    EXPECT_EQ(r.check.silentFrames, 0u) << r.check.describe();
    EXPECT_EQ(r.summary.frames, r.takeFrames);
    EXPECT_EQ(r.summary.lostFrames, 0u);
    EXPECT_EQ(r.overrunFrames, 0u);
    EXPECT_EQ(r.overruns, 0u);
}

TEST_F(DiskWriterTest, ATwoSecondDiskStallInsertsExactlyTheLostFramesAsSilenceWhereTheyWereLost)
{
    const std::size_t stallCycles = 2 * kRate / kPeriod; // 375 cycles, 2 s
    const StallResult r = recordThroughStall(config(2), *gate_, stallCycles);
    // The ring (48000 frames) holds the cycle stuck in the write plus 186 more whole cycles
    // (187 x 256 = 47872 <= 48000 < 188 x 256); the remaining 189 cycles of the stall are lost.
    const std::uint64_t fitting = kRate / kPeriod - 1;
    const std::uint64_t expectLost = (stallCycles - fitting) * kPeriod;
    ASSERT_EQ(expectLost, 48384u);
    const std::uint64_t expectGapAt = r.stallAtFrame + kPeriod + fitting * kPeriod;
    ASSERT_TRUE(r.check.opened);
    // File time equals JACK time: every frame k of the file is the source's frame first + k,
    // or silence standing in for it.
    EXPECT_EQ(r.check.frames, r.takeFrames) << r.check.describe();
    EXPECT_EQ(r.check.mismatches, 0u) << r.check.describe();
    EXPECT_EQ(r.check.silentFrames, expectLost) << r.check.describe();
    ASSERT_EQ(r.check.runs.size(), 1u) << r.check.describe();
    EXPECT_EQ(r.check.runs[0].first, expectGapAt);
    EXPECT_EQ(r.check.runs[0].second, expectLost);
    // Counted and positioned by the recorder itself.
    EXPECT_EQ(r.overrunFrames, expectLost);
    EXPECT_EQ(r.overruns, 1u);
    EXPECT_EQ(r.summary.frames, r.takeFrames);
    EXPECT_EQ(r.summary.lostFrames, expectLost);
    ASSERT_EQ(r.summary.gaps.size(), 1u);
    EXPECT_EQ(r.summary.gaps[0].atFrame, expectGapAt);
    EXPECT_EQ(r.summary.gaps[0].frames, expectLost);
}

TEST_F(DiskWriterTest, SkippedJackCyclesBecomeThatManySilentFramesAtTheJump)
{
    FrameRing ring(3, kRate);
    DiskWriter writer(ring, config(3));
    writer.start();
    SyntheticJack jack(ring, 3, kFirstFrame);
    ASSERT_TRUE(writer.begin({"skips", std::nullopt, jack.now(), 0}));
    jack.run(10);
    jack.skip(3);
    jack.run(5);
    jack.skip(1);
    jack.run(7);
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    const RampCheck r = checkRamp(s->path, kFirstFrame);
    EXPECT_EQ(r.frames, 26 * kPeriod) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    ASSERT_EQ(r.runs.size(), 2u) << r.describe();
    EXPECT_EQ(r.runs[0], std::make_pair(std::uint64_t(10 * kPeriod), std::uint64_t(3 * kPeriod)));
    EXPECT_EQ(r.runs[1], std::make_pair(std::uint64_t(18 * kPeriod), std::uint64_t(kPeriod)));
    EXPECT_EQ(jack.counters().skippedFrames.load(), 4 * kPeriod);
    EXPECT_EQ(s->lostFrames, 4 * kPeriod);
    ASSERT_EQ(s->gaps.size(), 2u);
    EXPECT_EQ(s->gaps[0].atFrame, 10 * kPeriod);
    EXPECT_EQ(s->gaps[1].atFrame, 18 * kPeriod);
    // Each jump was confirmed by the next reading, which a late callback that JACK then
    // skipped also gives: the sidecar says the period after each gap may belong earlier.
    EXPECT_EQ(s->gaps[0].uncertainFrames, kPeriod);
    EXPECT_EQ(s->gaps[1].uncertainFrames, kPeriod);
    std::ifstream side(s->path.string() + ".json");
    const auto json = nlohmann::json::parse(side);
    EXPECT_EQ(json.at("gaps").at(0).at("uncertain_frames").get<std::uint64_t>(), kPeriod);
}

TEST_F(DiskWriterTest, EachPartsSidecarListsItsGapsCountedFromItsOwnFirstFrame)
{
    WriterConfig wc = config(2);
    wc.splitFrames = 10 * kPeriod;
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"gappy", std::nullopt, jack.now(), 0}));
    jack.run(4);  // take frames 0..1023
    jack.skip(2); // silence at take frame 1024, 512 frames: part 1
    jack.run(10);
    jack.skip(1); // take frame 4096 = part 2's frame 1536
    jack.run(3);  // the take ends at 5120 = two whole parts
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    ASSERT_EQ(s->files.size(), 2u);
    const std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> expect = {
        {{1024, 2 * kPeriod}}, {{1536, kPeriod}}};
    for (std::size_t i = 0; i < 2; ++i) {
        SCOPED_TRACE(s->files[i].filename().string());
        std::ifstream in(s->files[i].string() + ".json");
        const auto side = nlohmann::json::parse(in, nullptr, false);
        ASSERT_FALSE(side.is_discarded()) << "the sidecar is not JSON";
        EXPECT_EQ(side.at("file"), s->files[i].filename().string());
        std::vector<std::pair<std::uint64_t, std::uint64_t>> listed;
        for (const auto &g : side.at("gaps"))
            listed.emplace_back(g.at("at_frame").get<std::uint64_t>(), g.at("frames").get<std::uint64_t>());
        EXPECT_EQ(listed, expect[i]);
        // The listed gaps are exactly the file's silent runs.
        const RampCheck r = checkRamp(s->files[i], sidecarFirstFrame(s->files[i]));
        EXPECT_EQ(r.mismatches, 0u) << r.describe();
        EXPECT_EQ(r.runs, expect[i]) << r.describe();
    }
}

TEST_F(DiskWriterTest, PeakPerChannelIsTheLargestMagnitudeWrittenSinceTheLastQuery)
{
    // Channel counts the peak code treats differently: lanes of one vector (1, 2, 4), groups
    // of four channels (8, 12), and the rest (3, 5).
    for (std::size_t channels : {1u, 2u, 3u, 4u, 5u, 8u, 12u}) {
        SCOPED_TRACE(channels);
        FrameRing ring(channels, kRate);
        DiskWriter writer(ring, config(channels));
        writer.start();
        CaptureCounters counters;
        RingFeeder feeder(ring, counters);
        std::vector<std::vector<float>> data(channels, std::vector<float>(kPeriod));
        std::vector<const float *> ptrs(channels);
        for (std::size_t c = 0; c < channels; ++c)
            ptrs[c] = data[c].data();
        std::uint64_t now = kFirstFrame;
        ASSERT_TRUE(writer.begin({"peaks" + std::to_string(channels), std::nullopt, now, 0}));
        for (std::size_t cycle = 0; cycle < 3; ++cycle) {
            for (std::size_t c = 0; c < channels; ++c) {
                std::fill(data[c].begin(), data[c].end(), 0.01f * float(cycle + 1));
                if (cycle == 1) // one negative peak per channel, each at its own frame
                    data[c][(c * 37 + 3) % kPeriod] = -float(c + 1) / 16.0f;
            }
            feeder.cycle(now, ptrs.data(), kPeriod, true);
            now += kPeriod;
        }
        std::vector<float> expect(channels);
        for (std::size_t c = 0; c < channels; ++c)
            expect[c] = float(c + 1) / 16.0f;
        auto s = writer.end(now);
        ASSERT_TRUE(s) << s.error();
        EXPECT_EQ(writer.takePeaks(), expect);
        // Read and reset: the next query sees only what came after.
        EXPECT_EQ(writer.takePeaks(), std::vector<float>(channels, 0.0f));
        writer.stop();
    }
}

TEST_F(DiskWriterTest, SplitByFrameCountIsSampleContiguousInNumberedParts)
{
    for (std::size_t channels : {1u, 2u, 7u}) {
        SCOPED_TRACE(channels);
        WriterConfig wc = config(channels);
        wc.splitFrames = 1000; // not a multiple of the period
        FrameRing ring(channels, kRate);
        DiskWriter writer(ring, wc);
        writer.start();
        SyntheticJack jack(ring, channels, kFirstFrame);
        auto begun = writer.begin({"take" + std::to_string(channels), std::nullopt, jack.now(), 0});
        ASSERT_TRUE(begun) << begun.error();
        jack.run(20); // 5120 frames: parts of 1000 x 5 + 120
        auto s = writer.end(jack.now());
        ASSERT_TRUE(s) << s.error();
        writer.stop();
        ASSERT_EQ(s->files.size(), 6u);
        // Splitting was set up front: the path begin() answered is the first part's, for good.
        EXPECT_EQ(*begun, s->files[0]);
        std::uint64_t first = kFirstFrame;
        for (std::size_t i = 0; i < s->files.size(); ++i) {
            char expect[64];
            std::snprintf(expect, sizeof expect, "take%zu_%04zu.wav", channels, i + 1);
            EXPECT_EQ(s->files[i].filename().string(), expect);
            EXPECT_EQ(sidecarFirstFrame(s->files[i]), first);
            const RampCheck r = checkRamp(s->files[i], first);
            EXPECT_EQ(r.channels, int(channels));
            EXPECT_EQ(r.frames, i < 5 ? 1000u : 120u) << r.describe();
            EXPECT_EQ(r.mismatches + r.silentFrames, 0u) << r.describe();
            first += r.frames;
        }
        EXPECT_FALSE(fs::exists(dir_ / ("take" + std::to_string(channels) + ".wav")));
    }
}

TEST_F(DiskWriterTest, PlainWavRotatesBeforeFourGibibytesSampleContiguously)
{
    // 32 channels of float: 128-byte frames; 4 GiB passes through the ring as silence
    // (holes in a sparse file) with the ramp around the rotation point and at the end.
    constexpr std::size_t kChannels = 32, kBig = 16384;
    const std::uint64_t limit = maxFramesPerFile({Container::Wav, SampleFormat::Float}, kChannels);
    ASSERT_LE(limit * 128 + 4096, std::uint64_t(1) << 32);
    WriterConfig wc = config(kChannels);
    wc.makeSink = [](int fd) { return std::make_unique<SparseSink>(fd); };
    FrameRing ring(kChannels, std::size_t(1) << 20);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, kChannels, kFirstFrame, kBig);
    const std::uint64_t total = limit + 3 * kBig;
    jack.rampWhere = [&](std::uint64_t f) {
        const std::uint64_t pos = f - kFirstFrame;
        return pos < kBig || pos + 3 * kBig > limit;
    };
    // A duration limit ends the take on an exact frame by itself.
    ASSERT_TRUE(writer.begin({"rot", std::nullopt, jack.now(), total}));
    jack.run((total + kBig - 1) / kBig);
    std::optional<WriterEvent> ended;
    for (int i = 0; i < 1000 && !ended; ++i, std::this_thread::sleep_for(10ms))
        ended = writer.pollEvent();
    writer.stop();
    ASSERT_TRUE(ended);
    ASSERT_EQ(ended->kind, WriterEvent::Kind::TakeEnded) << ended->summary.error;
    const TakeSummary *s = &ended->summary;
    ASSERT_EQ(s->files.size(), 2u);
    EXPECT_EQ(s->files[0].filename(), "rot_0001.wav");
    EXPECT_EQ(s->files[1].filename(), "rot_0002.wav");
    EXPECT_EQ(s->frames, total);
    EXPECT_EQ(s->lostFrames, 0u);
    const fs::path a = s->files[0], b = s->files[1];
    // Part 1: a plain RIFF file just under 4 GiB whose header counts every frame.
    const std::uint64_t size = fs::file_size(a);
    EXPECT_LT(size, std::uint64_t(1) << 32);
    char head[12] = {};
    std::ifstream(a, std::ios::binary).read(head, sizeof head);
    EXPECT_EQ(std::string(head, 4), "RIFF");
    std::uint32_t riffSize = 0;
    std::memcpy(&riffSize, head + 4, 4);
    EXPECT_EQ(riffSize, size - 8);
    SF_INFO info{};
    SNDFILE *sf = sf_open(a.c_str(), SFM_READ, &info);
    ASSERT_TRUE(sf);
    sf_close(sf);
    EXPECT_EQ(std::uint64_t(info.frames), limit);
    EXPECT_LT(size - limit * 128, 1024u) << "header bytes";
    // No frame lost or repeated across the rotation; part 2's sidecar names its first frame.
    EXPECT_TRUE(rampMatches(a, kFirstFrame, 0, kBig));
    EXPECT_TRUE(rampMatches(a, kFirstFrame, limit - 2 * kBig, 2 * kBig));
    EXPECT_EQ(sidecarFirstFrame(b), kFirstFrame + limit);
    EXPECT_TRUE(rampMatches(b, kFirstFrame + limit, 0, 3 * kBig));
    const RampCheck rb = checkRamp(b, kFirstFrame + limit);
    EXPECT_EQ(rb.frames, 3 * kBig);
    EXPECT_EQ(rb.mismatches + rb.silentFrames, 0u) << rb.describe();
    fs::remove(a);
    fs::remove(b);
}

TEST_F(DiskWriterTest, StopDuringADiskStallEndsTheTakeExactlyAtTheStopFrame)
{
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, config(2));
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"stop", std::nullopt, jack.now(), 0}));
    jack.run(20);
    ASSERT_TRUE(jack.drain());
    gate_->close();
    jack.cycle();
    ASSERT_TRUE(gate_->awaitBlocked(5000ms));
    // The stop lands in the middle of what the ring holds behind the stalled write.
    const std::uint64_t stopFrame = jack.now() + 10 * kPeriod + 77;
    for (int i = 0; i < 40; ++i)
        jack.cycle();
    std::thread opener([this] {
        std::this_thread::sleep_for(100ms);
        gate_->open();
    });
    auto s = writer.end(stopFrame);
    opener.join();
    writer.stop();
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->frames, stopFrame - kFirstFrame);
    const RampCheck r = checkRamp(s->path, kFirstFrame);
    EXPECT_EQ(r.frames, stopFrame - kFirstFrame) << r.describe();
    EXPECT_EQ(r.mismatches + r.silentFrames, 0u) << r.describe();
}

TEST_F(DiskWriterTest, EachPartCarriesABextTimestampOfItsFirstFrame)
{
    setenv("TZ", "UTC", 1);
    tzset();
    // JACK frame f happened at 2023-11-14 22:13:20 UTC plus (f - kFirstFrame) / rate.
    constexpr std::int64_t kEpochUs = 1700000000LL * 1000000;
    WriterConfig wc = config(2);
    wc.splitFrames = kRate; // parts of one second
    wc.wallClock = [](std::uint64_t f) { return kEpochUs + std::int64_t((f - kFirstFrame) * 1000000 / kRate); };
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"bwf", std::nullopt, jack.now(), 0}));
    jack.run(2 * kRate / kPeriod + 1);
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    unsetenv("TZ");
    tzset();
    ASSERT_EQ(s->files.size(), 3u);
    for (std::size_t i = 0; i < s->files.size(); ++i) {
        SF_INFO info{};
        SNDFILE *sf = sf_open(s->files[i].c_str(), SFM_READ, &info);
        ASSERT_TRUE(sf);
        SF_BROADCAST_INFO bext{};
        const bool have = sf_command(sf, SFC_GET_BROADCAST_INFO, &bext, sizeof bext) == SF_TRUE;
        sf_close(sf);
        ASSERT_TRUE(have) << s->files[i];
        EXPECT_EQ(std::string(bext.origination_date, 10), "2023-11-14");
        EXPECT_EQ(std::string(bext.origination_time, 8), i == 0 ? "22:13:20" : i == 1 ? "22:13:21" : "22:13:22");
        const std::uint64_t ref = std::uint64_t(bext.time_reference_high) << 32 | bext.time_reference_low;
        EXPECT_EQ(ref, (22 * 3600 + 13 * 60 + 20 + i) * std::uint64_t(kRate)) << "part " << i + 1;
        // The audio is untouched by the extra chunk.
        EXPECT_TRUE(rampMatches(s->files[i], kFirstFrame + i * kRate, 0, i < 2 ? kRate : kPeriod));
    }
}

TEST_F(DiskWriterTest, ADiskErrorShowsUntilTheNextTakeStartsAndItsCountAndTextRemain)
{
    WriterConfig wc = config(2);
    auto full = std::make_shared<bool>(true);
    wc.makeSink = [full](int fd) -> std::unique_ptr<Sink> {
        if (*full)
            return std::make_unique<FullDiskSink>(fd, 100000);
        return std::make_unique<FileSink>(fd);
    };
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"full", std::nullopt, jack.now(), 0}));
    jack.run(kRate / kPeriod); // 384 kB of float frames: the disk fills
    std::optional<WriterEvent> e;
    for (int i = 0; i < 300 && !e; ++i, std::this_thread::sleep_for(10ms))
        e = writer.pollEvent();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, WriterEvent::Kind::DiskError);
    WriterStatus st = writer.status();
    EXPECT_FALSE(st.recording);
    EXPECT_TRUE(st.failed);
    EXPECT_EQ(st.diskErrors, 1u);
    EXPECT_NE(st.lastError.find(std::strerror(ENOSPC)), std::string::npos) << st.lastError;
    const std::string firstError = st.lastError;

    // The disk has room again: the next take starts, and the error is history.
    *full = false;
    ASSERT_TRUE(writer.begin({"after", std::nullopt, jack.now(), 0}));
    st = writer.status();
    EXPECT_TRUE(st.recording);
    EXPECT_FALSE(st.failed);
    EXPECT_EQ(st.diskErrors, 1u);
    EXPECT_EQ(st.lastError, firstError);
    jack.run(10);
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    EXPECT_TRUE(s->error.empty()) << s->error;
    st = writer.status();
    EXPECT_FALSE(st.recording);
    EXPECT_FALSE(st.failed);
    EXPECT_EQ(st.diskErrors, 1u);
    writer.stop();
}

TEST_F(DiskWriterTest, DiskUsePerSecondIsKnownBeforeTheFirstTakeAndMeasuredForFlac)
{
    struct Case {
        FileFormat format;
        std::uint64_t bytesPerSecond; // exact, or the uncompressed bound for FLAC
    };
    const Case cases[] = {
        {{Container::Wav, SampleFormat::Float}, 2 * 4 * kRate},
        {{Container::W64, SampleFormat::Pcm24}, 2 * 3 * kRate},
        {{Container::Flac, SampleFormat::Float}, 2 * 3 * kRate}, // FLAC writes 24-bit
        {{Container::Flac, SampleFormat::Pcm16}, 2 * 2 * kRate},
        {{Container::Ogg, SampleFormat::Float}, 2 * 4 * kRate},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(nameOf(c.format.container));
        WriterConfig wc = config(2);
        wc.format = c.format;
        FrameRing ring(2, kRate);
        DiskWriter writer(ring, wc);
        // Idle, before the disk thread ever ran: time left is already known.
        EXPECT_EQ(writer.status().bytesPerSecond, c.bytesPerSecond);
        EXPECT_FALSE(writer.status().bytesPerSecondMeasured);
    }
    // Recording FLAC: after a second of audio, what the encoder really produces.
    WriterConfig wc = config(2);
    wc.format = {Container::Flac, SampleFormat::Pcm24};
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"flac", std::nullopt, jack.now(), 0}));
    jack.run(kRate / kPeriod + 20);
    ASSERT_TRUE(jack.drain());
    WriterStatus st;
    for (int i = 0; i < 100 && !(st = writer.status()).bytesPerSecondMeasured; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(st.bytesPerSecondMeasured);
    EXPECT_GT(st.bytesPerSecond, 0u);
    EXPECT_LT(st.bytesPerSecond, 2u * 3 * kRate);
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    // The estimate is the file's own rate: within 10 % of its size per second.
    const double fileRate = double(fs::file_size(s->path)) * kRate / double(s->frames);
    EXPECT_NEAR(double(st.bytesPerSecond), fileRate, fileRate * 0.1);
}

TEST_F(DiskWriterTest, PeaksAreMeteredWhileIdleWhenAPrerollKeepsTheInputsFlowing)
{
    FrameRing ring(3, kRate);
    DiskWriter writer(ring, config(3));
    writer.setPrerollFrames(kRate / 2);
    writer.start();
    CaptureCounters counters;
    RingFeeder feeder(ring, counters);
    std::vector<std::vector<float>> data(3, std::vector<float>(kPeriod, 0.0f));
    std::vector<const float *> ptrs{data[0].data(), data[1].data(), data[2].data()};
    data[0][5] = 0.25f;
    data[1][9] = -0.5f;
    data[2][200] = 0.125f;
    std::uint64_t now = kFirstFrame;
    for (int i = 0; i < 4; ++i, now += kPeriod)
        feeder.cycle(now, ptrs.data(), kPeriod, true);
    // No take: the frames stay in the ring as pre-roll history, and are metered on arrival.
    std::vector<float> peaks(3, 0.0f);
    for (int i = 0; i < 100 && peaks[2] == 0.0f; ++i, std::this_thread::sleep_for(10ms)) {
        const std::vector<float> p = writer.takePeaks();
        for (std::size_t c = 0; c < 3; ++c)
            peaks[c] = std::max(peaks[c], p[c]);
    }
    EXPECT_EQ(peaks, (std::vector<float>{0.25f, 0.5f, 0.125f}));
    EXPECT_EQ(ring.readableFrames(), 4 * kPeriod) << "idle history is kept, not consumed";
    // Metered once: the next query sees nothing new.
    std::this_thread::sleep_for(120ms);
    EXPECT_EQ(writer.takePeaks(), std::vector<float>(3, 0.0f));
    writer.stop();
}

TEST_F(DiskWriterTest, SplitBySizeKeepsEveryWholeFileAtOrUnderTheLimitSampleContiguously)
{
    struct Case {
        FileFormat format;
        std::size_t bytesPerSample;
    };
    const Case cases[] = {{{Container::Wav, SampleFormat::Float}, 4}, {{Container::Wav, SampleFormat::Pcm16}, 2},
                          {{Container::Rf64, SampleFormat::Float}, 4}, {{Container::W64, SampleFormat::Float}, 4},
                          {{Container::W64, SampleFormat::Pcm24}, 3}};
    constexpr std::uint64_t kLimit = 20011; // no multiple of any frame size
    for (const Case &c : cases)
        for (std::size_t channels : {1u, 2u, 7u}) {
            SCOPED_TRACE(nameOf(c.format.container) + " " + std::to_string(c.bytesPerSample * 8) + "-bit, " +
                         std::to_string(channels) + " channels");
            const std::uint64_t frameBytes = c.bytesPerSample * channels;
            WriterConfig wc = config(channels);
            wc.format = c.format;
            wc.splitBytes = kLimit;
            wc.wallClock = [](std::uint64_t) { return std::int64_t(1700000000) * 1000000; }; // bext chunks too
            FrameRing ring(channels, kRate);
            DiskWriter writer(ring, wc);
            writer.start();
            SyntheticJack jack(ring, channels, kFirstFrame);
            const std::string name = "size_" + nameOf(c.format.container) + std::to_string(c.bytesPerSample) + "_" +
                                     std::to_string(channels);
            ASSERT_TRUE(writer.begin({name, std::nullopt, jack.now(), 0}));
            jack.run(40); // 10240 frames: several parts
            auto s = writer.end(jack.now());
            ASSERT_TRUE(s) << s.error();
            writer.stop();
            ASSERT_GE(s->files.size(), 2u);
            std::uint64_t first = kFirstFrame;
            for (std::size_t i = 0; i < s->files.size(); ++i) {
                SCOPED_TRACE(s->files[i].filename().string());
                const std::uint64_t size = fs::file_size(s->files[i]);
                EXPECT_LE(size, kLimit);
                // Full parts are as full as the limit allows: another frame would not fit.
                if (i + 1 < s->files.size()) {
                    EXPECT_GT(size + frameBytes, kLimit);
                }
                const RampCheck r = checkRamp(s->files[i], first);
                EXPECT_EQ(r.channels, int(channels));
                if (c.format.sample == SampleFormat::Float) { // PCM clips the ramp's large values
                    EXPECT_EQ(r.mismatches + r.silentFrames, 0u) << r.describe();
                }
                EXPECT_EQ(sidecarFirstFrame(s->files[i]), first);
                first += r.frames;
            }
            EXPECT_EQ(first - kFirstFrame, 40 * kPeriod);
        }
}

TEST_F(DiskWriterTest, SplitBySizeRefusesCompressedTakesAndLimitsTooSmallForAFrame)
{
    WriterConfig wc = config(2);
    wc.splitBytes = 100000;
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.start();
    for (Container c : {Container::Flac, Container::Ogg}) {
        auto p = writer.begin({"compressed", c, 0, 0});
        ASSERT_FALSE(p);
        EXPECT_NE(p.error().find("--split-size"), std::string::npos) << p.error();
    }
    writer.stop();
    EXPECT_TRUE(fs::is_empty(dir_));

    // 256 channels of float: a 1 KiB frame does not fit beside the header in 4096 bytes... of
    // which the header takes its share; the take ends with a reason instead of looping.
    WriterConfig small = config(256);
    small.splitBytes = 1200;
    FrameRing bigRing(256, kRate);
    DiskWriter w2(bigRing, small);
    w2.start();
    SyntheticJack jack(bigRing, 256, kFirstFrame);
    ASSERT_TRUE(w2.begin({"tiny", std::nullopt, jack.now(), 0}));
    jack.run(2);
    std::optional<WriterEvent> e;
    for (int i = 0; i < 300 && !e; ++i, std::this_thread::sleep_for(10ms))
        e = w2.pollEvent();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, WriterEvent::Kind::DiskError);
    EXPECT_NE(e->summary.error.find("--split-size 1200 leaves no room"), std::string::npos) << e->summary.error;
    w2.stop();
}

// An input that loses its source records silence on its channel alone; each part's sidecar
// declares where, per channel, counted from the part's own first frame, and a span that
// crosses a split is declared in both parts. Cycles JACK skipped meanwhile are silence
// on every channel, declared in "gaps" as before.
TEST_F(DiskWriterTest, SpansWithoutASourceAreDeclaredPerChannelInEachPartsSidecar)
{
    constexpr std::uint64_t P = kPeriod;
    WriterConfig wc = config(2);
    wc.splitFrames = 10 * P;
    FrameRing ring(2, kRate);
    DiskWriter writer(ring, wc);
    writer.setInputSources({"src:out_1", "src:out_2"});
    writer.start();
    SyntheticJack jack(ring, 2, kFirstFrame);
    ASSERT_TRUE(writer.begin({"sources", std::nullopt, jack.now(), 0}));
    jack.run(5);
    jack.connected[1] = 0; // take frame 5P
    jack.run(3);
    jack.skip(2); // 8P..10P: lost on both channels
    jack.run(7);
    jack.connected[1] = 1; // 17P
    jack.run(3);
    jack.connected[0] = 0; // 20P, until the end
    jack.run(2);
    auto s = writer.end(jack.now());
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    ASSERT_EQ(s->files.size(), 3u);
    EXPECT_EQ(s->frames, 22 * P);
    ASSERT_EQ(s->noSourceFrames.size(), 2u);
    EXPECT_EQ(s->noSourceFrames[0], 2 * P);
    EXPECT_EQ(s->noSourceFrames[1], 12 * P);
    ASSERT_EQ(s->inputGaps.size(), 2u);
    EXPECT_EQ(s->inputGaps[0].channel, 1u);
    EXPECT_EQ(s->inputGaps[0].atFrame, 5 * P);
    EXPECT_EQ(s->inputGaps[0].frames, 12 * P);
    EXPECT_EQ(s->inputGaps[1].channel, 0u);
    EXPECT_EQ(s->inputGaps[1].atFrame, 20 * P);
    EXPECT_EQ(s->inputGaps[1].frames, 2 * P);

    using Spans = std::vector<std::tuple<std::size_t, std::uint64_t, std::uint64_t>>; // channel, at, frames
    const Spans expected[3] = {{{1, 5 * P, 5 * P}}, {{1, 0, 7 * P}}, {{0, 0, 2 * P}}};
    for (std::size_t part = 0; part < 3; ++part) {
        SCOPED_TRACE(s->files[part].string());
        std::ifstream in(s->files[part].string() + ".json");
        const auto side = nlohmann::json::parse(in);
        EXPECT_EQ(side.at("input_sources"), nlohmann::json({"src:out_1", "src:out_2"}));
        Spans listed;
        for (const auto &g : side.at("input_gaps")) {
            listed.emplace_back(g.at("channel").get<std::size_t>(), g.at("at_frame").get<std::uint64_t>(),
                                g.at("frames").get<std::uint64_t>());
            EXPECT_EQ(g.at("reason"), "no source");
            EXPECT_EQ(g.at("input"), "in_" + std::to_string(std::get<0>(listed.back()) + 1));
        }
        EXPECT_EQ(listed, expected[part]) << side.dump();
        // The file agrees, channel by channel (the skipped cycles are silence on both).
        const ChannelsCheck c = checkRampChannels(s->files[part], kFirstFrame + 10 * P * part);
        ASSERT_TRUE(c.opened);
        ASSERT_EQ(c.channels.size(), 2u);
        for (std::size_t ch = 0; ch < 2; ++ch) {
            EXPECT_EQ(c.channels[ch].mismatches, 0u) << c.describe();
            std::vector<std::pair<std::uint64_t, std::uint64_t>> silence;
            for (const auto &[channel, at, frames] : expected[part])
                if (channel == ch)
                    silence.emplace_back(at, frames);
            if (part == 0 && ch == 0)
                silence = {{8 * P, 2 * P}};
            EXPECT_EQ(c.channels[ch].runs, silence) << c.describe();
        }
    }
}

// A take placed by a timeline clock (--clock) whose source begins its timeline again (a new
// supervisor counts from 0): the take goes on without a break, its stop request counts in the
// new timeline, and the sidecar says where the timeline began again.
TEST_F(DiskWriterTest, ATakeGoesOnWhenItsClocksTimelineBeginsAgain)
{
    FrameRing ring(1, kRate);
    DiskWriter writer(ring, config(1));
    writer.start();
    CaptureCounters counters;
    RingFeeder feeder(ring, counters);
    std::vector<float> data(kPeriod);
    const float *ptr = data.data();
    float value = 0.0f;
    auto cycle = [&](std::uint64_t label) {
        value += 1.0f;
        std::fill(data.begin(), data.end(), value);
        feeder.clockedCycle(label, &ptr, kPeriod, true);
    };
    const std::uint64_t before = 5000000;
    ASSERT_TRUE(writer.begin({"restart", std::nullopt, before, 0}));
    for (std::uint64_t k = 0; k < 10; ++k)
        cycle(before + k * kPeriod);
    for (std::uint64_t k = 0; k < 10; ++k) // a new supervisor: its timeline from 0
        cycle(k * kPeriod);
    // Everything written before the stop (in the new timeline's frames) is asked for.
    for (int i = 0; i < 5000 && ring.readableFrames() > 0; ++i)
        std::this_thread::sleep_for(1ms);
    auto s = writer.end(10 * kPeriod);
    ASSERT_TRUE(s) << s.error();
    writer.stop();
    EXPECT_EQ(s->frames, 20 * kPeriod) << "the take broke off or skipped the new timeline";
    EXPECT_EQ(s->lostFrames, 0u);
    ASSERT_EQ(s->restarts.size(), 1u);
    EXPECT_EQ(s->restarts[0], std::make_pair(std::uint64_t(10 * kPeriod), std::uint64_t(0)));
    SF_INFO info{};
    SNDFILE *sf = sf_open(s->path.c_str(), SFM_READ, &info);
    ASSERT_TRUE(sf);
    std::vector<float> got(std::size_t(info.frames));
    sf_readf_float(sf, got.data(), info.frames);
    sf_close(sf);
    ASSERT_EQ(got.size(), 20 * kPeriod);
    for (std::size_t f = 0; f < got.size(); ++f)
        ASSERT_EQ(got[f], float(f / kPeriod + 1)) << "take frame " << f;
    std::ifstream side(s->path.string() + ".json");
    const auto json = nlohmann::json::parse(side);
    ASSERT_TRUE(json.contains("timeline_restarts")) << json.dump();
    EXPECT_EQ(json.at("timeline_restarts").at(0).at("at_frame").get<std::uint64_t>(), 10 * kPeriod);
    EXPECT_EQ(json.at("timeline_restarts").at(0).at("first_frame").get<std::uint64_t>(), 0u);
}
