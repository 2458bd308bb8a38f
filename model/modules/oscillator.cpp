#include "model/modules/oscillator.hpp"

namespace chronus::model::oscillator {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "osc";
    s.aliases = {"oscillator", "vco"};
    s.description = "Band-limited oscillator (sine, saw, square, triangle, pulse; mip-mapped wavetables, "
                    "aliases below -50 dB) with glide";
    s.inputs = {
        {"freq", "frequency in Hz; when connected it replaces the freq parameter (glide still applies)"},
        {"amp", "amplitude; when connected it multiplies the amp parameter"},
    };
    s.mainInputs = 0;
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "waveform", .type = ParamType::Enum, .min = 0.0f, .max = 4.0f, .def = 0.0f,
         .choices = {"sine", "saw", "square", "triangle", "pulse"}, .aliases = {"wave", "shape"},
         .description = "wave shape: sine, saw (rising), square, triangle or pulse (see width); by name or number"},
        {.name = "freq", .min = 0.0f, .max = 20000.0f, .def = 440.0f, .unit = "Hz", .smoothingMs = 0.0f,
         .aliases = {"frequency", "pitch"},
         .description = "frequency when the freq input is unconnected; steps at once (use glide to slide)"},
        {.name = "amp", .min = 0.0f, .max = 2.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"gain", "level"},
         .description = "linear output amplitude (peak of the ideal waveform)"},
        {.name = "width", .min = 0.01f, .max = 0.99f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"pw"},
         .description = "pulse width of the pulse waveform (fraction of the cycle spent high); DC-free"},
        {.name = "glide", .min = 0.0f, .max = 10000.0f, .def = 0.0f, .unit = "ms", .smoothingMs = 0.0f,
         .aliases = {"portamento"},
         .description = "portamento time: a frequency change covers ~99 % of its interval (in pitch) in this "
                        "time; 0 jumps"},
    };
    return s;
}

} // namespace chronus::model::oscillator
