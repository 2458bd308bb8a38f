// The DSP module interface and the catalogue entry (ModuleSpec) that describes one type.
//
// Phases (STYLE.md): prepare() allocates and is called once, off the audio thread;
// reset() clears DSP state without allocating; process() computes one block and is RT-safe.
// A module owns its Params (configured from the spec before prepare) and lists its DSP
// state once in visitState() so the engine can measure, snapshot and restore it.
#pragma once

#include "synth-worker/engine/param.hpp"
#include "synth-worker/engine/state.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace chronus::engine {

// One block handed to Module::process(). `in[i]` is nullptr when input i is unconnected;
// `out[i]` always points at `frames` writable samples.
struct ProcessBlock {
    std::uint32_t frames = 0;
    const float *const *in = nullptr;
    float *const *out = nullptr;
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
    // Sets element `index` of text parameter `textParam` (see TextParamSpec); `index` ==
    // kLengthElement sets the number of valid elements. RT-safe.
    virtual void setElement(std::uint32_t textParam, std::uint32_t index, float value) noexcept
    {
        (void)textParam;
        (void)index;
        (void)value;
    }
    static constexpr std::uint32_t kLengthElement = 0xFFFF;

    Param &param(std::size_t index) noexcept { return params_[index]; }
    std::span<Param> params() noexcept { return params_; }
    // Deterministic per-node seed (hash of the node id) for noise and random modules.
    std::uint64_t seed() const noexcept { return seed_; }

    // Called by the graph before prepare(). Not RT-safe.
    void configure(std::span<const ParamSpec> specs, double sampleRate, std::uint64_t seed)
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

struct PortSpec {
    std::string name;
    std::string description;
};

// A module type in the catalogue.
struct ModuleSpec {
    std::string type;
    std::vector<std::string> aliases;
    std::string description;
    std::vector<PortSpec> inputs;
    // Leading inputs/outputs used when a connection names no port ("osc1 -> filter1").
    std::uint32_t mainInputs = 0;
    std::vector<PortSpec> outputs;
    std::uint32_t mainOutputs = 1;
    std::vector<ParamSpec> params;
    std::vector<TextParamSpec> textParams;
    std::unique_ptr<Module> (*create)() = nullptr;

    // Index of a parameter by name or alias, or -1.
    int findParam(std::string_view name) const;
    int findTextParam(std::string_view name) const;
    int findInput(std::string_view name) const;
    int findOutput(std::string_view name) const;
};

// Adds a type to the catalogue; used through CHRONUS_REGISTER_MODULE at static init.
bool registerModule(ModuleSpec (*makeSpec)());
// Finds a type by name or alias, or nullptr.
const ModuleSpec *findModule(std::string_view typeOrAlias);
// Every registered type, sorted by name.
const std::vector<ModuleSpec> &moduleCatalogue();

} // namespace chronus::engine

#define CHRONUS_CONCAT_INNER(a, b) a##b
#define CHRONUS_CONCAT(a, b) CHRONUS_CONCAT_INNER(a, b)
// Registers `makeSpec` (a function returning a ModuleSpec) in the catalogue.
#define CHRONUS_REGISTER_MODULE(makeSpec)                                                                   \
    [[maybe_unused]] static const bool CHRONUS_CONCAT(chronusRegistered_, __LINE__) =                   \
        ::chronus::engine::registerModule(makeSpec)
