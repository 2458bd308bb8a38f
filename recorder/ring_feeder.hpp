// The JACK thread's half of the recorder timeline, free of JACK so tests can drive it with
// synthetic cycles: each cycle either goes into the FrameRing whole or is counted as lost,
// and Start/Gap/Stop events mark where in the frame sequence the timeline begins, where
// silence must stand in for lost frames (ring full, or JACK skipped cycles), and where it
// stops. Everything here is RT-safe: no allocation, locks, logging or syscalls.
#pragma once

#include "recorder/frame_ring.hpp"
#include "common/rt.hpp"

#include <atomic>
#include <cstdint>

namespace chronus::rec {

// Counters written by the JACK thread, read by anyone.
struct CaptureCounters {
    std::atomic<std::uint64_t> overruns{0};      // episodes of a full ring
    std::atomic<std::uint64_t> overrunFrames{0}; // frames dropped because the ring was full
    std::atomic<std::uint64_t> skippedFrames{0}; // frames JACK never delivered (frame time jumped)
    std::atomic<std::uint64_t> ringPeakFrames{0};
    std::atomic<std::uint64_t> xruns{0};         // from JACK's xrun callback
    std::atomic<std::uint64_t> repeatedFrames{0}; // cycles seen twice (a late callback), kept once
};

class RingFeeder {
public:
    RingFeeder(FrameRing &ring, CaptureCounters &counters) noexcept : ring_(ring), counters_(counters) {}

    // One cycle of `frames` frames whose first frame is JACK frame `now` (64-bit). With
    // `feeding` off, only closes an open timeline (buffers may be null). RT-safe.
    CHRONUS_RT void cycle(std::uint64_t now, const float *const *buffers, std::size_t frames, bool feeding) noexcept
    {
        auto &events = ring_.events();
        if (!feeding) {
            if (active_ && flushGap() && events.tryPush({TimelineEvent::Kind::Stop, ring_.writtenFrames(), now, 0}))
                active_ = false;
            return;
        }
        if (!active_) {
            if (!events.tryPush({TimelineEvent::Kind::Start, ring_.writtenFrames(), now, 0}))
                return; // event queue full: retried next cycle
            active_ = true;
            expected_ = now;
            inOverrun_ = false;
        }
        if (now > expected_) {
            // JACK skipped cycles: the file gets that many silent frames, here.
            if (pendingGap_ == 0)
                pendingGapStart_ = expected_;
            pendingGap_ += now - expected_;
            counters_.skippedFrames.fetch_add(now - expected_, std::memory_order_relaxed);
        } else if (now < expected_ && expected_ - now <= kRepeatWindowCycles * frames) {
            // A cycle whose frames we already have: a callback that ran more than a period
            // late read the next cycle's frame time, and the callback for that cycle now
            // reads it again. Its frames are in the file already; keep them once.
            counters_.repeatedFrames.fetch_add(frames, std::memory_order_relaxed);
            return;
        } else if (now < expected_) {
            // Time went backwards (the server restarted its clock): begin a new timeline.
            if (flushGap())
                events.tryPush({TimelineEvent::Kind::Start, ring_.writtenFrames(), now, 0});
        }
        expected_ = now + frames;

        if (ring_.writableFrames() >= frames && flushGap()) {
            ring_.write(buffers, frames);
            inOverrun_ = false;
        } else {
            // Ring full: drop this whole cycle and remember where, so the disk thread writes
            // exactly this many silent frames in its place.
            if (pendingGap_ == 0)
                pendingGapStart_ = now;
            pendingGap_ += frames;
            counters_.overrunFrames.fetch_add(frames, std::memory_order_relaxed);
            if (!inOverrun_)
                counters_.overruns.fetch_add(1, std::memory_order_relaxed);
            inOverrun_ = true;
        }
        const std::uint64_t fill = ring_.capacityFrames() - ring_.writableFrames();
        if (fill > counters_.ringPeakFrames.load(std::memory_order_relaxed))
            counters_.ringPeakFrames.store(fill, std::memory_order_relaxed);
        fedCycles_.fetch_add(1, std::memory_order_release);
    }

    // Cycles run with feeding on; any thread.
    std::uint64_t fedCycles() const noexcept { return fedCycles_.load(std::memory_order_acquire); }

private:
    // A step back in frame time of at most this many cycles is a cycle seen again, not a
    // new clock.
    static constexpr std::uint64_t kRepeatWindowCycles = 4;

    // Queues the pending gap before any further frame; false when the event queue is full
    // (the gap stays pending and this cycle's frames are counted as lost too).
    CHRONUS_RT bool flushGap() noexcept
    {
        if (pendingGap_ == 0)
            return true;
        if (!ring_.events().tryPush({TimelineEvent::Kind::Gap, ring_.writtenFrames(), pendingGapStart_, pendingGap_}))
            return false;
        pendingGap_ = 0;
        return true;
    }

    FrameRing &ring_;
    CaptureCounters &counters_;
    std::atomic<std::uint64_t> fedCycles_{0};
    // JACK thread only.
    bool active_ = false;
    bool inOverrun_ = false;
    std::uint64_t expected_ = 0;
    std::uint64_t pendingGap_ = 0;
    std::uint64_t pendingGapStart_ = 0;
};

} // namespace chronus::rec
