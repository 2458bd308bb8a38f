// `biquad_filter` (alias `biquad`): RBJ-cookbook two-pole low-pass, high-pass, band-pass or
// notch, run as a normalized lattice so audio-rate cutoff modulation cannot make it blow up
// (see dsp/fx_biquad.hpp). On samples where cutoff, Q or mode changed (while smoothing or
// modulation moves them) it retunes and takes a lattice step; while they stay put it runs
// the same lattice four samples at a time, which is several times as fast.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/biquad_filter.hpp"

#include "synth-worker/engine/dsp/fx_biquad.hpp"

#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::biquad_filter;

class BiquadFilter final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        filter_.reset();
        prev_ = {};
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        float *out = b.out[Out];
        if (param(Mode).steady() && param(Cutoff).steady() && param(Q).steady() &&
            Tuning{modeOf(param(Mode).current()), param(Cutoff).current(), param(Q).current()} == prev_) {
            // The same coefficients as the previous sample and staying so: every sample of
            // the block takes the grouped branch below.
            tune(prev_);
            filter_.processBlock(in, out, b.frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const Tuning now{modeOf(param(Mode).next(i)), param(Cutoff).next(i), param(Q).next(i)};
            const double x = in ? in[i] : 0.0f;
            if (now == prev_) {
                tune(now);
                out[i] = static_cast<float>(filter_.processGrouped(x));
                continue;
            }
            // The coefficients change on this sample: bring a group under way up to here
            // with the old ones, then one lattice step with the new (the step that stays
            // bounded however fast they move).
            if (filter_.midGroup()) {
                tune(prev_);
                filter_.settle();
            }
            tune(now);
            prev_ = now;
            out[i] = static_cast<float>(filter_.process(x));
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        filter_.visit(v);
        v(prev_.mode);
        v(prev_.cutoff);
        v(prev_.q);
    }

private:
    struct Tuning {
        int mode = -1; // -1: none yet (after reset)
        float cutoff = 0.0f;
        float q = 0.0f;
        bool operator==(const Tuning &) const = default;
    };

    static int modeOf(float value) noexcept { return static_cast<int>(value + 0.5f); }

    // Loads the coefficients for `t` unless they are loaded already (a cache: retuning
    // to the same values gives the same bits).
    void tune(const Tuning &t) noexcept
    {
        if (t == tuned_)
            return;
        filter_.setup(static_cast<dsp::fx::BiquadMode>(t.mode), t.cutoff, t.q, sampleRate_);
        tuned_ = t;
    }

    double sampleRate_ = 48000.0;
    dsp::fx::RbjBiquad filter_;
    // The parameters of the previous sample: whether the coefficients changed decides
    // between a lattice step and a grouped one, so this is state (a restored module must
    // decide the same way).
    Tuning prev_;
    // The values the loaded coefficients were computed for (a cache, not state).
    Tuning tuned_;
};

} // namespace

std::unique_ptr<Module> createBiquadFilter() { return std::unique_ptr<Module>(new BiquadFilter); }

} // namespace chronus::engine
