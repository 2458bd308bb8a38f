// `output`: the built-in stereo sink every patch has (DSP: synth-worker/engine/modules/output.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::output {

enum Param { Gain, kParamCount };
enum Input { InL, InR, kInputCount };
enum Output { OutL, OutR, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::output
