#include "model/modules/sequencer.hpp"

#include "model/pitch.hpp"

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

Expected<float> parseNote(std::string_view token)
{
    const std::string quoted = "note '" + std::string(token) + "'";
    if (auto name = parseNoteName(token)) {
        if (!*name)
            return fail(name->error());
        return static_cast<float>(midiToHz(**name));
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

// kChordNotes values per step: "C3+Eb3+G3" a chord, "." a rest, anything else one note.
Expected<std::vector<float>> parseNotes(std::string_view text)
{
    std::vector<float> values;
    std::size_t steps = 0;
    for (auto token : tokens(text)) {
        ++steps;
        const std::size_t first = values.size();
        values.resize(first + kChordNotes, 0.0f);
        if (token == "." || token == "-") {
            values[first] = kRest;
            continue;
        }
        std::size_t k = 0;
        while (!token.empty()) {
            const auto plus = token.find('+');
            const std::string_view one = token.substr(0, plus);
            if (one.empty() || k == kChordNotes)
                return fail("chord '" + std::string(token) + "': up to " + std::to_string(kChordNotes) +
                            " notes joined by + (e.g. C3+Eb3+G3)");
            auto v = parseNote(one);
            if (!v)
                return fail(v.error());
            values[first + k++] = *v;
            token = plus == std::string_view::npos ? std::string_view{} : token.substr(plus + 1);
            if (plus != std::string_view::npos && token.empty())
                return fail("a chord ends with '+'");
        }
    }
    if (steps == 0)
        return fail("notes: no notes given (e.g. \"A2 C3 E3\", \"C3+Eb3+G3 . F3+A3\", \"45 48\", \"110.0 220hz\")");
    if (steps > kMaxSteps)
        return fail(tooMany("notes", steps));
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
        {"pitch2", "Hz of the second note of the last chord that played, 0 when it had none"},
        {"pitch3", "Hz of the third note of the last chord, or 0"},
        {"pitch4", "Hz of the fourth note of the last chord, or 0"},
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
        {.name = "notes", .maxElements = kMaxSteps * kChordNotes,
         .description = "notes per step, cycling: names (C4, F#3, Bb2; A4 = 440 Hz), integers 0..127 are MIDI "
                        "notes, other numbers (110.5, 200) or a hz suffix (110hz) are Hz; chords of up to 4 "
                        "notes joined by + (C3+Eb3+G3) sound on pitch..pitch4 (connect to a poly); . is a "
                        "rest (the step stays silent); default A2",
         .example = "C3+Eb3+G3 . F3+A3+C4 A2", .parse = parseNotes},
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
