// `biquad_filter` (alias `biquad`): RBJ-cookbook two-pole low-pass, high-pass, band-pass or
// notch, run as a normalized lattice so audio-rate cutoff modulation cannot make it blow up
// (see dsp/fx_biquad.hpp). Coefficients are recomputed only on samples where cutoff, Q or
// mode changed (while smoothing or modulation moves them); otherwise the filter just runs.
#include "module.hpp"

#include "../dsp/fx_biquad.hpp"

#include <cmath>

namespace chronus::engine {
namespace {

enum BiquadParam { Mode, Cutoff, Q };

class BiquadFilter final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        filter_.reset();
        tunedMode_ = -1; // forces a retune on the next sample
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[0];
        float *out = b.out[0];
        if (param(Mode).steady() && param(Cutoff).steady() && param(Q).steady() &&
            static_cast<int>(param(Mode).current() + 0.5f) == tunedMode_ && param(Cutoff).current() == tunedCutoff_ &&
            param(Q).current() == tunedQ_) {
            filter_.processBlock(in, out, b.frames); // tuned and staying so: just run
            return;
        }
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int mode = static_cast<int>(param(Mode).next(i) + 0.5f);
            const float cutoff = param(Cutoff).next(i);
            const float q = param(Q).next(i);
            if (mode != tunedMode_ || cutoff != tunedCutoff_ || q != tunedQ_) {
                filter_.setup(static_cast<dsp::fx::BiquadMode>(mode), cutoff, q, sampleRate_);
                tunedMode_ = mode;
                tunedCutoff_ = cutoff;
                tunedQ_ = q;
            }
            const float x = in ? in[i] : 0.0f;
            out[i] = static_cast<float>(filter_.process(x));
        }
    }

    void visitState(StateVisitor &v) noexcept override { filter_.visit(v); }

private:
    double sampleRate_ = 48000.0;
    dsp::fx::RbjBiquad filter_;
    // The values the coefficients were computed for; a pure function of the parameters,
    // so not part of the snapshot (a restored module retunes on its first sample).
    int tunedMode_ = -1;
    float tunedCutoff_ = 0.0f;
    float tunedQ_ = 0.0f;
};

ModuleSpec biquadSpec()
{
    ModuleSpec s;
    s.type = "biquad_filter";
    s.aliases = {"biquad"};
    s.description = "Two-pole RBJ-cookbook filter (12 dB/oct low/high-pass, band-pass, notch)";
    s.inputs = {{"in", "audio"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "filtered audio"}};
    s.params = {
        {.name = "mode", .type = ParamType::Enum, .min = 0.0f, .max = 3.0f, .def = 0.0f,
         .choices = {"lp", "hp", "bp", "notch"}, .aliases = {"filter_mode"},
         .description = "response: lp (low-pass), hp (high-pass), bp (band-pass, 0 dB at its peak) or notch; "
                        "names or 0-3"},
        {.name = "cutoff", .min = 10.0f, .max = 20000.0f, .def = 1000.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"frequency", "freq"},
         .description = "cutoff (lp/hp: -3 dB point at q 0.707), centre (bp) or notch frequency; "
                        "limited to 0.49 x sample rate"},
        {.name = "q", .min = 0.1f, .max = 40.0f, .def = 0.707f, .smoothingMs = 10.0f, .aliases = {"resonance"},
         .description = "quality factor: 0.707 is maximally flat (Butterworth), higher values resonate; "
                        "bp/notch bandwidth = cutoff / q"},
    };
    s.create = [] { return std::unique_ptr<Module>(new BiquadFilter); };
    return s;
}

CHRONUS_REGISTER_MODULE(biquadSpec);

} // namespace
} // namespace chronus::engine
