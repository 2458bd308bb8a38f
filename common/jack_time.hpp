// JACK's frame clock for process callbacks: its 32-bit frame time extended to 64 bits, and
// which cycle a callback belongs to, from the frame time it reads.
//
// On a loaded machine (measured with jackd2 1.9.21, non-real-time, dummy backend, CPU hogs)
// the frame time a callback reads is not always its own cycle's:
//   - a callback that starts late, after the server has begun the next cycle, reads the
//     NEXT cycle's frame time (a jump of two periods), and the callback after it reads the
//     same value again; the data it was handed is that of its own (earlier) cycle;
//   - a callback may read the PREVIOUS cycle's frame time again (stale), and the next one
//     then jumps two periods; it is the cycle in between;
//   - when the server really skips cycles for every client, the frame time jumps and the
//     next callback continues one period later.
// CycleClock turns readings into cycle labels with these rules, the same in every client
// that labels audio by frame (the supervisor's output, the recorder's timeline, the test
// ramp source), so that what one plays as frame F another records at frame F:
//   reading == previous reading, previous step normal -> stale: previous label + 1 period
//   reading == previous reading, previous step a jump -> the jump was read ahead: same
//                                                        label again (counted)
//   reading <= previous label                          -> lagging: previous label + 1 period
//   reading == previous label + 1 period               -> normal
//   reading  > previous label + 1 period               -> skipped cycles: the reading
// A reading far behind the label (the server restarted its clock) starts a new timeline.
// Plain value type; RT-safe (no allocation, no syscalls).
#pragma once

#include <cstdint>

namespace chronus {

// Extends JACK's 32-bit frame time to 64 bits given any nearby 64-bit reference (within
// 2^31 frames, about 12 hours at 48 kHz): a step back stays a step back, a wrap of the
// 32-bit counter moves on. RT-safe.
inline std::uint64_t extendFrame(std::uint64_t reference, std::uint32_t frame32) noexcept
{
    const auto delta = static_cast<std::int32_t>(frame32 - static_cast<std::uint32_t>(reference));
    return reference + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
}

// The frame now, from the cycle's frame time (64-bit, and the 32-bit value it came from) and
// JACK's estimate of the frame now (jack_frame_time). The estimate can stand a few frames
// behind the cycle's start (JACK's wake-up time is filtered): never below the cycle's start.
// Taken unsigned, that step back read as 2^32 frames ahead. RT-safe.
inline std::uint64_t frameNow(std::uint64_t cycleFrame, std::uint32_t cycleFrame32, std::uint32_t now32) noexcept
{
    const auto ahead = static_cast<std::int32_t>(now32 - cycleFrame32);
    return ahead > 0 ? cycleFrame + std::uint64_t(ahead) : cycleFrame;
}

// The 64-bit frame time of a reading, extended against the previous one (or taken as is for
// the first). RT-safe.
class FrameTime {
public:
    std::uint64_t extend(std::uint32_t frame32) noexcept
    {
        last_ = started_ ? extendFrame(last_, frame32) : frame32;
        started_ = true;
        return last_;
    }

private:
    bool started_ = false;
    std::uint64_t last_ = 0;
};

class CycleClock {
public:
    enum class Step : std::uint8_t {
        First,    // the first cycle (or a new timeline after a large step back)
        Normal,   // one period after the previous cycle
        Stale,    // read the previous cycle's time again: labelled as the next cycle
        Lagging,  // read a time behind the label already given: labelled as the next cycle
        Skipped,  // the frame time moved on by more than one period: cycles were skipped
        Repeated, // the previous jump was read ahead of its cycle: this cycle gets its label
        Restart,  // far behind the label: the server's clock restarted
    };
    struct Cycle {
        std::uint64_t frame; // the cycle's label: its first frame
        Step step;
        std::uint64_t skippedFrames; // Skipped: frames between the previous cycle's end and this one
    };

    // A step back of more than this many periods behind the label is a new clock.
    static constexpr std::uint64_t kRestartPeriods = 64;

    // Labels the cycle whose callback read `reading` (64-bit frame time) and lasts `frames`.
    Cycle next(std::uint64_t reading, std::uint32_t frames) noexcept
    {
        Cycle c{reading, Step::Normal, 0};
        if (!started_) {
            c.step = Step::First;
        } else if (reading == lastReading_) {
            if (lastWasSkip_) {
                c = {label_, Step::Repeated, 0};
            } else {
                c = {label_ + lastFrames_, Step::Stale, 0};
            }
        } else if (reading + std::uint64_t{kRestartPeriods} * frames < label_) {
            c.step = Step::Restart;
        } else if (reading <= label_) {
            c = {label_ + lastFrames_, Step::Lagging, 0};
        } else if (reading > label_ + lastFrames_) {
            c = {reading, Step::Skipped, reading - label_ - lastFrames_};
        }
        started_ = true;
        lastWasSkip_ = c.step == Step::Skipped;
        lastReading_ = reading;
        label_ = c.frame;
        lastFrames_ = frames;
        return c;
    }

    // The label of the latest cycle (valid after the first next()).
    std::uint64_t label() const noexcept { return label_; }
    bool started() const noexcept { return started_; }

private:
    bool started_ = false;
    bool lastWasSkip_ = false;
    std::uint64_t lastReading_ = 0;
    std::uint64_t label_ = 0;
    std::uint32_t lastFrames_ = 0;
};

} // namespace chronus
