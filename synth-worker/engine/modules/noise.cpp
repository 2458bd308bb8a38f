// `noise`: white, pink (-3 dB/octave) or brown (-6 dB/octave) noise.
//
// Deterministic: a xorshift64* generator seeded from Module::seed() (a hash of the node
// id), so the same patch renders the same noise on every worker and every run. Pink is
// Paul Kellet's refined filter (seven first-order sections, within ~0.5 dB of -3 dB/octave
// across the audio band); brown is a leaky integrator (pole at 10 Hz, so no DC runaway).
// All three colours are filtered every sample, so switching colour is instant and
// glitch-free. Each colour is scaled to about the same RMS (~0.3 at amp 1, peaks ~1).
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/noise.hpp"

#include "synth-worker/engine/dsp/gen_random.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::noise;

class Noise final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        brownPole_ = std::exp(-2.0 * std::numbers::pi * 10.0 / sampleRate);
        // A leaky integrator fed with unit-variance noise has variance 1 / (1 - pole^2).
        brownGain_ = std::sqrt(1.0 - brownPole_ * brownPole_) * (kTargetRms / kWhiteRms);
    }

    void reset() noexcept override
    {
        rng_.seed(seed());
        for (auto &b : pink_)
            b = 0.0;
        brown_ = 0.0;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int color = static_cast<int>(param(Color).next(i));
            const float amp = param(Amp).next(i);
            const double white = rng_.bipolar();

            // Paul Kellet's "refined" pink filter (pk3).
            pink_[0] = 0.99886 * pink_[0] + white * 0.0555179;
            pink_[1] = 0.99332 * pink_[1] + white * 0.0750759;
            pink_[2] = 0.96900 * pink_[2] + white * 0.1538520;
            pink_[3] = 0.86650 * pink_[3] + white * 0.3104856;
            pink_[4] = 0.55000 * pink_[4] + white * 0.5329522;
            pink_[5] = -0.7616 * pink_[5] - white * 0.0168980;
            const double pink =
                pink_[0] + pink_[1] + pink_[2] + pink_[3] + pink_[4] + pink_[5] + pink_[6] + white * 0.5362;
            pink_[6] = white * 0.115926;

            brown_ = brownPole_ * brown_ + brownGain_ * white;

            double value = white * (kTargetRms / kWhiteRms);
            if (color == Pink)
                value = pink * kPinkGain;
            else if (color == Brown)
                value = brown_;
            out[i] = amp * static_cast<float>(value);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(rng_);
        v(pink_);
        v(brown_);
    }

private:
    static constexpr double kWhiteRms = 0.57735026918962576; // uniform on [-1, 1)
    static constexpr double kTargetRms = 0.3;
    static constexpr double kPinkGain = 0.3 / 1.6; // Kellet's filter gives RMS ~1.6 for uniform input

    double brownPole_ = 0.0;
    double brownGain_ = 0.0;

    dsp::GenRandom rng_;
    double pink_[7] = {};
    double brown_ = 0.0;
};

} // namespace

std::unique_ptr<Module> createNoise() { return std::unique_ptr<Module>(new Noise); }

} // namespace chronus::engine
