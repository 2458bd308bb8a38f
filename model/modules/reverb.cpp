#include "model/modules/reverb.hpp"

namespace chronus::model::reverb {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "reverb";
    s.aliases = {"freeverb"};
    s.description = "Stereo Freeverb-style reverb (8 damped combs + 4 allpasses per channel)";
    s.inputs = {{"L", "left"}, {"R", "right"}};
    s.mainInputs = 2;
    s.outputs = {{"L", "left"}, {"R", "right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "room_size", .min = 0.0f, .max = 1.0f, .def = 0.5f, .smoothingMs = 20.0f,
         .aliases = {"size", "room"},
         .description = "decay length: comb feedback 0.7 + 0.28 x room_size"},
        {.name = "damping", .min = 0.0f, .max = 1.0f, .def = 0.5f, .smoothingMs = 20.0f, .aliases = {"damp"},
         .description = "high-frequency absorption in the tail (0 = bright, 1 = dark)"},
        {.name = "width", .min = 0.0f, .max = 1.0f, .def = 1.0f, .smoothingMs = 20.0f,
         .description = "stereo width of the tail (0 = mono, 1 = full)"},
        {.name = "mix", .min = 0.0f, .max = 1.0f, .def = 0.3f, .smoothingMs = 10.0f, .aliases = {"wet"},
         .description = "dry/wet: 0 = input only, 1 = reverb only"},
    };
    return s;
}

} // namespace chronus::model::reverb
