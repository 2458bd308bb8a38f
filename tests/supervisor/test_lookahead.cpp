// The adaptive lookahead's policy (supervisor/lookahead.hpp), without JACK: it grows by a
// period on a near miss or a gap, at most once per spacing and never past the maximum, and
// shrinks by a period after a calm spell, never below the minimum; fixed, it never moves.
#include "supervisor/lookahead.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>

using chronus::supervisor::AdaptiveLookahead;
using chronus::supervisor::LookaheadConfig;
using namespace std::chrono_literals;

namespace {

// Cumulative cycles by margin, as the output stage counts them.
struct Margins {
    std::array<std::uint64_t, 10> totals{};
    Margins &add(std::size_t ready, std::uint64_t cycles)
    {
        totals[ready] += cycles;
        return *this;
    }
};

LookaheadConfig autoConfig()
{
    LookaheadConfig c;
    c.adaptive = true;
    c.min = 2;
    c.max = 4;
    c.calmSeconds = 10;
    c.raiseSpacingSeconds = 1;
    return c;
}

} // namespace

TEST(Lookahead, AutoStartsAtTheMinimumAndANearMissRaisesItByOnePeriod)
{
    AdaptiveLookahead la(autoConfig());
    const auto t0 = AdaptiveLookahead::Clock::time_point{} + 100s;
    Margins m;
    EXPECT_EQ(la.current(), 2u);
    EXPECT_FALSE(la.update(m.add(2, 1000).totals, t0)); // the first call only primes
    EXPECT_FALSE(la.update(m.add(2, 100).add(3, 50).totals, t0 + 100ms)) << "margins of 2 and 3 are normal at 2";
    const auto raised = la.update(m.add(1, 1).totals, t0 + 200ms);
    ASSERT_TRUE(raised);
    EXPECT_EQ(*raised, 3u);
    EXPECT_EQ(la.raises(), 1u);
    EXPECT_NE(la.lastReason().find("raised to 3"), std::string::npos) << la.lastReason();
}

TEST(Lookahead, OneBurstOfLateCyclesRaisesItOnceAndTheNextBurstASecondLaterAgainUpToTheMaximum)
{
    AdaptiveLookahead la(autoConfig());
    const auto t0 = AdaptiveLookahead::Clock::time_point{} + 100s;
    Margins m;
    la.update(m.totals, t0);
    ASSERT_TRUE(la.update(m.add(0, 3).totals, t0 + 10ms)); // a gap: 3
    EXPECT_FALSE(la.update(m.add(0, 5).totals, t0 + 200ms)) << "the same burst, before the workers caught up";
    EXPECT_FALSE(la.update(m.add(1, 5).totals, t0 + 900ms));
    const auto again = la.update(m.add(1, 1).totals, t0 + 1100ms);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 4u);
    EXPECT_FALSE(la.update(m.add(0, 9).totals, t0 + 5s)) << "never past --lookahead-max";
    EXPECT_EQ(la.current(), 4u);
    EXPECT_EQ(la.raises(), 2u);
}

TEST(Lookahead, ACalmSpellLowersItOnePeriodAtATimeDownToTheMinimum)
{
    AdaptiveLookahead la(autoConfig());
    const auto t0 = AdaptiveLookahead::Clock::time_point{} + 100s;
    Margins m;
    la.update(m.totals, t0);
    ASSERT_TRUE(la.update(m.add(1, 1).totals, t0));
    ASSERT_TRUE(la.update(m.add(1, 1).totals, t0 + 2s));
    ASSERT_EQ(la.current(), 4u);
    // A margin of 2 at 4 would be thin at 3: no shrinking while it happens.
    EXPECT_FALSE(la.update(m.add(4, 500).add(2, 1).totals, t0 + 8s));
    EXPECT_FALSE(la.update(m.add(4, 500).totals, t0 + 17s)) << "calm for 9 s only";
    const auto lowered = la.update(m.add(4, 500).add(3, 100).totals, t0 + 18s + 1ms);
    ASSERT_TRUE(lowered) << "calm for 10 s";
    EXPECT_EQ(*lowered, 3u);
    EXPECT_FALSE(la.update(m.add(3, 500).totals, t0 + 25s));
    const auto min = la.update(m.add(3, 500).totals, t0 + 28s + 2ms);
    ASSERT_TRUE(min);
    EXPECT_EQ(*min, 2u);
    EXPECT_FALSE(la.update(m.add(3, 5000).totals, t0 + 100s)) << "never below the minimum";
    EXPECT_EQ(la.lowers(), 2u);
}

TEST(Lookahead, AFixedLookaheadNeverMoves)
{
    LookaheadConfig c;
    c.adaptive = false;
    c.min = c.max = 2;
    AdaptiveLookahead la(c);
    const auto t0 = AdaptiveLookahead::Clock::time_point{} + 100s;
    Margins m;
    la.update(m.totals, t0);
    EXPECT_FALSE(la.update(m.add(0, 50).add(1, 50).totals, t0 + 1s));
    EXPECT_FALSE(la.update(m.add(3, 5000).totals, t0 + 1000s));
    EXPECT_EQ(la.current(), 2u);
    EXPECT_EQ(la.raises() + la.lowers(), 0u);
}
