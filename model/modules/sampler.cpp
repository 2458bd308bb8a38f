#include "model/modules/sampler.hpp"

namespace chronus::model::sampler {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "sampler";
    s.aliases = {"sample", "player"};
    s.description = "Plays a buffer (/buffer/load <name> <file>; its \"buffer\" names it) from start to end, or "
                    "looping, when the gate rises; at its own speed at the root note, faster or slower by rate "
                    "or by the pitch input (Hz: a poly's voice.pitch); velocity scales each hit";
    s.inputs = {
        {"gate", "a rising edge (> 0.5) plays the buffer from start; in gated mode a falling edge stops it"},
        {"pitch", "Hz: plays at pitch / root note's frequency times rate (unconnected: rate alone)"},
        {"velocity", "0..1, taken at each hit; 1 when unconnected"},
    };
    s.mainInputs = 0;
    s.outputs = {{"left", "left (a mono buffer on both)"}, {"right", "right"}};
    s.mainOutputs = 2;
    s.stringFields = {{"buffer", "the buffer it plays (a name given to /buffer/load)"}};
    s.params = {
        {.name = "gate", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f, .aliases = {"trigger"},
         .description = "/gate/<id> 1 plays it (with the gate input: either)"},
        {.name = "mode", .type = ParamType::Enum, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .choices = {"oneshot", "gated"},
         .description = "oneshot: plays to the end (or loops) whatever the gate does; gated: stops with a 5 ms fade "
                        "when the gate falls"},
        {.name = "root", .min = 0.0f, .max = 127.0f, .def = 60.0f, .unit = "MIDI",
         .description = "the note (MIDI number) at which the pitch input plays the buffer at its own speed"},
        {.name = "rate", .min = 0.0625f, .max = 16.0f, .def = 1.0f, .aliases = {"speed"},
         .description = "playback speed: 2 an octave up in half the time"},
        {.name = "start", .min = 0.0f, .max = 1.0f, .def = 0.0f, .description = "where a hit starts (fraction of the buffer)"},
        {.name = "end", .min = 0.0f, .max = 1.0f, .def = 1.0f, .description = "where it stops (fraction)"},
        {.name = "loop", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .description = "on: from loop_end back to loop_start until stopped"},
        {.name = "loop_start", .min = 0.0f, .max = 1.0f, .def = 0.0f, .description = "loop start (fraction)"},
        {.name = "loop_end", .min = 0.0f, .max = 1.0f, .def = 1.0f, .description = "loop end (fraction)"},
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"amp", "level"},
         .description = "linear gain (1 plays the samples as they are)"},
    };
    return s;
}

} // namespace chronus::model::sampler
