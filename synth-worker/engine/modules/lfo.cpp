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
// A slow sine (below 22 Hz at 48 kHz) costs less again: it is drawn as parabolas, each
// through three table reads half a span apart, over spans of kSpans[k] samples on the LFO's
// own sample count (128 down to 8, the longest whose parabola stays within kBendError of
// the arc). A sample's parabola comes from its phase less `at` steps (`at` its distance from
// the span's start), a function of the sample's own state, so every path computes the same
// value and the output does not depend on where blocks start; while the rate holds still,
// the samples of a span share one parabola, and a block of 256 samples reads the table a
// few times. Within 3e-7 of depth · sin (measured 2.3e-7 from 0.01 to 23 Hz by
// Lfo.ASlowSineIsWithinItsStatedError), the table's own class (2.5e-7): the three points
// carry the table's error, the parabola adds at most 1e-7, float rounding an ulp.
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

// Span lengths of a slow sine, longest first, each a power of two dividing kSpanCycle. A
// parabola through three equally spaced points of a sine of w radians a sample, over n
// samples, is off the sine by at most (w·n)³/(72·√3); kBendError bounds that.
constexpr std::uint32_t kSpans[] = {128, 64, 32, 16, 8};
constexpr std::uint32_t kSpanCycle = 128;
constexpr double kBendError = 1e-7;

// The span length for a phase step; 0: none (the table every sample).
std::uint32_t spanLength(Phase inc) noexcept
{
    const double radiansPerSample = 2.0 * std::numbers::pi * dsp::phaseCycles(inc);
    for (std::uint32_t n : kSpans) {
        const double arc = radiansPerSample * n;
        if (inc < kHalfCycle && arc * arc * arc / (72.0 * std::numbers::sqrt3) <= kBendError)
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
        sinceSpan_ = 0;
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
            out[i] = value(wave, inc, depth, offset, (sinceSpan_ + i) % kSpanCycle);
            advance(inc);
        }
        sinceSpan_ = (sinceSpan_ + b.frames) % kSpanCycle;
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(sinceSpan_);
        v(rng_);
        v(held_);
    }

private:
    // The output at the current sample (phase_), which is `since` samples past a multiple
    // of kSpanCycle, the phase stepping by `inc`.
    float value(int wave, Phase inc, float depth, float offset, std::uint32_t since) noexcept
    {
        if (wave == Sine) {
            if (const std::uint32_t n = spans(inc); n != 0) {
                const std::uint32_t at = since % n;
                return parabola(phase_ - inc * at, inc, n, depth, offset).at(static_cast<int>(at));
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

    // The output on a slow sine's span of n samples from phase `start`, depth and offset
    // applied: a + k·(b + k·c) at k samples into it, the parabola through the table at the
    // span's start, middle and end (its coefficients in double, from y0, y1, y2 at
    // k = 0, h, 2h: c = (y2 - 2y1 + y0)/(2h²), b = (y1 - y0)/h - h·c).
    struct Parabola {
        float a, b, c;
        float at(int k) const noexcept
        {
            const float kf = static_cast<float>(k);
            return a + kf * (b + kf * c);
        }
    };
    Parabola parabola(Phase start, Phase inc, std::uint32_t n, float depth, float offset) const noexcept
    {
        float end;
        return parabola(start, GenWavetables::read(sine_, start), inc, n, depth, offset, end);
    }
    // The same with the table at `start` given (`first`), and the table at its end returned
    // in `end` (the next span's first).
    Parabola parabola(Phase start, float first, Phase inc, std::uint32_t n, float depth, float offset,
                      float &end) const noexcept
    {
        const std::uint32_t half = n / 2;
        end = GenWavetables::read(sine_, start + inc * n);
        const double y0 = first, y1 = GenWavetables::read(sine_, start + inc * half), y2 = end;
        // h is a power of two: multiplying by 1/h and 1/(2h²) is dividing, exactly.
        const double h = half, overH = 1.0 / h;
        const double c = (y2 - 2.0 * y1 + y0) * (0.5 * overH * overH), b = (y1 - y0) * overH - h * c;
        return {static_cast<float>(offset + depth * y0), static_cast<float>(depth * b),
                static_cast<float>(depth * c)};
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
            sinceSpan_ = (sinceSpan_ + frames) % kSpanCycle;
            return;
        }
        if (wave == Sine && spans(inc) != 0) {
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

    // The phase, the draws (one for each cycle completed) and the span count past
    // `frames` samples.
    void finish(Phase inc, std::uint32_t frames) noexcept
    {
        for (auto cycles = dsp::cyclesCompleted(phase_, inc, frames); cycles > 0; --cycles)
            held_ = rng_.bipolar();
        phase_ += inc * frames;
        sinceSpan_ = (sinceSpan_ + frames) % kSpanCycle;
    }

    // The steady slow sine: value()'s parabolas, each computed once for the samples of its
    // span in this block (the same arithmetic).
    void slowSine(float *out, std::uint32_t frames, Phase inc, float depth, float offset) noexcept
    {
        const std::uint32_t n = spans(inc);
        std::uint32_t at = sinceSpan_ % n;
        Phase start = phase_ - inc * at;
        float first = GenWavetables::read(sine_, start);
        for (std::uint32_t i = 0; i < frames;) {
            const std::uint32_t count = std::min(n - at, frames - i);
            float end;
            fillParabola(out + i, parabola(start, first, inc, n, depth, offset, end), at, count);
            i += count;
            at = 0;
            start += inc * n;
            first = end;
        }
        finish(inc, frames);
    }

    // out[j] = p.at(first + j) for j < count, eight at a time (positions are small whole
    // numbers: exact in float, so a running sum of them is the same as converting each).
    // Also compiled for AVX, where eight floats are one register: the same operations, so
    // the same bits.
    __attribute__((target_clones("avx", "default"))) static void fillParabola(float *out, const Parabola &p,
                                                                              std::uint32_t first,
                                                                              std::uint32_t count) noexcept
    {
        using Float8 = float __attribute__((vector_size(32)));
        const float k0 = static_cast<float>(first);
        Float8 k{k0, k0 + 1.0f, k0 + 2.0f, k0 + 3.0f, k0 + 4.0f, k0 + 5.0f, k0 + 6.0f, k0 + 7.0f};
        std::uint32_t j = 0;
        for (; j + 8 <= count; j += 8, k += 8.0f) {
            const Float8 v = p.a + k * (p.b + k * p.c);
            std::memcpy(out + j, &v, sizeof v);
        }
        for (; j < count; ++j)
            out[j] = p.at(static_cast<int>(first + j));
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
    // The span length of a sine at phase step `inc` (cached: chosen again only when the
    // step moves).
    std::uint32_t spans(Phase inc) noexcept
    {
        if (inc != spansFor_) {
            spansFor_ = inc;
            spans_ = spanLength(inc);
        }
        return spans_;
    }

    // Derived from the rate parameter (caches, not state).
    float stepRate_ = -1.0f;
    Phase step_ = 0;
    Phase spansFor_ = 0;
    std::uint32_t spans_ = spanLength(0);

    Phase phase_ = 0;
    std::uint32_t sinceSpan_ = 0; // samples since reset, modulo kSpanCycle
    dsp::GenRandom rng_;
    float held_ = 0.0f; // sample & hold value, -1..1
};

} // namespace

std::unique_ptr<Module> createLfo() { return std::unique_ptr<Module>(new Lfo); }

} // namespace chronus::engine
