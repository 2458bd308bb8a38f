// `biquad_filter` (alias `biquad`): RBJ-cookbook two-pole filter
// (DSP: synth-worker/engine/modules/biquad_filter.cpp).
#pragma once

#include "model/module_spec.hpp"
#include "model/modules/two_pole_filter.hpp"

namespace chronus::model::biquad_filter {

// Parameters Mode, Cutoff, Q (kParamCount) and the mode values: the two-pole contract.
using enum two_pole_filter::Param;
using enum two_pole_filter::FilterMode;
enum Input { In, kInputCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::biquad_filter
