// `svf` (alias `state_variable_filter`): Cytomic/Simper trapezoidal state-variable filter
// (DSP: synth-worker/engine/modules/svf.cpp).
#pragma once

#include "model/module_spec.hpp"
#include "model/modules/two_pole_filter.hpp"

namespace chronus::model::svf {

// Parameters Mode, Cutoff, Q (kParamCount) and the mode values: the two-pole contract.
using enum two_pole_filter::Param;
using enum two_pole_filter::FilterMode;
enum Input { In, kInputCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::svf
