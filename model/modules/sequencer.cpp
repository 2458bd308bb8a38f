#include "model/modules/sequencer.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::model::sequencer {

namespace {

bool isSeparator(char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<std::string_view> tokens(std::string_view text)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && isSeparator(text[i]))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && !isSeparator(text[i]))
            ++i;
        if (i > start)
            out.push_back(text.substr(start, i - start));
    }
    return out;
}

std::string tooMany(const char *what, std::size_t n)
{
    return std::string(what) + " has " + std::to_string(n) + " elements; at most " + std::to_string(kMaxSteps);
}

Expected<std::vector<float>> parsePattern(std::string_view text)
{
    std::vector<float> values;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == 'X')
            values.push_back(2.0f);
        else if (c == 'x')
            values.push_back(1.0f);
        else if (c == '.')
            values.push_back(0.0f);
        else if (c == ' ' || c == '|')
            continue; // visual grouping: "x... x... | X..."
        else
            return fail("pattern: unexpected character '" + std::string(1, c) + "' at position " +
                        std::to_string(i + 1) + " (use X accent, x hit, . rest)");
    }
    if (values.empty())
        return fail("pattern is empty (use X accent, x hit, . rest)");
    if (values.size() > kMaxSteps)
        return fail(tooMany("pattern", values.size()));
    return values;
}

double midiToHz(double note) { return 440.0 * std::exp2((note - 69.0) / 12.0); }

Expected<float> parseNote(std::string_view token)
{
    const std::string quoted = "note '" + std::string(token) + "'";
    static constexpr int kPitchClass[7] = {9, 11, 0, 2, 4, 5, 7}; // A B C D E F G
    const char first = static_cast<char>(std::toupper(static_cast<unsigned char>(token[0])));
    if (first >= 'A' && first <= 'G') {
        int semitone = kPitchClass[first - 'A'];
        std::size_t i = 1;
        if (i < token.size() && token[i] == '#')
            ++semitone, ++i;
        else if (i < token.size() && token[i] == 'b')
            --semitone, ++i;
        int octave = 0;
        const char *end = token.data() + token.size();
        auto [ptr, ec] = std::from_chars(token.data() + i, end, octave);
        if (i == token.size() || ec != std::errc() || ptr != end)
            return fail(quoted + ": a note name needs a letter A-G, optional # or b, and an octave (e.g. C4, F#3, Bb2)");
        const double midi = 12.0 * (octave + 1) + semitone;
        if (midi < 0.0 || midi > 135.0)
            return fail(quoted + " is out of range (C-1 .. G9)");
        return static_cast<float>(midiToHz(midi));
    }
    std::string_view number = token;
    bool forceHz = false;
    if (number.size() > 2 && (number.ends_with("hz") || number.ends_with("Hz") || number.ends_with("HZ"))) {
        number.remove_suffix(2);
        forceHz = true;
    }
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(value))
        return fail(quoted + " is neither a note name (C4, F#3, Bb2), a MIDI number (0..127) nor a frequency "
                             "(110.0, 110hz)");
    const bool integer = number.find_first_of(".eE") == std::string_view::npos;
    if (!forceHz && integer && value >= 0.0 && value <= 127.0)
        return static_cast<float>(midiToHz(value));
    if (value <= 0.0 || value > 20000.0)
        return fail(quoted + ": a frequency must be above 0 and at most 20000 Hz");
    return static_cast<float>(value);
}

Expected<std::vector<float>> parseNotes(std::string_view text)
{
    std::vector<float> values;
    for (auto token : tokens(text)) {
        auto v = parseNote(token);
        if (!v)
            return fail(v.error());
        values.push_back(*v);
    }
    if (values.empty())
        return fail("notes: no notes given (e.g. \"A2 C3 E3\", \"45 48\", \"110.0 220hz\")");
    if (values.size() > kMaxSteps)
        return fail(tooMany("notes", values.size()));
    return values;
}

Expected<std::vector<float>> parseLane(std::string_view text)
{
    std::vector<float> values;
    for (auto token : tokens(text)) {
        double value = 0;
        auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
        if (ec != std::errc() || ptr != token.data() + token.size() || !std::isfinite(value))
            return fail("lane value '" + std::string(token) + "' is not a number");
        values.push_back(static_cast<float>(value));
    }
    if (values.empty())
        return fail("lane: no values given (e.g. \"200 400 800 1600\")");
    if (values.size() > kMaxSteps)
        return fail(tooMany("lane", values.size()));
    return values;
}

} // namespace

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "sequencer";
    s.aliases = {"seq"};
    s.description = "Sample-exact step sequencer: pattern with accents, notes, swing, four parameter lanes";
    s.outputs = {
        {"gate", "1 during the gated part of a step that plays, else 0"},
        {"pitch", "Hz of the note of the last step that played"},
        {"velocity", "1.0 for an accent (X), 0.7 for a hit (x); held over rests"},
        {"lane1", "value of lane1 at the current step"},
        {"lane2", "value of lane2 at the current step"},
        {"lane3", "value of lane3 at the current step"},
        {"lane4", "value of lane4 at the current step"},
    };
    s.mainOutputs = 1;
    s.params = {
        {.name = "bpm", .min = 1.0f, .max = 999.0f, .def = 120.0f, .unit = "BPM", .aliases = {"tempo"},
         .description = "tempo in beats per minute"},
        {.name = "steps", .type = ParamType::Int, .min = 1.0f, .max = 64.0f, .def = 16.0f, .aliases = {"length"},
         .description = "loop length in steps; pattern, notes and lanes cycle within it"},
        {.name = "gate_len", .min = 0.01f, .max = 1.0f, .def = 0.5f, .aliases = {"gate_length"},
         .description = "gate length as a fraction of the (swung) step; 1 ties consecutive hits"},
        {.name = "swing", .min = 0.0f, .max = 0.75f, .def = 0.0f,
         .description = "delays every odd step by this fraction of a step"},
        {.name = "running", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 1.0f,
         .aliases = {"run", "play"}, .description = "on: advances; off: holds the position with the gate low"},
        {.name = "division", .type = ParamType::Int, .min = 1.0f, .max = 16.0f, .def = 4.0f,
         .description = "steps per beat (4: sixteenth notes)"},
    };
    s.textParams = {
        {.name = "pattern", .maxElements = kMaxSteps,
         .description = "one character per step: X accent, x hit, . rest (spaces and | are ignored); default "
                        "x...x...x...x...",
         .example = "X..x..x.X..x.x..", .parse = parsePattern},
        {.name = "notes", .maxElements = kMaxSteps,
         .description = "notes per step, cycling: names (C4, F#3, Bb2; A4 = 440 Hz), integers 0..127 are MIDI "
                        "notes, other numbers (110.5, 200) or a hz suffix (110hz) are Hz; default A2",
         .example = "A2 A2 C3 E3", .parse = parseNotes},
        {.name = "lane1", .maxElements = kMaxSteps, .description = "numbers per step for output lane1, cycling",
         .example = "200 400 800 1600", .parse = parseLane},
        {.name = "lane2", .maxElements = kMaxSteps, .description = "numbers per step for output lane2, cycling",
         .example = "0 0.5 1", .parse = parseLane},
        {.name = "lane3", .maxElements = kMaxSteps, .description = "numbers per step for output lane3, cycling",
         .example = "1 0", .parse = parseLane},
        {.name = "lane4", .maxElements = kMaxSteps, .description = "numbers per step for output lane4, cycling",
         .example = "0.2 0.4", .parse = parseLane},
    };
    return s;
}

} // namespace chronus::model::sequencer
