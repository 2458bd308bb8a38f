#include "model/modules/lfo.hpp"

namespace chronus::model::lfo {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "lfo";
    s.description = "Low-frequency oscillator for modulation: offset + depth * wave (sine, triangle, square, saw, "
                    "seeded sample & hold)";
    s.outputs = {{"out", "modulation signal: offset + depth * wave"}};
    s.params = {
        {.name = "waveform", .type = ParamType::Enum, .min = 0.0f, .max = 4.0f, .def = 0.0f,
         .choices = {"sine", "triangle", "square", "saw", "sample_and_hold"}, .aliases = {"wave", "shape"},
         .description = "sine, triangle, square, saw (rising) or sample_and_hold (4: a new seeded random value "
                        "every cycle); by name or number"},
        {.name = "rate", .min = 0.01f, .max = 100.0f, .def = 1.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"freq", "frequency"}, .description = "cycles per second"},
        {.name = "depth", .min = -20000.0f, .max = 20000.0f, .def = 1.0f, .smoothingMs = 10.0f,
         .aliases = {"amount", "amp"},
         .description = "wave amplitude, in the units of whatever it modulates (e.g. Hz for a cutoff)"},
        {.name = "offset", .min = -20000.0f, .max = 20000.0f, .def = 0.0f, .smoothingMs = 10.0f,
         .aliases = {"bias"}, .description = "constant added to the output"},
    };
    return s;
}

} // namespace chronus::model::lfo
