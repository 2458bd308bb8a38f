// `sine` (alias `simple_sine`): the prototype's module, a pure sine with freq and gain.
#include "synth-worker/engine/module.hpp"

#include <cmath>
#include <numbers>

namespace chronus::engine {
namespace {

enum SineParam { Freq, Gain };

class Sine final : public Module {
public:
    void prepare(double sampleRate, std::uint32_t) override { invRate_ = 1.0 / sampleRate; }
    void reset() noexcept override { phase_ = 0.0; }

    void process(const ProcessBlock &b) noexcept override
    {
        float *out = b.out[0];
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

ModuleSpec sineSpec()
{
    ModuleSpec s;
    s.type = "sine";
    s.aliases = {"simple_sine"};
    s.description = "Pure sine oscillator (the prototype's module)";
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "freq", .min = 0.01f, .max = 20000.0f, .def = 440.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"frequency"}, .description = "frequency"},
        {.name = "gain", .min = 0.0f, .max = 1.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"amp", "level"},
         .description = "linear output gain"},
    };
    s.create = [] { return std::unique_ptr<Module>(new Sine); };
    return s;
}

CHRONUS_REGISTER_MODULE(sineSpec);

} // namespace
} // namespace chronus::engine
