// From PatchSpec to a resolved patch: compile() validates a spec and resolves every name
// (types, ports, parameters, topological order) without touching DSP. The control surface
// uses it to reject bad patches and to resolve /mod names into indices; the engine's
// Graph::build() allocates and prepares the modules for a compiled patch.
#pragma once

#include "model/module_spec.hpp"
#include "model/patch.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::model {

// Most stems (stereo pairs of ports of their own) a patch can name.
inline constexpr std::size_t kMaxStems = 7;

struct CompiledPatch {
    struct Node {
        std::string id;
        const ModuleSpec *spec = nullptr;
        std::vector<float> paramValues;                      // per spec param, validated
        std::vector<std::vector<float>> textValues;          // per spec text param
        std::vector<bool> textSet;                           // whether the spec gave it
        std::shared_ptr<const CompiledPatch> voice;          // a poly's voice template, compiled
        std::vector<std::string> strings;                    // per spec string field ("" unset)
        std::optional<PatchSpec::Buffer> buffer;             // the buffer a sampler plays
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
    struct Stem {
        std::uint32_t node;    // index into `nodes`
        bool stereo;           // outputs 0 and 1 are left and right; else output 0 on both
    };
    std::vector<Stem> stems;   // spec.stems, in port order
    std::uint32_t generation = 0;
    std::vector<std::uint32_t> byId; // indices into `nodes`, sorted by id

    // Index of a node by id in `nodes`, or -1. O(log n), no allocation.
    int findNode(std::string_view id) const;
};

// A number parameter by path: "cutoff" of a node, or "filter.cutoff" of a poly's template.
struct ParamRef {
    std::uint32_t node = 0;  // in the patch
    int voiceNode = -1;      // in the poly's template, or -1
    std::uint16_t param = 0; // in the owner's spec
    const ParamSpec *spec = nullptr;
};
Expected<ParamRef> resolveParam(const CompiledPatch &patch, std::string_view nodeId, std::string_view param);

// The voice template a poly node plays: its own, or the default one.
const PatchSpec &voiceTemplateOf(const PatchSpec::Node &node);

// Validates and resolves a spec. Errors name the culprit: "node 'f1': unknown module type
// 'filtr'", "connection osc1 -> f1.cutof: module 'biquad_filter' has no input or parameter
// 'cutof'", "cycle: a -> b -> a".
Expected<CompiledPatch> compile(const PatchSpec &spec, std::uint32_t generation = 0);

} // namespace chronus::model
