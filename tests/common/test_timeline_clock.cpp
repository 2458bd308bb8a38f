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
