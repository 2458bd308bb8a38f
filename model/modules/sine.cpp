#include "model/modules/sine.hpp"

namespace chronus::model::sine {

ModuleSpec spec()
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
    return s;
}

} // namespace chronus::model::sine
