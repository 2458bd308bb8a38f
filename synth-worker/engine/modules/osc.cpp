// `osc`: band-limited oscillator (sine, saw, square, triangle, pulse) with glide.
//
// Saw and triangle read mip-mapped wavetables (dsp/gen_wavetable.hpp, three per octave)
// holding only harmonics below Nyquist; square and pulse are the difference of two
// band-limited saws half a cycle / `width` apart, so they are band-limited too and carry no
// DC. Sine is computed directly. Glide is a one-pole slew of the frequency in the pitch
// (log-frequency) domain, so a glide covers equal musical intervals in equal times.
#include "module.hpp"

#include "../dsp/gen_wavetable.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

enum OscParam { Waveform, Freq, Amp, Width, Glide };
enum OscInput { FreqIn, AmpIn };
enum Wave { Sine, Saw, Square, Triangle, Pulse };

using dsp::GenWavetables;

class Osc final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        tables_ = &GenWavetables::instance();
        rate_ = sampleRate;
        invRate_ = 1.0 / sampleRate;
    }

    void reset() noexcept override
    {
        phase_ = 0.0;
        freq_ = 0.0;
        hasFreq_ = false;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *freqIn = b.in[FreqIn];
        const float *ampIn = b.in[AmpIn];
        float *out = b.out[0];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int wave = static_cast<int>(param(Waveform).next(i));
            const float freqParam = param(Freq).next(i);
            float amp = param(Amp).next(i);
            const double width = param(Width).next(i);
            const float glideMs = param(Glide).next(i);

            double target = freqIn ? freqIn[i] : freqParam;
            if (!(target > 0.0)) // also catches NaN from a broken input
                target = 0.0;
            glideTo(target, glideMs);
            if (ampIn)
                amp *= ampIn[i];

            // Above Nyquist there is nothing band-limited left to play.
            const double inc = std::min(freq_ * invRate_, 0.4999);
            float value = 0.0f;
            switch (wave) {
            case Sine:
                value = static_cast<float>(std::sin(2.0 * std::numbers::pi * phase_));
                break;
            case Saw:
                value = GenWavetables::read(tables_->table(GenWavetables::Saw, inc), phase_);
                break;
            case Triangle:
                value = GenWavetables::read(tables_->table(GenWavetables::Triangle, inc), phase_);
                break;
            default: {
                // pulse(p) = saw(p - w) - saw(p): +(2 - 2w) for p < w, -2w after; DC-free.
                const double w = wave == Square ? 0.5 : std::clamp(width, 0.01, 0.99);
                const float *saw = tables_->table(GenWavetables::Saw, inc);
                double lag = phase_ + 1.0 - w;
                lag -= std::floor(lag);
                value = GenWavetables::read(saw, lag) - GenWavetables::read(saw, phase_);
                break;
            }
            }
            out[i] = amp * value;
            phase_ += inc;
            phase_ -= std::floor(phase_);
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(freq_);
        v(hasFreq_);
    }

private:
    // Moves freq_ towards `target`: instantly without glide (or from silence), else by a
    // one-pole step in log-frequency reaching ~99 % of the interval after glideMs.
    void glideTo(double target, float glideMs) noexcept
    {
        if (!hasFreq_ || glideMs <= 0.0f || freq_ <= 0.0 || target <= 0.0) {
            freq_ = target;
            hasFreq_ = true;
            return;
        }
        if (glideMs != coefMs_) {
            coefMs_ = glideMs;
            glideCoef_ = 1.0 - std::exp(-4.6 / (glideMs * 0.001 * rate_));
        }
        if (freq_ != target) {
            freq_ *= std::pow(target / freq_, glideCoef_);
            if (std::fabs(freq_ - target) <= 1e-9 * target)
                freq_ = target;
        }
    }

    const GenWavetables *tables_ = nullptr;
    double rate_ = 48000.0;
    double invRate_ = 1.0 / 48000.0;
    // Derived from the glide parameter only (a cache, not state).
    float coefMs_ = -1.0f;
    double glideCoef_ = 1.0;

    double phase_ = 0.0; // in cycles, [0, 1)
    double freq_ = 0.0;  // glided frequency in Hz
    bool hasFreq_ = false;
};

ModuleSpec oscSpec()
{
    ModuleSpec s;
    s.type = "osc";
    s.aliases = {"oscillator", "vco"};
    s.description = "Band-limited oscillator (sine, saw, square, triangle, pulse; mip-mapped wavetables, "
                    "aliases below -50 dB) with glide";
    s.inputs = {
        {"freq", "frequency in Hz; when connected it replaces the freq parameter (glide still applies)"},
        {"amp", "amplitude; when connected it multiplies the amp parameter"},
    };
    s.mainInputs = 0;
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "waveform", .type = ParamType::Enum, .min = 0.0f, .max = 4.0f, .def = 0.0f,
         .choices = {"sine", "saw", "square", "triangle", "pulse"}, .aliases = {"wave", "shape"},
         .description = "wave shape: sine, saw (rising), square, triangle or pulse (see width); by name or number"},
        {.name = "freq", .min = 0.0f, .max = 20000.0f, .def = 440.0f, .unit = "Hz", .smoothingMs = 0.0f,
         .aliases = {"frequency", "pitch"},
         .description = "frequency when the freq input is unconnected; steps at once (use glide to slide)"},
        {.name = "amp", .min = 0.0f, .max = 2.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"gain", "level"},
         .description = "linear output amplitude (peak of the ideal waveform)"},
        {.name = "width", .min = 0.01f, .max = 0.99f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"pw"},
         .description = "pulse width of the pulse waveform (fraction of the cycle spent high); DC-free"},
        {.name = "glide", .min = 0.0f, .max = 10000.0f, .def = 0.0f, .unit = "ms", .smoothingMs = 0.0f,
         .aliases = {"portamento"},
         .description = "portamento time: a frequency change covers ~99 % of its interval (in pitch) in this "
                        "time; 0 jumps"},
    };
    s.create = [] { return std::unique_ptr<Module>(new Osc); };
    return s;
}

CHRONUS_REGISTER_MODULE(oscSpec);

} // namespace
} // namespace chronus::engine
