// `mixer`: eight mono inputs, each with its own level, summed into one output with a
// master gain. A connection that names no port goes to in1.
#include "synth-worker/engine/module.hpp"

#include <string>

namespace chronus::engine {
namespace {

constexpr int kChannels = 8;
constexpr int kMaster = kChannels; // params: level1..level8, then master

class Mixer final : public Module {
public:
    void prepare(double, std::uint32_t) override {}
    void reset() noexcept override {}

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[0];
        for (std::uint32_t i = 0; i < b.frames; ++i) {
            float sum = 0.0f;
            // Every level advances every sample, connected or not, so smoothing does not
            // depend on what is patched.
            for (int c = 0; c < kChannels; ++c) {
                const float level = param(c).next(i);
                if (b.in[c])
                    sum += level * b.in[c][i];
            }
            out[i] = param(kMaster).next(i) * sum;
        }
    }

    void visitState(StateVisitor &) noexcept override {}
};

ModuleSpec mixerSpec()
{
    ModuleSpec s;
    s.type = "mixer";
    s.description = "Eight-input mono mixer: out = master x sum(level_n x in_n); unnamed connections go to in1";
    for (int c = 1; c <= kChannels; ++c) {
        const std::string n = std::to_string(c);
        s.inputs.push_back({"in" + n, "audio " + n});
        s.params.push_back({.name = "level" + n, .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f,
                            .aliases = {"gain" + n}, .description = "linear gain of in" + n});
    }
    s.mainInputs = 1;
    s.outputs = {{"out", "mix"}};
    s.params.push_back({.name = "master", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f,
                        .aliases = {"gain", "level"}, .description = "linear gain applied to the sum"});
    s.create = [] { return std::unique_ptr<Module>(new Mixer); };
    return s;
}

CHRONUS_REGISTER_MODULE(mixerSpec);

} // namespace
} // namespace chronus::engine
