// `ladder` (aliases `moog`, `ladder_filter`): four-pole ladder low-pass with drive, envelope
// and accent (DSP: synth-worker/engine/modules/ladder.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::ladder {

enum Param { Cutoff, Resonance, Drive, EnvAmount, Accent, kParamCount };
enum Input { In, Env, AccentIn, kInputCount };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::ladder
