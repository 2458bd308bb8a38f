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
// rate (polynomial sin and cos, a sqrt and three divisions, then the group matrices below),
// and RbjDesignBatch computes up to eight tunings at once, four lanes to an instruction (or
// two, without AVX), bit for bit what design() gives each: about 11 ns a tuning with AVX,
// 17 without, where design() one at a time took 35. A module retunes several control points
// back to back and runs the filter through them afterwards.
// Coefficients are read through an RbjView, so the filter runs from either. RbjBiquad holds only
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
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numbers>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace chronus::dsp::fx {

enum class BiquadMode { Lowpass, Highpass, Bandpass, Notch };

// Where the coefficients of one tuning are: field f at p[f · stride] (an RbjCoefficients,
// stride 1, or one lane of an RbjDesignBatch, stride RbjDesignBatch::kLanes: the two strides
// RbjBiquad's loop is compiled for).
struct RbjView {
    const double *p;
    std::size_t stride;
    double operator[](std::size_t field) const noexcept { return p[field * stride]; }
};

// The fields of a tuning. The lattice: reflection coefficients, their cosines and the ladder
// taps. Then the state-space form of one lattice step, s' = A s + B x, y = C s + D x, taken
// four samples at a time: y[n+k] = C A^k s + Σ_{j<=k} h[k-j] x[n+j] with h[0] = D,
// h[i] = C A^(i-1) B; s[n+4] = A⁴ s + Σ_j A^(3-j) B x[n+j].
namespace rbj {
enum Field : std::size_t {
    K1, C1, K2, C2, V0, V1, V2,
    Ca = 7,  // C A^k: element i at Ca + 2k + i
    H = 15,  // impulse response: h[k] at H + k
    A4 = 19, // A⁴: element (i, j) at A4 + 2i + j
    E = 23,  // A^(3-j) B: element i at E + 2j + i
    kFields = 31,
};
} // namespace rbj

// One tuning. Plain data; the default passes its input through.
struct RbjCoefficients {
    // The coefficients for `freqHz` (clamped to [1 Hz, 0.49·rate]) and `q` (clamped to
    // >= 0.05). Band-pass has 0 dB gain at its peak.
    static RbjCoefficients design(BiquadMode mode, double freqHz, double q, double sampleRate) noexcept;

    RbjView view() const noexcept { return {values.data(), 1}; }

    // Pass-through: lattice k = 0, c = 1, v = (1, 0, 0); A = [[0, 0], [1, 0]], B = (1, 0),
    // C = 0, D = 1.
    std::array<double, rbj::kFields> values{0, 1, 0, 1, 1, 0, 0, /* C A^k */ 0, 0, 0, 0, 0, 0, 0, 0,
                                            /* h */ 1, 0, 0, 0, /* A⁴ */ 0, 0, 0, 0,
                                            /* A^(3-j) B */ 0, 0, 0, 0, 0, 1, 1, 0};
};

// What a filter needs designed: RbjCoefficients::design()'s arguments but the rate.
struct RbjTuning {
    BiquadMode mode;
    double freqHz;
    double q;
};

// Up to kLanes tunings designed together, four lanes to an instruction pair (a structure of
// arrays): for a module that retunes often, about a third of the cost of as many design()s.
// Lane l holds, bit for bit, what design() gives for tunings[l]: the same operations in the
// same order on each lane (IEEE arithmetic, no contraction). All members RT-safe.
class RbjDesignBatch {
public:
    static constexpr std::size_t kLanes = 8;

    // Designs tunings[0..n) for `sampleRate` (n <= kLanes) into lanes 0..n-1.
    void design(const RbjTuning *tunings, std::size_t n, double sampleRate) noexcept;

    RbjView lane(std::size_t l) const noexcept { return {&values_[0][l], kLanes}; }
    // Copies lane l into `c`.
    void copy(std::size_t l, RbjCoefficients &c) const noexcept
    {
#pragma GCC unroll 31
        for (std::size_t f = 0; f < rbj::kFields; ++f)
            c.values[f] = values_[f][l];
    }

private:
    static constexpr std::size_t kWidth = 4;
    using Lanes = double __attribute__((vector_size(kWidth * sizeof(double))));

    // Scratch: only lanes design() wrote are read, so it is not cleared (a module keeps one
    // on its stack for each batch of retunes).
    alignas(32) double values_[rbj::kFields][kLanes];
};

// The filter's state. All members RT-safe.
class RbjBiquad {
public:
    // One lattice step (the state must not be mid-group: settle() first).
    double process(RbjView c, double x) noexcept
    {
        using namespace rbj;
        const double f1 = c[C2] * x - c[K2] * s1_;
        const double g2 = c[K2] * x + c[C2] * s1_;
        const double f0 = c[C1] * f1 - c[K1] * s0_;
        const double g1 = c[K1] * f1 + c[C1] * s0_;
        s0_ = f0;
        s1_ = g1;
        return c[V0] * f0 + c[V1] * g1 + c[V2] * g2;
    }

    // `frames` samples in groups of four with the coefficients `c`, which must be the ones
    // of a group under way (or it must be settled). `in` may be nullptr (silence). The
    // output does not depend on how a run is split into calls.
    void run(RbjView c, const float *in, float *out, std::uint32_t frames) noexcept
    {
        if (in)
            runGrouped<true>(c, in, out, frames);
        else
            runGrouped<false>(c, in, out, frames);
    }

    // Runs `count` segments back to back, segment k being samples [at[k], at[k + 1]) of
    // `in` and `out` with the coefficients c[k]: run() for each, a group under way where the
    // coefficients change settled first with the ones it ran with. Between segments of
    // whole groups the state stays in registers. `in` may be nullptr (silence).
    void runSegments(const RbjView *c, const std::uint32_t *at, std::size_t count, const float *in,
                     float *out) noexcept
    {
        if (in)
            segments<true>(c, at, count, in, out);
        else
            segments<false>(c, at, count, in, out);
    }

    // True inside a group: the state is still the group's start.
    bool midGroup() const noexcept { return pos_ != 0; }

    // Brings the state of a group under way to the current sample by lattice steps of its
    // inputs, with the coefficients `c` it was run with.
    void settle(RbjView c) noexcept
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
    using Group = RbjView;

    // The scalar arithmetic of a group, written once: output k of a group from its start
    // state and inputs x[0..k], and the state after it. runGrouped() does the same in
    // two-lane vectors, lane by lane in this order (a + b == b + a exactly, so a lane may
    // name the two terms of a sum the other way round).
    static double output(Group g, std::uint32_t k, double s0, double s1, const double *x) noexcept
    {
        using namespace rbj;
        double y = g[Ca + 2 * k] * s0 + g[Ca + 2 * k + 1] * s1;
        for (std::uint32_t j = 0; j <= k; ++j)
            y = y + g[H + k - j] * x[j];
        return y;
    }
    // The memory terms go in last: they are the loop-carried chain.
    static void advance(Group g, double &s0, double &s1, const double *x) noexcept
    {
        using namespace rbj;
        const double in0 = (g[E + 0] * x[0] + g[E + 2] * x[1]) + (g[E + 4] * x[2] + g[E + 6] * x[3]);
        const double in1 = (g[E + 1] * x[0] + g[E + 3] * x[1]) + (g[E + 5] * x[2] + g[E + 7] * x[3]);
        const double n0 = (in0 + g[A4 + 1] * s1) + g[A4 + 0] * s0;
        const double n1 = (in1 + g[A4 + 2] * s0) + g[A4 + 3] * s1;
        s0 = n0;
        s1 = n1;
    }

    double groupedSample(Group g, double x) noexcept
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
    void runGrouped(Group g, const float *in, float *out, std::uint32_t frames) noexcept
    {
        auto input = [in](std::uint32_t i) { return HasInput ? static_cast<double>(in[i]) : 0.0; };
        std::uint32_t i = 0;
        for (; i < frames && pos_ != 0; ++i)
            out[i] = static_cast<float>(groupedSample(g, input(i)));
        if (frames - i >= 4) {
            const std::uint32_t whole = (frames - i) & ~3u;
            const Double2 s = groups<HasInput>(g, HasInput ? in + i : nullptr, out + i, whole, Double2{s0_, s1_});
            s0_ = s[0];
            s1_ = s[1];
            i += whole;
        }
        for (; i < frames; ++i)
            out[i] = static_cast<float>(groupedSample(g, input(i)));
    }

    template <bool HasInput>
    void segments(const RbjView *c, const std::uint32_t *at, std::size_t count, const float *in, float *out) noexcept
    {
        Double2 s{s0_, s1_};
        for (std::size_t k = 0; k < count; ++k) {
            const std::uint32_t from = at[k], frames = at[k + 1] - from;
            const float *x = HasInput ? in + from : nullptr;
            if (frames == 0 && pos_ == 0)
                continue; // nothing runs with c[k], and no group under way needs settling
            if (pos_ == 0 && frames % 4 == 0) {
                s = groups<HasInput>(c[k], x, out + from, frames, s);
                continue;
            }
            s0_ = s[0];
            s1_ = s[1];
            if (k > 0 && pos_ != 0)
                settle(c[k - 1]);
            runGrouped<HasInput>(c[k], x, out + from, frames);
            s = Double2{s0_, s1_};
        }
        s0_ = s[0];
        s1_ = s[1];
    }

    // `frames` (a multiple of four) samples as whole groups from state `s` (lane l memory
    // l); returns the state after them.
    template <bool HasInput>
    static Double2 groups(Group g, const float *in, float *out, std::uint32_t frames, Double2 s) noexcept
    {
        // The stride known at compile time: the coefficients are then loaded from fixed
        // offsets.
        if (g.stride == 1)
            return groups<HasInput, 1>(g.p, in, out, frames, s);
        return groups<HasInput, RbjDesignBatch::kLanes>(g.p, in, out, frames, s);
    }
    template <bool HasInput, std::size_t Stride>
    __attribute__((noinline)) static Double2 groups(const double *p, const float *in, float *out,
                                                    std::uint32_t frames, Double2 s) noexcept
    {
        using namespace rbj;
        auto ca = [p](std::size_t k, std::size_t i) { return p[(Ca + 2 * k + i) * Stride]; };
        auto h = [p](std::size_t k) { return p[(H + k) * Stride]; };
        auto e = [p](std::size_t j, std::size_t i) { return p[(E + 2 * j + i) * Stride]; };
        auto a4 = [p](std::size_t i, std::size_t j) { return p[(A4 + 2 * i + j) * Stride]; };
        // Outputs: lanes (y0, y1) and (y2, y3). Memories: lane l is memory l; `sw` holds
        // the memories the other way round, `xw` the inputs.
        const Double2 ya0{ca(0, 0), ca(1, 1)}, ya1{ca(0, 1), ca(1, 0)};
        const Double2 yb0{ca(2, 0), ca(3, 1)}, yb1{ca(2, 1), ca(3, 0)};
        const Double2 ha0{h(0), h(1)}, ha1{0.0, h(0)};
        const Double2 hb0{h(2), h(3)}, hb1{h(1), h(2)}, hb2{h(0), h(1)}, hb3{0.0, h(0)};
        const Double2 e01{e(0, 0), e(1, 1)}, e01w{e(1, 0), e(0, 1)};
        const Double2 e23{e(2, 0), e(3, 1)}, e23w{e(3, 0), e(2, 1)};
        const Double2 along{a4(0, 0), a4(1, 1)}, across{a4(0, 1), a4(1, 0)};
        for (std::uint32_t i = 0; i < frames; i += 4) {
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
        return s;
    }

    double s0_ = 0.0, s1_ = 0.0;       // the two delayed backward signals (at a group's start)
    std::array<double, 4> held_{};     // the inputs of the group so far
    std::uint32_t pos_ = 0;            // samples of the group done, 0..3
};

// ---------------------------------------------------------------------------------------
// Implementation of RbjCoefficients.

namespace rbj {

inline void root(double x, double &r) noexcept { r = std::sqrt(x); }
// Lane by lane (sqrtpd rounds each lane as sqrtsd does).
template <typename Lanes>
inline void root(const Lanes &x, Lanes &r) noexcept
{
#if defined(__SSE2__)
    static_assert(sizeof(Lanes) % sizeof(__m128d) == 0);
    for (std::size_t l = 0; l < sizeof(Lanes) / sizeof(double); l += 2) {
        const __m128d pair = _mm_sqrt_pd(_mm_set_pd(x[l + 1], x[l]));
        r[l] = _mm_cvtsd_f64(pair);
        r[l + 1] = _mm_cvtsd_f64(_mm_unpackhi_pd(pair, pair));
    }
#else
    for (std::size_t l = 0; l < sizeof(Lanes) / sizeof(double); ++l)
        r[l] = std::sqrt(x[l]);
#endif
}

// The cookbook numerator of `mode`, divided by a0 = 1 + alpha (inv = 1 / a0), for a
// double or for lanes that share the mode.
template <typename T>
inline void numerator(BiquadMode mode, const T &oneMinusC, const T &c, const T &alpha, const T &inv, T &b0, T &b1,
                      T &b2) noexcept
{
    switch (mode) {
    case BiquadMode::Lowpass: b0 = 0.5 * oneMinusC * inv; b1 = 2.0 * b0; b2 = b0; return;
    case BiquadMode::Highpass: b0 = 0.5 * (2.0 - oneMinusC) * inv; b1 = -2.0 * b0; b2 = b0; return;
    case BiquadMode::Bandpass: b0 = alpha * inv; b1 = T{}; b2 = -b0; return;
    case BiquadMode::Notch: b0 = inv; b1 = -2.0 * c * inv; b2 = inv; return;
    }
    b0 = b1 = b2 = T{};
}

// The design, written once for a double and for lanes of doubles (every operation is
// element-wise, so each lane is the double computation). `quarter` = π·freq/(2·rate) and
// `halfOverQ` = 0.5/q, both clamped first; numerators(oneMinusC, c, alpha, inv, b0, b1, b2)
// sets the numerator per lane; out(field, value) takes each field.
//
// Written for latency: a batch is one chain of dependent operations per lane group, so
// what is independent of the frequency (0.5/q) is computed beside the chain, polynomials
// go by Estrin's scheme (powers of x², not Horner's nesting), and A³ and A⁴ are built from
// A² rather than one power after the other.
template <typename T, typename Numerators, typename Out>
inline void design(const T &quarter, const T &halfOverQ, Numerators numerators, Out out) noexcept
{
    // sin and cos of w0 = 4·quarter (0 < quarter < π/4) from the quarter angle's Taylor
    // series (the first omitted terms are below 1e-11 of the result) and two angle
    // doublings; 1 - cos w0 comes out without cancellation at low frequencies.
    const T x = quarter, x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
    const T sq = x * (((1.0 + x2 * (-1.0 / 6)) + x4 * (1.0 / 120 + x2 * (-1.0 / 5040))) +
                      x8 * (1.0 / 362880 + x2 * (-1.0 / 39916800)));
    const T cq = ((1.0 + x2 * -0.5) + x4 * (1.0 / 24 + x2 * (-1.0 / 720))) +
                 x8 * ((1.0 / 40320 + x2 * (-1.0 / 3628800)) + x4 * (1.0 / 479001600));
    // Doubling: sin 2x = 2 sin x cos x, 1 - cos 2x = 2 sin² x.
    const T sh = 2.0 * sq * cq, ch = 1.0 - 2.0 * sq * sq;
    const T oneMinusC = 2.0 * sh * sh;
    const T s = 2.0 * sh * ch, c = 1.0 - oneMinusC;
    const T alpha = s * halfOverQ;
    const T inv = 1.0 / (1.0 + alpha); // 1 / a0
    T b0, b1, b2;
    numerators(oneMinusC, c, alpha, inv, b0, b1, b2);
    const T a1 = -2.0 * c * inv;
    // Lattice: A(z) = 1 + k1(1 + k2) z^-1 + k2 z^-2, so k2 = a2 and k1 = a1 / (1 + a2)
    // = -cos w0; ci = sqrt(1 - ki²) written so it stays accurate when ki is near ±1.
    T rootAlpha;
    root(alpha, rootAlpha);
    const T k1 = -c, c1 = s, k2 = (1.0 - alpha) * inv, c2 = 2.0 * rootAlpha * inv;
    // Ladder taps: B(z) = v0·c1·c2 + v1·c2·(k1 + z^-1) + v2·(k2 + a1 z^-1 + z^-2), solved
    // from the top: v1·c2 = b1 - v2·a1, v0·c1·c2 = b0 - v1·c2·k1 - v2·k2.
    // 1/c2 = (1 + alpha) / (2·sqrt(alpha)); one division serves it and 1/(c1·c2).
    const T d = 1.0 / (rootAlpha * s);
    const T overC1C2 = 0.5 * (1.0 + alpha) * d;
    const T overC2 = overC1C2 * s;
    const T v1c2 = b1 - b2 * a1;
    const T v2 = b2, v1 = v1c2 * overC2, v0 = (b0 + c * v1c2 - b2 * k2) * overC1C2;
    out(K1, k1), out(C1, c1), out(K2, k2), out(C2, c2), out(V0, v0), out(V1, v1), out(V2, v2);

    // The group matrices. One lattice step written out: f1 = c2 x - k2 s1, s0' = c1 f1 - k1 s0,
    // s1' = k1 f1 + c1 s0, g2 = k2 x + c2 s1, y = v0 s0' + v1 s1' + v2 g2.
    const T a00 = -k1, a01 = -c1 * k2, a10 = c1, a11 = -k1 * k2;
    const T bb0 = c1 * c2, bb1 = k1 * c2;
    // A², then row vectors r_k = C A^k and column vectors u_k = A^k B, A⁴ = (A²)².
    const T p00 = a00 * a00 + a01 * a10, p01 = a00 * a01 + a01 * a11;
    const T p10 = a10 * a00 + a11 * a10, p11 = a10 * a01 + a11 * a11;
    const T r00 = v0 * a00 + v1 * a10, r01 = v0 * a01 + v1 * a11 + v2 * c2;
    const T r10 = r00 * a00 + r01 * a10, r11 = r00 * a01 + r01 * a11;
    const T r20 = r00 * p00 + r01 * p10, r21 = r00 * p01 + r01 * p11;
    const T r30 = r10 * p00 + r11 * p10, r31 = r10 * p01 + r11 * p11;
    const T u10 = a00 * bb0 + a01 * bb1, u11 = a10 * bb0 + a11 * bb1;
    const T u20 = p00 * bb0 + p01 * bb1, u21 = p10 * bb0 + p11 * bb1;
    const T u30 = p00 * u10 + p01 * u11, u31 = p10 * u10 + p11 * u11;
    out(Ca + 0, r00), out(Ca + 1, r01), out(Ca + 2, r10), out(Ca + 3, r11);
    out(Ca + 4, r20), out(Ca + 5, r21), out(Ca + 6, r30), out(Ca + 7, r31);
    out(H + 0, v0 * bb0 + v1 * bb1 + v2 * k2);
    out(H + 1, r00 * bb0 + r01 * bb1);
    out(H + 2, r10 * bb0 + r11 * bb1);
    out(H + 3, r20 * bb0 + r21 * bb1);
    out(A4 + 0, p00 * p00 + p01 * p10);
    out(A4 + 1, p00 * p01 + p01 * p11);
    out(A4 + 2, p10 * p00 + p11 * p10);
    out(A4 + 3, p10 * p01 + p11 * p11);
    out(E + 0, u30), out(E + 1, u31), out(E + 2, u20), out(E + 3, u21);
    out(E + 4, u10), out(E + 5, u11), out(E + 6, bb0), out(E + 7, bb1);
}

// What design() takes of a tuning: its frequency and q, clamped, and the factor from
// frequency to the quarter angle, π/(2·rate).
inline double clampFreq(double freqHz, double sampleRate) noexcept { return std::clamp(freqHz, 1.0, 0.49 * sampleRate); }
inline double clampQ(double q) noexcept { return std::max(q, 0.05); }
inline double quarterPerHz(double sampleRate) noexcept { return 0.5 * (std::numbers::pi / sampleRate); }


} // namespace rbj

inline RbjCoefficients RbjCoefficients::design(BiquadMode mode, double freqHz, double q, double sampleRate) noexcept
{
    RbjCoefficients r;
    rbj::design(
        rbj::quarterPerHz(sampleRate) * rbj::clampFreq(freqHz, sampleRate), 0.5 / rbj::clampQ(q),
        [mode](double oneMinusC, double c, double alpha, double inv, double &b0, double &b1, double &b2) {
            rbj::numerator(mode, oneMinusC, c, alpha, inv, b0, b1, b2);
        },
        [&r](std::size_t field, double value) { r.values[field] = value; });
    return r;
}

// Also compiled for AVX, picked at load time where the processor has it: four lanes to an
// instruction instead of two. The same IEEE operations either way (AVX without FMA, and
// contraction is off), so the same bits on every machine.
__attribute__((target_clones("avx", "default"))) inline void RbjDesignBatch::design(const RbjTuning *tunings,
                                                                                     std::size_t n,
                                                                                     double sampleRate) noexcept
{
    for (std::size_t first = 0; first < n; first += kWidth) {
        // Lanes past n repeat the first of this group (computed, never read).
        Lanes freq, q;
        BiquadMode modes[kWidth];
        bool oneMode = true;
        for (std::size_t l = 0; l < kWidth; ++l) {
            const RbjTuning &t = tunings[first + l < n ? first + l : first];
            freq[l] = rbj::clampFreq(t.freqHz, sampleRate);
            q[l] = rbj::clampQ(t.q);
            modes[l] = t.mode;
            oneMode = oneMode && t.mode == modes[0];
        }
        const Lanes quarter = rbj::quarterPerHz(sampleRate) * freq, halfOverQ = 0.5 / q;
        rbj::design(
            quarter, halfOverQ,
            [&modes, oneMode](const Lanes &oneMinusC, const Lanes &c, const Lanes &alpha, const Lanes &inv,
                              Lanes &b0, Lanes &b1, Lanes &b2) {
                if (oneMode) {
                    rbj::numerator(modes[0], oneMinusC, c, alpha, inv, b0, b1, b2);
                    return;
                }
                for (std::size_t l = 0; l < kWidth; ++l) {
                    double n0, n1, n2;
                    rbj::numerator(modes[l], oneMinusC[l], c[l], alpha[l], inv[l], n0, n1, n2);
                    b0[l] = n0, b1[l] = n1, b2[l] = n2;
                }
            },
            [this, first](std::size_t field, const Lanes &value) {
                std::memcpy(&values_[field][first], &value, sizeof value);
            });
    }
}

} // namespace chronus::dsp::fx
