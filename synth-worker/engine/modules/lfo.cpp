// `lfo`: low-frequency modulation source. Output = offset + depth * wave, wave in -1..1.
//
// Meant for modulation connections: the graph adds this output, times the connection
// depth, to a parameter of another node. Shapes are deliberately naive (not band-limited):
// a modulation signal wants sharp corners. Sample & hold draws a new value from a
// generator seeded with Module::seed() at the start of every cycle, so it is repeatable.
// The phase is 64-bit fixed point (dsp/gen_phase.hpp) and the sine reads the oscillators'
// interpolated sine table, so while rate, depth and offset hold still a block is one
// vectorized pass: an LFO on every voice costs little.
//
// A slow sine (below 2.4 Hz at 48 kHz) costs less again: it is the chord between knots
// kKnots[k] samples apart on the LFO's own sample count (32, 16 or 8, the longest whose
// chord stays within kChordError of the arc), the table read only at the knots. A sample's
// knots are its phase less `at` steps and plus n - `at` steps (`at` its distance from the
// knot before it), a function of the sample's own state, so every path computes the same
// value and the output does not depend on where blocks start; while the rate holds still,
// the samples between two knots share them, and a block reads the table once per knot.
// Within 1.1e-6 of depth · sin (the chord's 8e-7 and the table's 2.5e-7; measured by
// Lfo.ASlowSineIsWithinItsStatedError) where the table alone is within 2.5e-7: -118 dB,
// for what is a control signal at those rates.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/lfo.hpp"

#include "synth-worker/engine/dsp/gen_phase.hpp"
#include "synth-worker/engine/dsp/gen_random.hpp"
#include "synth-worker/engine/dsp/gen_wavetable.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::lfo;

using dsp::GenWavetables;
using dsp::Phase;

constexpr Phase kQuarterCycle = Phase{1} << 62;
constexpr Phase kHalfCycle = Phase{1} << 63;

// Knot spacings of a slow sine, longest first, each a power of two dividing kKnotCycle. A
// chord over n samples of a sine of w radians a sample falls short of the arc by up to
// (w·n)²/8, which kChordError bounds.
constexpr std::uint32_t kKnots[] = {32, 16, 8};
constexpr std::uint32_t kKnotCycle = 32;
constexpr double kChordError = 8e-7;

// The knot spacing for a phase step; 0: none (the table every sample).
std::uint32_t knotSpacing(Phase inc) noexcept
{
    const double radiansPerSample = 2.0 * std::numbers::pi * dsp::phaseCycles(inc);
    for (std::uint32_t n : kKnots) {
        const double chord = radiansPerSample * n;
        if (inc < kHalfCycle && chord * chord / 8.0 <= kChordError)
            return n;
    }
    return 0;
}

// The shapes from the phase, in float. (phase - 1/2) · 2^32 as a signed integer is where
// triangle and saw start from.
float centred(Phase phase) noexcept
{
    return static_cast<float>(static_cast<std::int32_t>(static_cast<std::uint32_t>(phase >> 32) ^ 0x80000000u));
}
// 0 at phase 0, +1 at 1/4, 0 at 1/2, -1 at 3/4 (in step with the sine): 4|p + 3/4 - 1/2| - 1.
float triangle(Phase phase) noexcept { return std::fabs(centred(phase + 3 * kQuarterCycle)) * 0x1p-30f - 1.0f; }
float square(Phase phase) noexcept { return phase < kHalfCycle ? 1.0f : -1.0f; }
float saw(Phase phase) noexcept { return centred(phase) * 0x1p-31f; } // 2p - 1

class Lfo final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        invRate_ = 1.0 / sampleRate;
        sine_ = GenWavetables::instance().sine();
    }

    void reset() noexcept override
    {
        phase_ = 0;
        sinceKnot_ = 0;
        rng_.seed(seed());
        held_ = rng_.bipolar(); // the first cycle has a value too
    }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        if (param(Waveform).steady() && param(Rate).steady() && param(Depth).steady() && param(Offset).steady()) {
            processSteady(out, b.frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int wave = static_cast<int>(param(Waveform).next(i));
            const Phase inc = step(param(Rate).next(i));
            const float depth = param(Depth).next(i);
            const float offset = param(Offset).next(i);
            out[i] = value(wave, inc, depth, offset, (sinceKnot_ + i) % kKnotCycle);
            advance(inc);
        }
        sinceKnot_ = (sinceKnot_ + b.frames) % kKnotCycle;
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(sinceKnot_);
        v(rng_);
        v(held_);
    }

