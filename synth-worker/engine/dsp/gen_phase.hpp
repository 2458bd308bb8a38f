// Oscillator phase as a 64-bit fixed-point fraction of a cycle.
//
// Integer phase is exact: adding the increment n times is the same as adding n times the
// increment (wrapping modulo one cycle for free), so the phase of every sample of a block
// is known without a chain of rounded additions: blocks vectorize, and the result never
// depends on where blocks start. The increment's rounding (2^-64 cycle per sample) is a
// frequency error below 1e-14 Hz: pitch is exact for every purpose. All functions RT-safe.
#pragma once

#include <cmath>
#include <cstdint>

namespace chronus::engine::dsp {

using Phase = std::uint64_t; // fraction of a cycle · 2^64

// Phase step per sample for `cyclesPerSample` (frequency / sample rate); only its fractional
// part counts (a whole number of cycles per sample is no motion).
inline Phase phaseIncrement(double cyclesPerSample) noexcept
{
    const double fraction = cyclesPerSample - std::floor(cyclesPerSample);
    const double scaled = fraction * 0x1p64;
    return scaled >= 0x1p64 ? 0 : static_cast<Phase>(scaled);
}

// The phase as a double in [0, 1) (its top 53 bits).
inline double phaseCycles(Phase phase) noexcept { return static_cast<double>(phase >> 11) * 0x1p-53; }

// The phase of the fractional part of `cycles`.
inline Phase phaseFromCycles(double cycles) noexcept { return phaseIncrement(cycles); }

// True when adding `increment` to `phase` completes a cycle (the sum wraps past 1).
inline bool wraps(Phase phase, Phase increment) noexcept { return phase + increment < phase; }

// How many cycles are completed while `frames` increments are added to `phase` (the
// carries out of the 64-bit sum, from the 96-bit product increment · frames).
inline std::uint64_t cyclesCompleted(Phase phase, Phase increment, std::uint32_t frames) noexcept
{
    // increment · frames = hi·2^32 + lo, both partial products below 2^64.
    const std::uint64_t lo = (increment & 0xFFFFFFFFu) * frames;
    const std::uint64_t hi = (increment >> 32) * frames;
    const std::uint64_t mid = (hi & 0xFFFFFFFFu) + (lo >> 32);
    const std::uint64_t low64 = (mid << 32) | (lo & 0xFFFFFFFFu);
    const std::uint64_t high64 = (hi >> 32) + (mid >> 32);
    return high64 + (phase + low64 < phase ? 1 : 0);
}

} // namespace chronus::engine::dsp
