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
//   processGrouped()   while the coefficients stay put, samples go in groups of four
//                      through the lattice's state-space matrices (s[n+4] = A⁴s[n] +
//                      A³Bx[n] + A²Bx[n+1] + ABx[n+2] + Bx[n+3], each output from s[n] and
//                      the group's inputs so far). The same filter with different rounding;
//                      its loop-carried chain is one multiply and two adds per four samples
//                      instead of two multiplies and two adds per sample, so it runs several
//                      times as fast. Within a group the state stays at the group's start
//                      (midGroup()); settle() brings it to the current sample by lattice
//                      steps before the coefficients change.
// processBlock() is processGrouped() over a block, bit for bit.
// setup() costs a sin, a cos and a sqrt (RT-safe; call it only when frequency, Q or mode
// changed); the group matrices are derived from it on first grouped use. All members RT-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace chronus::dsp::fx {

enum class BiquadMode { Lowpass, Highpass, Bandpass, Notch };

class RbjBiquad {
public:
    // Retunes for `freqHz` (clamped to [1 Hz, 0.49·rate]) and `q` (clamped to >= 0.05).
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
        groupReady_ = false;
    }

    // One lattice step (the state must not be mid-group: settle() first).
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

    // One sample with the coefficients unchanged since the previous grouped sample (or
    // since the lattice step before it).
    double processGrouped(double x) noexcept
    {
        prepareGroups();
        return groupedSample(x);
    }

    // `frames` samples of processGrouped() with the state held in registers. `in` may be
    // nullptr (silence).
    void processBlock(const float *in, float *out, std::uint32_t frames) noexcept
    {
        if (in)
            runGrouped<true>(in, out, frames);
        else
            runGrouped<false>(in, out, frames);
    }

    // True inside a group: the state is still the group's start.
    bool midGroup() const noexcept { return pos_ != 0; }

    // Brings the state of a group under way to the current sample by lattice steps of its
    // inputs, using the coefficients they were run with.
    void settle() noexcept
    {
        const std::uint32_t n = pos_;
        pos_ = 0;
        for (std::uint32_t k = 0; k < n; ++k)
            process(held_[k]);
    }

    void reset() noexcept
    {
        s0_ = s1_ = 0.0;
        held_ = {};
        pos_ = 0;
    }

    // The filter memories (the coefficients follow from the parameters).
    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(s0_);
        v(s1_);
        v(held_);
        v(pos_);
    }

private:
    // State-space form of one lattice step, s' = A s + B x, y = C s + D x, taken four
    // samples at a time: y[n+k] = C A^k s + Σ_{j<=k} h[k-j] x[n+j] with h[0] = D,
    // h[i] = C A^(i-1) B; s[n+4] = A⁴ s + Σ_j A^(3-j) B x[n+j].
    struct Group {
        double ca[4][2];  // C A^k
        double h[4];      // impulse response
        double a4[2][2];  // A⁴
        double e[4][2];   // A^(3-j) B
    };

    // The scalar arithmetic of a group, written once: output k of a group from its start
    // state and inputs x[0..k], and the state after it. runGrouped() does the same in
    // two-lane vectors, lane by lane in this order (a + b == b + a exactly, so a lane may
    // name the two terms of a sum the other way round).
    static double output(const Group &g, std::uint32_t k, double s0, double s1, const double *x) noexcept
    {
        double y = g.ca[k][0] * s0 + g.ca[k][1] * s1;
        for (std::uint32_t j = 0; j <= k; ++j)
            y = y + g.h[k - j] * x[j];
        return y;
    }
    // The memory terms go in last: they are the loop-carried chain.
    static void advance(const Group &g, double &s0, double &s1, const double *x) noexcept
    {
        const double in0 = (g.e[0][0] * x[0] + g.e[1][0] * x[1]) + (g.e[2][0] * x[2] + g.e[3][0] * x[3]);
        const double in1 = (g.e[0][1] * x[0] + g.e[1][1] * x[1]) + (g.e[2][1] * x[2] + g.e[3][1] * x[3]);
        const double n0 = (in0 + g.a4[0][1] * s1) + g.a4[0][0] * s0;
        const double n1 = (in1 + g.a4[1][0] * s0) + g.a4[1][1] * s1;
        s0 = n0;
        s1 = n1;
    }

    double groupedSample(double x) noexcept
    {
        const std::uint32_t k = pos_;
        held_[k] = x;
        const double y = output(group_, k, s0_, s1_, held_.data());
        if (k == 3) {
            advance(group_, s0_, s1_, held_.data());
            pos_ = 0;
        } else {
            pos_ = k + 1;
        }
        return y;
    }

    // Two doubles, one SIMD register where there is one (SSE2, NEON), plain doubles
    // elsewhere.
    using Double2 = double __attribute__((vector_size(16)));

    // Float pairs to and from double lanes (exact one way, rounded as static_cast the
    // other); SSE2 has single instructions for both that compilers do not pick by themselves.
    static Double2 load2(const float *in) noexcept
    {
#if defined(__SSE2__)
        return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(in))));
#else
        return Double2{in[0], in[1]};
