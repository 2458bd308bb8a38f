// `distortion` (aliases `overdrive`, `waveshaper`): waveshaper with tone and dry/wet mix
// (DSP: synth-worker/engine/modules/distortion.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::distortion {

enum Param { Mode, Drive, Tone, Mix, Level, Bits, Downsample, kParamCount };
enum Input { In, kInputCount };
enum Output { Out, kOutputCount };
// Values of the mode parameter (its choices, in order).
enum DistortionMode { Soft, Hard, Foldback, Bitcrush };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::distortion
