// The failover decision of one output cycle, free of JACK and shared memory so a table test
// can drive it (ARCHITECTURE.md decision 4). The output stage reads the blocks this decision
// asks for, calls decide(), and carries out what it says: play the active slot's block, the
// other slot's, or a fade to silence, and report what happened. RT-safe: no allocation,
// locks or syscalls.
#pragma once

#include "common/rt.hpp"
#include "common/shm_layout.hpp"
#include "common/slot_state.hpp"

#include <array>
#include <cstdint>

namespace chronus::supervisor {

// What the audio thread reports. Producer: audio thread; consumer: control thread.
struct RtEvent {
    enum class Type : std::uint8_t {
        Failover,     // slot -> other at frame; value = reason (Type of the failure)
        Missing,      // slot had no block for frame
        NonFinite,    // slot's block held NaN/Inf
        Corrupt,      // slot's block did not match its stamped hash
        Divergence,   // verified slots disagreed at frame
        Verified,     // verifying slot matched `value` blocks in a row
        Recovered,    // a doubted (late) verified slot matched `value` blocks in a row again
        SyncMismatch, // verifying (or doubted) slot disagreed at frame: it is not in sync
        Gap,          // no usable block at frame: faded to silence (value: 0)
        GapEnd,       // blocks play again at frame; value = frames of silence since the Gap
        Misplayed,    // JACK's clock was read a cycle ahead: block `frame` was not played
        Jumped,       // JACK's clock jumped to `frame`: that block may have gone out a cycle
                      // early (a late callback that read ahead and was then skipped looks
                      // the same as cycles JACK skipped before it)
    };
    Type type;
    std::uint8_t slot;
    std::uint8_t other;
    std::uint64_t frame;
    std::uint64_t value;
};

// The state of one slot's block for this cycle's frame.
enum class BlockState : std::uint8_t {
    Good,      // present, intact, finite
    Missing,   // not published for this frame (late, hung, dead), or not read
    NonFinite, // holds NaN or Inf
    Corrupt,   // does not hash to its stamped hash
};

// What the decision remembers from cycle to cycle (audio thread only).
struct FailoverState {
    int active = -1;                                 // the slot played, -1 for none
    std::array<bool, shm::kSlots> suspect{};         // failed once; doubted until its state changes or it re-verifies
    std::array<std::uint32_t, shm::kSlots> matches{}; // blocks in a row equal to the active slot's
    std::array<SlotState, shm::kSlots> lastState{};  // states seen last cycle
    bool inGap = false;                              // the last cycle faded to silence
    bool played = false;                             // some block has played (start-up is over)
    std::uint64_t gapStart = 0;                      // first frame of the current gap
};

// This cycle's inputs: the slots' states, and the blocks read for the cycle's frame.
struct FailoverInput {
    std::array<SlotState, shm::kSlots> states{};
    BlockState activeBlock = BlockState::Missing;  // Missing when not read
    BlockState standbyBlock = BlockState::Missing; // Missing when not read
    bool blocksEqual = false;                      // both read and their hashes equal
};

struct FailoverDecision {
    enum class Output : std::uint8_t {
        Active,  // the active slot's block (already in the output buffers)
        Standby, // the other slot's block: it becomes the active slot
        Fade,    // nobody has a usable block: fade the last sample to silence
    };
    Output output = Output::Fade;
    std::array<RtEvent, 4> events{};
    std::uint8_t eventCount = 0;
    bool failover = false;        // switched slots this cycle
    bool unverifiedCycle = false; // played a slot not (or no longer) verified
    bool divergence = false;      // the verified standby disagreed with the active slot
    bool gap = false;             // a cycle without a usable block after start-up, counted

    CHRONUS_RT void report(RtEvent::Type type, std::uint32_t slot, std::uint64_t frame, std::uint64_t value = 0,
                           std::uint32_t other = 0) noexcept
    {
        if (eventCount < events.size())
            events[eventCount++] = {type, std::uint8_t(slot), std::uint8_t(other), frame, value};
    }
};

// A new state is a new worker or a newly trusted one: forget what we held against the slot.
CHRONUS_RT void observeStates(FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept;

// Whether the audio thread reads the active slot's block this cycle (a live, undoubted slot).
CHRONUS_RT bool readsActive(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept;
// Whether it reads the other slot's block (to compare it, or to fail over to it).
CHRONUS_RT bool readsStandby(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states) noexcept;
// The slots an idle output may adopt (state.active < 0), best first: verified slots without
// doubt, then doubted verified ones. Returns how many were written to `order`.
CHRONUS_RT std::uint32_t adoptionOrder(const FailoverState &state, const std::array<SlotState, shm::kSlots> &states,
                                       std::array<std::uint32_t, 2 * shm::kSlots> &order) noexcept;
// Makes `slot` active after reading a good block from it (adoption).
CHRONUS_RT void adopt(FailoverState &state, std::uint32_t slot) noexcept;

// Decides the cycle at `frame`: which block plays, whom to doubt, what to report. Updates
// `state`. A verifying slot becomes trusted after `verifyBlocks` equal blocks in a row.
CHRONUS_RT FailoverDecision decide(FailoverState &state, const FailoverInput &input, std::uint64_t frame,
                                   std::uint32_t verifyBlocks) noexcept;

} // namespace chronus::supervisor
