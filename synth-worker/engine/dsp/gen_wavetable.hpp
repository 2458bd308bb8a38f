// Band-limited single-cycle wavetables for the oscillators: for saw and triangle three
// tables per octave, each holding only the harmonics that stay below Nyquist for the
// highest phase increment it serves, so an oscillator reading the right table never
// aliases; and one sine table, which serves every frequency.
//
// The tables depend only on the phase increment (cycles per sample), not on the sample
// rate, so one immutable set is shared by every oscillator in the process. It is built on
// first use (thread-safe static initialisation, a few ms, allocates): call instance() from
// prepare(). table(), sine(), read() and run() are RT-safe.
//
// Reading interpolates linearly between the kSize points of a cycle at an integer phase
// (dsp/gen_phase.hpp). For the sine that is within 2.5e-7 of sin(2π·phase) (half the
// interpolation error (π/kSize)²/2, the points being raised to centre it, plus float
// rounding: about −132 dB); GenWavetables.SineTableIsWithinItsStatedErrorEverywhere
// measures it.
#pragma once

#include "synth-worker/engine/dsp/gen_phase.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace chronus::engine::dsp {

class GenWavetables {
public:
    static constexpr int kSizeBits = 12;
    static constexpr int kSize = 1 << kSizeBits; // samples per cycle
    static constexpr int kPerOctave = 3;       // tables per octave of phase increment
    static constexpr int kMaxHarmonics = 1024; // richest table (lowest notes)
    static constexpr int kTables = 32;         // enough to reach kMaxHarmonics
    enum Shape { Saw, Triangle, kShapes };

    // The shared set; builds it on the first call (not RT-safe then).
    static const GenWavetables &instance()
    {
        static const GenWavetables tables;
        return tables;
    }

    // Highest harmonic stored in table j: the largest h with h * top(j) < 0.5, where top(j)
    // = 0.5 * 2^(-j/3) is the highest increment table j serves (at least the fundamental).
    static int harmonics(int j) noexcept
    {
        const int h = static_cast<int>(std::ceil(std::exp2(static_cast<double>(j) / kPerOctave))) - 1;
        return std::clamp(h, 1, kMaxHarmonics);
    }

    // Index of the table for `increment` cycles per sample (0 <= increment < 0.5): the j
    // with top(j+1) < increment <= top(j), so every harmonic it holds is below Nyquist.
    static int index(double increment) noexcept
    {
        if (!(increment > 0.0))
            return kTables - 1;
        const double j = std::floor(-kPerOctave * std::log2(2.0 * increment));
        return j <= 0.0 ? 0 : j >= kTables - 1 ? kTables - 1 : static_cast<int>(j);
    }

    // Table for a shape and increment; kSize + 1 samples (the last repeats the first).
    const float *table(Shape shape, double increment) const noexcept
    {
        return data_.data() + (static_cast<std::size_t>(shape) * kTables + index(increment)) * (kSize + 1);
    }
    // The sine table (kSize + 1 samples), for every increment.
    const float *sine() const noexcept { return data_.data() + static_cast<std::size_t>(kShapes) * kTables * (kSize + 1); }

    // Linear interpolation at `phase`: the top kSizeBits bits pick the point, the next 24
    // the fraction towards the following one.
    static float read(const float *table, Phase phase) noexcept
    {
        const auto i = static_cast<std::uint32_t>(phase >> (64 - kSizeBits));
        const float frac = static_cast<float>(static_cast<std::int32_t>((phase >> (40 - kSizeBits)) & kFracMask)) *
                           0x1p-24f;
        return table[i] + frac * (table[i + 1] - table[i]);
    }

