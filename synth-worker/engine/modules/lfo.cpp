// `lfo`: low-frequency modulation source. Output = offset + depth * wave, wave in -1..1.
//
// Meant for modulation connections: the graph adds this output, times the connection
// depth, to a parameter of another node. Shapes are deliberately naive (not band-limited):
// a modulation signal wants sharp corners. Sample & hold draws a new value from a
// generator seeded with Module::seed() at the start of every cycle, so it is repeatable.
// The phase is 64-bit fixed point (dsp/gen_phase.hpp) and the sine reads the oscillators'
// interpolated sine table, so while rate, depth and offset hold still a block is one
// vectorized pass: an LFO on every voice costs little.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/lfo.hpp"

#include "synth-worker/engine/dsp/gen_phase.hpp"
#include "synth-worker/engine/dsp/gen_random.hpp"
#include "synth-worker/engine/dsp/gen_wavetable.hpp"

#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::lfo;

using dsp::GenWavetables;
using dsp::Phase;

constexpr Phase kQuarterCycle = Phase{1} << 62;
constexpr Phase kHalfCycle = Phase{1} << 63;

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
            out[i] = offset + depth * shape(wave, phase_);
            advance(inc);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(rng_);
        v(held_);
    }

private:
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
        // The cycles completed in this block, each with its draw.
        for (auto cycles = dsp::cyclesCompleted(phase_, inc, frames); cycles > 0; --cycles)
            held_ = rng_.bipolar();
        phase_ += inc * frames;
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
    // Derived from the rate parameter (a cache, not state).
    float stepRate_ = -1.0f;
    Phase step_ = 0;

    Phase phase_ = 0;
    dsp::GenRandom rng_;
    float held_ = 0.0f; // sample & hold value, -1..1
};

} // namespace

std::unique_ptr<Module> createLfo() { return std::unique_ptr<Module>(new Lfo); }

} // namespace chronus::engine
