// The two worker slots as processes: spawning workers as direct children, reaping them,
// killing failed or hung ones, and bringing a replacement to bit-identity by snapshot +
// replay (ARCHITECTURE.md decisions 5 and 10). It drives each slot through the states of
// common/slot_state.hpp and publishes them to the audio thread. Control thread only.
#pragma once

#include "common/slot_state.hpp"
#include "supervisor/output_stage.hpp"
#include "supervisor/timeline.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace chronus::supervisor {

// What a worker process was doing at one moment (control thread; /proc).
struct ProcessSample {
    bool known = false;    // its CPU time could be read
    bool runnable = false; // some thread of it was runnable (waiting for or on a CPU)
    double cpuMs = 0;      // CPU time used so far, user and system
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
    SlotManager(OutputStage &output, shm::Segment &segment, Timeline &timeline, SlotManagerConfig config,
                std::function<void(const std::string &kind, const std::string &text)> notify);
    ~SlotManager();

    // Spawns both workers.
    void start();
    // Called when a worker had to start from an empty engine although the timeline had a
    // live patch before (both workers were lost): the caller re-commits the live patch.
    // It gets the output frame from which the lost workers' output went silent.
    void setRestartHook(std::function<void(std::uint64_t)> hook) { restartHook_ = std::move(hook); }
    // Reaps children, handles audio-thread events, moves every slot's state on.
    // Call often (every ms); never blocks.
    void service();
    // SIGKILLs every worker and reaps it (shutdown).
    void stopAll();

    SlotState state(std::uint32_t slot) const { return slots_[slot].state; }
    pid_t pid(std::uint32_t slot) const { return slots_[slot].pid; }
    // The slot as /status shows it: "active", "standby", "syncing" or "dead" (statusWord()).
    std::string statusWord(std::uint32_t slot) const;
    // True when both slots are verified and the audio thread doubts neither (redundant).
    bool redundant() const;
    // Failure -> verified replacement, in milliseconds: last and worst so far.
    double lastRestoreMs() const { return lastRestoreMs_; }
    double maxRestoreMs() const { return maxRestoreMs_; }
    std::uint64_t respawns() const { return respawns_; }
    // Times both live slots stood still together (JACK ran neither worker, or neither
    // published a block) and the longest such time that has ended, in ms.
    std::uint64_t bothLateEpisodes() const { return bothLateEpisodes_; }
    double bothLateMaxMs() const { return bothLateMaxMs_; }
    // Why the last such time happened: "short of CPU" (the workers were runnable and got
    // little CPU), "asleep: ..." (JACK did not run them, or they were blocked), "unknown".
    const std::string &bothLateWhy() const { return bothLateWhy_; }

private:
    struct Slot {
        SlotState state = SlotState::Dead;
        pid_t pid = -1;                   // -1 once reaped: never signal it again
        Clock::time_point since{};        // entered the current state
        Clock::time_point respawnAt{};
        Clock::time_point failedAt{};     // first failure not yet repaired
        bool failing = false;
        std::uint32_t snapshotSeq = 0;
        std::uint32_t snapshotSource = 0;
        std::uint32_t joinSeq = 0;
        int quickFailures = 0;            // consecutive failures before reaching verified
        bool fresh = false;               // joined with an empty engine
        std::uint64_t lastHeartbeat = 0;  // worker's JACK cycle count when last seen moving
        std::uint64_t cyclesAtBeat = 0;   // our cycle count at that moment
        bool missing = false;             // missed a block; the audio thread doubts it
        Clock::time_point missingAt{};    // since then no new block (lastBlockSeen)
        std::uint64_t lastBlockSeen = 0;
        Clock::time_point missingSince{}; // the first missed block not yet caught up
        std::uint64_t joinBlock = 0;      // Joining: the last block it published, and when that moved
        Clock::time_point joinProgressAt{};
    };
    // Enters `state` and publishes it to the audio thread.
    void enter(std::uint32_t slot, SlotState state);
    void spawn(std::uint32_t slot);
    // Marks a slot dead (the audio thread stops reading it), SIGKILLs its worker unless
    // reaped already, and schedules the respawn. `pid` names the worker in the log.
    void fail(std::uint32_t slot, const std::string &reason);
    void fail(std::uint32_t slot, const std::string &reason, pid_t pid);
    void reap();
    void handleRtEvents();
    // A slot that matched the active one for `blocks` blocks in a row becomes verified.
    void verified(std::uint32_t slot, std::uint64_t blocks);
    // Writes what the output did instead of the render (gap, block not played, block perhaps
    // played a cycle early) into the journal.
    void declare(const RtEvent &e);
    // Moves one slot on: one function per state.
    void advance(std::uint32_t slot);
    // Fails a live slot whose worker is lost, hung or stuck, has not built a committed patch
    // in time, or whose ring overflowed. True if it did.
    bool failIfBroken(std::uint32_t slot);
    // Kills a worker whose JACK callback stopped running (SIGSTOP, deadlock) or that missed
    // blocks and publishes no new ones.
    void checkHung(std::uint32_t slot);
    // A live slot whose worker JACK has not run for kHungCycles of our cycles, or that missed
    // a block and has published none for 100 ms.
    bool standsStill(std::uint32_t slot) const;
    // Whether the other slot stands still too (the machine, not `slot`'s worker), within
    // kBothLateLimit: starts, counts and logs a both-late episode.
    bool bothLate(std::uint32_t slot);
    void startBothLate();
    void endBothLate();
    // Starts a both-late episode when both slots stand still; ends it once either runs
    // again, logs how long it lasted, and judges the one not back yet from then on.
    void watchBothLate();
    void advanceDead(std::uint32_t slot);
    void advanceStarting(std::uint32_t slot);
    void advanceSnapshotting(std::uint32_t slot);
    void advanceJoining(std::uint32_t slot);
    void advanceVerifying(std::uint32_t slot);
    // Starting -> Snapshotting: asks the active worker in `source` for its state.
    void requestSnapshot(std::uint32_t slot, std::uint32_t source);
    // Starting -> Joining with an empty engine (nobody is on the timeline).
    void joinFresh(std::uint32_t slot);
    // Snapshotting -> Joining: replays the commands since the snapshot and tells the worker.
    void joinFromSnapshot(std::uint32_t slot);

    OutputStage &output_;
    shm::Segment &segment_;
    Timeline &timeline_;
    SlotManagerConfig config_;
    std::function<void(const std::string &, const std::string &)> notify_;
    Slot slots_[shm::kSlots];
    std::function<void(std::uint64_t)> restartHook_;
    std::uint64_t lastGapFrame_ = UINT64_MAX; // the latest output gap's first frame
    bool hadTimeline_ = false; // some worker has been verified since start
    double lastRestoreMs_ = 0;
    double maxRestoreMs_ = 0;
    std::uint64_t respawns_ = 0;
    std::optional<Clock::time_point> bothLateSince_;
    ProcessSample bothLateFrom_[shm::kSlots];
    std::uint64_t bothLateXruns_ = 0;
    std::string bothLateWhy_ = "none";
    std::uint64_t bothLateEpisodes_ = 0;
    double bothLateMaxMs_ = 0;
};

} // namespace chronus::supervisor
