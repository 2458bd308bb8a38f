// From PatchSpec to something the audio thread can run.
//
// compile() validates a spec and resolves every name (types, ports, parameters,
// topological order) without touching DSP; the control surface uses it to reject bad
// patches and to resolve /mod names into indices. Graph::build() allocates and prepares
// the modules for a compiled patch; Graph::process() is the RT part.
#pragma once

#include "model/module_spec.hpp"
#include "synth-worker/engine/module.hpp"
#include "synth-worker/engine/patch.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chronus::engine {

struct CompiledPatch {
    struct Node {
        std::string id;
        const ModuleSpec *spec = nullptr;
        std::vector<float> paramValues;                      // per spec param, validated
        std::vector<std::vector<float>> textValues;          // per spec text param
        std::vector<bool> textSet;                           // whether the spec gave it
    };
    struct AudioEdge {
        std::uint32_t fromNode, fromOutput, toNode, toInput;
        float gain; // the connection's depth
    };
    struct ModEdge {
        std::uint32_t fromNode, fromOutput, toNode, toParam;
        float depth;
    };
    PatchSpec spec;                 // normalised source (what /patch/dump shows)
    std::vector<Node> nodes;        // topological order; `output` is among them
    std::vector<AudioEdge> audio;
    std::vector<ModEdge> mods;
    std::uint32_t outputNode = 0;
    std::uint32_t generation = 0;
    std::vector<std::uint32_t> byId; // indices into `nodes`, sorted by id

    // Index of a node by id in `nodes`, or -1. O(log n), no allocation.
    int findNode(std::string_view id) const;
};

// Validates and resolves a spec. Errors name the culprit: "node 'f1': unknown module type
// 'filtr'", "connection osc1 -> f1.cutof: module 'biquad_filter' has no input or parameter
// 'cutof'", "cycle: a -> b -> a".
Expected<CompiledPatch> compile(const PatchSpec &spec, std::uint32_t generation = 0);

// A runnable patch. Built off the audio thread; process() is RT-safe.
class Graph {
public:
    // Allocates modules and buffers for blocks up to maxFrames. If `previous` is given,
    // nodes with the same id and type will inherit its DSP state when the engine swaps.
    static Expected<std::unique_ptr<Graph>> build(const CompiledPatch &patch, double sampleRate,
                                                  std::uint32_t maxFrames);
    ~Graph();

    // Renders `frames` (<= maxFrames) samples; writes the output node's L/R into left/right.
    void process(std::uint32_t frames, float *left, float *right) noexcept;
    // Applies an event resolved against this graph. RT-safe.
    void apply(const struct Event &event) noexcept;
    // Copies DSP state and smoothed parameter values of nodes that `from` also has (same id
    // and type) into this graph; parameter targets keep this graph's values. RT-safe.
    void inheritState(Graph &from) noexcept;

    // Snapshot of parameters + DSP state of every node, in node order. RT-safe.
    void visitState(StateVisitor &visitor) noexcept;
    std::size_t stateSize();

    const CompiledPatch &patch() const noexcept { return patch_; }
    std::uint32_t generation() const noexcept { return patch_.generation; }
    // The spec as JSON, kept for snapshots (copied with memcpy on the audio thread).
    const std::string &specJson() const noexcept { return specJson_; }

private:
    Graph() = default;
    struct Impl;
    CompiledPatch patch_;
    std::string specJson_;
    std::unique_ptr<Impl> impl_;
};

} // namespace chronus::engine
