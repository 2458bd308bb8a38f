#include "model/modules/delay.hpp"

namespace chronus::model::delay {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "delay";
    s.aliases = {"echo"};
    s.description = "Stereo feedback delay (up to 2 s) with tone filter in the feedback path and ping-pong";
    s.inputs = {{"L", "left"}, {"R", "right"}};
    s.mainInputs = 2;
    s.outputs = {{"L", "left"}, {"R", "right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "time", .min = 1.0f, .max = 2000.0f, .def = 375.0f, .unit = "ms", .smoothingMs = 50.0f,
         .aliases = {"delay", "time_ms"},
         .description = "delay time; changes glide like tape (read speed limited to 0.5x..1.5x, no clicks)"},
        {.name = "feedback", .min = 0.0f, .max = 0.95f, .def = 0.4f, .smoothingMs = 10.0f,
         .aliases = {"fb", "repeats"}, .description = "fraction of each repeat fed back (0..0.95)"},
        {.name = "tone", .min = 200.0f, .max = 20000.0f, .def = 6000.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"damping"},
         .description = "low-pass cutoff in the feedback path: each repeat is darker than the last"},
        {.name = "mix", .min = 0.0f, .max = 1.0f, .def = 0.3f, .smoothingMs = 10.0f, .aliases = {"wet"},
         .description = "dry/wet: 0 = input only, 1 = echoes only"},
        {.name = "ping_pong", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .aliases = {"pingpong"},
         .description = "on: the input (as mono) enters on the left and repeats alternate sides"},
    };
    return s;
}

} // namespace chronus::model::delay
