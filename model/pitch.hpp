// Pitch as musicians write it: note names (C4, F#3, Bb2; A4 = 440 Hz, C4 = MIDI 60) and
// MIDI note numbers, and their frequencies. Used by the sequencer's note lists, the note
// commands and frequency parameters. Control thread (the engine has its own exp2).
#pragma once

#include "common/expected.hpp"

#include <optional>
#include <string_view>

namespace chronus::model {

// Frequency of a (fractional) MIDI note, 12-tone equal temperament, A4 = 69 = 440 Hz.
double midiToHz(double note);
// MIDI note (fractional) of a frequency above 0.
double hzToMidi(double hz);

// The MIDI note of a name: a letter A-G (any case), optional '#' or 'b' (or "s" for sharp),
// and an octave from -1 to 9 (C-1 = 0, G9 = 127). nullopt when the text is not a note name;
// an error when it looks like one but is out of range.
std::optional<Expected<int>> parseNoteName(std::string_view text);

} // namespace chronus::model
