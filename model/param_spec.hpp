// What a parameter is, as the control surface, the patch loader and the docs know it:
// its type, range, default, smoothing and names, and how a number or a word becomes
// its value. The value that moves per sample lives in the engine (engine::Param).
#pragma once

#include "common/expected.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::model {

enum class ParamType { Float, Int, Bool, Enum };

// "float", "int", "bool" or "enum".
const char *paramTypeName(ParamType type);

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::Float;
    float min = 0.0f;
    float max = 1.0f;
    float def = 0.0f;
    std::string unit;                 // "Hz", "ms", "dB", "" ...
    float smoothingMs = 0.0f;         // length of the linear ramp to a new value; 0: steps at the event's frame
    std::vector<std::string> choices; // Enum: names of values 0..n-1
    std::vector<std::string> aliases; // other names accepted for this parameter
    std::string description;

    // Turns a number or a name into the stored value: clamps to [min, max], rounds Int/Enum,
    // maps Bool words (on/off, true/false, 1/0). Error text names the bad value.
    // `clamped` is set when a number was out of range.
    Expected<float> fromNumber(double value, bool *clamped = nullptr) const;
    Expected<float> fromText(std::string_view text, bool *clamped = nullptr) const;
};

// A variable-length parameter set from text (sequencer pattern, note list). The control
// thread parses the text into numbers; each number travels as its own fixed-size event.
struct TextParamSpec {
    std::string name;
    std::uint32_t maxElements = 64;
    std::string description;
    std::string example;
    // Parses text into values; error names the bad token.
    Expected<std::vector<float>> (*parse)(std::string_view text) = nullptr;
};

} // namespace chronus::model
