// `sine` (alias `simple_sine`): the prototype's pure sine (DSP: synth-worker/engine/modules/sine.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::sine {

enum Param { Freq, Gain, kParamCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::sine
