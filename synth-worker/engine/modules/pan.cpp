// `pan` (alias `panner`): places a mono input in the stereo field with the constant-power
// (sin/cos) law: L = in·cos θ, R = in·sin θ, θ = (pan + 1)·π/4, so L² + R² = in² at every
// position and the centre is -3 dB on each side.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/pan.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::pan;

class Panner final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float pan = param(Pan).next(i);
            if (pan != tunedPan_) {
                const double theta = (pan + 1.0) * (std::numbers::pi / 4.0);
                gainL_ = static_cast<float>(std::cos(theta));
                gainR_ = static_cast<float>(std::sin(theta));
                tunedPan_ = pan;
            }
            const float x = in ? in[i] : 0.0f;
            b.out[OutL][i] = gainL_ * x;
            b.out[OutR][i] = gainR_ * x;
        }
    }

    void visitState(StateVisitor &) noexcept override {}

private:
    // Derived from the pan parameter (not state): recomputed whenever it moves.
    float tunedPan_ = 2.0f; // outside the range, so the first sample computes the gains
    float gainL_ = 0.0f;
    float gainR_ = 0.0f;
};

} // namespace

std::unique_ptr<Module> createPan() { return std::unique_ptr<Module>(new Panner); }

} // namespace chronus::engine
