// `ladder` (alias `moog`): a four-pole (24 dB/oct) transistor-ladder low-pass in the
// zero-delay-feedback form (Zavalishin, "The Art of VA Filter Design", ch. 5) with a
// tanh at the ladder's input. The feedback is solved linearly each sample and the tanh is
// applied to that solution, so the loop is bounded by construction: no NaN or blow-up at
// any resonance, drive or cutoff. With `env` and `accent` it is the acid-bass voice.
//
// The cutoff (the parameter, raised by env_amount octaves at the env input) is read at
// control points (control_clock.hpp: every kControlPeriod samples of the node's own sample
// count) and its coefficient (a tan, an exp2) held in between, so an envelope sweeps it in
// steps of that many samples. Resonance, drive and accent act on every sample.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/ladder.hpp"

#include "synth-worker/engine/control_clock.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::ladder;

// Resonance 1 maps to a loop gain a little above the self-oscillation threshold (4).
constexpr double kMaxFeedback = 4.2;

class Ladder final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        std::fill(std::begin(s_), std::end(s_), 0.0);
        cutoffHz_ = -1.0; // none yet: the first sample is a control point
        clock_.reset();
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        const float *env = b.in[Env];
        const float *accentIn = b.in[AccentIn];
        float *out = b.out[Out];
        load();
        for (std::uint32_t i = 0; i < b.frames;) {
            const std::uint32_t n = clock_.span(b.frames - i);
            const std::uint32_t end = i + n;
            if (clock_.atPoint()) {
                const double accent = accentAt(accentIn, i);
                retune(env, i, accent);
                out[i] = step(in, i, accent);
                ++i;
            }
            param(Cutoff).skip(end - i);
            param(EnvAmount).skip(end - i);
            for (; i < end; ++i)
                out[i] = step(in, i, accentAt(accentIn, i));
            clock_.advance(n);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(s_);
        v(cutoffHz_);
        clock_.visit(v);
    }

private:
    // The accent input times the accent parameter at sample i (advances the parameter).
    double accentAt(const float *accentIn, std::uint32_t i) noexcept
    {
        return param(Accent).next(i) * (accentIn ? std::clamp(accentIn[i], 0.0f, 1.0f) : 0.0f);
    }

    // A control point at sample i: the cutoff with the envelope's octaves (raised by the
    // accent) at this sample.
    void retune(const float *env, std::uint32_t i, double accent) noexcept
    {
        const double cutoff = param(Cutoff).next(i);
        const double envAmount = param(EnvAmount).next(i);
        const double e = env ? std::clamp(env[i], -1.0f, 1.0f) : 0.0f;
        const double octaves = envAmount * e * (1.0 + accent);
        cutoffHz_ = octaves == 0.0 ? cutoff : cutoff * std::exp2(octaves);
        load();
    }

    // Makes G_ that of cutoffHz_ (a cache: a restored module recomputes it exactly).
    void load() noexcept
    {
        if (cutoffHz_ == tunedCutoff_ || cutoffHz_ < 0.0)
            return;
        const double g = std::tan(std::numbers::pi * std::clamp(cutoffHz_, 5.0, 0.45 * sampleRate_) / sampleRate_);
        G_ = g / (1.0 + g);
        tunedCutoff_ = cutoffHz_;
    }

    // One sample of the ladder with the held coefficient.
    float step(const float *in, std::uint32_t i, double accent) noexcept
    {
        const double k = kMaxFeedback * param(Resonance).next(i);
        const float driveDb = param(Drive).next(i);
        if (driveDb != tunedDriveDb_) {
            drive_ = std::pow(10.0, driveDb / 20.0);
            tunedDriveDb_ = driveDb;
        }

        float x = in ? in[i] : 0.0f;
        if (!std::isfinite(x))
            x = 0.0f; // one bad input sample must not poison the filter memories
        const double G = G_;
        const double oneMinusG = 1.0 - G;
        // Each stage is y = G·x + (1-G)·s, so the ladder output is G⁴·u + S.
        const double S = G * (G * (G * oneMinusG * s_[0] + oneMinusG * s_[1]) + oneMinusG * s_[2]) +
                         oneMinusG * s_[3];
        const double G4 = G * G * G * G;
        const double xd = drive_ * x;
        const double y4Linear = (G4 * xd + S) / (1.0 + k * G4);
        double u = std::tanh(xd - k * y4Linear);
        for (double &s : s_) {
            const double v = (u - s) * G;
            const double y = v + s;
            s = y + v;
            u = y;
        }
        // Part of the pass-band loss that feedback causes is made up, plus the accent boost.
        return static_cast<float>(u * (1.0 + 0.5 * k) * (1.0 + accent));
    }

    double sampleRate_ = 48000.0;
    double s_[4] = {0.0, 0.0, 0.0, 0.0}; // integrator states of the four stages
    double cutoffHz_ = -1.0;              // taken at the last control point
    ControlClock clock_;
    // Derived from cutoffHz_ and the drive parameter (caches, not state).
    double tunedCutoff_ = -1.0;
    double G_ = 0.0;
    float tunedDriveDb_ = -1.0f;
    double drive_ = 1.0;
};

} // namespace

std::unique_ptr<Module> createLadder() { return std::unique_ptr<Module>(new Ladder); }

} // namespace chronus::engine
