// From a compiled patch (model::compile()) to something the audio thread can run:
// Graph::build() allocates and prepares the modules; Graph::process() is the RT part.
#pragma once

#include "model/compile.hpp"
#include "model/event.hpp"
#include "synth-worker/engine/module.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chronus::engine {

// A runnable patch. Built off the audio thread; process() is RT-safe.
class Graph {
public:
    // Allocates modules and buffers for blocks up to maxFrames, every node reset and its
    // parameters at the patch's values. Fails only for a type with no DSP. Not RT-safe.
    // (State carries over from the graph it replaces through inheritState(), at the swap.)
    static Expected<std::unique_ptr<Graph>> build(const model::CompiledPatch &patch, double sampleRate,
                                                  std::uint32_t maxFrames);
    ~Graph();

    // Renders `frames` (<= maxFrames) samples; writes the output node's L/R into left/right
    // and, if `stems` is given, each stem node's output into its pair.
    // `inputs` (may be null) are the patch's input channels for these frames.
    void process(std::uint32_t frames, float *left, float *right, const InputBus *inputs = nullptr,
                 const StemBus *stems = nullptr) noexcept;
    // Applies an event resolved against this graph. RT-safe.
    void apply(const model::Event &event) noexcept;
    // Copies DSP state and smoothed parameter values of nodes that `from` also has (same id
    // and type) into this graph; parameter targets keep this graph's values. RT-safe.
    void inheritState(Graph &from) noexcept;

    // Clears every node's DSP state and snaps its parameters to their targets: the graph as
    // built, with the parameter values set since (a poly reusing a voice). RT-safe.
    void restart() noexcept;
    // The module of node `node` (an index in patch().nodes), or nullptr. RT-safe.
    Module *moduleAt(std::uint32_t node) noexcept;

    // Snapshot of parameters + DSP state of every node, in node order. RT-safe.
    void visitState(StateVisitor &visitor) noexcept;
    std::size_t stateSize();

    const model::CompiledPatch &patch() const noexcept { return patch_; }
    std::uint32_t generation() const noexcept { return patch_.generation; }
    // The spec as JSON, kept for snapshots (copied with memcpy on the audio thread).
    const std::string &specJson() const noexcept { return specJson_; }

private:
    Graph() = default;
    struct Impl;
    model::CompiledPatch patch_;
    std::string specJson_;
    std::unique_ptr<Impl> impl_;
};

} // namespace chronus::engine
