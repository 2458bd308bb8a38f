// The JACK thread's half of the recorder timeline, free of JACK so tests can drive it with
// synthetic cycles: each cycle either goes into the FrameRing whole or is counted as lost,
// and Start/Gap/Stop events mark where in the frame sequence the timeline begins, where
// silence must stand in for lost frames (ring full, or JACK skipped cycles), and where it
// stops. Cycles are labelled by common/jack_time.hpp; a cycle whose frame time jumped is
// held back (copied) until the next reading says whether JACK skipped cycles before it or
// its callback read a later cycle's time, so no frame is ever written at the wrong place.
// JACK hands a client the upstream clients' port buffers themselves, and an upstream client
// may already be writing the next cycle into them while a late callback here reads: a cycle
// read while JACK began the next one ("torn", seen by the caller) or read ahead is held too,
// and compared with the next cycle's data: the same data means it was the next cycle's, and
// its own cycle is declared lost (silence, counted) rather than written twice.
// It also declares, at the same exact positions, when an input loses every connection (it
// records silence from there) and when it has one again (SourceLost/SourceBack events).
// Everything but the constructor is RT-safe: no allocation, locks, logging or syscalls.
#pragma once

#include "common/jack_time.hpp"
#include "recorder/frame_ring.hpp"
#include "common/rt.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace chronus::rec {

// Counters written by the JACK thread, read by anyone.
struct CaptureCounters {
    std::atomic<std::uint64_t> overruns{0};      // episodes of a full ring
    std::atomic<std::uint64_t> overrunFrames{0}; // frames dropped because the ring was full
    std::atomic<std::uint64_t> skippedFrames{0}; // frames JACK never delivered (cycles it skipped)
    std::atomic<std::uint64_t> ringPeakFrames{0};
    std::atomic<std::uint64_t> xruns{0};         // from JACK's xrun callback
    // Cycles whose callback read another cycle's frame time (late or stale reading; see
    // common/jack_time.hpp), placed where they belong.
    std::atomic<std::uint64_t> misreadCycles{0};
    // Frames of a cycle labelled like one already written (a reading CycleClock could not
    // place: it held no copy of the earlier cycle); dropped.
    std::atomic<std::uint64_t> repeatedFrames{0};
    // Frames JACK delivered that could not be told from the next cycle's (read while the
    // upstream clients had begun the next cycle, and equal to it): silence in their place.
    std::atomic<std::uint64_t> doubtfulFrames{0};
    // Frames of cycles whose timeline clock carried no frame (--clock): not placed.
    std::atomic<std::uint64_t> unclockedFrames{0};
};

class RingFeeder {
public:
    // `maxFrames`: the longest cycle it can hold back while deciding where a cycle with a
    // jump in frame time belongs (longer cycles are placed at once, by their reading).
    // Allocates; not RT-safe.
    RingFeeder(FrameRing &ring, CaptureCounters &counters, std::size_t maxFrames = 4096)
        : ring_(ring), counters_(counters), maxHeld_(maxFrames), heldData_(ring.channels() * maxFrames),
          heldPtrs_(ring.channels()), reportedConnected_(ring.channels(), 1)
    {
        for (std::size_t c = 0; c < ring.channels(); ++c)
            heldPtrs_[c] = heldData_.data() + c * maxFrames;
    }

