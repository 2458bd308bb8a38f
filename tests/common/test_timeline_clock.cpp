// The timeline clock's cycle marks: every frame a timeline reaches reads back exactly, and
// nothing but a mark reads as one (silence, audio, a damaged mark, a cycle too short).
#include "common/timeline_clock.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tc = chronus::timeline_clock;

TEST(TimelineClock, EveryFrameReadsBackExactly)
{
    std::vector<float> buffer(256, 1.0f);
    for (std::uint64_t frame : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256},
                                std::uint64_t{48000} * 3600 * 24 * 365, (std::uint64_t{1} << 24) - 1,
                                std::uint64_t{1} << 24, tc::kLargest}) {
        tc::write(buffer.data(), 256, frame);
        const auto read = tc::read(buffer.data(), 256);
        ASSERT_TRUE(read) << frame;
        EXPECT_EQ(*read, frame);
        for (std::size_t i = tc::kSamples; i < buffer.size(); ++i)
            ASSERT_EQ(buffer[i], 0.0f) << "the rest of the cycle is silence";
        for (std::size_t i = 0; i < tc::kSamples; ++i)
            EXPECT_LT(std::fabs(buffer[i]), 1.0f / 256) << "a mark is quiet";
    }
}

TEST(TimelineClock, NothingButAMarkReadsAsOne)
{
    std::vector<float> buffer(256, 0.0f);
    EXPECT_FALSE(tc::read(buffer.data(), 256)) << "silence";
    for (std::size_t i = 0; i < buffer.size(); ++i)
        buffer[i] = 0.5f * std::sin(0.05f * float(i));
    EXPECT_FALSE(tc::read(buffer.data(), 256)) << "audio";
    tc::write(buffer.data(), 256, 123456789);
    ASSERT_TRUE(tc::read(buffer.data(), 256));
    for (std::size_t i = 0; i < tc::kSamples; ++i) {
        auto damaged = buffer;
        damaged[i] = std::nextafter(damaged[i], 1.0f);
        EXPECT_FALSE(tc::read(damaged.data(), 256)) << "sample " << i << " changed";
    }
    auto halved = buffer;
    for (auto &x : halved)
        x *= 0.5f;
    EXPECT_FALSE(tc::read(halved.data(), 256)) << "a gain applied";
    EXPECT_FALSE(tc::read(buffer.data(), 3)) << "a cycle too short";
    tc::write(buffer.data(), 3, 5);
    EXPECT_FALSE(tc::read(buffer.data(), 256));
}

// A writer at work (opened, not yet closed) carries no frame: a reader JACK runs before the
// writer finished its cycle cannot take the previous cycle's audio for this one's.
TEST(TimelineClock, AnOpenCycleCarriesNoFrameUntilItIsClosed)
{
    std::vector<float> buffer(256, 0.0f);
    tc::write(buffer.data(), 256, 1000);
    ASSERT_EQ(tc::read(buffer.data(), 256), std::optional<std::uint64_t>(1000));
    tc::open(buffer.data(), 256);
    EXPECT_FALSE(tc::read(buffer.data(), 256)) << "the last cycle's frame is gone once the next begins";
    tc::close(buffer.data(), 256, 1256);
    EXPECT_EQ(tc::read(buffer.data(), 256), std::optional<std::uint64_t>(1256));
}

// A master clock's cycle carries the wall-clock time of its start besides its frame; the time
// wraps at 2^48 µs and is read back near the reader's own wall clock.
TEST(TimelineClock, AMasterCycleCarriesItsWallClockStart)
{
    std::vector<float> buffer(256, 0.0f);
    const std::uint64_t wall = 1796515200000000ull; // 2026-12-06 in µs since the epoch
    tc::open(buffer.data(), 256);
    tc::close(buffer.data(), 256, 48000, wall);
    const auto master = tc::readMaster(buffer.data(), 256);
    ASSERT_TRUE(master);
    EXPECT_EQ(master->frame, 48000u);
    EXPECT_EQ(tc::unwrapWall(master->wallUs, wall + 5000000), wall);
    EXPECT_EQ(tc::unwrapWall(master->wallUs, wall - 5000000), wall);
    EXPECT_EQ(tc::read(buffer.data(), 256), std::optional<std::uint64_t>(48000)) << "a frame like any clock's";
    tc::write(buffer.data(), 256, 48000);
    EXPECT_FALSE(tc::readMaster(buffer.data(), 256)) << "a timeline clock carries no wall time";
    const std::uint64_t edge = (tc::kLargest + 1) * 6 + 10; // just past a wrap
    tc::open(buffer.data(), 256);
    tc::close(buffer.data(), 256, 1, edge);
    EXPECT_EQ(tc::unwrapWall(tc::readMaster(buffer.data(), 256)->wallUs, edge - 20), edge);
}
