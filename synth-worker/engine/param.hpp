// Parameter specifications and the per-sample smoothed parameter value a module reads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include "common/expected.hpp"
#include <string>
#include <string_view>
#include <vector>

namespace chronus::engine {

using chronus::Expected;

enum class ParamType { Float, Int, Bool, Enum };

const char *paramTypeName(ParamType type);

// Everything the control surface, the patch loader and the docs know about a parameter.
struct ParamSpec {
    std::string name;
    ParamType type = ParamType::Float;
    float min = 0.0f;
    float max = 1.0f;
    float def = 0.0f;
    std::string unit;                 // "Hz", "ms", "dB", "" ...
    float smoothingMs = 0.0f;         // 0: steps at the event's frame (gates, enums)
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

// A parameter's live value inside a module. set() is called at an event's frame;
// next() advances one sample of smoothing. All members RT-safe.
class Param {
public:
    void configure(const ParamSpec &spec, double sampleRate)
    {
        min_ = spec.min;
        max_ = spec.max;
        const double samples = spec.smoothingMs * 0.001 * sampleRate;
        // One-pole smoothing reaching ~99 % of a step after smoothingMs.
        coef_ = samples > 1.0 ? static_cast<float>(1.0 - std::exp(-4.6 / samples)) : 1.0f;
        target_ = current_ = spec.def;
    }

    // Sets a new target (already validated and clamped by the control thread).
    void set(float value) noexcept
    {
        target_ = std::clamp(value, min_, max_);
        if (coef_ >= 1.0f)
            current_ = target_;
    }
    // Jumps straight to the target (patch load, reset).
    void snap() noexcept { current_ = target_; }
    // Continues smoothing from where `old` is now (patch swap keeps values gliding).
    void continueFrom(const Param &old) noexcept { current_ = std::clamp(old.current_, min_, max_); }

    // Advances smoothing by one sample and returns the value plus modulation at `i`,
    // clamped to the parameter's range.
    float next(std::uint32_t i) noexcept
    {
        if (current_ != target_) {
            const float delta = target_ - current_;
            current_ = std::fabs(delta) <= 1e-6f * (std::fabs(target_) + 1e-3f) ? target_ : current_ + coef_ * delta;
        }
        if (mod_ == nullptr)
            return current_;
        return std::clamp(current_ + mod_[i], min_, max_);
    }
    // Value without advancing or modulation (step-type parameters, block decisions).
    float target() const noexcept { return target_; }
    float current() const noexcept { return current_; }
    bool modulated() const noexcept { return mod_ != nullptr; }
    // True when next() would return the same value for every sample of this block.
    bool steady() const noexcept { return mod_ == nullptr && current_ == target_; }

    // Buffer of summed modulation (depth already applied); owned by the graph.
    void setModulation(const float *buffer) noexcept { mod_ = buffer; }

    // Snapshot support: the moving parts only.
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(target_);
        v(current_);
    }

private:
    float target_ = 0.0f;
    float current_ = 0.0f;
    float coef_ = 1.0f;
    float min_ = 0.0f;
    float max_ = 1.0f;
    const float *mod_ = nullptr;
};

} // namespace chronus::engine
