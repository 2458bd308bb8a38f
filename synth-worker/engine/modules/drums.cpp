// Drum voices `kick`, `snare` and `hat`, each fired by a rising edge of the `gate` input
// (> 0.5) or of the `gate` parameter (/gate/<id>); the edge acts at its own sample. The
// optional `velocity` input (0..1) is sampled at the edge. Noise comes from a generator
// seeded with Module::seed(), so hits are repeatable. Without a trigger they are silent.
//
// Decay times are to -60 dB. Envelopes below -100 dB are cut to exact zero.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/drums.hpp"

#include "synth-worker/engine/dsp/gen_random.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::drums;

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr float kSilence = 1e-5f; // -100 dB

// Multiplier per sample that takes an envelope to -60 dB in `ms`. Cached on its argument,
// so it is a pure function of the parameter value (nothing to snapshot).
class DecayCoef {
public:
    float get(float ms, double samplesPerMs) noexcept
    {
        if (ms != ms_) {
            ms_ = ms;
            coef_ = static_cast<float>(std::exp(-6.907755 / std::max(1.0, ms * samplesPerMs)));
        }
        return coef_;
    }

private:
    float ms_ = -1.0f;
    float coef_ = 0.0f;
};

float fixedCoef(double ms, double sampleRate) { return static_cast<float>(std::exp(-1.0 / (ms * 0.001 * sampleRate))); }

// One-pole low-pass coefficient for a cutoff in Hz.
float onePole(double hz, double sampleRate) { return static_cast<float>(1.0 - std::exp(-kTwoPi * hz / sampleRate)); }

// Shared trigger handling: rising edge of (gate param OR gate input).
class DrumVoice : public Module {
protected:
    // Returns true at the sample where the gate rises; also latches the velocity.
    bool triggered(float gateParam, const ProcessBlock &b, std::uint32_t i) noexcept
    {
        const bool gate = gateParam > 0.5f || (b.in[GateIn] && b.in[GateIn][i] > 0.5f);
        const bool edge = gate && !gate_;
        gate_ = gate;
        if (edge)
            velocity_ = b.in[VelocityIn] ? std::clamp(b.in[VelocityIn][i], 0.0f, 1.0f) : 1.0f;
        return edge;
    }
    void resetTrigger() noexcept
    {
        gate_ = false;
        velocity_ = 1.0f;
        rng_.seed(seed());
    }
    void visitTrigger(StateVisitor &v) noexcept
    {
        v(gate_);
        v(velocity_);
        v(rng_);
    }

    double rate_ = 48000.0;
    bool gate_ = false;
    float velocity_ = 1.0f;
    dsp::GenRandom rng_;
};

// --- kick: sine with an exponential pitch sweep, plus a noise click ------------------------

class Kick final : public DrumVoice {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        rate_ = sampleRate;
        sweepCoef_ = fixedCoef(25.0, sampleRate);
        clickCoef_ = fixedCoef(1.5, sampleRate);
        clickLp_ = onePole(4000.0, sampleRate);
    }

    void reset() noexcept override
    {
        resetTrigger();
        phase_ = 0.0;
        amp_ = sweep_ = click_ = 0.0f;
        clickState_ = 0.0f;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double tune = param(KickTune).next(i);
            const float decay = param(KickDecay).next(i);
            const double sweepAmount = param(KickSweep).next(i);
            const float clickAmount = param(KickClick).next(i);
            const float level = param(KickLevel).next(i);
            if (triggered(param(KickGate).next(i), b, i)) {
                phase_ = 0.0; // every hit starts the same way
                amp_ = sweep_ = click_ = 1.0f;
            }
            clickState_ += clickLp_ * (rng_.bipolar() - clickState_);
            const float body = amp_ * static_cast<float>(std::sin(kTwoPi * phase_));
            b.out[Out][i] = level * velocity_ * (body + 2.0f * clickAmount * click_ * clickState_);

            phase_ += tune * (1.0 + sweepAmount * sweep_) / rate_;
            phase_ -= std::floor(phase_);
            amp_ *= coef_.get(decay, rate_ * 0.001);
            sweep_ *= sweepCoef_;
            click_ *= clickCoef_;
            if (amp_ < kSilence)
                amp_ = sweep_ = click_ = 0.0f;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        visitTrigger(v);
        v(phase_);
        v(amp_);
        v(sweep_);
        v(click_);
        v(clickState_);
    }

private:
    DecayCoef coef_;
    float sweepCoef_ = 0.0f, clickCoef_ = 0.0f, clickLp_ = 0.0f;
    double phase_ = 0.0;
    float amp_ = 0.0f, sweep_ = 0.0f, click_ = 0.0f, clickState_ = 0.0f;
};

// --- snare: two detuned sines with a short pitch drop, plus band-passed noise ---------------

class Snare final : public DrumVoice {
public:
    void prepare(double sampleRate, std::uint32_t) override
    {
        rate_ = sampleRate;
        dropCoef_ = fixedCoef(8.0, sampleRate);
        lowCut_ = onePole(1200.0, sampleRate);
        highCut_ = onePole(std::min(9000.0, 0.4 * sampleRate), sampleRate);
    }

