// The recorder's audio ring: whole interleaved frames from the JACK thread (producer) to
// the disk thread (consumer), plus a queue of timeline events (start, gap, stop, an input
// losing or regaining its source) placed at exact positions in the frame sequence.
// Preallocated and prefaulted; never allocates after construction.
#pragma once

#include "common/rt.hpp"
#include "common/spsc_queue.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace chronus::rec {

// A timeline event. `ringFrame` is the number of frames written to the ring before the
// event, so the consumer applies it exactly between two frames.
struct TimelineEvent {
    enum class Kind : std::uint8_t {
        Start, // capture (re)started; the next ring frame is JACK frame `jackFrame`
        Gap,   // `frames` frames were lost here (ring full, or JACK skipped cycles)
        Stop,  // capture stopped; no frames follow until the next Start
        // Input `channel` has no port connected from here on: it records silence.
        SourceLost,
        // Input `channel` has a port connected again from here on.
        SourceBack,
    };
    Kind kind = Kind::Start;
    std::uint64_t ringFrame = 0;
    std::uint64_t jackFrame = 0;
    std::uint64_t frames = 0;
    // Gap: the frames right after it that may belong this many frames earlier (a callback
    // that read a later cycle's frame time and was then skipped looks exactly like a cycle
    // JACK skipped before it; see RingFeeder). 0: none.
    std::uint64_t uncertainFrames = 0;
    std::uint32_t channel = 0; // SourceLost, SourceBack: the input (0-based)
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
                interleave(channelData, done, n, out);
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
        return peekAt(read_.load(std::memory_order_relaxed), maxFrames, frames);
    }
    // The same from ring frame `from` (between the read position and writtenFrames()):
    // frames the consumer holds but has not consumed yet, e.g. to meter them on arrival.
    const float *peekAt(std::uint64_t from, std::size_t maxFrames, std::size_t &frames) const noexcept
    {
        const std::uint64_t w = written_.load(std::memory_order_acquire);
        const std::size_t pos = std::size_t(from % capacity_);
        frames = std::min({maxFrames, std::size_t(w > from ? w - from : 0), capacity_ - pos});
        return data_ + pos * channels_;
    }
    // Releases `frames` frames to the producer.
    void consume(std::size_t frames) noexcept { read_.fetch_add(frames, std::memory_order_release); }

private:
    // Interleaves frames [from, from + n) of every channel into `out`. RT-safe.
    CHRONUS_RT void interleave(const float *const *channelData, std::size_t from, std::size_t n, float *out) noexcept
    {
        const std::size_t ch = channels_;
        std::size_t c = 0;
#if defined(__SSE2__)
        // Four channels at a time over the whole run: four long sequential input streams
        // (the JACK buffers, freshly written by another core, stream in best that way), and
        // a 4x4 transpose in registers makes each frame's four samples one 16-byte store.
        const std::size_t n4 = n & ~std::size_t(3);
        for (; c + 4 <= ch; c += 4) {
            const float *i0 = channelData[c] + from, *i1 = channelData[c + 1] + from;
            const float *i2 = channelData[c + 2] + from, *i3 = channelData[c + 3] + from;
            float *o = out + c;
            for (std::size_t i = 0; i < n4; i += 4, o += 4 * ch) {
                __m128 r0 = _mm_loadu_ps(i0 + i), r1 = _mm_loadu_ps(i1 + i);
                __m128 r2 = _mm_loadu_ps(i2 + i), r3 = _mm_loadu_ps(i3 + i);
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                _mm_storeu_ps(o, r0);
                _mm_storeu_ps(o + ch, r1);
                _mm_storeu_ps(o + 2 * ch, r2);
                _mm_storeu_ps(o + 3 * ch, r3);
            }
            for (std::size_t i = n4; i < n; ++i, o += ch) {
                o[0] = i0[i];
                o[1] = i1[i];
                o[2] = i2[i];
                o[3] = i3[i];
            }
        }
#endif
        for (; c < ch; ++c) {
            const float *in = channelData[c] + from;
            float *o = out + c;
            for (std::size_t i = 0; i < n; ++i)
                o[i * ch] = in[i];
        }
    }

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
