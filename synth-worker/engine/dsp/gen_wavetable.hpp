// Band-limited single-cycle wavetables for the `osc` module: three tables per octave,
// each holding only the harmonics that stay below Nyquist for the highest phase
// increment it serves, so an oscillator reading the right table never aliases.
//
// The tables depend only on the phase increment (cycles per sample), not on the sample
// rate, so one immutable set is shared by every oscillator in the process. It is built on
// first use (thread-safe static initialisation, a few ms, allocates): call instance() from
// prepare(). table(), read() and run() are RT-safe.
#pragma once

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
    static constexpr int kSize = 4096;         // samples per cycle (power of two)
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

    // Linear interpolation at `phase` in cycles, 0 <= phase < 1.
    static float read(const float *table, double phase) noexcept
    {
        const double pos = phase * kSize;
        const int i = static_cast<int>(pos);
        const float frac = static_cast<float>(pos - i);
        return table[i] + frac * (table[i + 1] - table[i]);
    }

    // Fills out[i] = amp · read(table, phase), the phase advancing by `increment`
    // (0 <= increment < 0.5) after each sample and wrapping by one subtraction when it
    // reaches 1; returns the phase after the last sample. Bit-identical to that loop: with
    // SSE2 it reads four samples at a time, each with the same operations.
    static double run(const float *table, double phase, double increment, float amp, float *out,
                      std::uint32_t frames) noexcept
    {
        // In table units: scaling by a power of two commutes with rounding, so pos is
        // exactly phase · kSize at every sample.
        double pos = phase * kSize;
        const double step = increment * kSize;
        std::uint32_t i = 0;
#if defined(__SSE2__)
        const __m128 gain = _mm_set1_ps(amp);
        for (; i + 4 <= frames; i += 4) {
            double p1 = pos + step, p2 = p1 + step, p3 = p2 + step, next = p3 + step;
            if (next >= kSize) { // a wrap in here (positions never decrease otherwise)
                p1 = wrap(pos + step);
                p2 = wrap(p1 + step);
                p3 = wrap(p2 + step);
                next = wrap(p3 + step);
            }
            const __m128d pos01 = _mm_set_pd(p1, pos), pos23 = _mm_set_pd(p3, p2);
            const __m128i int01 = _mm_cvttpd_epi32(pos01), int23 = _mm_cvttpd_epi32(pos23);
            const __m128 frac = _mm_movelh_ps(_mm_cvtpd_ps(_mm_sub_pd(pos01, _mm_cvtepi32_pd(int01))),
                                              _mm_cvtpd_ps(_mm_sub_pd(pos23, _mm_cvtepi32_pd(int23))));
            alignas(16) std::int32_t index[4];
            _mm_store_si128(reinterpret_cast<__m128i *>(index), _mm_unpacklo_epi64(int01, int23));
            // Each load brings table[i] and table[i + 1].
            auto pair = [table](std::int32_t k) {
                return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(table + k)));
            };
            const __m128 lo = _mm_unpacklo_ps(pair(index[0]), pair(index[1])); // a0 a1 b0 b1
            const __m128 hi = _mm_unpacklo_ps(pair(index[2]), pair(index[3])); // a2 a3 b2 b3
            const __m128 a = _mm_movelh_ps(lo, hi), b = _mm_movehl_ps(hi, lo);
            _mm_storeu_ps(out + i, _mm_mul_ps(gain, _mm_add_ps(a, _mm_mul_ps(frac, _mm_sub_ps(b, a)))));
            pos = next;
        }
#endif
        for (; i < frames; ++i) {
            out[i] = amp * read(table, pos * (1.0 / kSize));
            pos = wrap(pos + step);
        }
        return pos * (1.0 / kSize);
    }

private:
    static double wrap(double pos) noexcept { return pos >= kSize ? pos - kSize : pos; }

    GenWavetables() : data_(static_cast<std::size_t>(kShapes) * kTables * (kSize + 1))
    {
        std::vector<double> sine(kSize);
        for (int n = 0; n < kSize; ++n)
            sine[n] = std::sin(2.0 * std::numbers::pi * n / kSize);
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
                        acc[n] += a * sine[(static_cast<std::uint32_t>(h) * n) & (kSize - 1)];
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

    std::vector<float> data_; // [shape][table][kSize + 1]
};

} // namespace chronus::engine::dsp
