// `lfo`: low-frequency modulation source (DSP: synth-worker/engine/modules/lfo.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::lfo {

enum Param { Waveform, Rate, Depth, Offset, kParamCount };
enum Output { Out, kOutputCount };
// Values of the waveform parameter (its choices, in order).
enum LfoWave { Sine, Triangle, Square, Saw, SampleHold };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::lfo
