// `adsr` (aliases `env`, `envelope`): ADSR envelope, optionally applied to an input
// (DSP: synth-worker/engine/modules/adsr.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::adsr {

enum Param { Attack, Decay, Sustain, Release, Gate, VelocityAmount, kParamCount };
enum Input { In, GateIn, VelocityIn, kInputCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::adsr
