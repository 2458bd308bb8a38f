// `adsr`: attack-decay-sustain-release envelope, optionally applied to an audio input.
//
// Curves and timing (sample-exact; n(x) = x_ms * rate / 1000 samples, k counts samples
// from the segment's first sample, which is the sample of the edge that started it):
//   attack  linear, constant slope 1/n(attack) per sample from the current level:
//           from 0 the output is k / n(attack) and first reaches exactly 1.0 at
//           k = ceil(n(attack)). Attack 0 jumps to 1.0 on the gate-on sample itself.
//   decay   1 + (sustain - 1) * shape(k / n(decay)), exactly sustain at k = ceil(n(decay)).
//   release L * (1 - shape(k / n(release))) from the level L at gate-off, exactly 0 at
//           k = ceil(n(release)), whatever L was.
//   shape(t) = (1 - e^(-5t)) / (1 - e^(-5)): an exponential that starts fast like an analogue
//           envelope but lands on its end value at a known sample instead of never.
// The gate is the `gate` parameter (/gate/<id>) OR the gate input (> 0.5); an edge at sample
// i acts at sample i. Gate-on while sounding restarts the attack from the current level, so
// retriggers never click.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/adsr.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::adsr;

enum Stage : std::int32_t { Idle, AttackStage, DecayStage, SustainStage, ReleaseStage };

constexpr double kCurve = 5.0;
// Segment positions are sums of 1/n; this absorbs their rounding so an integer n ends on
// exactly its n-th sample.
constexpr double kEndSlack = 1e-9;

double shape(double t) noexcept { return (1.0 - std::exp(-kCurve * t)) / (1.0 - std::exp(-kCurve)); }

class Adsr final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { samplesPerMs_ = sampleRate * 0.001; }

    void reset() noexcept override
    {
        stage_ = Idle;
        level_ = 0.0;
        t_ = 0.0;
        from_ = 0.0;
        velocity_ = 1.0f;
        gate_ = false;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        const float *gateIn = b.in[GateIn];
        const float *velocityIn = b.in[VelocityIn];
        float *out = b.out[Out];
        if (holding(gateIn, b.frames)) {
            // Sustaining or silent with nothing about to change: the same value every
            // sample, computed exactly as the loop below would.
            level_ = stage_ == SustainStage ? static_cast<double>(param(Sustain).current()) : 0.0;
            const float env = static_cast<float>(level_) * velocity_;
            if (in) {
                for (std::uint32_t i = 0; i < b.frames; ++i)
                    out[i] = in[i] * env;
            } else {
                std::fill_n(out, b.frames, env);
            }
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double attack = param(Attack).next(i) * samplesPerMs_;
            const double decay = param(Decay).next(i) * samplesPerMs_;
            const double sustain = param(Sustain).next(i);
            const double release = param(Release).next(i) * samplesPerMs_;
            const bool gateParam = param(Gate).next(i) > 0.5f;
            const float velocityAmount = param(VelocityAmount).next(i);

            const bool gate = gateParam || (gateIn && gateIn[i] > 0.5f);
            if (gate && !gate_) {
                velocity_ = velocityIn ? 1.0f - velocityAmount + velocityAmount * velocityIn[i] : 1.0f;
                if (attack > 0.0) {
                    stage_ = AttackStage; // level_ carries on from where it is
                } else {
                    stage_ = DecayStage;
                    level_ = 1.0;
                    t_ = 0.0;
                }
            } else if (!gate && gate_ && stage_ != Idle) {
                stage_ = ReleaseStage;
                from_ = level_;
                t_ = 0.0;
            }
            gate_ = gate;

            // This sample's value...
            switch (stage_) {
            case Idle: level_ = 0.0; break;
            case AttackStage: break;
            case DecayStage: level_ = 1.0 + (sustain - 1.0) * shape(t_); break;
            case SustainStage: level_ = sustain; break;
            case ReleaseStage: level_ = from_ * (1.0 - shape(t_)); break;
            }
            const float env = static_cast<float>(level_) * velocity_;
            out[i] = in ? in[i] * env : env;

            // ...then advance to the next one.
            switch (stage_) {
            case AttackStage:
                level_ = attack > 1.0 ? level_ + 1.0 / attack : 1.0;
                if (level_ >= 1.0 - kEndSlack) {
                    level_ = 1.0;
                    stage_ = DecayStage;
                    t_ = 0.0;
                }
                break;
            case DecayStage:
                t_ = decay > 1.0 ? t_ + 1.0 / decay : 1.0;
                if (t_ >= 1.0 - kEndSlack)
                    stage_ = SustainStage;
                break;
            case ReleaseStage:
                t_ = release > 1.0 ? t_ + 1.0 / release : 1.0;
                if (t_ >= 1.0 - kEndSlack) {
                    stage_ = Idle;
                    level_ = 0.0;
                }
                break;
            default: break;
            }
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(stage_);
        v(level_);
        v(t_);
        v(from_);
        v(velocity_);
        v(gate_);
    }

private:
    // True when this whole block is a flat sustain or silence: parameters settled, and the
    // gate (parameter or input) agrees with the gate already seen on every sample (no edge).
    bool holding(const float *gateIn, std::uint32_t frames) noexcept
    {
        if (stage_ != SustainStage && stage_ != Idle)
            return false;
        for (auto &p : params())
            if (!p.steady())
                return false;
        const bool gateParam = param(Gate).current() > 0.5f;
        if (!gateIn)
            return gateParam == gate_;
        if (gateParam) // the parameter holds the gate open whatever the input says
            return gate_;
        // A gate input with no edge in this block (a held voice, a sustained step).
        for (std::uint32_t i = 0; i < frames; ++i)
            if ((gateIn[i] > 0.5f) != gate_)
                return false;
        return true;
    }

    double samplesPerMs_ = 48.0;

    std::int32_t stage_ = Idle;
    double level_ = 0.0; // envelope value at the current sample, 0..1
    double t_ = 0.0;     // position in the decay or release segment, 0..1
    double from_ = 0.0;  // level where the release started
    float velocity_ = 1.0f;
    bool gate_ = false; // gate at the previous sample, for edges
};

} // namespace

std::unique_ptr<Module> createAdsr() { return std::unique_ptr<Module>(new Adsr); }

} // namespace chronus::engine
