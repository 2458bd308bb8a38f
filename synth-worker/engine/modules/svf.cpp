// `svf` (alias `state_variable_filter`): Andrew Simper's (Cytomic) trapezoidal state-variable
// filter. Stable for any cutoff and Q, including fast modulation, because the integrators
// are zero-delay and the coefficients never leave the stable region.
//
// Mode, cutoff and Q are read at control points (control_clock.hpp: every kControlPeriod
// samples of the node's own sample count) and the coefficients (one tan) are held in
// between, so a smoothed or modulated cutoff moves in steps of that many samples.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/svf.hpp"

#include "synth-worker/engine/control_clock.hpp"
#include "synth-worker/engine/two_pole_tuning.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::svf;

// The filter core: setup() retunes (one tan), run() runs. RT-safe.
class SimperSvf {
public:
    void setup(double freqHz, double q, double sampleRate) noexcept
    {
        freqHz = std::clamp(freqHz, 1.0, 0.49 * sampleRate);
        const double g = std::tan(std::numbers::pi * freqHz / sampleRate);
        k_ = 1.0 / std::max(q, 0.05);
        a1_ = 1.0 / (1.0 + g * (g + k_));
        a2_ = g * a1_;
        a3_ = g * a2_;
    }

    // `frames` samples of response `mode`; `in` may be nullptr (silence).
    void run(int mode, const float *in, float *out, std::uint32_t frames) noexcept
    {
        switch (mode) {
        case Highpass: run<Highpass>(in, out, frames); break;
        case Bandpass: run<Bandpass>(in, out, frames); break;
        case Notch: run<Notch>(in, out, frames); break;
        default: run<Lowpass>(in, out, frames); break;
        }
    }

    void reset() noexcept { ic1eq_ = ic2eq_ = 0.0; }

    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(ic1eq_);
        v(ic2eq_);
    }

private:
    template <int Mode>
    void run(const float *in, float *out, std::uint32_t frames) noexcept
    {
        double ic1 = ic1eq_, ic2 = ic2eq_;
        for (std::uint32_t i = 0; i < frames; ++i) {
            const double v0 = in ? in[i] : 0.0f;
            const double v3 = v0 - ic2;
            const double v1 = a1_ * ic1 + a2_ * v3;
            const double v2 = ic2 + a2_ * ic1 + a3_ * v3;
            ic1 = 2.0 * v1 - ic1;
            ic2 = 2.0 * v2 - ic2;
            double y = v2;
            if constexpr (Mode == Highpass)
                y = v0 - k_ * v1 - v2;
            else if constexpr (Mode == Bandpass)
                y = k_ * v1; // scaled to 0 dB at the peak
            else if constexpr (Mode == Notch)
                y = v0 - k_ * v1;
            out[i] = static_cast<float>(y);
        }
        ic1eq_ = ic1;
        ic2eq_ = ic2;
    }

    double k_ = 1.0, a1_ = 1.0, a2_ = 0.0, a3_ = 0.0;
    double ic1eq_ = 0.0, ic2eq_ = 0.0;
};

class Svf final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        filter_.reset();
        tuning_ = {};
        clock_.reset();
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        float *out = b.out[Out];
        load();
        if (TwoPoleTuning::steady(*this) && TwoPoleTuning::current(*this) == tuning_) {
            // No control point in this block would retune.
            filter_.run(tuning_.mode, in, out, b.frames);
            clock_.advance(b.frames);
            return;
        }
        for (std::uint32_t i = 0; i < b.frames;) {
            const std::uint32_t n = clock_.span(b.frames - i);
            if (clock_.atPoint()) {
                const TwoPoleTuning now = TwoPoleTuning::next(*this, i);
                tuning_ = now;
                load();
                TwoPoleTuning::skip(*this, n - 1);
            } else {
                TwoPoleTuning::skip(*this, n);
            }
            filter_.run(tuning_.mode, in ? in + i : nullptr, out + i, n);
            clock_.advance(n);
            i += n;
        }
    }

    void visitState(StateVisitor &v) noexcept override
    {
        filter_.visit(v);
        tuning_.visit(v);
        clock_.visit(v);
    }

private:


    // Makes the filter's coefficients those of tuning_ (a cache: the same values give the
    // same bits, so a restored module recomputes them exactly).
    void load() noexcept
    {
        if (tuning_.mode < 0 || (tuning_.cutoff == loaded_.cutoff && tuning_.q == loaded_.q))
            return;
        filter_.setup(tuning_.cutoff, tuning_.q, sampleRate_);
        loaded_ = tuning_;
    }

    double sampleRate_ = 48000.0;
    SimperSvf filter_;
    // The values the filter runs with, taken at the last control point.
    TwoPoleTuning tuning_;
    ControlClock clock_;
    TwoPoleTuning loaded_; // what the coefficients were computed for (a cache, not state)
};

} // namespace

std::unique_ptr<Module> createSvf() { return std::unique_ptr<Module>(new Svf); }

} // namespace chronus::engine
