// `svf` (alias `state_variable_filter`): Andrew Simper's (Cytomic) trapezoidal state-variable
// filter. Stable for any cutoff and Q, including fast modulation, because the integrators
// are zero-delay and the coefficients never leave the stable region.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/svf.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::svf;

// The filter core: setup() retunes (one tan), process() runs. RT-safe.
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

    double process(double v0, int mode) noexcept
    {
        const double v3 = v0 - ic2eq_;
        const double v1 = a1_ * ic1eq_ + a2_ * v3;
        const double v2 = ic2eq_ + a2_ * ic1eq_ + a3_ * v3;
        ic1eq_ = 2.0 * v1 - ic1eq_;
        ic2eq_ = 2.0 * v2 - ic2eq_;
        switch (mode) {
        case Highpass: return v0 - k_ * v1 - v2;
        case Bandpass: return k_ * v1; // scaled to 0 dB at the peak
        case Notch: return v0 - k_ * v1;
        default: return v2;
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
    double k_ = 1.0, a1_ = 1.0, a2_ = 0.0, a3_ = 0.0;
    double ic1eq_ = 0.0, ic2eq_ = 0.0;
};

class Svf final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { sampleRate_ = sampleRate; }
    void reset() noexcept override
    {
        filter_.reset();
        tunedCutoff_ = -1.0f; // forces a retune on the next sample
    }

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const int mode = static_cast<int>(param(Mode).next(i) + 0.5f);
            const float cutoff = param(Cutoff).next(i);
            const float q = param(Q).next(i);
            if (cutoff != tunedCutoff_ || q != tunedQ_) {
                filter_.setup(cutoff, q, sampleRate_);
                tunedCutoff_ = cutoff;
                tunedQ_ = q;
            }
            const float x = in ? in[i] : 0.0f;
            out[i] = static_cast<float>(filter_.process(x, mode));
        }
    }

    void visitState(StateVisitor &v) noexcept override { filter_.visit(v); }

private:
    double sampleRate_ = 48000.0;
    SimperSvf filter_;
    float tunedCutoff_ = -1.0f; // what the coefficients were computed for (not state)
    float tunedQ_ = 0.0f;
};

} // namespace

std::unique_ptr<Module> createSvf() { return std::unique_ptr<Module>(new Svf); }

} // namespace chronus::engine
