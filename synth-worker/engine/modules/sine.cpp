// `sine` (alias `simple_sine`): the prototype's module, a pure sine with freq and gain.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/sine.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

using namespace model::sine;

class Sine final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { invRate_ = 1.0 / sampleRate; }
    void reset() noexcept override { phase_ = 0.0; }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const double freq = param(Freq).next(i);
            const float gain = param(Gain).next(i);
            out[i] = gain * static_cast<float>(std::sin(2.0 * std::numbers::pi * phase_));
            phase_ += freq * invRate_;
            phase_ -= std::floor(phase_);
        }
    }

    void visitState(StateVisitor &v) noexcept override { v(phase_); }

private:
    double invRate_ = 0.0;
    double phase_ = 0.0; // in cycles, [0, 1)
};

} // namespace

std::unique_ptr<Module> createSine() { return std::unique_ptr<Module>(new Sine); }

} // namespace chronus::engine
