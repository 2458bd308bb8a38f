// One synth worker: a JACK client that renders the engine L periods ahead into its
// slot's shared-memory ring (ARCHITECTURE.md decisions 2, 3, 5).
//
// Threads: JACK's process thread runs process() (RT: the clock and the monitor ports) and
// wakes the render thread, which renders (RT priority when JACK has it); the main thread runs
// step() in a loop (patch builds, joins, catch-up rendering, freeing retired graphs). The
// engine and the slot's event ring belong to the main thread until the worker has joined
// the timeline, then to the render thread (rtOwnsEngine_, release/acquire).
#pragma once

#include "synth-worker/engine/engine.hpp"
#include "common/jack_client.hpp"
#include "common/rt.hpp"
#include "common/shm_layout.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chronus::worker {

struct WorkerConfig {
    std::uint32_t slot = 0;
    std::string instance = "default";
    std::string jackServer;       // empty: $JACK_DEFAULT_SERVER or default
    std::string clientName;       // empty: chronus-worker-<slot>
    // Catching up after JACK held the worker off (or skipped cycles): each cycle renders the
    // blocks it is behind for up to this share of a period (at least one block).
    double catchUpShare = 0.5;
    // Behind and gaining no ground for this many cycles, or behind by more than
    // maxSecondsBehind of audio, the worker asks to be replaced (a resync is quicker).
    std::uint32_t noProgressCycles = 32;
    double maxSecondsBehind = 2.0;
};

class Worker {
public:
    // Opens JACK, registers ports and checks the segment matches JACK's rate and period.
    // Not RT-safe. Fails with one sentence.
    static Expected<std::unique_ptr<Worker>> create(const WorkerConfig &config, shm::Segment &segment);
    ~Worker();

    // Reports Ready; the JACK client is activated when the worker joins the timeline.
    Expected<void> start();
    // One pass of the control loop: join instructions, commits, catch-up, housekeeping.
    // Returns an error when the worker must exit (JACK gone, buffer size changed).
    Expected<void> step();

    // Test hooks (from signal handlers): poison the next block with NaN / stall one cycle.
    void injectFault(shm::FaultKind kind) noexcept { fault_.store(static_cast<std::uint32_t>(kind)); }

private:
    Worker() = default;
    static int processThunk(jack_nframes_t frames, void *arg);
    static void threadInitThunk(void *arg);
    static int bufferSizeThunk(jack_nframes_t frames, void *arg);
    // The JACK thread: reads the clock, feeds the monitor ports, wakes the render thread.
    CHRONUS_RT int process(jack_nframes_t frames) noexcept;
    static void *renderThunk(void *arg);
    // The render thread: one renderCycle() per JACK cycle once the engine is handed over.
    void renderLoop() noexcept;
    // Serves a snapshot request, renders up to the cycle's target, publishes load and counts.
    CHRONUS_RT void renderCycle() noexcept;
    // After a cycle's rendering: false (and reported lost) when it cannot catch up soon.
    CHRONUS_RT bool keepingUp(std::uint64_t target) noexcept;
    // Takes the events waiting in the slot's ring for the block at engine.frame(), then
    // renders and publishes that block. Whoever owns the engine. False when an event came
    // after its frame (missedEvent() ran: the slot is lost).
    bool renderBlock() noexcept;
    // Takes the event ring's records into the engine, announcing the block first (drainFrame).
    void takeEvents() noexcept;
    // Withdraws the published blocks from `frame` on and reports the slot lost. RT-safe.
    void missedEvent(std::uint64_t frame) noexcept;
    // Stops rendering and tells the supervisor why this slot is out of lockstep. RT-safe.
    void reportLost(shm::LostReason reason) noexcept;
    Expected<void> join(std::uint32_t seq);
    // Activates the JACK client (once) and waits for its first cycle.
    Expected<void> activate();
    // The block the workers render in the supervisor's latest cycle (segment clock).
    std::uint64_t supervisorTarget() const noexcept;
    // Builds commits and renders blocks until past `target()`. Main thread, before handover.
    Expected<void> catchUp(const std::function<std::uint64_t()> &target);
    // Blocks rendered beyond the supervisor's clock before activating: the time JACK takes
    // to let a new client run.
    static constexpr std::uint64_t kActivationMarginBlocks = 2;
    void drainControl();   // builds commits' patches and prepares them in the engine (main thread)

    WorkerConfig config_;
    shm::Segment *segment_ = nullptr;
    shm::SlotView slot_;
    shm::Geometry geometry_;
    std::unique_ptr<JackClient> jack_;
    jack_client_t *client_ = nullptr; // the audio thread's copy: jack_ is null while it closes
    std::vector<jack_port_t *> ports_;
    std::unique_ptr<engine::Engine> engine_;

    // Main thread.
    bool active_ = false; // the JACK client is activated
    std::uint32_t joinedSeq_ = 0;
    // A fresh join's first frame: events stamped before it (by a supervisor whose clock had
    // not caught up with ours) belong to time this empty engine never played, and are
    // dropped rather than taken for a missed event.
    std::uint64_t freshFrom_ = UINT64_MAX;
    std::vector<std::byte> snapshotCopy_;

    // Shared between the threads.
    std::atomic<bool> rtOwnsEngine_{false};
    std::atomic<std::uint64_t> rtTarget_{shm::kNoBlock}; // block the last cycle wanted
    std::atomic<bool> lost_{false};
    std::atomic<bool> bufferSizeChanged_{false};
    std::atomic<std::uint32_t> fault_{0};

    // The render thread (started on activation, real-time like JACK's) and its wake-up.
    pthread_t renderThread_{};
    bool renderThreadStarted_ = false;
    rt::Semaphore renderWake_;                  // posted by the JACK thread every cycle
    std::atomic<bool> quitRender_{false};
    std::atomic<float> periodUsecs_{0.0f};      // JACK's period estimate, from the JACK thread

    // JACK thread only.
    std::uint64_t lastAbs_ = 0;
    bool haveAbs_ = false;
    // Whoever owns the engine (the render thread once handed over).
    std::uint32_t served_ = 0;
    double loadAverage_ = 0.0;
    // Catch-up progress (render thread): the fewest blocks it was behind since it fell
    // behind, and the cycles since that improved.
    std::uint64_t fewestBehind_ = UINT64_MAX;
    std::uint32_t cyclesWithoutProgress_ = 0;
    std::uint32_t nanBlocks_ = 0;
    std::vector<float> input_;                    // the block's input channels (inputs x period)
    std::vector<const float *> inputChannels_;
    std::uint32_t delayEventsBlocks_ = 0;         // test hook: blocks left without taking events
    // More than the timeline's stamping margin (2 blocks past the drain frame), so records
    // do arrive late; fewer than that margin plus the lookahead, so the worker notices at its
    // next drain, before the output reaches the blocks it rendered without them.
    static constexpr std::uint32_t kDelayEventsBlocks = 4;
};

} // namespace chronus::worker
