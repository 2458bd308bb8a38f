// `mixer`: eight mono inputs with levels and a master gain
// (DSP: synth-worker/engine/modules/mixer.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::mixer {

inline constexpr int kChannels = 8;

// level1..level8 (indices 0..7, one per input), then master.
enum Param { Level1, Master = kChannels, kParamCount };
// in1..in8.
enum Input { In1, kInputCount = kChannels };
enum Output { Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::mixer
