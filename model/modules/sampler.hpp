// `sampler` (aliases `sample`, `player`): plays a buffer loaded with /buffer/load, one-shot
// or looped, at a rate or a pitch (DSP: synth-worker/engine/modules/sampler.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::sampler {

enum Param { Gate, Mode, Root, Rate, Start, End, Loop, LoopStart, LoopEnd, Gain, kParamCount };
enum Input { GateIn, PitchIn, VelocityIn, kInputCount };
enum Output { Left, Right, kOutputCount };
// Values of the mode parameter.
enum PlayMode { OneShot, Gated };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::sampler
