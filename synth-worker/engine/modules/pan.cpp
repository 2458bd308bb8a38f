// `pan` (alias `panner`): places a mono input in the stereo field with the constant-power
// (sin/cos) law: L = in·cos θ, R = in·sin θ, θ = (pan + 1)·π/4, so L² + R² = in² at every
// position and the centre is -3 dB on each side.
#include "synth-worker/engine/module.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

enum PanParam { Pan };

class Panner final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[0];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float pan = param(Pan).next(i);
            if (pan != tunedPan_) {
                const double theta = (pan + 1.0) * (std::numbers::pi / 4.0);
                gainL_ = static_cast<float>(std::cos(theta));
                gainR_ = static_cast<float>(std::sin(theta));
                tunedPan_ = pan;
            }
            const float x = in ? in[i] : 0.0f;
            b.out[0][i] = gainL_ * x;
            b.out[1][i] = gainR_ * x;
        }
    }

    void visitState(StateVisitor &) noexcept override {}

private:
    // Derived from the pan parameter (not state): recomputed whenever it moves.
    float tunedPan_ = 2.0f; // outside the range, so the first sample computes the gains
    float gainL_ = 0.0f;
    float gainR_ = 0.0f;
};

ModuleSpec panSpec()
{
    ModuleSpec s;
    s.type = "pan";
    s.aliases = {"panner"};
    s.description = "Constant-power mono-to-stereo panner (centre -3 dB per side, L^2 + R^2 = in^2)";
    s.inputs = {{"in", "mono audio"}};
    s.mainInputs = 1;
    s.outputs = {{"L", "left"}, {"R", "right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "pan", .min = -1.0f, .max = 1.0f, .def = 0.0f, .smoothingMs = 10.0f,
         .aliases = {"position", "balance"}, .description = "position: -1 hard left, 0 centre, 1 hard right"},
    };
    s.create = [] { return std::unique_ptr<Module>(new Panner); };
    return s;
}

CHRONUS_REGISTER_MODULE(panSpec);

} // namespace
} // namespace chronus::engine
