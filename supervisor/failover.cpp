#include "supervisor/failover.hpp"

namespace chronus::supervisor {

namespace {

using Type = RtEvent::Type;

Type failureOf(BlockState block) noexcept
{
    switch (block) {
    case BlockState::NonFinite: return Type::NonFinite;
    case BlockState::Corrupt: return Type::Corrupt;
    case BlockState::Missing:
    case BlockState::Good: break;
    }
    return Type::Missing;
}

// The standby's block is bad: doubt it once (a verifying slot still catching up is excused
// for a missing block) and restart its count of equal blocks.
void doubtStandby(FailoverState &s, const FailoverInput &in, std::uint32_t other, std::uint64_t frame,
                  FailoverDecision &d) noexcept
{
    const bool present = in.standbyBlock != BlockState::Missing;
    if (!s.suspect[other] && (in.states[other] == SlotState::Verified || present)) {
        s.suspect[other] = true;
        d.report(failureOf(in.standbyBlock), other, frame);
    }
    s.matches[other] = 0;
}

// A cycle of silence after start-up: counted; reported when it begins.
void enterGap(FailoverState &s, std::uint32_t slot, std::uint64_t frame, FailoverDecision &d) noexcept
{
    d.gap = true;
    if (!s.inGap) {
        s.gapStart = frame;
        d.report(Type::Gap, slot, frame);
    }
    s.inGap = true;
}

// A block plays: a gap before it is over.
void leaveGap(FailoverState &s, std::uint32_t slot, std::uint64_t frame, FailoverDecision &d) noexcept
{
    s.played = true;
    if (s.inGap)
        d.report(Type::GapEnd, slot, frame, frame - s.gapStart);
    s.inGap = false;
}

// The active slot had no usable block: play the other slot's, or fade if it has none.
void failOver(FailoverState &s, const FailoverInput &in, std::uint32_t active, std::uint64_t frame,
              FailoverDecision &d) noexcept
{
    const std::uint32_t other = 1 - active;
    Type reason = Type::Missing;
    if (readsBlocks(in.states[active]) && !s.suspect[active]) {
        reason = failureOf(in.activeBlock);
        s.suspect[active] = true;
        s.matches[active] = 0;
        d.report(reason, active, frame);
    }
    if (readsBlocks(in.states[other]) && in.standbyBlock == BlockState::Good) {
        // A doubted or unverified slot is still better than silence.
        d.output = FailoverDecision::Output::Standby;
        d.failover = true;
        d.unverifiedCycle = in.states[other] != SlotState::Verified || s.suspect[other];
        s.suspect[other] = false;
        s.active = int(other);
        d.report(Type::Failover, active, frame, std::uint64_t(reason), other);
        leaveGap(s, other, frame, d);
        return;
    }
    d.output = FailoverDecision::Output::Fade;
    enterGap(s, active, frame, d);
    s.active = -1; // adopt whoever has the next block
}

// Both blocks are good: compare the standby with the active slot.
void compareStandby(FailoverState &s, const FailoverInput &in, std::uint32_t other, std::uint64_t frame,
                    std::uint32_t verifyBlocks, FailoverDecision &d) noexcept
{
    if (in.states[other] == SlotState::Verified && !s.suspect[other]) {
        if (!in.blocksEqual) {
            d.divergence = true;
            s.suspect[other] = true; // the standby is resynced from the active slot
            d.report(Type::Divergence, other, frame);
        }
        return;
    }
    if (!in.blocksEqual) {
        s.matches[other] = 0;
        s.suspect[other] = true;
        d.report(Type::SyncMismatch, other, frame);
        return;
    }
    // Verifying, or verified but doubted after a late block: K matches in a row (re)establish
    // trust.
    if (++s.matches[other] != verifyBlocks)
        return;
    if (in.states[other] == SlotState::Verifying) {
        d.report(Type::Verified, other, frame, s.matches[other]);
    } else {
        s.suspect[other] = false;
        d.report(Type::Recovered, other, frame, s.matches[other]);
    }
}

} // namespace

void observeStates(FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept
{
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (states[s] == state.lastState[s])
            continue;
        state.suspect[s] = false;
        state.matches[s] = 0;
        state.lastState[s] = states[s];
    }
}

bool readsActive(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept
{
    // Verifying only after a double failure made an unverified slot the last one standing.
    return state.active >= 0 && readsBlocks(states[state.active]) && !state.suspect[state.active];
}

bool readsStandby(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept
{
    return state.active >= 0 && readsBlocks(states[1 - state.active]);
}

std::uint32_t adoptionOrder(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states,
                            std::array<std::uint32_t, 2 * shm::kSlots> &order) noexcept
{
    std::uint32_t n = 0;
    for (int pass = 0; pass < 2; ++pass)
        for (std::uint32_t s = 0; s < shm::kSlots; ++s)
            if (states[s] == SlotState::Verified && state.suspect[s] == (pass == 1))
                order[n++] = s;
    return n;
}

void adopt(FailoverState &state, std::uint32_t slot) noexcept
{
    state.active = int(slot);
    state.suspect[slot] = false;
    state.matches[slot] = 0;
}

FailoverDecision decide(FailoverState &s, const FailoverInput &in, std::uint64_t frame,
                        std::uint32_t verifyBlocks) noexcept
{
    FailoverDecision d;
    if (s.active < 0) {
        // Nobody had this cycle's block: fade. Silence before anything played is start-up.
        if (s.played)
            enterGap(s, 0, frame, d);
        return d;
    }
    const auto active = std::uint32_t(s.active);
    const std::uint32_t other = 1 - active;
    const bool activeGood = readsActive(s, in.states) && in.activeBlock == BlockState::Good;
    const bool standbyRead = readsBlocks(in.states[other]);
    if (standbyRead && in.standbyBlock != BlockState::Good)
        doubtStandby(s, in, other, frame, d);
    if (!activeGood) {
        failOver(s, in, active, frame, d);
        return d;
    }
    d.output = FailoverDecision::Output::Active;
    leaveGap(s, active, frame, d);
    if (standbyRead && in.standbyBlock == BlockState::Good)
        compareStandby(s, in, other, frame, verifyBlocks, d);
    return d;
}

} // namespace chronus::supervisor
