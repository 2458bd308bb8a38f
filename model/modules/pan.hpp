// `pan` (alias `panner`): constant-power mono-to-stereo panner
// (DSP: synth-worker/engine/modules/pan.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::pan {

enum Param { Pan, kParamCount };
enum Input { In, kInputCount };
enum Output { OutL, OutR, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::pan
