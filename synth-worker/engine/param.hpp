// The per-sample value a module reads for one parameter, configured from its spec
// (model/param_spec.hpp): smoothing, modulation and the range clamp.
//
// Smoothing is a linear ramp that lands exactly on the target smoothingMs after the event
// (rounded to whole samples) and then stops: from that sample on the parameter is steady()
// again and modules take their block paths. Each value of a ramp is a function of the
// target, the slope and the samples left (target - slope·left), not of the previous value,
// so it ends on the target's exact bits, and skip(n) lands on the same bits as n next()s.
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
        const double samples = std::round(spec.smoothingMs * 0.001 * sampleRate);
        rampSamples_ = samples > 1.0 ? static_cast<std::uint32_t>(samples) : 0;
        target_ = current_ = spec.def;
        slope_ = 0.0f;
        left_ = 0;
    }

    // Sets a new target (already validated and clamped by the control thread) and ramps to
    // it from the current value, or steps there for a parameter without smoothing.
    void set(float value) noexcept
    {
        value = std::clamp(value, min_, max_);
        if (value == target_)
            return; // a ramp under way to the same value keeps its pace
        target_ = value;
        startRamp();
    }
    // Jumps straight to the target (patch load, reset).
    void snap() noexcept
    {
        current_ = target_;
        left_ = 0;
    }
    // Ramps from where `old` is now to this parameter's target (patch swap keeps values gliding).
    void continueFrom(const Param &old) noexcept
    {
        current_ = std::clamp(old.current_, min_, max_);
        startRamp();
    }

    // Advances smoothing by one sample and returns the value plus modulation at `i`,
    // clamped to the parameter's range.
    float next(std::uint32_t i) noexcept
    {
        if (left_ != 0) {
            --left_;
            current_ = target_ - slope_ * static_cast<float>(left_);
        }
        if (mod_ == nullptr)
            return current_;
        return std::clamp(current_ + modDepth_ * mod_[i], min_, max_);
    }
    // Advances smoothing by `frames` samples without reading them: the same state as
    // `frames` calls of next(). For modules that read a parameter at a control rate.
    void skip(std::uint32_t frames) noexcept
    {
        if (left_ == 0)
            return;
        left_ = frames >= left_ ? 0 : left_ - frames;
        current_ = target_ - slope_ * static_cast<float>(left_);
    }

    // What next(i) returns while no ramp is under way (!ramping()), without advancing:
    // for modules that read a steady or modulated parameter at a control rate.
    float valueAt(std::uint32_t i) const noexcept
    {
        return mod_ == nullptr ? current_ : std::clamp(current_ + modDepth_ * mod_[i], min_, max_);
    }
    bool ramping() const noexcept { return left_ != 0; }

    // Value without advancing or modulation (step-type parameters, block decisions).
    float target() const noexcept { return target_; }
    float current() const noexcept { return current_; }
    bool modulated() const noexcept { return mod_ != nullptr; }
    // True when next() would return the same value for every sample of this block.
    bool steady() const noexcept { return mod_ == nullptr && left_ == 0; }

    // Modulation: `depth` times `buffer` (a source's output, or a sum of several with
    // their depths applied and `depth` 1); owned by the graph.
    void setModulation(const float *buffer, float depth = 1.0f) noexcept
    {
        mod_ = buffer;
        modDepth_ = depth;
    }

    // Snapshot support: the moving parts only.
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(target_);
        v(current_);
        v(slope_);
        v(left_);
    }

private:
    void startRamp() noexcept
    {
        if (rampSamples_ == 0 || current_ == target_) {
            current_ = target_;
            left_ = 0;
            return;
        }
        slope_ = (target_ - current_) / static_cast<float>(rampSamples_);
        left_ = rampSamples_;
    }

    // Moving parts (snapshot state).
    float target_ = 0.0f;
    float current_ = 0.0f;    // the value next() returned last (before modulation)
    float slope_ = 0.0f;      // per sample, while left_ > 0
    std::uint32_t left_ = 0;  // samples until current_ == target_
    // Configuration.
    std::uint32_t rampSamples_ = 0; // 0: no smoothing
    float min_ = 0.0f;
    float max_ = 1.0f;
    const float *mod_ = nullptr;
    float modDepth_ = 1.0f;
};

} // namespace chronus::engine
