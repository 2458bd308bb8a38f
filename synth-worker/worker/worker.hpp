// One synth worker: a JACK client that renders the engine L periods ahead into its
// slot's shared-memory ring (ARCHITECTURE.md decisions 2, 3, 5).
//
// Threads: JACK's process thread runs process() (RT); the main thread runs step() in a
// loop (patch builds, joins, catch-up rendering, freeing retired graphs). The engine and
// the slot's event ring belong to the main thread until the worker has joined the
// timeline, then to the process thread (rtOwnsEngine_, release/acquire).
#pragma once

#include "synth-worker/engine/engine.hpp"
#include "common/jack_client.hpp"
#include "common/rt.hpp"
#include "common/shm_layout.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace chronus::worker {

struct WorkerConfig {
    std::uint32_t slot = 0;
    std::string instance = "default";
    std::string jackServer;       // empty: $JACK_DEFAULT_SERVER or default
    std::string clientName;       // empty: chronus-worker-<slot>
    std::uint32_t maxBlocksPerCycle = 4; // catch-up limit on the process thread
};

class Worker {
public:
    // Opens JACK, registers ports and checks the segment matches JACK's rate and period.
    // Not RT-safe. Fails with one sentence.
    static Expected<std::unique_ptr<Worker>> create(const WorkerConfig &config, shm::Segment &segment);
    ~Worker();

    // Activates the JACK client and reports Ready.
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
    CHRONUS_RT int process(jack_nframes_t frames) noexcept;
    // Renders and publishes one block at engine.frame(). Whoever owns the engine.
    void renderBlock() noexcept;
    Expected<void> join(std::uint32_t seq);
    void drainControl();   // builds and submits commits (main thread)
    void drainEvents();    // schedules events (main thread, before handoff only)

    WorkerConfig config_;
    shm::Segment *segment_ = nullptr;
    shm::SlotView slot_;
    shm::Geometry geometry_;
    std::unique_ptr<JackClient> jack_;
    jack_client_t *client_ = nullptr; // the audio thread's copy: jack_ is null while it closes
    std::vector<jack_port_t *> ports_;
    std::unique_ptr<engine::Engine> engine_;

    // Main thread.
    std::uint32_t joinedSeq_ = 0;
    std::vector<std::byte> snapshotCopy_;

    // Shared between the threads.
    std::atomic<bool> rtOwnsEngine_{false};
    std::atomic<std::uint64_t> rtTarget_{shm::kNoBlock}; // block the last cycle wanted
    std::atomic<std::uint64_t> building_{shm::kNoBlock};  // frame of a commit being built
    std::atomic<bool> lost_{false};
    std::atomic<bool> bufferSizeChanged_{false};
    std::atomic<std::uint32_t> fault_{0};

    // Process thread only.
    std::uint64_t lastAbs_ = 0;
    bool haveAbs_ = false;
    std::uint32_t served_ = 0;
    double loadAverage_ = 0.0;
    std::uint32_t nanBlocks_ = 0;
};

} // namespace chronus::worker
