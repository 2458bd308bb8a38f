// `input` (alias `audio_in`): audio coming into the patch at the supervisor's JACK inputs
// (chronus:in_1..N), or from chronus-render --input (DSP: synth-worker/engine/modules/input.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::input {

enum Param { Channel, Stereo, Gain, kParamCount };
enum Output { Left, Right, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::input
