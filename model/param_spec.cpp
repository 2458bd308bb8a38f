#include "model/param_spec.hpp"

#include "common/parse.hpp"
#include "model/pitch.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace chronus::model {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string formatNumber(double v)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

} // namespace

const char *paramTypeName(ParamType type)
{
    switch (type) {
    case ParamType::Float: return "float";
    case ParamType::Int: return "int";
    case ParamType::Bool: return "bool";
    case ParamType::Enum: return "enum";
    }
    return "?";
}

Expected<float> ParamSpec::fromNumber(double value, bool *clamped) const
{
    if (!std::isfinite(value))
        return fail("parameter '" + name + "' needs a finite number");
    if (type == ParamType::Int || type == ParamType::Enum)
        value = std::round(value);
    if (type == ParamType::Bool)
        value = value >= 0.5 ? 1.0 : 0.0;
    if (type == ParamType::Enum && (value < 0 || value >= static_cast<double>(choices.size()))) {
        std::string names;
        for (std::size_t i = 0; i < choices.size(); ++i)
            names += (i ? ", " : "") + choices[i] + "=" + std::to_string(i);
        return fail("parameter '" + name + "' has no choice " + formatNumber(value) + " (choices: " + names + ")");
    }
    const double lo = min, hi = max;
    const double c = std::clamp(value, lo, hi);
    if (clamped)
        *clamped = c != value;
    return static_cast<float>(c);
}

Expected<float> ParamSpec::fromText(std::string_view text, bool *clamped) const
{
    if (type == ParamType::Enum) {
        for (std::size_t i = 0; i < choices.size(); ++i)
            if (equalsIgnoreCase(text, choices[i]))
                return static_cast<float>(i);
    }
    if (type == ParamType::Bool) {
        for (auto word : {"on", "true", "yes", "1"})
            if (equalsIgnoreCase(text, word))
                return 1.0f;
        for (auto word : {"off", "false", "no", "0"})
            if (equalsIgnoreCase(text, word))
                return 0.0f;
        return fail("parameter '" + name + "' takes on/off, true/false or 1/0, not '" + std::string(text) + "'");
    }
    if (double number = 0; parseWhole(text, number))
        return fromNumber(number, clamped);
    if (unit == "Hz") {
        // Where a musician would write a note: "C4" is 261.63 Hz (plain numbers stay Hz).
        if (auto note = parseNoteName(text)) {
            if (!*note)
                return fail("parameter '" + name + "': " + note->error());
            return fromNumber(midiToHz(**note), clamped);
        }
        return fail("parameter '" + name + "' needs a number (Hz) or a note name (C4, F#3, Bb2), not '" +
                    std::string(text) + "'");
    }
    if (type == ParamType::Enum) {
        std::string names;
        for (std::size_t i = 0; i < choices.size(); ++i)
            names += (i ? ", " : "") + choices[i];
        return fail("parameter '" + name + "' has no choice '" + std::string(text) + "' (choices: " + names + ")");
    }
    return fail("parameter '" + name + "' needs a number, not '" + std::string(text) + "'");
}

} // namespace chronus::model
