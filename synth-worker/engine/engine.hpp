// The engine: the live graph, its frame clock, the queue of frame-stamped events and
// patch swaps, and snapshots. One thread renders (the JACK thread in the worker, the main
// thread in chronus-render). Other threads talk to it only through submitGraph() and
// takeRetired(), which are SPSC queues.
#pragma once

#include "model/event.hpp"
#include "synth-worker/engine/graph.hpp"
#include "common/spsc_queue.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace chronus::engine {

struct EngineStats {
    std::uint64_t eventsApplied = 0;
    // Arrived after their frame had been rendered: not applied (applying them anywhere else
    // would part this engine from every other one and from the journal).
    std::uint64_t eventsLate = 0;
    std::uint64_t lastLateFrame = 0;       // frame of the latest such event
    std::uint64_t eventsDropped = 0;       // queue full, or for a patch that is not live
    std::uint64_t swaps = 0;
    std::uint64_t swapsDropped = 0;        // more than kMaxPendingSwaps waiting at once
    std::uint64_t activationsMissed = 0;   // an Activate event for a generation not prepared
};

class Engine {
public:
    // Patch swaps that can wait at once (submitted, not yet live); more are dropped and
    // counted in EngineStats::swapsDropped.
    static constexpr std::size_t kMaxPendingSwaps = 16;

    // Allocates the event queue and scratch buffers. Not RT-safe.
    Engine(double sampleRate, std::uint32_t maxFrames, std::size_t eventCapacity = 8192);
    ~Engine();

    double sampleRate() const noexcept { return sampleRate_; }
    std::uint32_t maxFrames() const noexcept { return maxFrames_; }
    // First frame the next render() call produces.
    std::uint64_t frame() const noexcept { return frame_; }
    // Sets the frame clock (before the first render, or when joining a running timeline).
    void setFrame(std::uint64_t frame) noexcept { frame_ = frame; }

    // Installs a graph immediately (start-up, tests). Not RT-safe: frees the old graph.
    void install(std::unique_ptr<Graph> graph);
    // Hands a graph to the rendering thread, to go live at `frame` with a linear crossfade
    // of `crossfadeFrames`. From one control thread only. False if the queue is full.
    bool submitGraph(std::unique_ptr<Graph> graph, std::uint64_t frame, std::uint32_t crossfadeFrames = 0);
    // Hands a graph built for a commit to the rendering thread ahead of the Activate event
    // that makes it live. From one control thread only. False if the queue is full.
    bool prepare(std::unique_ptr<Graph> graph);
    // True when an Activate event due before `endFrame` names a generation not prepared:
    // rendering on would leave this engine on the old patch. Rendering thread. RT-safe.
    bool activationUnprepared(std::uint64_t endFrame) noexcept;
    // Returns graphs the rendering thread has retired, for freeing off the audio thread.
    std::unique_ptr<Graph> takeRetired();

    // Queues an event (rendering thread). Events are applied in frame order, ties in the
    // order scheduled. False when the queue is full (counted as dropped) or the event's frame
    // has been rendered already (counted as late, never applied). RT-safe.
    bool schedule(const model::Event &event) noexcept;

    // Renders `frames` frames (any count) into `channels` buffers: channel 0 = L, 1 = R,
    // further channels silent, except the last 2 x `stems`: the patch's stems, a stereo
    // pair each (Graph::process). Splits at event and swap frames. `in` (may be null): the
    // patch's `inChannels` input channels for the same frames. RT-safe.
    void render(float *const *out, std::uint32_t channels, std::uint32_t frames, const float *const *in = nullptr,
                std::uint32_t inChannels = 0, std::uint32_t stems = 0) noexcept;

    // Bytes a snapshot needs now (header + spec + state). Not RT-safe (measures).
    std::size_t snapshotSize();
    // Writes a snapshot of the state at frame() into `out`; returns bytes written, or 0 if
    // it does not fit or a swap/crossfade is in progress. RT-safe (memcpy only).
    std::size_t saveSnapshot(std::span<std::byte> out) noexcept;
    // Rebuilds graph and state from a snapshot; frame() becomes the snapshot's frame.
    // Not RT-safe (builds the graph). Pending events are cleared.
    Expected<void> loadSnapshot(std::span<const std::byte> in);

    const Graph *graph() const noexcept { return live_; }
    const EngineStats &stats() const noexcept { return stats_; }
    // Number of events waiting.
    std::size_t pendingEvents() const noexcept { return pendingCount_; }

private:
    struct Swap {
        Graph *graph;
        std::uint64_t frame;
        std::uint32_t crossfadeFrames;
    };
    void applyDue(std::uint64_t now) noexcept;
    void takeIncoming() noexcept;
    // Makes `graph` live at `now` (inheriting state, crossfading over `crossfadeFrames`).
    // `fresh`: the new graph keeps no node's state (model::kActivateFresh).
    void swapIn(Graph *graph, std::uint64_t now, std::uint32_t crossfadeFrames, bool fresh = false) noexcept;
    void activate(const model::Event &event, std::uint64_t now) noexcept;
    void retire(Graph *graph) noexcept;
    void renderSpan(float *left, float *right, std::uint64_t now, std::uint32_t frames, const InputBus *in,
                    const StemBus *stems) noexcept;

    double sampleRate_;
    std::uint32_t maxFrames_;
    std::uint64_t frame_ = 0;
    Graph *live_ = nullptr;
    Graph *fading_ = nullptr;            // old graph during a crossfade
    std::uint64_t fadeStart_ = 0;
    std::uint32_t fadeFrames_ = 0;
    std::vector<Swap> swaps_;            // pending, sorted by frame (capacity fixed)
    std::vector<Graph *> prepared_;      // built, waiting for their Activate event (capacity fixed)
    std::vector<model::Event> pending_;  // sorted by frame in [head, head + count); fixed size
    std::size_t pendingHead_ = 0;
    std::size_t pendingCount_ = 0;
    // (4 + 2 x StemBus::kMaxStems) x maxFrames: fade L, fade R, L, R, the fading graph's stems
    std::vector<float> scratch_;
    SpscQueue<Swap> incoming_{kMaxPendingSwaps}; // control -> render
    SpscQueue<Graph *> retired_{64};     // render -> control
    EngineStats stats_;
};

} // namespace chronus::engine