    // One cycle of `frames` frames whose callback read JACK frame time `reading` (64-bit).
    // Called for every cycle, feeding or not (the clock labels each cycle knowing the ones
    // before it, so a take's first cycle is labelled like any other). With `feeding` off,
    // only closes an open timeline (buffers may be null). `torn`: JACK's frame time moved on
    // while the buffers were read, so they may hold the next cycle's data. `connected`: one
    // flag per channel, whether any port feeds that input this cycle (null: not tracked).
    // RT-safe.
    CHRONUS_RT void cycle(std::uint64_t reading, const float *const *buffers, std::size_t frames, bool feeding,
                          bool torn = false, const std::uint8_t *connected = nullptr) noexcept
    {
        auto &events = ring_.events();
        const CycleClock::Cycle c = clock_.next(reading, std::uint32_t(frames));
        const bool haveData = feeding && buffers;
        if (holding_) {
            // The reading after a jump (or a torn cycle) says where the held cycle belongs.
            const bool readAhead = c.step == CycleClock::Step::Repeated;
            const std::uint64_t heldAt = readAhead ? c.frame - heldFrames_ : heldFrame_;
            if (readAhead)
                counters_.misreadCycles.fetch_add(2, std::memory_order_relaxed);
            // A late callback read upstream buffers that may already hold the next cycle:
            // when the next cycle's data is the same, the held copy was that data.
            const bool followsHeld = readAhead || (c.step == CycleClock::Step::Normal && c.frame == heldAt + heldFrames_);
            bool doubtful = false;
            if (readAhead || heldTorn_)
                doubtful = followsHeld ? haveData && sameAsHeld(buffers, frames) : true;
            holding_ = false;
            if (startPending_) {
                startPending_ = false;
                if (!doubtful && feeding && begin(heldAt))
                    put(heldPtrs_.data(), heldFrames_);
            } else if (doubtful) {
                // Its own cycle's frames never arrived for sure: silence, counted.
                dropHeld(heldAt);
            } else {
                // A jump the next reading confirms: either JACK skipped cycles before the held
                // one, or the held callback ran late, read the next cycle's time and JACK
                // then skipped that cycle for it. The readings are the same; only the data
                // differs. Placed by its reading, and the gap says so.
                placeHeld(heldAt, heldJump_ && !readAhead);
            }
            if (readAhead && feeding && active_) {
                reportSources(connected);
                put(buffers, frames);
                return;
            }
        }
        // After the held cycle's frames (they are the previous cycle's), before this one's.
        reportSources(connected);
        if (!feeding) {
            if (active_ && flushGap() && events.tryPush({TimelineEvent::Kind::Stop, ring_.writtenFrames(), expected_, 0}))
                active_ = false;
            return;
        }
        const bool holdable = frames <= maxHeld_;
        if (!active_) {
            if (c.step == CycleClock::Step::Skipped && holdable) {
                // The first cycle of the timeline came after a jump: place it once the next
                // reading says where it belongs.
                hold(buffers, c.frame, frames, true, torn);
                startPending_ = true;
                return;
            }
            if (begin(c.frame))
                put(buffers, frames);
            return;
        }
        switch (c.step) {
        case CycleClock::Step::Restart:
            // The server restarted its clock: begin a new timeline.
            if (flushGap())
                events.tryPush({TimelineEvent::Kind::Start, ring_.writtenFrames(), c.frame, 0});
            expected_ = c.frame;
            put(buffers, frames);
            return;
        case CycleClock::Step::Skipped:
            if (holdable) {
                // Cycles skipped, or this callback read a later cycle's time: the next
                // reading tells which. Hold a copy until then (the buffers are JACK's).
                hold(buffers, c.frame, frames, true, torn);
                return;
            }
            skipTo(c.frame);
            put(buffers, frames);
            return;
        case CycleClock::Step::Stale:
        case CycleClock::Step::Lagging:
            counters_.misreadCycles.fetch_add(1, std::memory_order_relaxed);
            break;
        case CycleClock::Step::Repeated:
            // Held nothing to correct (a cycle too long to hold): its frames stand in the
            // file already under this label.
            counters_.repeatedFrames.fetch_add(frames, std::memory_order_relaxed);
            return;
        case CycleClock::Step::First:
        case CycleClock::Step::Normal: break;
        }
        if (torn && holdable) {
            // Its data may be the next cycle's: the next cycle's data tells.
            hold(buffers, c.frame, frames, false, true);
            return;
        }
        put(buffers, frames);
    }

