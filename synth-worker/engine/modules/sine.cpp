// `sine` (alias `simple_sine`): the prototype's module, a pure sine with freq and gain.
// It reads the oscillators' interpolated sine table at a 64-bit fixed-point phase
// (dsp/gen_wavetable.hpp, dsp/gen_phase.hpp): exact pitch, within 2.5e-7 of a true sine, and
// while freq and gain hold still a block costs what a wavetable saw's does.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/sine.hpp"

#include "synth-worker/engine/dsp/gen_wavetable.hpp"

namespace chronus::engine {
namespace {

using namespace model::sine;

using dsp::GenWavetables;

class Sine final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        invRate_ = 1.0 / sampleRate;
        table_ = GenWavetables::instance().sine();
    }
    void reset() noexcept override { phase_ = 0; }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        if (param(Freq).steady() && param(Gain).steady()) {
            // The loop below with its values read once (run() is read() and the phase step
            // over a block, bit for bit).
            phase_ = GenWavetables::run(table_, phase_, step(param(Freq).current()), param(Gain).current(), out,
                                        b.frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const dsp::Phase inc = step(param(Freq).next(i));
            const float gain = param(Gain).next(i);
            out[i] = gain * GenWavetables::read(table_, phase_);
            phase_ += inc;
        }
    }

    void visitState(StateVisitor &v) noexcept override { v(phase_); }

private:
    // Phase step for `freq` Hz (cached: the conversion only when the frequency moves).
    dsp::Phase step(float freq) noexcept
    {
        if (freq != stepFreq_) {
            stepFreq_ = freq;
            step_ = dsp::phaseIncrement(freq * invRate_);
        }
        return step_;
    }

    double invRate_ = 0.0;
    const float *table_ = nullptr;
    // Derived from the freq parameter (a cache, not state).
    float stepFreq_ = -1.0f;
    dsp::Phase step_ = 0;

    dsp::Phase phase_ = 0;
};

} // namespace

std::unique_ptr<Module> createSine() { return std::unique_ptr<Module>(new Sine); }

} // namespace chronus::engine
