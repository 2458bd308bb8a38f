// The recorder's audio ring: whole interleaved frames from the JACK thread (producer) to
// the disk thread (consumer), plus a queue of timeline events (start, gap, stop) placed at
// exact positions in the frame sequence. Preallocated and prefaulted; never allocates after
// construction.
#pragma once

#include "rt.hpp"
#include "spsc_queue.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace chronus::rec {

// A timeline event. `ringFrame` is the number of frames written to the ring before the
// event, so the consumer applies it exactly between two frames.
struct TimelineEvent {
    enum class Kind : std::uint8_t {
        Start, // capture (re)started; the next ring frame is JACK frame `jackFrame`
        Gap,   // `frames` frames were lost here (ring full, or JACK skipped cycles)
        Stop,  // capture stopped; no frames follow until the next Start
    };
    Kind kind = Kind::Start;
    std::uint64_t ringFrame = 0;
    std::uint64_t jackFrame = 0;
    std::uint64_t frames = 0;
};

class FrameRing {
public:
    // Allocates and prefaults capacityFrames × channels floats and tries to mlock them.
    FrameRing(std::size_t channels, std::size_t capacityFrames);
    ~FrameRing();
    FrameRing(const FrameRing &) = delete;
    FrameRing &operator=(const FrameRing &) = delete;

    std::size_t channels() const noexcept { return channels_; }
    std::size_t capacityFrames() const noexcept { return capacity_; }
    bool locked() const noexcept { return locked_; }

    // --- producer (JACK thread) ---
    // Frames that can be written now. RT-safe.
    CHRONUS_RT std::size_t writableFrames() const noexcept
    {
        return capacity_ - std::size_t(written_.load(std::memory_order_relaxed) - read_.load(std::memory_order_acquire));
    }
    // Interleaves `frames` frames from one buffer per channel. Caller checked writableFrames().
    CHRONUS_RT void write(const float *const *channelData, std::size_t frames) noexcept
    {
        std::uint64_t w = written_.load(std::memory_order_relaxed);
        std::size_t done = 0;
        while (done < frames) {
            const std::size_t pos = std::size_t(w % capacity_);
            const std::size_t n = std::min(frames - done, capacity_ - pos);
            float *out = data_ + pos * channels_;
            if (channels_ == 2) {
                const float *a = channelData[0] + done, *b = channelData[1] + done;
                for (std::size_t i = 0; i < n; ++i) {
                    out[2 * i] = a[i];
                    out[2 * i + 1] = b[i];
                }
            } else {
                // Blocks of 32 frames keep the interleaved output block in L1 while each
                // channel's input is read sequentially.
                for (std::size_t b0 = 0; b0 < n; b0 += 32) {
                    const std::size_t bn = std::min<std::size_t>(32, n - b0);
                    float *ob = out + b0 * channels_;
                    for (std::size_t c = 0; c < channels_; ++c) {
                        const float *in = channelData[c] + done + b0;
                        float *o = ob + c;
                        for (std::size_t i = 0; i < bn; ++i)
                            o[i * channels_] = in[i];
                    }
                }
            }
            done += n;
            w += n;
        }
        written_.store(w, std::memory_order_release);
    }
    // Frames written so far (producer's view). RT-safe.
    std::uint64_t writtenFrames() const noexcept { return written_.load(std::memory_order_acquire); }
    // Timeline events; producer: JACK thread, consumer: disk thread.
    SpscQueue<TimelineEvent> &events() noexcept { return events_; }

    // --- consumer (disk thread) ---
    // Frames readable now.
    std::size_t readableFrames() const noexcept
    {
        return std::size_t(written_.load(std::memory_order_acquire) - read_.load(std::memory_order_relaxed));
    }
    // Frames consumed so far.
    std::uint64_t readFrames() const noexcept { return read_.load(std::memory_order_relaxed); }
    // Contiguous readable frames starting at the read position (at most `maxFrames`);
    // the pointer is to interleaved data. Does not consume.
    const float *peek(std::size_t maxFrames, std::size_t &frames) const noexcept
    {
        const std::uint64_t r = read_.load(std::memory_order_relaxed);
        const std::size_t pos = std::size_t(r % capacity_);
        frames = std::min({maxFrames, readableFrames(), capacity_ - pos});
        return data_ + pos * channels_;
    }
    // Releases `frames` frames to the producer.
    void consume(std::size_t frames) noexcept { read_.fetch_add(frames, std::memory_order_release); }

private:
    std::size_t channels_;
    std::size_t capacity_;
    float *data_ = nullptr;
    std::size_t bytes_ = 0;
    bool locked_ = false;
    SpscQueue<TimelineEvent> events_{4096};
    alignas(64) std::atomic<std::uint64_t> written_{0};
    alignas(64) std::atomic<std::uint64_t> read_{0};
};

} // namespace chronus::rec
