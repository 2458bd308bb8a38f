// Topology-preserving (trapezoidal, zero-delay) one-pole low-pass: the tone controls of
// the effects. setup() retunes (one tan); process() runs. All members RT-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::dsp::fx {

class OnePoleLowpass {
public:
    // Retunes to `freqHz`, clamped to [1 Hz, 0.49·rate]; -3 dB exactly at freqHz.
    void setup(double freqHz, double sampleRate) noexcept
    {
        freqHz = std::clamp(freqHz, 1.0, 0.49 * sampleRate);
        const double g = std::tan(std::numbers::pi * freqHz / sampleRate);
        G_ = g / (1.0 + g);
    }

    double process(double x) noexcept
    {
        const double v = (x - s_) * G_;
        const double y = v + s_;
        s_ = y + v;
        return y;
    }

    void reset() noexcept { s_ = 0.0; }

    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(s_);
    }

private:
    double G_ = 1.0;
    double s_ = 0.0;
};

} // namespace chronus::dsp::fx
