// `delay` (alias `echo`): stereo feedback delay up to 2 s with a low-pass in the feedback
// path and optional ping-pong. Time changes are smoothed, then slew-limited so the read
// head never moves faster than kMaxSlew samples per sample (pitch stays within 0.5x..1.5x),
// and read with a Hermite interpolator: moving the time glides like tape instead of
// clicking. An integer sample delay is exact.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/delay.hpp"

#include "synth-worker/engine/dsp/fx_delay_line.hpp"
#include "synth-worker/engine/dsp/fx_one_pole.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::delay;

constexpr double kMaxTimeMs = 2000.0;
// Largest change of the delay per sample while the time moves (read-head speed 1 ± this).
constexpr double kMaxSlew = 0.5;

class Delay final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        sampleRate_ = sampleRate;
        const auto maxSamples = static_cast<std::uint32_t>(std::ceil(kMaxTimeMs * 0.001 * sampleRate)) + 1;
        for (auto &line : lines_)
            line.prepare(maxSamples);
    }
    void reset() noexcept override
    {
        for (auto &line : lines_)
            line.reset();
        for (auto &lp : tone_)
            lp.reset();
        tunedTone_ = -1.0f;
        delay_ = -1.0; // jumps to the parameter's value on the next sample
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *inL = b.in[InL];
        const float *inR = b.in[InR];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double target = param(Time).next(i) * 0.001 * sampleRate_;
            if (delay_ < 0.0)
                delay_ = target;
            else
                delay_ += std::clamp(target - delay_, -kMaxSlew, kMaxSlew);
            const double delaySamples = delay_;
            const float feedback = param(Feedback).next(i);
            const float toneHz = param(Tone).next(i);
            const float mix = param(Mix).next(i);
            const bool pingPong = param(PingPong).next(i) >= 0.5f;
            if (toneHz != tunedTone_) {
                for (auto &lp : tone_)
                    lp.setup(toneHz, sampleRate_);
                tunedTone_ = toneHz;
            }

            const float xL = inL ? inL[i] : 0.0f;
            const float xR = inR ? inR[i] : 0.0f;
            const float dL = lines_[0].read(delaySamples);
            const float dR = lines_[1].read(delaySamples);
            const auto fL = static_cast<float>(tone_[0].process(dL));
            const auto fR = static_cast<float>(tone_[1].process(dR));
            if (pingPong) {
                // The input (summed to mono) enters on the left; each repeat crosses sides.
                lines_[0].write(0.5f * (xL + xR) + feedback * fR);
                lines_[1].write(feedback * fL);
            } else {
                lines_[0].write(xL + feedback * fL);
                lines_[1].write(xR + feedback * fR);
            }
            b.out[OutL][i] = (1.0f - mix) * xL + mix * dL;
            b.out[OutR][i] = (1.0f - mix) * xR + mix * dR;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        for (auto &line : lines_)
            line.visit(v);
        for (auto &lp : tone_)
            lp.visit(v);
        v(delay_);
    }

private:
    double sampleRate_ = 48000.0;
    dsp::fx::DelayLine lines_[2];
    dsp::fx::OnePoleLowpass tone_[2];
    double delay_ = -1.0;     // current (slewed) delay in samples
    float tunedTone_ = -1.0f; // what the tone filters were tuned for (not state)
};

} // namespace

std::unique_ptr<Module> createDelay() { return std::unique_ptr<Module>(new Delay); }

} // namespace chronus::engine
