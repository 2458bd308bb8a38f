// RBJ-cookbook two-pole filter (Robert Bristow-Johnson, "Audio EQ Cookbook").
// setup() computes the cookbook's b0..b2, a1, a2 and converts them to a normalized
// lattice-ladder (Gray & Markel): the same transfer function, but each lattice section is
// a rotation, so the state energy can grow by at most the input energy per sample however
// fast the coefficients change. A direct form running the same coefficients explodes
// exponentially under audio-rate cutoff modulation at high Q (measured: 1e108 after 2 s
// at Q 28 with the cutoff swept ±2 kHz at 200 Hz); this does not.
//
// Two ways to run it, both in double and on the same state (the lattice's two memories):
//   process()          one lattice step; for samples where the coefficients just changed.
//   processPaired()    while the coefficients stay put, samples go in pairs through the
//                      lattice's state-space matrices squared (s[n+2] = A²s[n] + ABx[n] +
//                      Bx[n+1]). The same filter with different rounding; its loop-carried
//                      chain is one multiply-add per two samples instead of two per sample,
//                      so it runs about three times as fast. Between the two samples of a
//                      pair the state stays at the pair's start (midPair()); settle()
//                      finishes such a pair by a lattice step before the coefficients change.
// processBlock() is processPaired() over a block, bit for bit.
// setup() costs a sin, a cos and a sqrt (RT-safe; call it only when frequency, Q or mode
// changed); the pair matrices are derived from it on first paired use. All members RT-safe.
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
        pairReady_ = false;
    }

    // One lattice step (the state must not be mid-pair: settle() first).
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

    // One sample with the coefficients unchanged since the previous paired sample (or
    // since the lattice step before it).
    double processPaired(double x) noexcept
    {
        preparePairs();
        const Pair &p = pair_;
        if (!midPair_) {
            midPair_ = true;
            held_ = x;
            return first(p, s0_, s1_, x);
        }
        midPair_ = false;
        const double y = second(p, s0_, s1_, held_, x);
        advance(p, s0_, s1_, held_, x);
        return y;
    }

    // `frames` samples of processPaired() with the state held in registers. `in` may be
    // nullptr (silence).
    void processBlock(const float *in, float *out, std::uint32_t frames) noexcept
    {
        if (in)
            runPaired<true>(in, out, frames);
        else
            runPaired<false>(in, out, frames);
    }

    // True between the two samples of a pair: the state is still the pair's start.
    bool midPair() const noexcept { return midPair_; }

    // Completes a pending pair with a lattice step of its first sample, using the
    // coefficients it was run with, so the state is the current sample's again.
    void settle() noexcept
    {
        if (!midPair_)
            return;
        midPair_ = false;
        process(held_);
    }

    void reset() noexcept
    {
        s0_ = s1_ = held_ = 0.0;
        midPair_ = false;
    }

    // The filter memories (the coefficients follow from the parameters).
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(s0_);
        v(s1_);
        v(held_);
        v(midPair_);
    }

