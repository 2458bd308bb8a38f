// RBJ-cookbook two-pole filter (Robert Bristow-Johnson, "Audio EQ Cookbook").
//
// RbjCoefficients::design() computes the cookbook's b0..b2, a1, a2 and converts them to a
// normalized lattice-ladder (Gray & Markel): the same transfer function, but each lattice
// section is a rotation, so the state energy can grow by at most the input energy per sample
// however fast the coefficients change. A direct form running the same coefficients explodes
// exponentially under audio-rate cutoff modulation at high Q (measured: 1e108 after 2 s at
// Q 28 with the cutoff swept ±2 kHz at 200 Hz); this does not.
//
// Retuning is separate from running: design() is a pure function of mode, frequency, Q and
// rate (polynomial sin and cos, a sqrt and three divisions, then the group matrices below;
// about 20 ns), so a module can compute several tunings back to back, where the
// processor overlaps them, and run the filter through them afterwards. RbjBiquad holds only
// the state and runs it with the coefficients it is handed, in two ways, both in double on
// the same state (the lattice's two memories):
//   process()   one lattice step (settle() uses it).
//   run()       samples in groups of four through the lattice's state-space matrices
//               (s[n+4] = A⁴s[n] + A³Bx[n] + A²Bx[n+1] + ABx[n+2] + Bx[n+3], each output
//               from s[n] and the group's inputs so far). The same filter with different
//               rounding; its loop-carried chain is one multiply and two adds per four
//               samples instead of two multiplies and two adds per sample, so it runs
//               several times as fast. Within a group the state stays at the group's start
//               (midGroup()); settle() brings it to the current sample by lattice steps
//               with the coefficients the group ran with, before other ones take over.
// All members RT-safe.
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

// One tuning: the lattice and the group matrices derived from it. Plain data; the default
// passes its input through.
struct RbjCoefficients {
    // The coefficients for `freqHz` (clamped to [1 Hz, 0.49·rate]) and `q` (clamped to
    // >= 0.05). Band-pass has 0 dB gain at its peak.
    static RbjCoefficients design(BiquadMode mode, double freqHz, double q, double sampleRate) noexcept;

    // State-space form of one lattice step, s' = A s + B x, y = C s + D x, taken four
    // samples at a time: y[n+k] = C A^k s + Σ_{j<=k} h[k-j] x[n+j] with h[0] = D,
    // h[i] = C A^(i-1) B; s[n+4] = A⁴ s + Σ_j A^(3-j) B x[n+j].
    struct Group {
        double ca[4][2];  // C A^k
        double h[4];      // impulse response
        double a4[2][2];  // A⁴
        double e[4][2];   // A^(3-j) B
    };

    // Reflection coefficients, their cosines and the ladder taps.
    double k1 = 0.0, c1 = 1.0, k2 = 0.0, c2 = 1.0;
    double v0 = 1.0, v1 = 0.0, v2 = 0.0;
    // Pass-through: A = [[0, 0], [1, 0]], B = (1, 0), C = 0, D = 1.
    Group group{{{0, 0}, {0, 0}, {0, 0}, {0, 0}}, {1, 0, 0, 0}, {{0, 0}, {0, 0}}, {{0, 0}, {0, 0}, {0, 1}, {1, 0}}};

private:
    struct Trig {
        double sin, cos, oneMinusCos;
    };
    static Trig trig(double half) noexcept;
    void prepareGroup() noexcept;
};

// The filter's state. All members RT-safe.
class RbjBiquad {
public:
    // One lattice step (the state must not be mid-group: settle() first).
    double process(const RbjCoefficients &c, double x) noexcept
    {
        const double f1 = c.c2 * x - c.k2 * s1_;
        const double g2 = c.k2 * x + c.c2 * s1_;
        const double f0 = c.c1 * f1 - c.k1 * s0_;
        const double g1 = c.k1 * f1 + c.c1 * s0_;
        s0_ = f0;
        s1_ = g1;
        return c.v0 * f0 + c.v1 * g1 + c.v2 * g2;
    }

