// `sequencer`: step sequencer with accents, a note list, swing and four parameter lanes.
//
// Timing is exact and never drifts. Position is kept as an exact sum: every sample adds
// bpm * division to an accumulator whose unit is one step = 60 * rate (all values are
// floats or integers, so the double sums are exact). Hence, for a constant tempo with step
// length L = 60 * rate / (bpm * division) samples, counting frames from the start/reset:
//   even step k starts at frame ceil(k * L),
//   odd  step k starts at frame ceil((k + swing) * L)   (swing delays every odd step),
// and a step's gate is high from its start while the time since that start is below
// gate_len x its own length ((1 + swing) L for even steps, (1 - swing) L for odd ones), so a
// gate_len below 1 always leaves a gap for the next trigger. Tempo changes take effect on the
// next sample without losing the fraction of the step already played.
//
// Pattern, notes and lanes are configuration set through text parameters: parsed on the
// control thread (model/modules/sequencer.cpp), they arrive here element by element through
// setElement(). reset() restarts at step 0 and keeps them; they travel in snapshots. Pitch
// and velocity change at the start of each step that plays (rests hold them, so release
// tails keep their note); lanes change at the start of every step.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/sequencer.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::sequencer;


// A step's notes: kChordNotes values in Hz (0: none; kRest first: the step is silent).
struct Chords {
    std::array<float, kMaxSteps * kChordNotes> values{};
    std::uint32_t steps = 0;

    const float *at(std::int64_t step) const noexcept
    {
        return steps == 0 ? nullptr : &values[static_cast<std::size_t>(step % steps) * kChordNotes];
    }
};

struct Sequence {
    std::array<float, kMaxSteps> values{};
    std::uint32_t length = 0;

    float at(std::int64_t step, float fallback) const noexcept
    {
        return length == 0 ? fallback : values[static_cast<std::size_t>(step % length)];
    }
};

class Sequencer final : public Module {
public:
    Sequencer()
    {
        // Default: four on the floor over 16 steps, on A2.
        const char *defaultPattern = "x...x...x...x...";
        for (std::uint32_t i = 0; i < 16; ++i)
            pattern_.values[i] = defaultPattern[i] == 'x' ? 1.0f : 0.0f;
        pattern_.length = 16;
        notes_.values[0] = kDefaultNoteHz;
        notes_.steps = 1;
    }

    void prepare(double sampleRate, std::uint32_t) override { stepUnits_ = 60.0 * sampleRate; }

    void reset() noexcept override
    {
        gridStep_ = 0;
        acc_ = 0.0;
        lastStep_ = -1;
        setPitches(notes_.at(0));
        velocity_ = 0.0f;
        lanes_.fill(0.0f);
    }

    void setElement(std::uint32_t textParam, std::uint32_t index, float value) noexcept override
    {
        if (textParam == NotesText) {
            if (index == kLengthElement)
                notes_.steps = static_cast<std::uint32_t>(
                    std::clamp(std::round(value / float(kChordNotes)), 0.0f, float(kMaxSteps)));
            else if (index < notes_.values.size())
                notes_.values[index] = value;
            return;
        }
        Sequence *seq = textParam == PatternText ? &pattern_
                        : textParam - Lane1Text < kLanes ? &laneValues_[textParam - Lane1Text]
                                                         : nullptr;
        if (!seq)
            return;
        if (index == kLengthElement)
            seq->length = static_cast<std::uint32_t>(std::clamp(std::round(value), 0.0f, float(kMaxSteps)));
        else if (index < kMaxSteps)
            seq->values[index] = value;
    }

    // Locate: the step given starts now (the transport moved to a bar).
    void handle(const model::Event &e) noexcept override
    {
        if (e.type != model::EventType::Locate || !(e.value >= 0.0f))
            return;
        gridStep_ = static_cast<std::int64_t>(e.value);
        acc_ = 0.0;
        lastStep_ = gridStep_ - 1;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double bpm = param(Bpm).next(i);
            const std::int64_t steps = static_cast<std::int64_t>(param(Steps).next(i));
            const double gateLen = param(GateLen).next(i);
            const double swing = param(Swing).next(i);
            const bool running = param(Running).next(i) > 0.5f;
            const double division = param(Division).next(i);

            // Which step sounds now, how long since it started, and how long it lasts.
            const double swingUnits = swing * stepUnits_;
            std::int64_t step = gridStep_;
            double since = acc_;
            double length = (1.0 + swing) * stepUnits_;
            if (gridStep_ % 2 == 1) {
                if (acc_ < swingUnits) { // the odd step is still delayed: the even one goes on
                    step = gridStep_ - 1;
                    since = acc_ + stepUnits_;
                } else {
                    since = acc_ - swingUnits;
                    length = (1.0 - swing) * stepUnits_;
                }
            }
            if (step < lastStep_) // swing was raised mid-step: never go back
                step = lastStep_;

            const std::int64_t position = step % std::max<std::int64_t>(steps, 1);
            const float *chord = notes_.at(position);
            const float hit = chord && chord[0] == kRest ? 0.0f : pattern_.at(position, 0.0f);
            if (step != lastStep_) {
                lastStep_ = step;
                if (hit > 0.0f) {
                    setPitches(chord);
                    velocity_ = hit >= 1.5f ? 1.0f : 0.7f;
                }
                for (std::size_t l = 0; l < kLanes; ++l)
                    lanes_[l] = laneValues_[l].at(position, lanes_[l]);
            }
            const bool gate = running && hit > 0.0f && since < gateLen * length;

            b.out[GateOut][i] = gate ? 1.0f : 0.0f;
            b.out[PitchOut][i] = pitch_[0];
            b.out[Pitch2Out][i] = pitch_[1];
            b.out[Pitch3Out][i] = pitch_[2];
            b.out[Pitch4Out][i] = pitch_[3];
            b.out[VelocityOut][i] = velocity_;
            for (std::size_t l = 0; l < kLanes; ++l)
                b.out[Lane1Out + l][i] = lanes_[l];

            if (running) {
                acc_ += bpm * division;
                while (acc_ >= stepUnits_) {
                    acc_ -= stepUnits_;
                    ++gridStep_;
                }
            }
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(gridStep_);
        v(acc_);
        v(lastStep_);
        v(pitch_);
        v(velocity_);
        v(lanes_);
        v(pattern_);
        v(notes_);
        v(laneValues_);
    }

private:
    static constexpr float kDefaultNoteHz = 110.0f; // A2

    void setPitches(const float *chord) noexcept
    {
        if (chord && chord[0] == kRest)
            return; // a rest holds the last notes (release tails keep their pitch)
        pitch_.fill(0.0f);
        pitch_[0] = kDefaultNoteHz;
        if (chord)
            std::copy_n(chord, kChordNotes, pitch_.begin());
    }

    double stepUnits_ = 60.0 * 48000.0; // one step in accumulator units (60 * rate)

    std::int64_t gridStep_ = 0; // unswung step count since reset
    double acc_ = 0.0;          // progress into gridStep_, in accumulator units
    std::int64_t lastStep_ = -1;
    std::array<float, kChordNotes> pitch_{kDefaultNoteHz};
    float velocity_ = 0.0f;
    std::array<float, kLanes> lanes_{};
    // Configuration from text parameters (kept by reset(), saved in snapshots).
    Sequence pattern_;
    Chords notes_;
    std::array<Sequence, kLanes> laneValues_{};
};

} // namespace

std::unique_ptr<Module> createSequencer() { return std::unique_ptr<Module>(new Sequencer); }

} // namespace chronus::engine
