// Band-limited single-cycle wavetables for the `osc` module: three tables per octave,
// each holding only the harmonics that stay below Nyquist for the highest phase
// increment it serves, so an oscillator reading the right table never aliases.
//
// The tables depend only on the phase increment (cycles per sample), not on the sample
// rate, so one immutable set is shared by every oscillator in the process. It is built on
// first use (thread-safe static initialisation, a few ms, allocates): call instance() from
// prepare(). table() and read() are RT-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

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

private:
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
