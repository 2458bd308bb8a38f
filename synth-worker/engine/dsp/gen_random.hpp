// Deterministic pseudo-random numbers for the sound sources (noise, S&H, drums).
// Never seeded from a clock: the seed comes from Module::seed() (a hash of the node id),
// so both worker slots produce the same bits. Plain data, snapshot with one memcpy.
#pragma once

#include <cstdint>

namespace chronus::engine::dsp {

// xorshift64* (Vigna): 64-bit state, period 2^64 - 1, good enough for audio noise.
// All members RT-safe.
struct GenRandom {
    std::uint64_t state = 0x9E3779B97F4A7C15ull;

    // Spreads any seed (including 0) over the state with splitmix64; `stream` lets one
    // module draw several independent sequences from the same node seed.
    void seed(std::uint64_t seed, std::uint64_t stream = 0) noexcept
    {
        std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        state = z != 0 ? z : 0x9E3779B97F4A7C15ull; // xorshift must not start at 0
    }

    std::uint64_t nextU64() noexcept
    {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1Dull;
    }

    // Uniform in [0, 1), exactly representable (24 random bits).
    float unipolar() noexcept { return static_cast<float>(nextU64() >> 40) * (1.0f / 16777216.0f); }
    // Uniform in [-1, 1).
    float bipolar() noexcept { return 2.0f * unipolar() - 1.0f; }
};

} // namespace chronus::engine::dsp
