// RBJ-cookbook two-pole filter (Robert Bristow-Johnson, "Audio EQ Cookbook").
// setup() computes the cookbook's b0..b2, a1, a2 and converts them to a normalized
// lattice-ladder (Gray & Markel): the same transfer function, but each lattice section is
// a rotation, so the state energy can grow by at most the input energy per sample however
// fast the coefficients change. A direct form running the same coefficients explodes
// exponentially under audio-rate cutoff modulation at high Q (measured: 1e108 after 2 s
// at Q 28 with the cutoff swept ±2 kHz at 200 Hz); this does not.
// setup() costs a sin, a cos and a sqrt (RT-safe; call it only when frequency, Q or mode
// changed); process() runs the filter in double. All members RT-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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
        b0 /= a0;
        b1 /= a0;
        b2 /= a0;
        const double a1 = -2.0 * c / a0;
        // Lattice: A(z) = 1 + k1(1 + k2) z^-1 + k2 z^-2, so k2 = a2 and k1 = a1 / (1 + a2)
        // = -cos w0; ci = sqrt(1 - ki²) written so it stays accurate when ki is near ±1.
        k1_ = -c;
        c1_ = std::sin(w0);
        k2_ = (1.0 - alpha) / a0;
        c2_ = 2.0 * std::sqrt(alpha) / a0;
        // Ladder taps: B(z) = v0·c1·c2 + v1·c2·(k1 + z^-1) + v2·(k2 + a1 z^-1 + z^-2).
        v2_ = b2;
        v1_ = (b1 - v2_ * a1) / c2_;
        v0_ = (b0 - v1_ * c2_ * k1_ - v2_ * k2_) / (c1_ * c2_);
    }

    // One sample through the filter.
    double process(double x) noexcept
    {
        const double f1 = c2_ * x - k2_ * s1_;
        const double g2 = k2_ * x + c2_ * s1_;
        const double f0 = c1_ * f1 - k1_ * s0_;
        const double g1 = k1_ * f1 + c1_ * s0_;
        s0_ = f0;
        s1_ = g1;
        return v0_ * f0 + v1_ * g1 + v2_ * g2;
    }

    // `frames` samples with fixed coefficients; the same arithmetic as process(), with the
    // state held in registers. `in` may be nullptr (silence).
    void processBlock(const float *in, float *out, std::uint32_t frames) noexcept
    {
        const double k1 = k1_, c1 = c1_, k2 = k2_, c2 = c2_, v0 = v0_, v1 = v1_, v2 = v2_;
        double s0 = s0_, s1 = s1_;
        for (std::uint32_t i = 0; i < frames; ++i) {
            const double x = in ? in[i] : 0.0f;
            const double f1 = c2 * x - k2 * s1;
            const double g2 = k2 * x + c2 * s1;
            const double f0 = c1 * f1 - k1 * s0;
            const double g1 = k1 * f1 + c1 * s0;
            s0 = f0;
            s1 = g1;
            out[i] = static_cast<float>(v0 * f0 + v1 * g1 + v2 * g2);
        }
        s0_ = s0;
        s1_ = s1;
    }
    void reset() noexcept { s0_ = s1_ = 0.0; }

    // The filter memories (the coefficients follow from the parameters).
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(s0_);
        v(s1_);
    }

private:
    // Reflection coefficients, their cosines and the ladder taps (pass-through until setup()).
    double k1_ = 0.0, c1_ = 1.0, k2_ = 0.0, c2_ = 1.0;
    double v0_ = 1.0, v1_ = 0.0, v2_ = 0.0;
    double s0_ = 0.0, s1_ = 0.0; // the two delayed backward signals

};

} // namespace chronus::dsp::fx
