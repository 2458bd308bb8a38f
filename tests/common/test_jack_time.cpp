// JACK's 32-bit frame time extended to 64 bits: across the wrap, backwards, and the signed
// distance between two frames.
#include "common/jack_time.hpp"

#include <gtest/gtest.h>

using namespace chronus;

namespace {
constexpr std::uint64_t kWrap = std::uint64_t(1) << 32;
}

TEST(JackTime, ExtendingJackFrameTimeSurvivesTheThirtyTwoBitWrap)
{
    const std::uint64_t ref = kWrap - 100;
    EXPECT_EQ(extendFrame(ref, 50), kWrap + 50);
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref - 1000)), ref - 1000);
    EXPECT_EQ(extendFrame(5, 3), 3u);
}

TEST(JackTime, AStepBackStaysBehindTheReferenceAndAStepForwardAhead)
{
    const std::uint64_t ref = 5 * kWrap + 1000000;
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref)), ref);
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref - 256)), ref - 256);
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref + 256)), ref + 256);
    // Up to 2^31 frames either way (about 12 hours at 48 kHz).
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref - (kWrap / 2))), ref - kWrap / 2);
    EXPECT_EQ(extendFrame(ref, std::uint32_t(ref + (kWrap / 2 - 1))), ref + kWrap / 2 - 1);
    // Backwards across a wrap: the high part goes down.
    const std::uint64_t justPast = 3 * kWrap + 10;
    EXPECT_EQ(extendFrame(justPast, std::uint32_t(-20)), 3 * kWrap - 20);
}

TEST(JackTime, AFrameThatWouldComeOutNegativeExtendsForward)
{
    // Before any cycle the reference is 0; JACK's clock may already be past 2^31.
    EXPECT_EQ(extendFrame(0, std::uint32_t(3000000000u)), 3000000000u);
    EXPECT_EQ(extendFrame(100, std::uint32_t(-1)), kWrap - 1);
    // Exactly reaching frame 0 backwards is still a step back.
    EXPECT_EQ(extendFrame(100, 0), 0u);
}

TEST(JackTime, FrameDeltaIsSignedAndExactAcrossTheWrap)
{
    EXPECT_EQ(frameDelta(kWrap - 10, kWrap + 10), 20);
    EXPECT_EQ(frameDelta(kWrap + 10, kWrap - 10), -20);
    EXPECT_EQ(frameDelta(7, 7), 0);
    static_assert(frameDelta(100, extendFrame(100, 40)) == -60);
}
