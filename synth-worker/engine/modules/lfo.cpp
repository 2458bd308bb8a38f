// `lfo`: low-frequency modulation source. Output = offset + depth * wave, wave in -1..1.
//
// Meant for modulation connections: the graph adds this output, times the connection
// depth, to a parameter of another node. Shapes are deliberately naive (not band-limited):
// a modulation signal wants sharp corners. Sample & hold draws a new value from a
// generator seeded with Module::seed() at the start of every cycle, so it is repeatable.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/lfo.hpp"

#include "synth-worker/engine/dsp/gen_random.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::lfo;

class Lfo final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { invRate_ = 1.0 / sampleRate; }

    void reset() noexcept override
    {
        phase_ = 0.0;
        rng_.seed(seed());
        held_ = rng_.bipolar(); // the first cycle has a value too
    }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int wave = static_cast<int>(param(Waveform).next(i));
            const double rate = param(Rate).next(i);
            const float depth = param(Depth).next(i);
            const float offset = param(Offset).next(i);

            double value = 0.0;
            switch (wave) {
            case Sine: value = std::sin(2.0 * std::numbers::pi * phase_); break;
            case Triangle: {
                // 0 at phase 0, +1 at 1/4, 0 at 1/2, -1 at 3/4 (in step with the sine).
                double p = phase_ + 0.75;
                p -= std::floor(p);
                value = 4.0 * std::fabs(p - 0.5) - 1.0;
                break;
            }
            case Square: value = phase_ < 0.5 ? 1.0 : -1.0; break;
            case Saw: value = 2.0 * phase_ - 1.0; break;
            default: value = held_; break;
            }
            out[i] = offset + depth * static_cast<float>(value);

            phase_ += rate * invRate_;
            if (phase_ >= 1.0) {
                phase_ -= std::floor(phase_);
                held_ = rng_.bipolar(); // drawn every cycle whatever the shape: stays in step
            }
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(rng_);
        v(held_);
    }

private:
    double invRate_ = 0.0;
    double phase_ = 0.0; // in cycles, [0, 1)
    dsp::GenRandom rng_;
    float held_ = 0.0f; // sample & hold value, -1..1
};

} // namespace

std::unique_ptr<Module> createLfo() { return std::unique_ptr<Module>(new Lfo); }

} // namespace chronus::engine
