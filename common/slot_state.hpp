// The life of a worker slot: one state machine, seen from three places (ARCHITECTURE.md
// decisions 4 and 5). The worker reports what it is doing (shm::WorkerState, in its slot's
// SlotStatus); the supervisor's control thread decides the slot's state (SlotState) from
// that and from what the audio thread reports; /status shows each slot as one of four words.
//
//   worker reports              supervisor decides (SlotState)                         /status
//   (shm::WorkerState)
//
//   Empty                       Dead ◄────────────────── any failure ───────────┐      dead
//                                 │ respawn due: fork + exec                    │
//   Starting (opens JACK)         ▼                                             │
//   Ready (JACK runs) ────────► Starting ──── nobody on the timeline ───┐       │      syncing
//                                 │ the other slot plays, verified      │       │
//                                 ▼                                     │       │
//                               Snapshotting: the active worker copies  │       │      syncing
//                                 │ its state at a block boundary       │       │
//                                 ▼ snapshot served, replay pushed      │       │
//   Joining (loads, replays)    Joining ◄── join fresh: empty engine ───┘       │      syncing
//   Live (publishes) ─────────►   │ join done                                   │
//                                 ├──── joined fresh, no verified peer ──┐      │
//                                 ▼                                      │      │
//                               Verifying: the audio thread compares     │      │      syncing
//                                 │ its blocks with the active slot's    │      │
//                                 ▼ K equal blocks in a row              │      │
//                               Verified ◄───────────────────────────────┘      │      active or
//                                 the audio thread plays it (active) or         │      standby
//                                 keeps it ready (standby)                      │
//   Lost (out of lockstep) ─────────────────────────────────────────────────────┘
//
// Failures (-> Dead): the process exited or hung, the worker reported Lost, its command ring
// overflowed, its block was NaN/Inf or corrupt or differed from the active slot's, or it
// stayed in a state too long. Snapshotting goes back to Starting when the snapshot's source
// is lost. A Verifying slot the audio thread fails over to (both failed: it is the last one
// standing) becomes Verified at once.
//
// The audio thread reads every slot's SlotState each cycle and reads blocks only from
// Verifying and Verified slots (readsBlocks). It doubts a Verified slot that missed a block
// until it matches the active slot K times in a row again; /status shows a doubted standby
// as "syncing". Which Verified slot is active is the audio thread's choice alone.
#pragma once

#include <cstdint>

namespace chronus::shm {

// What a worker says it is doing (SlotStatus::workerState). Values are part of the shm layout.
enum class WorkerState : std::uint32_t {
    Empty = 0,    // no worker attached (or it exited cleanly)
    Starting = 1, // attached, opening JACK
    Ready = 2,    // JACK running, waiting for a join instruction
    Joining = 3,  // loading a snapshot and replaying faster than real time
    Live = 4,     // joined: publishing a block every cycle
    Lost = 5,     // out of lockstep (SlotStatus::lostReason): stopped publishing, wants replacing
};

// Why a worker stopped and wants replacing (SlotStatus::lostReason, with WorkerState::Lost).
// Values are part of the shm layout.
enum class LostReason : std::uint32_t {
    None = 0,
    CannotKeepUp = 4, // fell more blocks behind than it can catch up with soon
    CommitMissed = 1, // a commit went live before its patch was built here
    CommitFailed = 2, // a commit's patch could not be built
    CommandLate = 3,  // a command arrived after its frame was rendered
};

} // namespace chronus::shm

namespace chronus::supervisor {

// A slot's state as the supervisor decides it. The control thread writes it; the audio
// thread reads it every cycle.
enum class SlotState : std::uint32_t {
    Dead,         // no worker (or one being killed); respawned when due
    Starting,     // worker spawned, waiting for it to report Ready
    Snapshotting, // asked the active worker for a snapshot to join from
    Joining,      // told the worker how to join; waiting for it to reach the live block
    Verifying,    // publishing; its blocks are compared with the active slot's
    Verified,     // bit-identical live copy: active or standby
};

// The state's name in logs: "dead", "starting", "snapshotting", "joining", "verifying", "verified".
constexpr const char *name(SlotState state) noexcept
{
    switch (state) {
    case SlotState::Dead: return "dead";
    case SlotState::Starting: return "starting";
    case SlotState::Snapshotting: return "snapshotting";
    case SlotState::Joining: return "joining";
    case SlotState::Verifying: return "verifying";
    case SlotState::Verified: return "verified";
    }
    return "?";
}

// Whether the audio thread reads the slot's blocks (to play them or to compare them).
constexpr bool readsBlocks(SlotState state) noexcept
{
    return state == SlotState::Verifying || state == SlotState::Verified;
}

// The slot as /status shows it: "active" (played), "standby" (verified, trusted), "syncing"
// (on its way to verified, or verified but doubted after a late block) or "dead".
constexpr const char *statusWord(SlotState state, bool active, bool doubted) noexcept
{
    switch (state) {
    case SlotState::Dead: return "dead";
    case SlotState::Verified: return active ? "active" : doubted ? "syncing" : "standby";
    default: return "syncing";
    }
}

} // namespace chronus::supervisor
