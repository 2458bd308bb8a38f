#include "model/pitch.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace chronus::model {

double midiToHz(double note) { return 440.0 * std::exp2((note - 69.0) / 12.0); }

double hzToMidi(double hz) { return 69.0 + 12.0 * std::log2(hz / 440.0); }

std::optional<Expected<int>> parseNoteName(std::string_view text)
{
    static constexpr int kPitchClass[7] = {9, 11, 0, 2, 4, 5, 7}; // A B C D E F G
    if (text.size() < 2)
        return std::nullopt;
    const char first = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    if (first < 'A' || first > 'G')
        return std::nullopt;
    int semitone = kPitchClass[first - 'A'];
    std::size_t i = 1;
    if (text[i] == '#' || text[i] == 's')
        ++semitone, ++i;
    else if (text[i] == 'b')
        --semitone, ++i;
    int octave = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data() + i, end, octave);
    if (i == text.size() || ec != std::errc() || ptr != end)
        return std::nullopt;
    const int midi = 12 * (octave + 1) + semitone;
    if (midi < 0 || midi > 127)
        return Expected<int>(fail("note '" + std::string(text) + "' is out of range (C-1 .. G9, MIDI 0 .. 127)"));
    return Expected<int>(midi);
}

} // namespace chronus::model
