// The DSP module interface. What a type is (ports, parameters, text parameters) is its
// catalogue entry, model::ModuleSpec; the indices a module reads are model/modules/<type>.hpp's.
//
// Phases (STYLE.md): prepare() allocates and is called once, off the audio thread;
// reset() clears DSP state without allocating; process() computes one block and is RT-safe.
// A module owns its Params (configured from the spec before prepare) and lists its DSP
// state once in visitState() so the engine can measure, snapshot and restore it.
#pragma once

#include "common/expected.hpp"
#include "model/compile.hpp"
#include "model/event.hpp"
#include "model/param_spec.hpp"
#include "synth-worker/engine/param.hpp"
#include "synth-worker/engine/state.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace chronus::engine {

// One block handed to Module::process(). `in[i]` is nullptr when input i is unconnected;
// `out[i]` always points at `frames` writable samples.
struct ProcessBlock {
    std::uint32_t frames = 0;
    const float *const *in = nullptr;
    float *const *out = nullptr;
};

// The audio coming into the patch for the span being rendered (the supervisor's JACK inputs,
// or chronus-render --input): `count` channels of the span's frames; owned by the graph,
// set before every process(). Channels past `count` are silence.
struct InputBus {
    static constexpr std::uint32_t kMaxChannels = 16;
    const float *channels[kMaxChannels] = {};
    std::uint32_t count = 0;
};

// Where the patch's stems go: `count` stereo pairs, channels[2k] left and [2k + 1] right of
// stem k (model::CompiledPatch::stems); pairs beyond the patch's stems are silence.
struct StemBus {
    static constexpr std::uint32_t kMaxStems = 7; // model::kMaxStems
    float *channels[2 * kMaxStems] = {};
    std::uint32_t count = 0;
};

class Module {
public:
    virtual ~Module() = default;

    // Allocates everything process() will need for blocks up to maxFrames. Not RT-safe.
    virtual void prepare(double sampleRate, std::uint32_t maxFrames) = 0;
    // Clears DSP state (phases, filter memories, envelopes) without allocating. RT-safe.
    virtual void reset() noexcept = 0;
    // Renders block.frames samples. Reads parameters with param(i).next(n) once per sample.
    // RT-safe: no allocation, locks, logging or syscalls.
    virtual void process(const ProcessBlock &block) noexcept = 0;
    // Lists the DSP state (not the parameters) for snapshots. RT-safe.
    virtual void visitState(StateVisitor &visitor) noexcept = 0;
    // Sets element `index` of text parameter `textParam` (see model::TextParamSpec); `index`
    // == kLengthElement sets the number of valid elements. RT-safe.
    virtual void setElement(std::uint32_t textParam, std::uint32_t index, float value) noexcept
    {
        (void)textParam;
        (void)index;
        (void)value;
    }
    static constexpr std::uint32_t kLengthElement = model::kLengthElement;

    // Called after prepare() with the compiled node this module plays, for modules that build
    // more than their type says (a poly builds its voices from the node's template). Not RT-safe.
    virtual Expected<void> prepareNode(const model::CompiledPatch::Node &node, double sampleRate,
                                       std::uint32_t maxFrames)
    {
        (void)node;
        (void)sampleRate;
        (void)maxFrames;
        return {};
    }
    // Gives a module that reads the patch's inputs the graph's bus (before prepare()). Not RT-safe.
    virtual void attachInputs(const InputBus *bus) { (void)bus; }
    // Takes an event other than SetParam, SetElement and ResetNode (notes, pedals, bend:
    // model::EventType). RT-safe.
    virtual void handle(const model::Event &event) noexcept { (void)event; }
    // Takes over the state of `old`, the same node of the graph being replaced, when a byte
    // copy of visitState() would not do (a poly whose voice count or template changed).
    // Returns false to have the graph copy the bytes. RT-safe.
    virtual bool inherit(Module &old) noexcept
    {
        (void)old;
        return false;
    }

    Param &param(std::size_t index) noexcept { return params_[index]; }
    const Param &param(std::size_t index) const noexcept { return params_[index]; }
    std::span<Param> params() noexcept { return params_; }
    // Deterministic per-node seed (hash of the node id) for noise and random modules.
    std::uint64_t seed() const noexcept { return seed_; }

    // Called by the graph before prepare(). Not RT-safe.
    void configure(std::span<const model::ParamSpec> specs, double sampleRate, std::uint64_t seed)
    {
        params_.resize(specs.size());
        for (std::size_t i = 0; i < specs.size(); ++i)
            params_[i].configure(specs[i], sampleRate);
        seed_ = seed;
    }

protected:
    std::vector<Param> params_;
    std::uint64_t seed_ = 0;
};

} // namespace chronus::engine