#endif
    }
    static void store2(float *out, Double2 y) noexcept
    {
#if defined(__SSE2__)
        _mm_storel_pi(reinterpret_cast<__m64 *>(out), _mm_cvtpd_ps(y));
#else
        out[0] = static_cast<float>(y[0]);
        out[1] = static_cast<float>(y[1]);
#endif
    }

    template <bool HasInput>
    void runGrouped(const float *in, float *out, std::uint32_t frames) noexcept
    {
        prepareGroups();
        auto input = [in](std::uint32_t i) { return HasInput ? static_cast<double>(in[i]) : 0.0; };
        std::uint32_t i = 0;
        for (; i < frames && pos_ != 0; ++i)
            out[i] = static_cast<float>(groupedSample(input(i)));
        const Group &g = group_;
        // Outputs: lanes (y0, y1) and (y2, y3). Memories: lane l is memory l; `sw` holds
        // the memories the other way round, `xw` the inputs.
        const Double2 ya0{g.ca[0][0], g.ca[1][1]}, ya1{g.ca[0][1], g.ca[1][0]};
        const Double2 yb0{g.ca[2][0], g.ca[3][1]}, yb1{g.ca[2][1], g.ca[3][0]};
        const Double2 ha0{g.h[0], g.h[1]}, ha1{0.0, g.h[0]};
        const Double2 hb0{g.h[2], g.h[3]}, hb1{g.h[1], g.h[2]}, hb2{g.h[0], g.h[1]}, hb3{0.0, g.h[0]};
        const Double2 e01{g.e[0][0], g.e[1][1]}, e01w{g.e[1][0], g.e[0][1]};
        const Double2 e23{g.e[2][0], g.e[3][1]}, e23w{g.e[3][0], g.e[2][1]};
        const Double2 along{g.a4[0][0], g.a4[1][1]}, across{g.a4[0][1], g.a4[1][0]};
        Double2 s{s0_, s1_};
        for (; i + 4 <= frames; i += 4) {
            const Double2 x01 = HasInput ? load2(in + i) : Double2{}, x23 = HasInput ? load2(in + i + 2) : Double2{};
            const Double2 x01w{x01[1], x01[0]}, x23w{x23[1], x23[0]};
            const Double2 xx0{x01[0], x01[0]}, xx1{x01[1], x01[1]}, xx2{x23[0], x23[0]};
            const Double2 sw{s[1], s[0]};
            // The last input of lane 0 has no term: + -0.0 leaves it exactly as it is.
            const Double2 da = ha1 * x01, db = hb3 * x23;
            const Double2 ya = ((ya0 * s + ya1 * sw) + ha0 * xx0) + Double2{-0.0, da[1]};
            const Double2 yb = ((((yb0 * s + yb1 * sw) + hb0 * xx0) + hb1 * xx1) + hb2 * xx2) + Double2{-0.0, db[1]};
            store2(out + i, ya);
            store2(out + i + 2, yb);
            const Double2 inputs = (e01 * x01 + e01w * x01w) + (e23 * x23 + e23w * x23w);
            s = (inputs + across * sw) + along * s;
        }
        s0_ = s[0];
        s1_ = s[1];
        for (; i < frames; ++i)
            out[i] = static_cast<float>(groupedSample(input(i)));
    }

    void prepareGroups() noexcept
    {
        if (groupReady_)
            return;
        groupReady_ = true;
        // One lattice step written out: f1 = c2 x - k2 s1, s0' = c1 f1 - k1 s0,
        // s1' = k1 f1 + c1 s0, g2 = k2 x + c2 s1, y = v0 s0' + v1 s1' + v2 g2.
        const double a[2][2] = {{-k1_, -c1_ * k2_}, {c1_, -k1_ * k2_}};
        const double b[2] = {c1_ * c2_, k1_ * c2_};
        const double c[2] = {v0_ * a[0][0] + v1_ * a[1][0], v0_ * a[0][1] + v1_ * a[1][1] + v2_ * c2_};
        const double d = v0_ * b[0] + v1_ * b[1] + v2_ * k2_;
        Group &g = group_;
        // Row vectors C A^k and column vectors A^k B, k = 0..3.
        double ak[4][2][2] = {{{1.0, 0.0}, {0.0, 1.0}}};
        for (int k = 1; k < 4; ++k)
            multiply(ak[k - 1], a, ak[k]);
        for (int k = 0; k < 4; ++k) {
            g.ca[k][0] = c[0] * ak[k][0][0] + c[1] * ak[k][1][0];
            g.ca[k][1] = c[0] * ak[k][0][1] + c[1] * ak[k][1][1];
            g.e[3 - k][0] = ak[k][0][0] * b[0] + ak[k][0][1] * b[1];
            g.e[3 - k][1] = ak[k][1][0] * b[0] + ak[k][1][1] * b[1];
        }
        g.h[0] = d;
        for (int k = 1; k < 4; ++k)
            g.h[k] = g.ca[k - 1][0] * b[0] + g.ca[k - 1][1] * b[1];
        multiply(ak[3], a, g.a4);
    }

    static void multiply(const double (&l)[2][2], const double (&r)[2][2], double (&out)[2][2]) noexcept
    {
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
                out[i][j] = l[i][0] * r[0][j] + l[i][1] * r[1][j];
    }

    // Reflection coefficients, their cosines and the ladder taps (pass-through until setup()).
    double k1_ = 0.0, c1_ = 1.0, k2_ = 0.0, c2_ = 1.0;
    double v0_ = 1.0, v1_ = 0.0, v2_ = 0.0;
    Group group_{};
    bool groupReady_ = false; // group_ matches the coefficients above

    double s0_ = 0.0, s1_ = 0.0;       // the two delayed backward signals (at a group's start)
    std::array<double, 4> held_{};     // the inputs of the group so far
    std::uint32_t pos_ = 0;            // samples of the group done, 0..3
};

} // namespace chronus::dsp::fx
