// `ladder` (alias `moog`): a four-pole (24 dB/oct) transistor-ladder low-pass in the
// zero-delay-feedback form (Zavalishin, "The Art of VA Filter Design", ch. 5) with a
// tanh at the ladder's input. The feedback is solved linearly each sample and the tanh is
// applied to that solution, so the loop is bounded by construction: no NaN or blow-up at
// any resonance, drive or cutoff. With `env` and `accent` it is the acid-bass voice.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/ladder.hpp"

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
        tunedCutoff_ = -1.0; // forces a retune on the next sample
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        const float *env = b.in[Env];
        const float *accentIn = b.in[AccentIn];
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double cutoff = param(Cutoff).next(i);
            const double k = kMaxFeedback * param(Resonance).next(i);
            const float driveDb = param(Drive).next(i);
            const double envAmount = param(EnvAmount).next(i);
            const double accentAmount = param(Accent).next(i);

            const double accent = accentAmount * (accentIn ? std::clamp(accentIn[i], 0.0f, 1.0f) : 0.0f);
            const double e = env ? std::clamp(env[i], -1.0f, 1.0f) : 0.0f;
            const double octaves = envAmount * e * (1.0 + accent);
            const double fc = octaves == 0.0 ? cutoff : cutoff * std::exp2(octaves);
            if (fc != tunedCutoff_) {
                const double g = std::tan(std::numbers::pi * std::clamp(fc, 5.0, 0.45 * sampleRate_) / sampleRate_);
                G_ = g / (1.0 + g);
                tunedCutoff_ = fc;
            }
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
            out[i] = static_cast<float>(u * (1.0 + 0.5 * k) * (1.0 + accent));
        }
    }

    void visitState(StateVisitor &v) noexcept override { v(s_); }

private:
    double sampleRate_ = 48000.0;
    double s_[4] = {0.0, 0.0, 0.0, 0.0}; // integrator states of the four stages
    // Derived from parameters and inputs each sample; not state.
    double tunedCutoff_ = -1.0;
    double G_ = 0.0;
    float tunedDriveDb_ = -1.0f;
    double drive_ = 1.0;
};

} // namespace

std::unique_ptr<Module> createLadder() { return std::unique_ptr<Module>(new Ladder); }

} // namespace chronus::engine
