// `poly` (aliases `polysynth`, `voices`): a polyphonic node that plays a voice template, a
// patch fragment instanced once per voice and summed (DSP: synth-worker/engine/modules/poly.cpp).
// Inside a template the built-in node `voice` (type `voice`) gives each voice its pitch,
// gate, velocity and aftertouch; the template's `output` is the voice's sound.
#pragma once

#include "model/module_spec.hpp"

#include <cstdint>

namespace chronus::model::poly {

inline constexpr std::uint32_t kMaxVoices = 64;
// Notes a sequencer can sound at once through the pitch inputs (sequencer::kChordNotes).
inline constexpr std::uint32_t kInputNotes = 4;

enum Param { Voices, Steal, Gain, BendRange, kParamCount };
enum Input { GateIn, PitchIn, Pitch2In, Pitch3In, Pitch4In, VelocityIn, kInputCount };
enum Output { Left, Right, kOutputCount };
// Values of the steal parameter.
enum StealMode { Oldest, Quietest };

// The template a poly plays when its node gives none: saw -> svf low-pass -> ADSR.
extern const char *const kDefaultTemplate;

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::poly

namespace chronus::model::voice {

enum Output { PitchOut, NoteOut, GateOut, VelocityOut, AftertouchOut, kOutputCount };
inline constexpr int kParamCount = 0;

// The id the built-in voice node has in every template.
inline constexpr const char *kId = "voice";

// The catalogue entry (a node of this type exists only inside a poly's template).
ModuleSpec spec();

} // namespace chronus::model::voice