private:
    // The output at the current sample (phase_), which is `since` samples past a multiple
    // of kKnotCycle, the phase stepping by `inc`.
    float value(int wave, Phase inc, float depth, float offset, std::uint32_t since) noexcept
    {
        if (wave == Sine) {
            if (const std::uint32_t n = knots(inc); n != 0) {
                const std::uint32_t at = since % n;
                const Knots k = knotsAround(phase_, inc, n, at);
                return line(k, depth, offset, n).at(static_cast<int>(at));
            }
        }
        return offset + depth * shape(wave, phase_);
    }

    float shape(int wave, Phase phase) const noexcept
    {
        switch (wave) {
        case Sine: return GenWavetables::read(sine_, phase);
        case Triangle: return triangle(phase);
        case Square: return square(phase);
        case Saw: return saw(phase);
        default: return held_;
        }
    }

    // A slow sine's knots around a sample at `phase`, `at` samples past the first: the
    // first at `phase` less `at` steps, the next n steps on.
    struct Knots {
        Phase first;
        float from, to;
    };
    Knots knotsAround(Phase phase, Phase inc, std::uint32_t n, std::uint32_t at) const noexcept
    {
        const Phase first = phase - inc * at;
        return {first, GenWavetables::read(sine_, first), GenWavetables::read(sine_, first + inc * n)};
    }
    // The output on the chord between two knots, depth and offset applied: base + k·slope
    // at k samples past the first knot.
    struct Line {
        float base, slope;
        float at(int k) const noexcept { return base + static_cast<float>(k) * slope; }
    };
    static Line line(const Knots &k, float depth, float offset, std::uint32_t n) noexcept
    {
        // 1/n is exact: n is a power of two.
        return {offset + depth * k.from, depth * ((k.to - k.from) * (1.0f / static_cast<float>(n)))};
    }

    // A new random value at the start of every cycle whatever the shape, so the generator
    // stays in step when the shape changes.
    void advance(Phase inc) noexcept
    {
        if (dsp::wraps(phase_, inc))
            held_ = rng_.bipolar();
        phase_ += inc;
    }

    // The loop above with its values read once, one pass per shape (each sample's
    // arithmetic is shape()'s, and offset is added last as there).
    void processSteady(float *out, std::uint32_t frames) noexcept
    {
        const int wave = static_cast<int>(param(Waveform).current());
        const Phase inc = step(param(Rate).current());
        const float depth = param(Depth).current();
        const float offset = param(Offset).current();
        if (wave == SampleHold) {
            for (std::uint32_t i = 0; i < frames; ++i) {
                out[i] = offset + depth * held_;
                advance(inc);
            }
            sinceKnot_ = (sinceKnot_ + frames) % kKnotCycle;
            return;
        }
        if (wave == Sine && knots(inc) != 0) {
            slowSine(out, frames, inc, depth, offset);
            return;
        }
        switch (wave) {
        case Sine: GenWavetables::run(sine_, phase_, inc, depth, out, frames); break;
        case Triangle: fill(out, frames, inc, depth, [](Phase p) { return triangle(p); }); break;
        case Square: fill(out, frames, inc, depth, [](Phase p) { return square(p); }); break;
        default: fill(out, frames, inc, depth, [](Phase p) { return saw(p); }); break;
        }
        for (std::uint32_t i = 0; i < frames; ++i)
            out[i] = offset + out[i];
        finish(inc, frames);
    }

    // The phase, the draws (one for each cycle completed) and the knot count past `frames`
    // samples.
    void finish(Phase inc, std::uint32_t frames) noexcept
    {
        for (auto cycles = dsp::cyclesCompleted(phase_, inc, frames); cycles > 0; --cycles)
            held_ = rng_.bipolar();
        phase_ += inc * frames;
        sinceKnot_ = (sinceKnot_ + frames) % kKnotCycle;
    }

    // The steady slow sine: value()'s lines, each computed once for the samples it spans
    // (the same arithmetic; a knot's table value serves both lines that meet there).
    void slowSine(float *out, std::uint32_t frames, Phase inc, float depth, float offset) noexcept
    {
        const std::uint32_t n = knots(inc);
        std::uint32_t at = sinceKnot_ % n;
        Knots k = knotsAround(phase_, inc, n, at);
        for (std::uint32_t i = 0; i < frames;) {
            const Line l = line(k, depth, offset, n);
            const std::uint32_t count = std::min(n - at, frames - i);
            fillLine(out + i, l, at, count);
            i += count;
            at = 0;
            if (i < frames) {
                k.first += inc * n;
                k.from = k.to;
                k.to = GenWavetables::read(sine_, k.first + inc * n);
            }
        }
        finish(inc, frames);
    }

    // out[j] = l.at(first + j) for j < count, four at a time (positions are small whole
    // numbers: exact in float, so a running sum of them is the same as converting each).
    static void fillLine(float *out, const Line &l, std::uint32_t first, std::uint32_t count) noexcept
    {
        using Float4 = float __attribute__((vector_size(16)));
        const float k0 = static_cast<float>(first);
        Float4 k{k0, k0 + 1.0f, k0 + 2.0f, k0 + 3.0f};
        std::uint32_t j = 0;
        for (; j + 4 <= count; j += 4, k += 4.0f) {
            const Float4 v = l.base + k * l.slope;
            std::memcpy(out + j, &v, sizeof v);
        }
        for (; j < count; ++j)
            out[j] = l.at(static_cast<int>(first + j));
    }

    template <typename Shape>
    void fill(float *out, std::uint32_t frames, Phase inc, float depth, Shape shape) const noexcept
    {
        Phase phase = phase_;
        for (std::uint32_t i = 0; i < frames; ++i) {
            out[i] = depth * shape(phase);
            phase += inc;
        }
    }

    // Phase step for `rate` Hz (cached: the conversion only when the rate moves).
    Phase step(float rate) noexcept
    {
        if (rate != stepRate_) {
            stepRate_ = rate;
            step_ = dsp::phaseIncrement(rate * invRate_);
        }
        return step_;
    }

    double invRate_ = 0.0;
    const float *sine_ = nullptr;
    // The knot spacing of a sine at phase step `inc` (cached: chosen again only when the
    // step moves).
    std::uint32_t knots(Phase inc) noexcept
    {
        if (inc != knotsFor_) {
            knotsFor_ = inc;
            knots_ = knotSpacing(inc);
        }
        return knots_;
    }

    // Derived from the rate parameter (caches, not state).
    float stepRate_ = -1.0f;
    Phase step_ = 0;
    Phase knotsFor_ = 0;
    std::uint32_t knots_ = knotSpacing(0);

    Phase phase_ = 0;
    std::uint32_t sinceKnot_ = 0; // samples since reset, modulo kKnotCycle
    dsp::GenRandom rng_;
    float held_ = 0.0f; // sample & hold value, -1..1
};

} // namespace

std::unique_ptr<Module> createLfo() { return std::unique_ptr<Module>(new Lfo); }

} // namespace chronus::engine