    // `frames` samples in groups of four with the coefficients `c`, which must be the ones
    // of a group under way (or it must be settled). `in` may be nullptr (silence). The
    // output does not depend on how a run is split into calls.
    void run(const RbjCoefficients &c, const float *in, float *out, std::uint32_t frames) noexcept
    {
        if (in)
            runGrouped<true>(c.group, in, out, frames);
        else
            runGrouped<false>(c.group, in, out, frames);
    }

    // True inside a group: the state is still the group's start.
    bool midGroup() const noexcept { return pos_ != 0; }

    // Brings the state of a group under way to the current sample by lattice steps of its
    // inputs, with the coefficients `c` it was run with.
    void settle(const RbjCoefficients &c) noexcept
    {
        const std::uint32_t n = pos_;
        pos_ = 0;
        for (std::uint32_t k = 0; k < n; ++k)
            process(c, held_[k]);
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
    using Group = RbjCoefficients::Group;

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

    double groupedSample(const Group &g, double x) noexcept
    {
        const std::uint32_t k = pos_;
        held_[k] = x;
        const double y = output(g, k, s0_, s1_, held_.data());
        if (k == 3) {
            advance(g, s0_, s1_, held_.data());
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
    void runGrouped(const Group &g, const float *in, float *out, std::uint32_t frames) noexcept
    {
        auto input = [in](std::uint32_t i) { return HasInput ? static_cast<double>(in[i]) : 0.0; };
        std::uint32_t i = 0;
        for (; i < frames && pos_ != 0; ++i)
            out[i] = static_cast<float>(groupedSample(g, input(i)));
        if (frames - i < 4) {
            for (; i < frames; ++i)
                out[i] = static_cast<float>(groupedSample(g, input(i)));
            return;
        }
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
            out[i] = static_cast<float>(groupedSample(g, input(i)));
    }

    double s0_ = 0.0, s1_ = 0.0;       // the two delayed backward signals (at a group's start)
    std::array<double, 4> held_{};     // the inputs of the group so far
    std::uint32_t pos_ = 0;            // samples of the group done, 0..3
};

// ---------------------------------------------------------------------------------------
// Implementation of RbjCoefficients.

inline RbjCoefficients RbjCoefficients::design(BiquadMode mode, double freqHz, double q, double sampleRate) noexcept
{
    freqHz = std::clamp(freqHz, 1.0, 0.49 * sampleRate);
    q = std::max(q, 0.05);
    const Trig t = trig(std::numbers::pi * freqHz / sampleRate);
    const double s = t.sin, c = t.cos, oneMinusC = t.oneMinusCos;
    const double alpha = s / (2.0 * q);
    const double inv = 1.0 / (1.0 + alpha); // 1 / a0
    // Cookbook numerator and a1, all divided by a0.
    double b0 = 0, b1 = 0, b2 = 0;
    switch (mode) {
    case BiquadMode::Lowpass: b0 = 0.5 * oneMinusC * inv; b1 = 2.0 * b0; b2 = b0; break;
    case BiquadMode::Highpass: b0 = 0.5 * (2.0 - oneMinusC) * inv; b1 = -2.0 * b0; b2 = b0; break;
    case BiquadMode::Bandpass: b0 = alpha * inv; b1 = 0.0; b2 = -b0; break;
    case BiquadMode::Notch: b0 = inv; b1 = -2.0 * c * inv; b2 = inv; break;
    }
    const double a1 = -2.0 * c * inv;
    RbjCoefficients r;
    // Lattice: A(z) = 1 + k1(1 + k2) z^-1 + k2 z^-2, so k2 = a2 and k1 = a1 / (1 + a2)
    // = -cos w0; ci = sqrt(1 - ki²) written so it stays accurate when ki is near ±1.
    const double rootAlpha = std::sqrt(alpha);
    r.k1 = -c;
    r.c1 = s;
    r.k2 = (1.0 - alpha) * inv;
    r.c2 = 2.0 * rootAlpha * inv;
    // Ladder taps: B(z) = v0·c1·c2 + v1·c2·(k1 + z^-1) + v2·(k2 + a1 z^-1 + z^-2), solved
    // from the top: v1·c2 = b1 - v2·a1, v0·c1·c2 = b0 - v1·c2·k1 - v2·k2.
    // 1/c2 = (1 + alpha) / (2·sqrt(alpha)); one division serves it and 1/(c1·c2).
    const double d = 1.0 / (rootAlpha * s);
    const double overC1C2 = 0.5 * (1.0 + alpha) * d;
    const double overC2 = overC1C2 * s;
    const double v1c2 = b1 - b2 * a1;
    r.v2 = b2;
    r.v1 = v1c2 * overC2;
    r.v0 = (b0 + c * v1c2 - b2 * r.k2) * overC1C2;
    r.prepareGroup();
    return r;
}

// sin and cos of w0 = 2·half (0 < half < π/2) from the quarter angle's Taylor series
// (|quarter| < 0.78: the first omitted terms are below 1e-11 of the result) and two angle
// doublings; 1 - cos w0 comes out without cancellation at low frequencies.
inline RbjCoefficients::Trig RbjCoefficients::trig(double half) noexcept
{
    const double x = 0.5 * half, x2 = x * x;
    const double sq =
        x * (1.0 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 + x2 * (1.0 / 362880 + x2 * (-1.0 / 39916800))))));
    const double cq =
        1.0 + x2 * (-0.5 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320 + x2 * (-1.0 / 3628800 +
                                                                                     x2 * (1.0 / 479001600))))));
    // Doubling: sin 2x = 2 sin x cos x, 1 - cos 2x = 2 sin² x.
    const double sh = 2.0 * sq * cq, ch = 1.0 - 2.0 * sq * sq;
    const double oneMinusCos = 2.0 * sh * sh;
    return {2.0 * sh * ch, 1.0 - oneMinusCos, oneMinusCos};
}

