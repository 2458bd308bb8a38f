// `reverb` (alias `freeverb`): stereo Freeverb-style reverb
// (DSP: synth-worker/engine/modules/reverb.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::reverb {

enum Param { RoomSize, Damping, Width, Mix, kParamCount };
enum Input { InL, InR, kInputCount };
enum Output { OutL, OutR, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::reverb