    // One cycle placed by a timeline clock instead of JACK's frame time (chronus-recorder
    // --clock, common/timeline_clock.hpp): `label` is the frame the clock port carried (nullopt:
    // none), read before the buffers were copied; `torn`: the clock had changed once they were
    // copied (its writer began the next cycle meanwhile). A label already written is the
    // writer's last block again (JACK did not run it): dropped, counted. A label past the
    // frame expected is a gap of exactly the frames between; a label far behind (over a
    // second) begins a new timeline (the writer restarted). A torn cycle is declared lost at
    // its label. Cycles without a label cannot be placed: counted, and the next label says
    // how many frames are missing. RT-safe.
    CHRONUS_RT void clockedCycle(std::optional<std::uint64_t> label, const float *const *buffers,
                                 std::size_t frames, bool feeding, bool torn = false,
                                 const std::uint8_t *connected = nullptr) noexcept
    {
        auto &events = ring_.events();
        reportSources(connected);
        if (!feeding || !buffers) {
            if (active_ && flushGap() && events.tryPush({TimelineEvent::Kind::Stop, ring_.writtenFrames(), expected_, 0}))
                active_ = false;
            return;
        }
        if (!label) {
            counters_.unclockedFrames.fetch_add(frames, std::memory_order_relaxed);
            return;
        }
        const std::uint64_t at = *label;
        if (!active_) {
            if (torn) {
                counters_.doubtfulFrames.fetch_add(frames, std::memory_order_relaxed);
                return;
            }
            if (begin(at))
                put(buffers, frames);
            return;
        }
        if (at < expected_) {
            if (expected_ - at <= kClockRepeatWindow) {
                // Its writer's block again (JACK did not run the writer this cycle), or one
                // overlapping what is written: the frames stand in the file already.
                counters_.repeatedFrames.fetch_add(frames, std::memory_order_relaxed);
                return;
            }
            // The writer's timeline began again (a new supervisor): a new timeline here too.
            if (!flushGap() || !events.tryPush({TimelineEvent::Kind::Start, ring_.writtenFrames(), at, 0}))
                return;
            expected_ = at;
        } else if (at > expected_) {
            skipTo(at);
        }
        if (torn)
            declareLost(frames); // copied while its writer wrote the next cycle: neither for sure
        else
            put(buffers, frames);
    }

    // Cycles run with feeding on; any thread.
    std::uint64_t fedCycles() const noexcept { return fedCycles_.load(std::memory_order_acquire); }

private:
    // Declares the inputs whose connectedness changed since the last report, at the current
    // ring position. A change the event queue cannot take now is declared with a later cycle.
    // A cycle held back (see hold()) is written after this position, and so is a gap JACK
    // left before it: such a gap counts as the new state's (it is silence either way).
    CHRONUS_RT void reportSources(const std::uint8_t *connected) noexcept
    {
        if (!connected)
            return;
        bool changed = false;
        for (std::size_t ch = 0; ch < reportedConnected_.size() && !changed; ++ch)
            changed = (connected[ch] != 0) != (reportedConnected_[ch] != 0);
        // A pending gap is frames before this cycle: it goes first.
        if (!changed || !flushGap())
            return;
        for (std::size_t ch = 0; ch < reportedConnected_.size(); ++ch) {
            const std::uint8_t now = connected[ch] != 0 ? 1 : 0;
            if (now == reportedConnected_[ch])
                continue;
            const auto kind = now ? TimelineEvent::Kind::SourceBack : TimelineEvent::Kind::SourceLost;
            if (!ring_.events().tryPush({kind, ring_.writtenFrames(), expected_, 0, 0, std::uint32_t(ch)}))
                return;
            reportedConnected_[ch] = now;
        }
    }

    // Starts a timeline whose first cycle is labelled `frame`; false when the event queue is
    // full (retried with a later cycle).
    CHRONUS_RT bool begin(std::uint64_t frame) noexcept
    {
        if (!ring_.events().tryPush({TimelineEvent::Kind::Start, ring_.writtenFrames(), frame, 0}))
            return false;
        active_ = true;
        expected_ = frame;
        inOverrun_ = false;
        return true;
    }

    // Copies a cycle (the buffers are JACK's) to hold it until the next reading. `jump`: its
    // reading jumped; `torn`: its data may be the next cycle's.
    CHRONUS_RT void hold(const float *const *buffers, std::uint64_t frame, std::size_t frames, bool jump,
                         bool torn) noexcept
    {
        for (std::size_t ch = 0; ch < heldPtrs_.size(); ++ch)
            std::memcpy(heldPtrs_[ch], buffers[ch], frames * sizeof(float));
        holding_ = true;
        heldJump_ = jump;
        heldTorn_ = torn;
        heldFrame_ = frame;
        heldFrames_ = frames;
    }

    // True when the held cycle's data equals `buffers` (the next cycle's).
    CHRONUS_RT bool sameAsHeld(const float *const *buffers, std::size_t frames) const noexcept
    {
        if (frames != heldFrames_)
            return false;
        for (std::size_t ch = 0; ch < heldPtrs_.size(); ++ch)
            if (std::memcmp(heldPtrs_[ch], buffers[ch], frames * sizeof(float)) != 0)
                return false;
        return true;
    }

    // The held cycle, labelled `frame`, is declared lost: silence in its place.
    CHRONUS_RT void dropHeld(std::uint64_t frame) noexcept
    {
        skipTo(frame);
        declareLost(heldFrames_);
    }

