// The two worker slots as processes: spawning workers as direct children, reaping them,
// killing failed or hung ones, and bringing a replacement to bit-identity by snapshot +
// replay (ARCHITECTURE.md decisions 5 and 10). Control thread only.
#pragma once

#include "supervisor/output_stage.hpp"
#include "supervisor/timeline.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace chronus::supervisor {

// Where a slot is in its life, as the control thread drives it.
enum class Phase {
    Dead,         // no process; respawn at respawnAt
    Spawned,      // process started, waiting for its JACK client to run
    Snapshotting, // asked the active worker for a snapshot
    Joining,      // told the worker how to join; waiting for it to reach the live block
    Syncing,      // publishing; the audio thread compares its hashes with the active slot
    Verified,     // bit-identical: active or standby
};

struct SlotManagerConfig {
    std::string workerPath;
    std::string instance;
    std::string jackServer;
    std::string clientPrefix = "chronus"; // workers are <prefix>-worker-<slot>
};

class SlotManager {
public:
    using Clock = std::chrono::steady_clock;
    // `notify(kind, text)` tells subscribers and the log about events.
    SlotManager(OutputStage &output, shm::Segment &segment, Timeline &timeline, SlotManagerConfig options,
                std::function<void(const std::string &kind, const std::string &text)> notify);
    ~SlotManager();

    // Spawns both workers.
    void start();
    // Called when a worker had to start from an empty engine although the timeline had a
    // live patch before (both workers were lost): the caller re-commits the live patch.
    void setRestartHook(std::function<void()> hook) { restartHook_ = std::move(hook); }
    // Reaps children, handles audio-thread events, moves every slot's state machine on.
    // Call often (every ms); never blocks.
    void service();
    // SIGKILLs every worker and reaps it (shutdown).
    void stopAll();

    Phase phase(std::uint32_t slot) const { return slots_[slot].phase; }
    pid_t pid(std::uint32_t slot) const { return slots_[slot].pid; }
    // "active", "standby", "syncing" or "dead" (starting workers count as syncing).
    std::string stateName(std::uint32_t slot) const;
    // True when both slots are verified (redundant).
    bool redundant() const;
    // Failure -> verified replacement, in milliseconds: last and worst so far.
    double lastRestoreMs() const { return lastRestoreMs_; }
    double maxRestoreMs() const { return maxRestoreMs_; }
    std::uint64_t respawns() const { return respawns_; }

private:
    struct Slot {
        Phase phase = Phase::Dead;
        pid_t pid = -1;
        Clock::time_point since{};        // entered the current phase
        Clock::time_point respawnAt{};
        Clock::time_point failedAt{};     // first failure not yet repaired
        bool failing = false;
        std::uint32_t snapshotSeq = 0;
        std::uint32_t snapshotSource = 0;
        std::uint32_t joinSeq = 0;
        int quickFailures = 0;            // consecutive failures before reaching Verified
        bool fresh = false;               // joined with an empty engine
        std::uint64_t lastHeartbeat = 0;  // worker's JACK cycle count when last seen moving
        std::uint64_t cyclesAtBeat = 0;   // our cycle count at that moment
        bool missing = false;             // missed a block; the audio thread doubts it
        Clock::time_point missingAt{};    // since then no new block (lastBlockSeen)
        std::uint64_t lastBlockSeen = 0;
        Clock::time_point missingSince{}; // the first missed block not yet caught up
    };
    // Kills a worker whose JACK callback stopped running (SIGSTOP, deadlock).
    void checkHung(std::uint32_t slot);
    void spawn(std::uint32_t slot);
    // Marks a slot failed, stops it being read and SIGKILLs its process.
    void fail(std::uint32_t slot, const std::string &reason);
    void reap();
    void handleRtEvents();
    void advance(std::uint32_t slot);
    void enter(std::uint32_t slot, Phase phase);

    OutputStage &output_;
    shm::Segment &segment_;
    Timeline &timeline_;
    SlotManagerConfig config_;
    std::function<void(const std::string &, const std::string &)> notify_;
    Slot slots_[shm::kSlots];
    std::function<void()> restartHook_;
    bool hadTimeline_ = false; // some worker has been verified since start
    double lastRestoreMs_ = 0;
    double maxRestoreMs_ = 0;
    std::uint64_t respawns_ = 0;
};

} // namespace chronus::supervisor
