// `sequencer` (alias `seq`): step sequencer with accents, notes, swing and four lanes
// (DSP: synth-worker/engine/modules/sequencer.cpp). Its text parameters (pattern, notes,
// lanes) are parsed here, on the control thread.
#pragma once

#include "model/module_spec.hpp"

#include <cstddef>

namespace chronus::model::sequencer {

inline constexpr std::size_t kLanes = 4;
// Most elements a pattern, note list or lane holds (and most steps).
inline constexpr std::size_t kMaxSteps = 64;
// Notes one step can sound at once ("C3+Eb3+G3"); the note list keeps this many elements per
// step (Hz, 0 for none; a rest step has kRest first).
inline constexpr std::size_t kChordNotes = 4;
inline constexpr float kRest = -1.0f;

enum Param { Bpm, Steps, GateLen, Swing, Running, Division, kParamCount };
enum TextParam { PatternText, NotesText, Lane1Text, kTextParamCount = Lane1Text + kLanes };
enum Output { GateOut, PitchOut, VelocityOut, Lane1Out, Pitch2Out = Lane1Out + kLanes, Pitch3Out, Pitch4Out, kOutputCount };

// The catalogue entry.
ModuleSpec spec();

} // namespace chronus::model::sequencer