private:
    // State-space form of one lattice step, s' = A s + B x, y = C s + D x, taken two
    // samples at a time.
    struct Pair {
        double c0, c1, d;           // y[n]   = C s + D x[n]
        double ca0, ca1, cb;        // y[n+1] = C A s + C B x[n] + D x[n+1]
        double aa00, aa01, aa10, aa11; // s[n+2] = A² s + A B x[n] + B x[n+1]
        double ab0, ab1, b0, b1;
    };

    // The expressions below are the only place the paired arithmetic is written, so the
    // per-sample and the block paths give the same bits.
    static double first(const Pair &p, double s0, double s1, double x0) noexcept
    {
        return (p.c0 * s0 + p.c1 * s1) + p.d * x0;
    }
    static double second(const Pair &p, double s0, double s1, double x0, double x1) noexcept
    {
        return ((p.ca0 * s0 + p.ca1 * s1) + p.cb * x0) + p.d * x1;
    }
    // The state term of each memory goes in last: it is the loop-carried chain.
    static void advance(const Pair &p, double &s0, double &s1, double x0, double x1) noexcept
    {
        const double n0 = ((p.ab0 * x0 + p.b0 * x1) + p.aa01 * s1) + p.aa00 * s0;
        const double n1 = ((p.ab1 * x0 + p.b1 * x1) + p.aa10 * s0) + p.aa11 * s1;
        s0 = n0;
        s1 = n1;
    }

    // Two doubles, one SIMD register where there is one (SSE2, NEON), plain doubles
    // elsewhere. Each lane below does exactly the scalar arithmetic of first(), second()
    // and advance(), in the same order, so the bits are the same.
    using Double2 = double __attribute__((vector_size(16)));

    template <bool HasInput>
    void runPaired(const float *in, float *out, std::uint32_t frames) noexcept
    {
        if (frames == 0)
            return;
        preparePairs();
        const Pair &p = pair_;
        double s0 = s0_, s1 = s1_;
        auto input = [in](std::uint32_t i) { return HasInput ? static_cast<double>(in[i]) : 0.0; };
        std::uint32_t i = 0;
        if (midPair_) {
            const double x1 = input(0);
            out[0] = static_cast<float>(second(p, s0, s1, held_, x1));
            advance(p, s0, s1, held_, x1);
            midPair_ = false;
            i = 1;
        }
        // Lane 0 carries the pair's first sample and memory 0, lane 1 the second sample
        // and memory 1; `swapped` lanes hold the other memory / input. Sums are in the
        // scalar order (a + b == b + a exactly, so lane 1 may name its terms the other way).
        const Double2 cs{p.c0, p.ca1}, cw{p.c1, p.ca0}, e{p.d, p.cb}, d{0.0, p.d};
        const Double2 g{p.ab0, p.b1}, h{p.b0, p.ab1}, across{p.aa01, p.aa10}, along{p.aa00, p.aa11};
        Double2 s{s0, s1};
        for (; i + 2 <= frames; i += 2) {
            const Double2 x{input(i), input(i + 1)};
            const Double2 xw{x[1], x[0]}, x0{x[0], x[0]};
            const Double2 sw{s[1], s[0]};
            const Double2 partial = (cs * s + cw * sw) + e * x0;
            // + -0.0 leaves lane 0 exactly as it is (also a -0.0).
            const Double2 dx = d * x;
            const Double2 y = partial + Double2{-0.0, dx[1]};
            out[i] = static_cast<float>(y[0]);
            out[i + 1] = static_cast<float>(y[1]);
            s = ((g * x + h * xw) + across * sw) + along * s;
        }
        s0 = s[0];
        s1 = s[1];
        if (i < frames) {
            held_ = input(i);
            out[i] = static_cast<float>(first(p, s0, s1, held_));
            midPair_ = true;
        }
        s0_ = s0;
        s1_ = s1;
    }

    void preparePairs() noexcept
    {
        if (pairReady_)
            return;
        pairReady_ = true;
        // One lattice step written out: f1 = c2 x - k2 s1, s0' = c1 f1 - k1 s0,
        // s1' = k1 f1 + c1 s0, g2 = k2 x + c2 s1, y = v0 s0' + v1 s1' + v2 g2.
        const double a00 = -k1_, a01 = -c1_ * k2_, a10 = c1_, a11 = -k1_ * k2_;
        const double b0 = c1_ * c2_, b1 = k1_ * c2_;
        const double c0 = v0_ * a00 + v1_ * a10;
        const double c1 = v0_ * a01 + v1_ * a11 + v2_ * c2_;
        const double d = v0_ * b0 + v1_ * b1 + v2_ * k2_;
        Pair &p = pair_;
        p.c0 = c0;
        p.c1 = c1;
        p.d = d;
        p.ca0 = c0 * a00 + c1 * a10;
        p.ca1 = c0 * a01 + c1 * a11;
        p.cb = c0 * b0 + c1 * b1;
        p.aa00 = a00 * a00 + a01 * a10;
        p.aa01 = a00 * a01 + a01 * a11;
        p.aa10 = a10 * a00 + a11 * a10;
        p.aa11 = a10 * a01 + a11 * a11;
        p.ab0 = a00 * b0 + a01 * b1;
        p.ab1 = a10 * b0 + a11 * b1;
        p.b0 = b0;
        p.b1 = b1;
    }

    // Reflection coefficients, their cosines and the ladder taps (pass-through until setup()).
    double k1_ = 0.0, c1_ = 1.0, k2_ = 0.0, c2_ = 1.0;
    double v0_ = 1.0, v1_ = 0.0, v2_ = 0.0;
    Pair pair_{};
    bool pairReady_ = false; // pair_ matches the coefficients above

    double s0_ = 0.0, s1_ = 0.0; // the two delayed backward signals (at a pair's start when midPair_)
    double held_ = 0.0;          // input of a pending pair's first sample
    bool midPair_ = false;
};

} // namespace chronus::dsp::fx