    // Fills out[i] = amp · read(table, phase + i·increment); returns the phase after the
    // last sample. Bit-identical to that loop: with SSE2 it reads four samples at a time,
    // each with the same operations.
    static Phase run(const float *table, Phase phase, Phase increment, float amp, float *out,
                     std::uint32_t frames) noexcept
    {
        std::uint32_t i = 0;
#if defined(__SSE2__)
        static_assert(kSizeBits == 12, "the lane arithmetic below takes 12 index bits and 24 fraction bits");
        const __m128 gain = _mm_set1_ps(amp);
        // Lanes hold the phases of samples i, i+1 (p01) and i+2, i+3 (p23).
        __m128i p01 = _mm_set_epi64x(static_cast<long long>(phase + increment), static_cast<long long>(phase));
        const __m128i step2 = _mm_set1_epi64x(static_cast<long long>(2 * increment));
        __m128i p23 = _mm_add_epi64(p01, step2);
        const __m128i step4 = _mm_add_epi64(step2, step2);
        for (; i + 4 <= frames; i += 4) {
            // The high and low 32-bit halves of the four phases.
            const __m128i hi = _mm_castps_si128(
                _mm_shuffle_ps(_mm_castsi128_ps(p01), _mm_castsi128_ps(p23), _MM_SHUFFLE(3, 1, 3, 1)));
            const __m128i lo = _mm_castps_si128(
                _mm_shuffle_ps(_mm_castsi128_ps(p01), _mm_castsi128_ps(p23), _MM_SHUFFLE(2, 0, 2, 0)));
            // Fraction: phase bits 51..28, i.e. the high half's low 20 bits and the low half's top 4.
            const __m128i fracBits = _mm_and_si128(_mm_or_si128(_mm_slli_epi32(hi, 4), _mm_srli_epi32(lo, 28)),
                                                   _mm_set1_epi32(kFracMask));
            const __m128 frac = _mm_mul_ps(_mm_cvtepi32_ps(fracBits), _mm_set1_ps(0x1p-24f));
            alignas(16) std::uint32_t index[4];
            _mm_store_si128(reinterpret_cast<__m128i *>(index), _mm_srli_epi32(hi, 32 - kSizeBits));
            // Each load brings table[i] and table[i + 1].
            auto pair = [table](std::uint32_t k) {
                return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(table + k)));
            };
            const __m128 l = _mm_unpacklo_ps(pair(index[0]), pair(index[1])); // a0 a1 b0 b1
            const __m128 h = _mm_unpacklo_ps(pair(index[2]), pair(index[3])); // a2 a3 b2 b3
            const __m128 a = _mm_movelh_ps(l, h), b = _mm_movehl_ps(h, l);
            _mm_storeu_ps(out + i, _mm_mul_ps(gain, _mm_add_ps(a, _mm_mul_ps(frac, _mm_sub_ps(b, a)))));
            p01 = _mm_add_epi64(p01, step4);
            p23 = _mm_add_epi64(p23, step4);
        }
        phase += increment * i; // exact: integer phase
#endif
        for (; i < frames; ++i) {
            out[i] = amp * read(table, phase);
            phase += increment;
        }
        return phase;
    }

private:
    static constexpr std::uint32_t kFracMask = 0xFFFFFF;

    GenWavetables() : data_((static_cast<std::size_t>(kShapes) * kTables + 1) * (kSize + 1))
    {
        std::vector<double> sinePoints(kSize);
        for (int n = 0; n < kSize; ++n)
            sinePoints[n] = std::sin(2.0 * std::numbers::pi * n / kSize);
        // A chord between two points of the sine falls short of the arc by up to
        // (1 - cos(pi / kSize)) of the sine's value in the middle; points raised by half of
        // that centre the error (the minimax choice), halving it.
        const double lift = 1.0 + 0.5 * (1.0 - std::cos(std::numbers::pi / kSize));
        float *sineTable = data_.data() + static_cast<std::size_t>(kShapes) * kTables * (kSize + 1);
        for (int n = 0; n < kSize; ++n)
            sineTable[n] = static_cast<float>(lift * sinePoints[n]);
        sineTable[kSize] = sineTable[0];
        // Table j holds harmonics 1..harmonics(j), a count that never decreases with j, so
        // one running sum serves every table of a shape: table j is the sum after its last
        // harmonic, the same additions in the same order as summing it from zero.
        std::vector<double> acc(kSize);
        for (int shape = 0; shape < kShapes; ++shape) {
            std::fill(acc.begin(), acc.end(), 0.0);
            int summed = 0;
            for (int j = 0; j < kTables; ++j) {
                for (int h = summed + 1; h <= harmonics(j); ++h) {
                    const double a = amplitude(static_cast<Shape>(shape), h);
                    if (a == 0.0)
                        continue;
                    // h * n modulo kSize indexes the sine exactly: no accumulated phase error.
                    for (int n = 0; n < kSize; ++n)
                        acc[n] += a * sinePoints[(static_cast<std::uint32_t>(h) * n) & (kSize - 1)];
                }
                summed = std::max(summed, harmonics(j));
                float *t = data_.data() + (static_cast<std::size_t>(shape) * kTables + j) * (kSize + 1);
                for (int n = 0; n < kSize; ++n)
                    t[n] = static_cast<float>(acc[n]);
                t[kSize] = t[0];
            }
        }
    }

    // Fourier sine coefficients: saw rises from -1 to 1 over the cycle (2*phase - 1);
    // triangle starts at 0 rising, peaks at +1 at a quarter cycle.
    static double amplitude(Shape shape, int h) noexcept
    {
        constexpr double pi = std::numbers::pi;
        if (shape == Saw)
            return -2.0 / (pi * h);
        if (h % 2 == 0)
            return 0.0;
        const double sign = (h / 2) % 2 == 0 ? 1.0 : -1.0;
        return sign * 8.0 / (pi * pi * h * h);
    }

    std::vector<float> data_; // [shape][table][kSize + 1], then the sine table
};

} // namespace chronus::engine::dsp