    // The next `frames` frames arrived but cannot be told from another cycle's: silence in
    // their place, counted as doubtful.
    CHRONUS_RT void declareLost(std::size_t frames) noexcept
    {
        if (pendingGap_ == 0)
            pendingGapStart_ = expected_;
        pendingGap_ += frames;
        expected_ += frames;
        counters_.doubtfulFrames.fetch_add(frames, std::memory_order_relaxed);
    }

    // Frames [expected_, frame) never arrived: the file gets that many silent frames, here.
    CHRONUS_RT void skipTo(std::uint64_t frame) noexcept
    {
        if (frame <= expected_)
            return;
        if (pendingGap_ == 0)
            pendingGapStart_ = expected_;
        pendingGap_ += frame - expected_;
        counters_.skippedFrames.fetch_add(frame - expected_, std::memory_order_relaxed);
        expected_ = frame;
    }

    // Writes the held cycle as the cycle starting at `frame`; `uncertain`: the gap before it
    // (if any) is one the held frames may belong in.
    CHRONUS_RT void placeHeld(std::uint64_t frame, bool uncertain = false) noexcept
    {
        skipTo(frame);
        if (uncertain && pendingGap_ > 0)
            pendingUncertain_ = std::min<std::uint64_t>(heldFrames_, pendingGap_);
        put(heldPtrs_.data(), heldFrames_);
    }

    // Appends one cycle at expected_: into the ring whole, or counted as lost.
    CHRONUS_RT void put(const float *const *buffers, std::size_t frames) noexcept
    {
        if (ring_.writableFrames() >= frames && flushGap()) {
            ring_.write(buffers, frames);
            inOverrun_ = false;
        } else {
            // Ring full: drop this whole cycle and remember where, so the disk thread writes
            // exactly this many silent frames in its place.
            if (pendingGap_ == 0)
                pendingGapStart_ = expected_;
            pendingGap_ += frames;
            counters_.overrunFrames.fetch_add(frames, std::memory_order_relaxed);
            if (!inOverrun_)
                counters_.overruns.fetch_add(1, std::memory_order_relaxed);
            inOverrun_ = true;
        }
        expected_ += frames;
        const std::uint64_t fill = ring_.capacityFrames() - ring_.writableFrames();
        if (fill > counters_.ringPeakFrames.load(std::memory_order_relaxed))
            counters_.ringPeakFrames.store(fill, std::memory_order_relaxed);
        fedCycles_.fetch_add(1, std::memory_order_release);
    }

    // Queues the pending gap before any further frame; false when the event queue is full
    // (the gap stays pending and this cycle's frames are counted as lost too).
    CHRONUS_RT bool flushGap() noexcept
    {
        if (pendingGap_ == 0)
            return true;
        if (!ring_.events().tryPush(
                {TimelineEvent::Kind::Gap, ring_.writtenFrames(), pendingGapStart_, pendingGap_, pendingUncertain_}))
            return false;
        pendingGap_ = 0;
        pendingUncertain_ = 0;
        return true;
    }

    FrameRing &ring_;
    CaptureCounters &counters_;
    std::atomic<std::uint64_t> fedCycles_{0};
    // JACK thread only.
    CycleClock clock_;
    bool active_ = false;
    bool inOverrun_ = false;
    std::uint64_t expected_ = 0; // frame the next cycle written continues from
    std::uint64_t pendingGap_ = 0;
    std::uint64_t pendingGapStart_ = 0;
    std::uint64_t pendingUncertain_ = 0; // frames after the pending gap that may belong earlier
    // A cycle held back until the next reading says where it belongs.
    std::size_t maxHeld_;
    std::vector<float> heldData_;
    std::vector<float *> heldPtrs_;
    bool holding_ = false;
    bool heldJump_ = false;     // held because its reading jumped
    bool heldTorn_ = false;     // held because its data may be the next cycle's
    bool startPending_ = false; // the held cycle is the timeline's first
    std::uint64_t heldFrame_ = 0;
    std::size_t heldFrames_ = 0;
    std::vector<std::uint8_t> reportedConnected_; // per channel, as last declared (1: connected)
    // Clocked cycles (clockedCycle()): a label up to this far behind the next frame expected
    // is a repeat; further behind, a new timeline.
    static constexpr std::uint64_t kClockRepeatWindow = 48000;
};

} // namespace chronus::rec
