// The catalogue entry (ModuleSpec) that describes one module type: its ports and
// parameters, by name and by index. The index order is the contract with the DSP code,
// which reads parameter i and port i through the enums in model/modules/<type>.hpp.
#pragma once

#include "model/param_spec.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::model {

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
    // Names a node holds as words, fixed when the patch is built (a sampler's buffer).
    std::vector<PortSpec> stringFields;

    // Index of a parameter by name or alias, or -1.
    int findParam(std::string_view name) const;
    int findTextParam(std::string_view name) const;
    int findInput(std::string_view name) const;
    int findStringField(std::string_view name) const;
    int findOutput(std::string_view name) const;
};

// Samples between the control points at which modules that follow a parameter at a control
// rate (the filters' cutoff, q and mode) read it; the engine's ControlClock counts them.
inline constexpr std::uint32_t kControlPeriod = 32;

// Every type, sorted by name (the table in model/catalogue.cpp, built on first use;
// thread-safe).
const std::vector<ModuleSpec> &moduleCatalogue();
// Finds a type by name or alias, or nullptr.
const ModuleSpec *findModule(std::string_view typeOrAlias);

} // namespace chronus::model