inline void RbjCoefficients::prepareGroup() noexcept
{
    // One lattice step written out: f1 = c2 x - k2 s1, s0' = c1 f1 - k1 s0,
    // s1' = k1 f1 + c1 s0, g2 = k2 x + c2 s1, y = v0 s0' + v1 s1' + v2 g2.
    // Everything is in locals, stored once at the end (stores and loads of members in
    // between would chain through memory).
    const double a00 = -k1, a01 = -c1 * k2, a10 = c1, a11 = -k1 * k2;
    const double b0 = c1 * c2, b1 = k1 * c2;
    // Row vectors r_k = C A^k, column vectors u_k = A^k B.
    const double r00 = v0 * a00 + v1 * a10, r01 = v0 * a01 + v1 * a11 + v2 * c2;
    const double r10 = r00 * a00 + r01 * a10, r11 = r00 * a01 + r01 * a11;
    const double r20 = r10 * a00 + r11 * a10, r21 = r10 * a01 + r11 * a11;
    const double r30 = r20 * a00 + r21 * a10, r31 = r20 * a01 + r21 * a11;
    const double u10 = a00 * b0 + a01 * b1, u11 = a10 * b0 + a11 * b1;
    const double u20 = a00 * u10 + a01 * u11, u21 = a10 * u10 + a11 * u11;
    const double u30 = a00 * u20 + a01 * u21, u31 = a10 * u20 + a11 * u21;
    // A² and A⁴ = (A²)².
    const double p00 = a00 * a00 + a01 * a10, p01 = a00 * a01 + a01 * a11;
    const double p10 = a10 * a00 + a11 * a10, p11 = a10 * a01 + a11 * a11;
    Group &g = group;
    g.ca[0][0] = r00, g.ca[0][1] = r01, g.ca[1][0] = r10, g.ca[1][1] = r11;
    g.ca[2][0] = r20, g.ca[2][1] = r21, g.ca[3][0] = r30, g.ca[3][1] = r31;
    g.h[0] = v0 * b0 + v1 * b1 + v2 * k2;
    g.h[1] = r00 * b0 + r01 * b1;
    g.h[2] = r10 * b0 + r11 * b1;
    g.h[3] = r20 * b0 + r21 * b1;
    g.e[3][0] = b0, g.e[3][1] = b1, g.e[2][0] = u10, g.e[2][1] = u11;
    g.e[1][0] = u20, g.e[1][1] = u21, g.e[0][0] = u30, g.e[0][1] = u31;
    g.a4[0][0] = p00 * p00 + p01 * p10;
    g.a4[0][1] = p00 * p01 + p01 * p11;
    g.a4[1][0] = p10 * p00 + p11 * p10;
    g.a4[1][1] = p10 * p01 + p11 * p11;
}

} // namespace chronus::dsp::fx