    void reset() noexcept override
    {
        resetTrigger();
        phase1_ = phase2_ = 0.0;
        tone_ = noise_ = drop_ = 0.0f;
        low_ = high_ = 0.0f;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double tune = param(SnareTune).next(i);
            const float decay = param(SnareDecay).next(i);
            const float snappy = param(SnareSnappy).next(i);
            const float level = param(SnareLevel).next(i);
            if (triggered(param(SnareGate).next(i), b, i)) {
                phase1_ = phase2_ = 0.0;
                tone_ = noise_ = drop_ = 1.0f;
            }
            // Band-pass the noise: low-pass at 9 kHz minus its own low-pass at 1.2 kHz.
            high_ += highCut_ * (rng_.bipolar() - high_);
            low_ += lowCut_ * (high_ - low_);
            const float noise = high_ - low_;
            const float tone = static_cast<float>(std::sin(kTwoPi * phase1_) + 0.5 * std::sin(kTwoPi * phase2_));
            b.out[Out][i] = level * velocity_ * (0.6f * tone_ * tone + 2.5f * snappy * noise_ * noise);

            const double bend = 1.0 + 0.4 * drop_;
            phase1_ += tune * bend / rate_;
            phase1_ -= std::floor(phase1_);
            phase2_ += 1.63 * tune * bend / rate_;
            phase2_ -= std::floor(phase2_);
            // The body rings for half the decay; the snares for all of it.
            tone_ *= toneCoef_.get(0.5f * decay, rate_ * 0.001);
            noise_ *= noiseCoef_.get(decay, rate_ * 0.001);
            drop_ *= dropCoef_;
            if (noise_ < kSilence)
                tone_ = noise_ = drop_ = 0.0f;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        visitTrigger(v);
        v(phase1_);
        v(phase2_);
        v(tone_);
        v(noise_);
        v(drop_);
        v(low_);
        v(high_);
    }

private:
    DecayCoef toneCoef_, noiseCoef_;
    float dropCoef_ = 0.0f, lowCut_ = 0.0f, highCut_ = 0.0f;
    double phase1_ = 0.0, phase2_ = 0.0;
    float tone_ = 0.0f, noise_ = 0.0f, drop_ = 0.0f;
    float low_ = 0.0f, high_ = 0.0f;
};

// --- hat: six detuned square waves (the 808 recipe) and noise through a high-pass ------------

class Hat final : public DrumVoice {
public:
    void prepare(double sampleRate, std::uint32_t) override { rate_ = sampleRate; }

    void reset() noexcept override
    {
        resetTrigger();
        for (auto &p : phases_)
            p = 0.0;
        env_ = 0.0f;
        ic1_ = ic2_ = 0.0f;
    }

    void process(const ProcessBlock &b) noexcept override
    {
        static constexpr double kRatios[6] = {1.0, 1.4826, 1.8003, 2.5459, 2.6303, 3.8967}; // 205.3 Hz ...
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float decay = param(HatDecay).next(i);
            const float tone = param(HatTone).next(i);
            const float level = param(HatLevel).next(i);
            if (triggered(param(HatGate).next(i), b, i))
                env_ = 1.0f;

            // The metal: naive squares, their aliasing is part of the sound.
            const double base = 205.3 * (0.7 + 0.6 * tone);
            float metal = 0.0f;
            for (int k = 0; k < 6; ++k) {
                metal += phases_[k] < 0.5 ? 1.0f : -1.0f;
                phases_[k] += base * kRatios[k] / rate_;
                phases_[k] -= std::floor(phases_[k]);
            }
            const float x = (1.0f - 0.5f * tone) * metal * (1.0f / 6.0f) + (0.5f + 0.5f * tone) * rng_.bipolar();

            // Two-pole high-pass (TPT state-variable filter), cutoff 5..11 kHz with tone.
            const float g = coefs_.g(std::min(5000.0 + 6000.0 * tone, 0.45 * rate_), rate_);
            const float k = 1.2f; // mild resonance
            const float hp = (x - (k + g) * ic1_ - ic2_) / (1.0f + g * (g + k));
            const float bp = g * hp + ic1_;
            const float lp = g * bp + ic2_;
            ic1_ = g * hp + bp;
            ic2_ = g * bp + lp;

            b.out[Out][i] = level * velocity_ * env_ * 1.5f * hp;
            env_ *= decay_.get(decay, rate_ * 0.001);
            if (env_ < kSilence)
                env_ = 0.0f;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        visitTrigger(v);
        v(phases_);
        v(env_);
        v(ic1_);
        v(ic2_);
    }

private:
    // tan() prewarp cached on the cutoff.
    struct Prewarp {
        double hz = -1.0;
        float value = 0.0f;
        float g(double cutoff, double rate) noexcept
        {
            if (cutoff != hz) {
                hz = cutoff;
                value = static_cast<float>(std::tan(std::numbers::pi * cutoff / rate));
            }
            return value;
        }
    } coefs_;
    DecayCoef decay_;
    double phases_[6] = {};
    float env_ = 0.0f;
    float ic1_ = 0.0f, ic2_ = 0.0f;
};

} // namespace

std::unique_ptr<Module> createKick() { return std::unique_ptr<Module>(new Kick); }
std::unique_ptr<Module> createSnare() { return std::unique_ptr<Module>(new Snare); }
std::unique_ptr<Module> createHat() { return std::unique_ptr<Module>(new Hat); }

} // namespace chronus::engine
