// `vca` (alias `amp`): multiplies the input by `gain` and, when connected, by the `cv` input
// (an envelope, an LFO, a sequencer's velocity).
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/vca.hpp"

namespace chronus::engine {
namespace {

using namespace model::vca;

class Vca final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        const float *cv = b.in[Cv];
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float gain = param(Gain).next(i);
            const float x = in ? in[i] : 0.0f;
            out[i] = cv ? x * gain * cv[i] : x * gain;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

} // namespace

std::unique_ptr<Module> createVca() { return std::unique_ptr<Module>(new Vca); }

} // namespace chronus::engine
