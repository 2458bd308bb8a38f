// `noise`: seeded white, pink or brown noise (DSP: synth-worker/engine/modules/noise.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::noise {

enum Param { Color, Amp, kParamCount };
enum Output { Out, kOutputCount };
// Values of the color parameter (its choices, in order).
enum NoiseColor { White, Pink, Brown };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::noise
