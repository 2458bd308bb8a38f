// RBJ-cookbook two-pole filter (Robert Bristow-Johnson, "Audio EQ Cookbook").
// setup() retunes the coefficients (a sin and a cos; RT-safe, call it only when the
// frequency, Q or mode changed); process() runs the filter. State is kept in double so
// low cutoffs stay accurate in a float signal path. All members RT-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::dsp::fx {

enum class BiquadMode { Lowpass, Highpass, Bandpass, Notch };

class RbjBiquad {
public:
    // Retunes for `freqHz` (clamped to (0, 0.49·rate)) and `q` (clamped to >= 0.05).
    // Band-pass has 0 dB gain at its peak.
    void setup(BiquadMode mode, double freqHz, double q, double sampleRate) noexcept
    {
        freqHz = std::clamp(freqHz, 1.0, 0.49 * sampleRate);
        q = std::max(q, 0.05);
        const double w0 = 2.0 * std::numbers::pi * freqHz / sampleRate;
        const double c = std::cos(w0);
        const double alpha = std::sin(w0) / (2.0 * q);
        double b0 = 0, b1 = 0, b2 = 0;
        switch (mode) {
        case BiquadMode::Lowpass: b0 = (1.0 - c) * 0.5; b1 = 1.0 - c; b2 = b0; break;
        case BiquadMode::Highpass: b0 = (1.0 + c) * 0.5; b1 = -(1.0 + c); b2 = b0; break;
        case BiquadMode::Bandpass: b0 = alpha; b1 = 0.0; b2 = -alpha; break;
        case BiquadMode::Notch: b0 = 1.0; b1 = -2.0 * c; b2 = 1.0; break;
        }
        const double a0 = 1.0 + alpha;
        b0_ = b0 / a0;
        b1_ = b1 / a0;
        b2_ = b2 / a0;
        a1_ = -2.0 * c / a0;
        a2_ = (1.0 - alpha) / a0;
    }

    // One sample through the filter (transposed direct form II).
    double process(double x) noexcept
    {
        const double y = b0_ * x + z1_;
        z1_ = b1_ * x - a1_ * y + z2_;
        z2_ = b2_ * x - a2_ * y;
        return y;
    }

    void reset() noexcept { z1_ = z2_ = 0.0; }

    // The filter memories (the coefficients follow from the parameters).
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(z1_);
        v(z2_);
    }

private:
    double b0_ = 1.0, b1_ = 0.0, b2_ = 0.0, a1_ = 0.0, a2_ = 0.0;
    double z1_ = 0.0, z2_ = 0.0;
};

} // namespace chronus::dsp::fx
