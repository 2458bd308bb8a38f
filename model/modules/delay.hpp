// `delay` (alias `echo`): stereo feedback delay with tone and ping-pong
// (DSP: synth-worker/engine/modules/delay.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::delay {

enum Param { Time, Feedback, Tone, Mix, PingPong, kParamCount };
enum Input { InL, InR, kInputCount };
enum Output { OutL, OutR, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::delay
