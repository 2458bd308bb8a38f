// The last few seconds of a stereo signal, for meters and analysis: the audio thread writes
// every frame it plays and never waits; the control thread copies any recent stretch out
// and learns whether the writer overwrote it meanwhile (then it asks again).
//
// Producer: the audio thread (write()). Consumer: one control thread (written(), read()).
#pragma once

#include "common/rt.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronus {

class TapRing {
public:
    // Room for `frames` frames (rounded up to a power of two). Not RT-safe.
    explicit TapRing(std::size_t frames)
    {
        std::size_t n = 1;
        while (n < frames)
            n *= 2;
        mask_ = n - 1;
        left_.assign(n, 0.0f);
        right_.assign(n, 0.0f);
    }

    // Appends a block. Audio thread; RT-safe (copies only).
    CHRONUS_RT void write(const float *left, const float *right, std::size_t frames) noexcept
    {
        std::uint64_t at = written_.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < frames; ++i, ++at) {
            left_[at & mask_] = left[i];
            right_[at & mask_] = right[i];
        }
        written_.store(at, std::memory_order_release);
    }

    // Frames written since start-up.
    std::uint64_t written() const noexcept { return written_.load(std::memory_order_acquire); }
    std::size_t capacity() const noexcept { return mask_ + 1; }

    // Copies frames [from, from + frames) into the vectors; false when they are not (all)
    // in the ring any more, or were overwritten while being copied. Control thread.
    bool read(std::uint64_t from, std::size_t frames, std::vector<float> &left, std::vector<float> &right) const
    {
        const std::uint64_t end = from + frames;
        if (end > written() || written() - from > capacity())
            return false;
        left.resize(frames);
        right.resize(frames);
        for (std::size_t i = 0; i < frames; ++i) {
            left[i] = left_[(from + i) & mask_];
            right[i] = right_[(from + i) & mask_];
        }
        // The writer may have lapped us during the copy: the oldest frame must still be there.
        return written() - from <= capacity();
    }

private:
    std::vector<float> left_, right_;
    std::size_t mask_ = 0;
    std::atomic<std::uint64_t> written_{0};
};

} // namespace chronus
