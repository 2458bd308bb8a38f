// The per-sample smoothed parameter value a module reads, configured from its spec
// (model/param_spec.hpp).
#pragma once

#include "model/param_spec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace chronus::engine {

// A parameter's live value inside a module. set() is called at an event's frame;
// next() advances one sample of smoothing. All members RT-safe.
class Param {
public:
    void configure(const model::ParamSpec &spec, double sampleRate)
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
