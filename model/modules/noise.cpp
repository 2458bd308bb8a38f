#include "model/modules/noise.hpp"

namespace chronus::model::noise {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "noise";
    s.description = "Seeded noise: white, pink (-3 dB/oct) or brown (-6 dB/oct); same node id, same noise";
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "color", .type = ParamType::Enum, .min = 0.0f, .max = 2.0f, .def = 0.0f,
         .choices = {"white", "pink", "brown"}, .aliases = {"colour", "type"},
         .description = "spectrum: white (flat), pink (-3 dB/octave) or brown (-6 dB/octave); by name or number"},
        {.name = "amp", .min = 0.0f, .max = 2.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"gain", "level"},
         .description = "linear gain; at 1 every colour has an RMS of about 0.3 (peaks near 1)"},
    };
    return s;
}

} // namespace chronus::model::noise
