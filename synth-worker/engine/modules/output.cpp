// `output`: the built-in stereo sink. Every patch has one node called `output`; what
// reaches its L and R inputs is what the engine renders.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/output.hpp"

#include <algorithm>

namespace chronus::engine {
namespace {

using namespace model::output;

class OutputSink final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            const float g = param(Gain).next(i);
            b.out[OutL][i] = b.in[InL] ? g * b.in[InL][i] : 0.0f;
            b.out[OutR][i] = b.in[InR] ? g * b.in[InR][i] : 0.0f;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

} // namespace

std::unique_ptr<Module> createOutput() { return std::unique_ptr<Module>(new OutputSink); }

} // namespace chronus::engine
