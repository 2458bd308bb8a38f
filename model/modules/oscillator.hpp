// `osc` (aliases `oscillator`, `vco`): band-limited oscillator with glide
// (DSP: synth-worker/engine/modules/oscillator.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::oscillator {

enum Param { Waveform, Freq, Amp, Width, Glide, kParamCount };
enum Input { FreqIn, AmpIn, kInputCount };
enum Output { Out, kOutputCount };
// Values of the waveform parameter (its choices, in order).
enum Wave { Sine, Saw, Square, Triangle, Pulse };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::oscillator
