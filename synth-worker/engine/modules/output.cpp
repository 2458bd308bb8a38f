// `output`: the built-in stereo sink. Every patch has one node called `output`; what
// reaches its L and R inputs is what the engine renders.
#include "synth-worker/engine/module.hpp"

#include <algorithm>

namespace chronus::engine {
namespace {

enum OutputParam { Gain };

class Output final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float g = param(Gain).next(i);
            b.out[0][i] = b.in[0] ? g * b.in[0][i] : 0.0f;
            b.out[1][i] = b.in[1] ? g * b.in[1][i] : 0.0f;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

ModuleSpec outputSpec()
{
    ModuleSpec s;
    s.type = "output";
    s.description = "Stereo sink; a mono source connected without a port feeds both channels";
    s.inputs = {{"L", "left"}, {"R", "right"}};
    s.mainInputs = 2;
    s.outputs = {{"L", "left (to the engine)"}, {"R", "right (to the engine)"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"volume"},
         .description = "master gain (linear)"},
    };
    s.create = [] { return std::unique_ptr<Module>(new Output); };
    return s;
}

CHRONUS_REGISTER_MODULE(outputSpec);

} // namespace
} // namespace chronus::engine
