// The shared musical clock: tempo, meter and where bar 1 began, as frames. The supervisor
// keeps one to quantise commands to the next beat or bar and to follow or lead JACK
// transport; the frames it picks go into the journal, so a replay needs no clock of its own.
//
// Beat k (quarter notes scaled by the meter's unit: a beat of 6/8 is an eighth) starts on
// frame ceil(origin + k * framesPerBeat()): exactly where a sequencer reset at the origin,
// running at the same tempo, starts that beat's first step (its steps start at ceil(k L)).
// Control thread only.
#pragma once

#include <cstdint>

namespace chronus::model {

class Transport {
public:
    explicit Transport(double sampleRate = 48000.0) : rate_(sampleRate) {}

    double bpm() const noexcept { return bpm_; }
    int beatsPerBar() const noexcept { return beats_; }
    int beatUnit() const noexcept { return unit_; }
    bool running() const noexcept { return running_; }
    // Frames of one beat (a quarter note at 4, an eighth at 8) at the current tempo.
    double framesPerBeat() const noexcept { return 60.0 * rate_ / bpm_ * 4.0 / unit_; }
    // Position at `frame` in beats since bar 1 began (negative before it).
    double beatsAt(std::uint64_t frame) const noexcept;
    // Bar (1-based, fractional) at `frame`.
    double barAt(std::uint64_t frame) const noexcept { return 1.0 + beatsAt(frame) / beats_; }
    // The first frame at or after `frame` on which a beat, or a bar, starts.
    std::uint64_t nextBeat(std::uint64_t frame) const noexcept;
    std::uint64_t nextBar(std::uint64_t frame) const noexcept;

    // A new tempo from `frame` on; the position at `frame` is kept.
    void setTempo(std::uint64_t frame, double bpm) noexcept;
    // A new meter; bars are counted anew (bar 1) from the start of the bar `frame` lies in.
    void setMeter(std::uint64_t frame, int beatsPerBar, int beatUnit) noexcept;
    // Bar `bar` (1-based) begins at `frame`; running or not as given.
    void locate(std::uint64_t frame, double bar, bool running) noexcept;
    void setRunning(bool running) noexcept { running_ = running; }

private:
    // The first frame of beat `k` counted from the origin.
    std::uint64_t beatFrame(double k) const noexcept;

    double rate_;
    double bpm_ = 120.0;
    int beats_ = 4;
    int unit_ = 4;
    double origin_ = 0.0; // frame (fractional after tempo changes) where bar 1 beat 1 starts
    bool running_ = false;
};

} // namespace chronus::model
