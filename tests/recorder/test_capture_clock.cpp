// The recorder's capture path without JACK: its frame clock (CaptureClock, what
// Capture::process runs on jack_last_frame_time) feeding a RingFeeder. A step back in JACK's
// 32-bit frame time must reach the feeder as a step back (it begins a new timeline), and a
// wrap across 2^32 must not (the take goes on without a gap).
#include "recorder/capture.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace chronus::rec;

namespace {

constexpr std::uint32_t kPeriod = 64;
constexpr std::uint64_t kWrap = std::uint64_t(1) << 32;

// The 32-bit JACK frame time `frames` before the wrap.
constexpr std::uint32_t beforeWrap(std::uint32_t frames) { return std::uint32_t(kWrap - frames); }

// A FrameRing, its feeder and the capture's clock, driven by 32-bit JACK frame times.
struct CapturePath {
    FrameRing ring{1, 1 << 14};
    CaptureCounters counters;
    RingFeeder feeder{ring, counters};
    CaptureClock clock;
    std::vector<float> in = std::vector<float>(kPeriod, 0.25f);

    // One cycle, as Capture::process runs it; the 64-bit frame it used.
    std::uint64_t cycle(std::uint32_t frame32)
    {
        const float *ptr = in.data();
        const std::uint64_t now = clock.extend(frame32);
        feeder.cycle(now, &ptr, kPeriod, true);
        return now;
    }
    std::vector<TimelineEvent> events()
    {
        std::vector<TimelineEvent> out;
        TimelineEvent e;
        while (ring.events().tryPop(e))
            out.push_back(e);
        return out;
    }
};

} // namespace

TEST(CaptureClock, AWrapAcrossTwoToTheThirtyTwoIsOneTimelineWithoutAGap)
{
    CapturePath path;
    const std::uint32_t first = beforeWrap(3 * kPeriod);
    std::uint64_t last = 0;
    for (std::uint32_t k = 0; k < 6; ++k)
        last = path.cycle(first + k * kPeriod);
    EXPECT_EQ(last, kWrap + 2 * kPeriod) << "the frame after the wrap extends forward";
    const auto events = path.events();
    ASSERT_EQ(events.size(), 1u) << "a wrap began a new timeline or left a gap";
    EXPECT_EQ(events[0].kind, TimelineEvent::Kind::Start);
    EXPECT_EQ(events[0].jackFrame, first);
    EXPECT_EQ(path.counters.skippedFrames.load(), 0u);
    EXPECT_EQ(path.counters.repeatedFrames.load(), 0u);
    EXPECT_EQ(path.ring.writtenFrames(), 6 * kPeriod);
}

TEST(CaptureClock, AStepBackInJackTimeReachesTheFeederAsAStepBackAndBeginsANewTimeline)
{
    CapturePath path;
    path.cycle(1000000);
    path.cycle(1000000 + kPeriod);
    // The server restarted its clock. Before CaptureClock, the capture turned this into a
    // jump forward by 2^32 frames (a gap of a day of silence) and RingFeeder's step-back
    // branch could not be reached.
    const std::uint64_t now = path.cycle(5000);
    EXPECT_EQ(now, 5000u);
    path.cycle(5000 + kPeriod);
    const auto events = path.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, TimelineEvent::Kind::Start);
    EXPECT_EQ(events[1].kind, TimelineEvent::Kind::Start) << "the step back did not begin a new timeline";
    EXPECT_EQ(events[1].jackFrame, 5000u);
    EXPECT_EQ(events[1].ringFrame, 2 * kPeriod);
    EXPECT_EQ(path.counters.skippedFrames.load(), 0u);
    EXPECT_EQ(path.counters.repeatedFrames.load(), 0u);
}

TEST(CaptureClock, AStepBackJustAfterAWrapIsStillAStepBack)
{
    CapturePath path;
    const std::uint32_t first = beforeWrap(kPeriod);
    path.cycle(first);
    path.cycle(first + kPeriod);     // 0: frame 2^32
    path.cycle(first + 2 * kPeriod); // frame 2^32 + P
    // Back to before the wrap, far enough not to be a cycle seen twice.
    const std::uint64_t now = path.cycle(first - 100 * kPeriod);
    EXPECT_EQ(now, kWrap - 101 * kPeriod);
    const auto events = path.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, TimelineEvent::Kind::Start);
    EXPECT_EQ(events[1].jackFrame, now);
    EXPECT_EQ(path.counters.skippedFrames.load(), 0u);
}
