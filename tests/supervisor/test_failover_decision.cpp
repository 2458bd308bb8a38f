// The failover decision as a table: for every role of the other slot, every state of both
// blocks and whether the other slot is doubted, what plays, what is reported and whom the
// audio thread doubts afterwards. Rows are written out, not computed, so each reads as a rule.
#include "supervisor/failover.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace chronus::supervisor;

namespace {

using B = BlockState;
using O = FailoverDecision::Output;
using T = RtEvent::Type;
constexpr std::uint64_t kFrame = 4096;
constexpr std::uint32_t kVerify = 4;

struct Row {
    const char *rule;
    Role activeRole;    // slot 0 is active
    Role otherRole;     // slot 1
    bool otherSuspect;  // slot 1 doubted before the cycle
    B activeBlock;      // as read (Missing when not read)
    B otherBlock;
    bool equal;
    // expected
    O output;
    std::vector<T> events;
    int activeAfter;
    bool activeSuspectAfter, otherSuspectAfter;
    bool failover, gap, divergence, unverified;
};

std::string describe(const std::vector<T> &events)
{
    std::string s;
    for (T t : events)
        s += std::to_string(int(t)) + " ";
    return s;
}

class FailoverTable : public ::testing::TestWithParam<Row> {};

TEST_P(FailoverTable, DecidesWhatPlaysWhatIsReportedAndWhomToDoubt)
{
    const Row &r = GetParam();
    FailoverState state;
    state.active = 0;
    FailoverInput in;
    in.roles = {r.activeRole, r.otherRole};
    observeRoles(state, in.roles);
    state.suspect[1] = r.otherSuspect;
    // The stage reads only what readsActive/readsStandby allow; model that here.
    in.activeBlock = readsActive(state, in.roles) ? r.activeBlock : B::Missing;
    in.standbyBlock = readsStandby(state, in.roles) ? r.otherBlock : B::Missing;
    in.blocksEqual = r.equal;
    const FailoverDecision d = decide(state, in, kFrame, kVerify);
    EXPECT_EQ(d.output, r.output) << r.rule;
    std::vector<T> got;
    for (std::uint8_t i = 0; i < d.eventCount; ++i) {
        got.push_back(d.events[i].type);
        EXPECT_EQ(d.events[i].frame, kFrame) << r.rule;
    }
    EXPECT_EQ(got, r.events) << r.rule << ": got " << describe(got) << "expected " << describe(r.events);
    EXPECT_EQ(state.active, r.activeAfter) << r.rule;
    EXPECT_EQ(state.suspect[0], r.activeSuspectAfter) << r.rule;
    EXPECT_EQ(state.suspect[1], r.otherSuspectAfter) << r.rule;
    EXPECT_EQ(d.failover, r.failover) << r.rule;
    EXPECT_EQ(d.gap, r.gap) << r.rule;
    EXPECT_EQ(d.divergence, r.divergence) << r.rule;
    EXPECT_EQ(d.unverifiedCycle, r.unverified) << r.rule;
}

const Role V = Role::Verified, S = Role::Syncing, D = Role::Dead, St = Role::Starting;

INSTANTIATE_TEST_SUITE_P(
    RoleByBlockState, FailoverTable,
    ::testing::Values(
        // --- the active block is good ---
        Row{"both good and equal: play active, nothing to say", V, V, false, B::Good, B::Good, true, O::Active, {}, 0,
            false, false, false, false, false, false},
        Row{"verified standby differs: divergence, standby doubted", V, V, false, B::Good, B::Good, false, O::Active,
            {T::Divergence}, 0, false, true, false, false, true, false},
        Row{"verified standby missing: doubted and reported", V, V, false, B::Good, B::Missing, false, O::Active,
            {T::Missing}, 0, false, true, false, false, false, false},
        Row{"verified standby NaN: reported as non-finite", V, V, false, B::Good, B::NonFinite, false, O::Active,
            {T::NonFinite}, 0, false, true, false, false, false, false},
        Row{"verified standby torn: reported as corrupt", V, V, false, B::Good, B::Corrupt, false, O::Active,
            {T::Corrupt}, 0, false, true, false, false, false, false},
        Row{"doubted standby missing again: not reported twice", V, V, true, B::Good, B::Missing, false, O::Active, {},
            0, false, true, false, false, false, false},
        Row{"doubted standby equal: counts towards recovery", V, V, true, B::Good, B::Good, true, O::Active, {}, 0,
            false, true, false, false, false, false},
        Row{"doubted standby differs: sync mismatch", V, V, true, B::Good, B::Good, false, O::Active,
            {T::SyncMismatch}, 0, false, true, false, false, false, false},
        Row{"syncing standby equal: counts towards verification", V, S, false, B::Good, B::Good, true, O::Active, {},
            0, false, false, false, false, false, false},
        Row{"syncing standby differs: sync mismatch", V, S, false, B::Good, B::Good, false, O::Active,
            {T::SyncMismatch}, 0, false, true, false, false, false, false},
        Row{"syncing standby missing: still catching up, excused", V, S, false, B::Good, B::Missing, false, O::Active,
            {}, 0, false, false, false, false, false, false},
        Row{"syncing standby present but NaN: reported", V, S, false, B::Good, B::NonFinite, false, O::Active,
            {T::NonFinite}, 0, false, true, false, false, false, false},
        Row{"dead other slot: never read", V, D, false, B::Good, B::Good, true, O::Active, {}, 0, false, false, false,
            false, false, false},
        Row{"starting other slot: never read", V, St, false, B::Good, B::Good, true, O::Active, {}, 0, false, false,
            false, false, false, false},
        Row{"syncing active (last one standing) with good block plays", S, D, false, B::Good, B::Missing, false,
            O::Active, {}, 0, false, false, false, false, false, false},
        // --- the active block fails ---
        Row{"active missing, verified standby good: fail over", V, V, false, B::Missing, B::Good, false, O::Standby,
            {T::Missing, T::Failover}, 1, true, false, true, false, false, false},
        Row{"active NaN, verified standby good: fail over", V, V, false, B::NonFinite, B::Good, false, O::Standby,
            {T::NonFinite, T::Failover}, 1, true, false, true, false, false, false},
        Row{"active torn, verified standby good: fail over", V, V, false, B::Corrupt, B::Good, false, O::Standby,
            {T::Corrupt, T::Failover}, 1, true, false, true, false, false, false},
        Row{"active missing, doubted standby good: fail over, unverified cycle", V, V, true, B::Missing, B::Good,
            false, O::Standby, {T::Missing, T::Failover}, 1, true, false, true, false, false, true},
        Row{"active missing, syncing standby good: fail over, unverified cycle", V, S, false, B::Missing, B::Good,
            false, O::Standby, {T::Missing, T::Failover}, 1, true, false, true, false, false, true},
        Row{"both missing: gap, nobody active", V, V, false, B::Missing, B::Missing, false, O::Fade,
            {T::Missing, T::Missing, T::Gap}, -1, true, true, false, true, false, false},
        Row{"active NaN, standby missing: gap", V, V, false, B::NonFinite, B::Missing, false, O::Fade,
            {T::Missing, T::NonFinite, T::Gap}, -1, true, true, false, true, false, false},
        Row{"active missing, dead other slot: gap", V, D, false, B::Missing, B::Missing, false, O::Fade,
            {T::Missing, T::Gap}, -1, true, false, false, true, false, false},
        Row{"active missing, syncing standby missing: gap, syncing excused", V, S, false, B::Missing, B::Missing,
            false, O::Fade, {T::Missing, T::Gap}, -1, true, false, false, true, false, false},
        Row{"active slot made dead by the control thread, standby good: switch without blaming it", D, V, false,
            B::Good, B::Good, true, O::Standby, {T::Failover}, 1, false, false, true, false, false, false},
        Row{"active slot dead, standby missing: gap", D, V, false, B::Good, B::Missing, false, O::Fade,
            {T::Missing, T::Gap}, -1, false, true, false, true, false, false}));

TEST(FailoverDecision, AGapIsReportedOnceAndEndsWhenABlockPlays)
{
    FailoverState s;
    s.active = 0;
    FailoverInput in;
    in.roles = {Role::Verified, Role::Dead};
    observeRoles(s, in.roles);
    in.activeBlock = BlockState::Missing;
    auto d = decide(s, in, 0, kVerify);
    EXPECT_TRUE(d.gap);
    EXPECT_TRUE(s.inGap);
    // Nobody active now; the next cycles fade without counting until someone is adopted.
    d = decide(s, in, 256, kVerify);
    EXPECT_EQ(d.output, O::Fade);
    EXPECT_FALSE(d.gap);
    EXPECT_EQ(d.eventCount, 0);
    // Adoption picks the verified slot; once its block plays the gap is over.
    std::array<std::uint32_t, 4> order{};
    in.roles = {Role::Verified, Role::Verified};
    observeRoles(s, in.roles);
    s.suspect[0] = true;
    ASSERT_EQ(adoptionOrder(s, in.roles, order), 2u);
    EXPECT_EQ(order[0], 1u) << "an undoubted slot is adopted first";
    adopt(s, 1);
    in.activeBlock = BlockState::Good;
    in.standbyBlock = BlockState::Missing;
    d = decide(s, in, 512, kVerify);
    EXPECT_EQ(d.output, O::Active);
    EXPECT_FALSE(s.inGap);
}

TEST(FailoverDecision, EveryCycleOfAGapIsCountedAndItsEndGivesItsLength)
{
    FailoverState s;
    s.active = 0;
    FailoverInput in;
    in.roles = {Role::Verified, Role::Dead};
    observeRoles(s, in.roles);
    in.activeBlock = BlockState::Good;
    EXPECT_EQ(decide(s, in, 0, kVerify).output, O::Active);
    in.activeBlock = BlockState::Missing;
    EXPECT_TRUE(decide(s, in, 256, kVerify).gap);
    // Nobody active: every further silent cycle is part of the gap (it was not counted).
    for (std::uint64_t f = 512; f < 1280; f += 256) {
        const auto d = decide(s, in, f, kVerify);
        EXPECT_TRUE(d.gap) << f;
        EXPECT_EQ(d.eventCount, 0) << "the gap is reported once, at its start";
    }
    adopt(s, 0);
    in.activeBlock = BlockState::Good;
    const auto d = decide(s, in, 1280, kVerify);
    ASSERT_EQ(d.eventCount, 1);
    EXPECT_EQ(d.events[0].type, T::GapEnd);
    EXPECT_EQ(d.events[0].value, 1280u - 256u);
}

TEST(FailoverDecision, SilenceBeforeAnythingPlayedIsNoGap)
{
    FailoverState s;
    FailoverInput in;
    in.roles = {Role::Starting, Role::Starting};
    observeRoles(s, in.roles);
    const auto d = decide(s, in, 0, kVerify);
    EXPECT_EQ(d.output, O::Fade);
    EXPECT_FALSE(d.gap);
}

TEST(FailoverDecision, ASyncingSlotIsVerifiedAfterKEqualBlocksAndADoubtedOneRecovers)
{
    for (Role other : {Role::Syncing, Role::Verified}) {
        FailoverState s;
        s.active = 0;
        FailoverInput in;
        in.roles = {Role::Verified, other};
        observeRoles(s, in.roles);
        s.suspect[1] = other == Role::Verified;
        in.activeBlock = in.standbyBlock = BlockState::Good;
        in.blocksEqual = true;
        for (std::uint32_t k = 1; k < kVerify; ++k)
            EXPECT_EQ(decide(s, in, k * 256, kVerify).eventCount, 0);
        const auto d = decide(s, in, kVerify * 256, kVerify);
        ASSERT_EQ(d.eventCount, 1);
        EXPECT_EQ(d.events[0].type, other == Role::Syncing ? T::Verified : T::Recovered);
        EXPECT_EQ(d.events[0].value, kVerify);
        EXPECT_FALSE(s.suspect[1]);
    }
}

TEST(FailoverDecision, ARoleChangeForgetsDoubtAndCounts)
{
    FailoverState s;
    s.active = 0;
    std::array<Role, 2> roles{Role::Verified, Role::Verified};
    observeRoles(s, roles);
    s.suspect[1] = true;
    s.matches[1] = 3;
    roles[1] = Role::Syncing; // a replacement worker
    observeRoles(s, roles);
    EXPECT_FALSE(s.suspect[1]);
    EXPECT_EQ(s.matches[1], 0u);
}

} // namespace
