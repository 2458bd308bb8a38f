// `distortion` (aliases `drive`, `overdrive`): waveshaper with four characters, a post
// low-pass tone control and a dry/wet mix. Every shape is bounded to [-1, 1] before the
// tone filter, so no input (sub-bass, DC, +60 dB of drive) can make it run away, and a
// non-finite input sample is treated as silence.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/distortion.hpp"

#include "synth-worker/engine/dsp/fx_one_pole.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::distortion;

// Triangle fold: identity on [-1, 1], mirrored back at ±1 beyond (period 4).
float fold(float x) noexcept
{
    const float p = x + 1.0f;
    const float m = p - 4.0f * std::floor(p * 0.25f); // p mod 4 in [0, 4)
    return 1.0f - std::fabs(m - 2.0f);
}

class Distortion final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        tone_.reset();
        held_ = 0.0f;
        holdCount_ = 0;
        tunedTone_ = -1.0f;
        tunedDriveDb_ = -1000.0f;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int mode = static_cast<int>(param(Mode).next(i) + 0.5f);
            const float driveDb = param(Drive).next(i);
            const float toneHz = param(Tone).next(i);
            const float mix = param(Mix).next(i);
            const float level = param(Level).next(i);
            const float bits = param(Bits).next(i);
            const auto downsample = static_cast<std::uint32_t>(param(Downsample).next(i) + 0.5f);
            if (driveDb != tunedDriveDb_) {
                drive_ = static_cast<float>(std::pow(10.0, driveDb / 20.0));
                tunedDriveDb_ = driveDb;
            }
            if (toneHz != tunedTone_) {
                tone_.setup(toneHz, sampleRate_);
                tunedTone_ = toneHz;
            }

            float x = in ? in[i] : 0.0f;
            if (!std::isfinite(x))
                x = 0.0f;
            // Beyond ±1e6 every shape is saturated anyway; the clamp keeps fold's
            // floor() arithmetic exact enough.
            const float d = std::clamp(drive_ * x, -1e6f, 1e6f);
            float wet = 0.0f;
            switch (mode) {
            case Soft: wet = std::tanh(d); break;
            case Hard: wet = std::clamp(d, -1.0f, 1.0f); break;
            case Foldback: wet = fold(d); break;
            default: {
                // Sample-and-hold every `downsample` samples, then quantise to 2^(bits-1) steps.
                if (holdCount_ == 0) {
                    const float steps = std::exp2(bits - 1.0f);
                    held_ = std::round(std::clamp(d, -1.0f, 1.0f) * steps) / steps;
                }
                if (++holdCount_ >= downsample)
                    holdCount_ = 0;
                wet = held_;
                break;
            }
            }
            const float toned = static_cast<float>(tone_.process(wet));
            out[i] = level * ((1.0f - mix) * x + mix * toned);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        tone_.visit(v);
        v(held_);
        v(holdCount_);
    }

private:
    double sampleRate_ = 48000.0;
    dsp::fx::OnePoleLowpass tone_;
    float held_ = 0.0f;             // bitcrush: the sample being held
    std::uint32_t holdCount_ = 0;   // bitcrush: samples since it was taken
    // Derived from parameters (not state).
    float tunedTone_ = -1.0f;
    float tunedDriveDb_ = -1000.0f;
    float drive_ = 1.0f;
};

} // namespace

std::unique_ptr<Module> createDistortion() { return std::unique_ptr<Module>(new Distortion); }

} // namespace chronus::engine
