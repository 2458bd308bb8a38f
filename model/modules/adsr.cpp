#include "model/modules/adsr.hpp"

namespace chronus::model::adsr {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "adsr";
    s.aliases = {"env", "envelope"};
    s.description = "ADSR envelope (linear attack, exponential-shaped decay/release ending exactly on time); "
                    "multiplies `in` when connected, else outputs the envelope";
    s.inputs = {
        {"in", "audio to shape; when unconnected the output is the bare envelope"},
        {"gate", "gate signal, on while > 0.5 (OR-ed with the gate parameter)"},
        {"velocity", "velocity 0..1, sampled at gate-on (scaled by velocity_amount)"},
    };
    s.mainInputs = 1;
    s.outputs = {{"out", "in x envelope, or the envelope (0..1)"}};
    s.params = {
        {.name = "attack", .min = 0.0f, .max = 60000.0f, .def = 5.0f, .unit = "ms",
         .aliases = {"a"}, .description = "linear rise time from 0 to 1 (constant slope; a retrigger rises from "
                                          "the current level)"},
        {.name = "decay", .min = 0.0f, .max = 60000.0f, .def = 200.0f, .unit = "ms",
         .aliases = {"d"}, .description = "time from 1 to the sustain level (exponential shape, exact end)"},
        {.name = "sustain", .min = 0.0f, .max = 1.0f, .def = 0.7f, .smoothingMs = 5.0f,
         .aliases = {"s"}, .description = "level held while the gate is on"},
        {.name = "release", .min = 0.0f, .max = 60000.0f, .def = 300.0f, .unit = "ms",
         .aliases = {"r"}, .description = "time from the level at gate-off to 0 (exponential shape, exact end)"},
        {.name = "gate", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .description = "gate (on/off), set by /gate/<id>; OR-ed with the gate input"},
        {.name = "velocity_amount", .min = 0.0f, .max = 1.0f, .def = 1.0f, .smoothingMs = 5.0f,
         .aliases = {"vel"}, .description = "how much the velocity input scales the envelope (0: ignored)"},
    };
    return s;
}

} // namespace chronus::model::adsr
