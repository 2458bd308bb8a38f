// The control rate of modules that follow some parameters only every few samples (filter
// coefficients: a retune costs trigonometry, running the filter does not).
//
// Control points fall every kControlPeriod samples of the node's own running sample count
// (counted from its reset), never at block starts, so where they fall does not depend on the
// block size; the count is DSP state, so a restored or inherited node keeps its points. At a
// control point a module reads the parameter (smoothing and modulation included) at that
// sample and holds what it derives from it until the next point: a modulated cutoff moves in
// steps of kControlPeriod samples (0.67 ms at 48 kHz, a 1.5 kHz update rate). 32 samples:
// a retune of the biquad (about 11 ns designed in a batch) then costs less than running it
// through them.
#pragma once

#include "model/module_spec.hpp"

#include <algorithm>
#include <cstdint>

namespace chronus::engine {

using model::kControlPeriod;

// All members RT-safe.
class ControlClock {
public:
    // Back to a control point (reset()).
    void reset() noexcept { sinceLast_ = 0; }
    // True when the next sample is a control point.
    bool atPoint() const noexcept { return sinceLast_ == 0; }
    // Samples from the next one up to and excluding the control point after it (all of the
    // remaining `frames` when that point lies beyond them). At a point this counts the
    // point itself and the samples it governs.
    std::uint32_t span(std::uint32_t frames) const noexcept
    {
        return std::min(frames, kControlPeriod - sinceLast_);
    }
    void advance(std::uint32_t frames) noexcept { sinceLast_ = (sinceLast_ + frames) % kControlPeriod; }

    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(sinceLast_);
    }

private:
    std::uint32_t sinceLast_ = 0; // samples since the last control point, 0..kControlPeriod-1
};

} // namespace chronus::engine
