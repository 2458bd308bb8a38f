// `vca` (alias `amp`): multiplies the input by `gain` and, when connected, by the `cv` input
// (an envelope, an LFO, a sequencer's velocity).
#include "synth-worker/engine/module.hpp"

namespace chronus::engine {
namespace {

enum VcaParam { Gain };
enum VcaInput { In, Cv };

class Vca final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        const float *in = b.in[In];
        const float *cv = b.in[Cv];
        float *out = b.out[0];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float gain = param(Gain).next(i);
            const float x = in ? in[i] : 0.0f;
            out[i] = cv ? x * gain * cv[i] : x * gain;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

ModuleSpec vcaSpec()
{
    ModuleSpec s;
    s.type = "vca";
    s.aliases = {"amp"};
    s.description = "Voltage-controlled amplifier: out = in x gain x cv (cv counts as 1 when unconnected)";
    s.inputs = {{"in", "audio"}, {"cv", "control signal multiplied into the gain (e.g. an envelope)"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"level", "amp"},
         .description = "linear gain (1 = unity)"},
    };
    s.create = [] { return std::unique_ptr<Module>(new Vca); };
    return s;
}

CHRONUS_REGISTER_MODULE(vcaSpec);

} // namespace
} // namespace chronus::engine
