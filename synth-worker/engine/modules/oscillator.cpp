// `osc`: band-limited oscillator (sine, saw, square, triangle, pulse) with glide.
//
// Saw and triangle read mip-mapped wavetables (dsp/gen_wavetable.hpp, three per octave)
// holding only harmonics below Nyquist; square and pulse are the difference of two
// band-limited saws half a cycle / `width` apart, so they are band-limited too and carry no
// DC. Sine reads the interpolated sine table, so every shape costs about the same. The phase
// is 64-bit fixed point (dsp/gen_phase.hpp): exact pitch, and a steady block computes every
// sample's phase directly. Glide is a one-pole slew of the frequency in the pitch
// (log-frequency) domain, so a glide covers equal musical intervals in equal times.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/oscillator.hpp"

#include "synth-worker/engine/dsp/gen_wavetable.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::engine {
namespace {

using namespace model::oscillator;

using dsp::GenWavetables;

class Osc final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        tables_ = &GenWavetables::instance();
        sine_ = tables_->sine();
        rate_ = sampleRate;
        invRate_ = 1.0 / sampleRate;
    }

    void reset() noexcept override
    {
        phase_ = 0;
        freq_ = 0.0;
        hasFreq_ = false;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *freqIn = b.in[FreqIn];
        const float *ampIn = b.in[AmpIn];
        float *out = b.out[Out];
        if (!ampIn && steady(freqIn, b.frames)) {
            processSteady(out, b.frames);
            return;
        }
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
            increment();
            out[i] = amp * sample(wave, width);
            advance();
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        v(phase_);
        v(freq_);
        v(hasFreq_);
    }

private:
    // Nothing changes within this block: parameters settled, the frequency (the freq input's,
    // when connected, the same on every sample: a voice's pitch, a sequencer's step) already
    // reached, no glide under way.
    bool steady(const float *freqIn, std::uint32_t frames) noexcept
    {
        for (auto &p : params())
            if (!p.steady())
                return false;
        const float given = freqIn ? freqIn[0] : param(Freq).current();
        if (freqIn)
            for (std::uint32_t i = 1; i < frames; ++i)
                if (freqIn[i] != given)
                    return false;
        const double target = given > 0.0f ? given : 0.0; // as the general loop sanitises it
        return hasFreq_ && freq_ == target;
    }

    // The per-sample loop with every parameter read once and one loop per wave shape;
    // bit-identical to the general loop because the values it would read each sample are
    // these same values and each shape's arithmetic is sample()'s (GenWavetables::run()
    // is read() and advance() over a block).
    void processSteady(float *out, std::uint32_t frames) noexcept
    {
        const int wave = static_cast<int>(param(Waveform).current());
        const float amp = param(Amp).current();
        const double width = param(Width).current();
        increment();
        switch (wave) {
        case Sine: phase_ = GenWavetables::run(sine_, phase_, step_, amp, out, frames); break;
        case Saw: phase_ = GenWavetables::run(saw_, phase_, step_, amp, out, frames); break;
        case Triangle: phase_ = GenWavetables::run(triangle_, phase_, step_, amp, out, frames); break;
        default: {
            const dsp::Phase lag = lagOf(pulseWidth(wave, width));
            const dsp::Phase step = step_;
            dsp::Phase phase = phase_;
            for (std::uint32_t i = 0; i < frames; ++i) {
                out[i] = amp * pulse(saw_, lag, phase);
                phase += step;
            }
            phase_ = phase;
            break;
        }
        }
    }

    // Phase increment in cycles per sample; above Nyquist there is nothing band-limited
    // left to play. Also picks the wavetables for it (cached: log2 only when it changes).
    void increment() noexcept
    {
        const double inc = std::min(freq_ * invRate_, 0.4999);
        if (inc != tableInc_) {
            tableInc_ = inc;
            step_ = dsp::phaseIncrement(inc);
            saw_ = tables_->table(GenWavetables::Saw, inc);
            triangle_ = tables_->table(GenWavetables::Triangle, inc);
        }
    }

    float sample(int wave, double width) const noexcept
    {
        switch (wave) {
        case Sine: return GenWavetables::read(sine_, phase_);
        case Saw: return GenWavetables::read(saw_, phase_);
        case Triangle: return GenWavetables::read(triangle_, phase_);
        default: return pulse(saw_, lagOf(pulseWidth(wave, width)), phase_);
        }
    }

    static double pulseWidth(int wave, double width) noexcept
    {
        return wave == Square ? 0.5 : std::clamp(width, 0.01, 0.99);
    }
    // The phase offset 1 - w of the lagging saw.
    static dsp::Phase lagOf(double w) noexcept { return dsp::phaseFromCycles(1.0 - w); }

    // pulse(p) = saw(p - w) - saw(p): +(2 - 2w) for p < w, -2w after; DC-free.
    static float pulse(const float *saw, dsp::Phase lag, dsp::Phase phase) noexcept
    {
        return GenWavetables::read(saw, phase + lag) - GenWavetables::read(saw, phase);
    }

    void advance() noexcept { phase_ += step_; }

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
    // Derived from parameters and freq_ only (caches, not state).
    float coefMs_ = -1.0f;
    double glideCoef_ = 1.0;
    double tableInc_ = -1.0;
    dsp::Phase step_ = 0;
    const float *saw_ = nullptr;
    const float *triangle_ = nullptr;
    const float *sine_ = nullptr;

    dsp::Phase phase_ = 0;
    double freq_ = 0.0;  // glided frequency in Hz
    bool hasFreq_ = false;
};

} // namespace

std::unique_ptr<Module> createOscillator() { return std::unique_ptr<Module>(new Osc); }

} // namespace chronus::engine
