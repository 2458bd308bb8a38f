// `mixer`: eight mono inputs, each with its own level, summed into one output with a
// master gain. A connection that names no port goes to in1.
#include "synth-worker/engine/modules/factories.hpp"

#include "model/modules/mixer.hpp"

namespace chronus::engine {
namespace {

using namespace model::mixer;

class Mixer final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[Out];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            float sum = 0.0f;
            // Every level advances every sample, connected or not, so smoothing does not
            // depend on what is patched.
            for (int c = 0; c < kChannels; ++c) {
                const float level = param(c).next(i);
                if (b.in[c])
                    sum += level * b.in[c][i];
            }
            out[i] = param(Master).next(i) * sum;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

} // namespace

std::unique_ptr<Module> createMixer() { return std::unique_ptr<Module>(new Mixer); }

} // namespace chronus::engine
