#include "model/modules/input.hpp"

namespace chronus::model::input {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "input";
    s.aliases = {"audio_in"};
    s.description = "Audio into the patch: JACK input chronus:in_<channel> (mono on both outputs) or, with "
                    "stereo on, in_<channel> and in_<channel+1>; the same in both workers and in chronus-render "
                    "(--input, or the journal's recorded input). Arrives (lookahead + 2) periods after capture; "
                    "an unconnected input is silence";
    s.outputs = {{"left", "input channel `channel`"}, {"right", "the same (mono), or channel + 1 (stereo)"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "channel", .type = ParamType::Int, .min = 1.0f, .max = 16.0f, .def = 1.0f,
         .description = "input channel (1 is chronus:in_1)"},
        {.name = "stereo", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .description = "on: channel and channel + 1 as a stereo pair"},
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"level"},
         .description = "linear gain (1 passes the input bit for bit)"},
    };
    return s;
}

} // namespace chronus::model::input
