// JACK's frame clock as the callbacks see it: 64-bit extension across the 32-bit wrap and
// after a step back, and CycleClock's labels for each kind of reading measured under load.
#include "common/jack_time.hpp"

#include <gtest/gtest.h>

using namespace chronus;
using Step = CycleClock::Step;

namespace {
constexpr std::uint32_t P = 256;
} // namespace

TEST(JackTime, ExtendingJackFrameTimeSurvivesTheThirtyTwoBitWrap)
{
    const std::uint64_t ref = (std::uint64_t(1) << 32) - 100;
    EXPECT_EQ(extendFrame(ref, 50), (std::uint64_t(1) << 32) + 50);
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref - 1000)), ref - 1000);
    EXPECT_EQ(extendFrame(5, 3), 3u);
}

TEST(JackTime, FrameTimeStepsBackAsAStepBackAndWrapsForward)
{
    FrameTime t;
    EXPECT_EQ(t.extend(0xFFFFFF00u), 0xFFFFFF00u);
    EXPECT_EQ(t.extend(0x00000100u), (std::uint64_t(1) << 32) + 0x100) << "a wrap moves on";
    EXPECT_EQ(t.extend(0xFFFFFF80u), 0xFFFFFF80u) << "a step back across the wrap stays a step back";
}

// A take starts at the frame now; an estimate a frame behind the cycle's start once made
// that 2^32 frames ahead, and the take recorded nothing and never ended.
TEST(JackTime, TheFrameNowIsNeverBeforeTheCycleAndSurvivesTheWrap)
{
    EXPECT_EQ(frameNow(1000, 1000, 1100), 1100u);
    EXPECT_EQ(frameNow(1000, 1000, 999), 1000u); // estimate behind the cycle's start
    EXPECT_EQ(frameNow(1000, 1000, 1000), 1000u);
    const std::uint64_t wrapped = (std::uint64_t{1} << 32) - 10; // 32-bit value 0xFFFFFFF6
    EXPECT_EQ(frameNow(wrapped, 0xFFFFFFF6u, 20u), wrapped + 30);
    EXPECT_EQ(frameNow(wrapped, 0xFFFFFFF6u, 0xFFFFFFF0u), wrapped);
}

TEST(CycleClock, LabelsEveryKindOfReading)
{
    CycleClock c;
    auto next = [&](std::uint64_t reading) { return c.next(reading, P); };
    auto a = next(1000 * P);
    EXPECT_EQ(a.step, Step::First);
    EXPECT_EQ(a.frame, 1000u * P);
    a = next(1001 * P);
    EXPECT_EQ(a.step, Step::Normal);
    // Stale: the previous reading again, after a normal step, is the next cycle.
    a = next(1001 * P);
    EXPECT_EQ(a.step, Step::Stale);
    EXPECT_EQ(a.frame, 1002u * P);
    // The reading catches up two periods later: one period after our label, normal.
    a = next(1003 * P);
    EXPECT_EQ(a.step, Step::Normal);
    EXPECT_EQ(a.frame, 1003u * P);
    // A jump: skipped cycles (or a reading ahead; the next reading says which).
    a = next(1006 * P);
    EXPECT_EQ(a.step, Step::Skipped);
    EXPECT_EQ(a.skippedFrames, 2u * P);
    // The same reading again right after a jump: the jump was read ahead; same label.
    a = next(1006 * P);
    EXPECT_EQ(a.step, Step::Repeated);
    EXPECT_EQ(a.frame, 1006u * P);
    a = next(1007 * P);
    EXPECT_EQ(a.step, Step::Normal);
    // A reading behind the label, but not the previous reading: lagging, labelled next.
    next(1008 * P);
    a = next(1007 * P + 10);
    EXPECT_EQ(a.step, Step::Lagging);
    EXPECT_EQ(a.frame, 1009u * P);
    // Far behind: the server's clock restarted.
    a = next(5 * P);
    EXPECT_EQ(a.step, Step::Restart);
    EXPECT_EQ(a.frame, 5u * P);
}

TEST(CycleClock, ASkipConfirmedByTheNextReadingIsNotRepeated)
{
    CycleClock c;
    c.next(0, P);
    EXPECT_EQ(c.next(3 * P, P).step, Step::Skipped);
    EXPECT_EQ(c.next(4 * P, P).step, Step::Normal);
    EXPECT_EQ(c.next(4 * P, P).step, Step::Stale) << "a repeat after a normal step is stale, not a misread jump";
}
