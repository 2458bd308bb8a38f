// Drum voices `kick`, `snare` and `hat`, fired by a gate edge
// (DSP: synth-worker/engine/modules/drums.cpp).
#pragma once

#include "model/module_spec.hpp"

namespace chronus::model::drums {

// Ports every voice has.
enum Input { GateIn, VelocityIn, kInputCount };
enum Output { Out, kOutputCount };

enum KickParam { KickTune, KickDecay, KickSweep, KickClick, KickLevel, KickGate, kKickParamCount };
enum SnareParam { SnareTune, SnareDecay, SnareSnappy, SnareLevel, SnareGate, kSnareParamCount };
enum HatParam { HatDecay, HatTone, HatLevel, HatGate, kHatParamCount };

// The catalogue entries.
ModuleSpec kickSpec();
ModuleSpec snareSpec();
ModuleSpec hatSpec();

} // namespace chronus::model::drums
