// Module type name -> the DSP class that runs it: one explicit table (module_factory.cpp)
// beside the model's catalogue (model/catalogue.cpp). A unit test checks that the two
// list the same types and agree on each type's parameter and port counts.
#pragma once

#include "synth-worker/engine/module.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace chronus::engine {

struct ModuleFactory {
    std::string_view type; // the catalogue's type name (not an alias)
    std::unique_ptr<Module> (*create)() = nullptr;
    // What the DSP class indexes (the counts of its model/modules/<type>.hpp enums); the
    // spec must have exactly as many.
    std::size_t params = 0;
    std::size_t textParams = 0;
    std::size_t inputs = 0;
    std::size_t outputs = 0;
};

// Every DSP module type, sorted by type.
std::span<const ModuleFactory> moduleFactories();
// The factory for a catalogue type name, or nullptr.
const ModuleFactory *findFactory(std::string_view type);

} // namespace chronus::engine
