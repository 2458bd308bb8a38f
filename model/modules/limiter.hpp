// `limiter` (alias `brickwall`): stereo look-ahead brickwall limiter
// (DSP: synth-worker/engine/modules/limiter.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::limiter {

// The lookahead parameter's maximum; the DSP sizes its history for it.
inline constexpr double kMaxLookaheadMs = 20.0;

enum Param { Lookahead, Ceiling, Release, kParamCount };
enum Input { InL, InR, kInputCount };
enum Output { OutL, OutR, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::limiter
