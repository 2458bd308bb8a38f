// `vca` (alias `amp`): out = in x gain x cv (DSP: synth-worker/engine/modules/vca.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::vca {

enum Param { Gain, kParamCount };
enum Input { In, Cv, kInputCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::vca
