#include "model/modules/vca.hpp"

namespace chronus::model::vca {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "vca";
    s.aliases = {"amp"};
    s.description = "Voltage-controlled amplifier: out = in x gain x cv (cv counts as 1 when unconnected)";
    s.inputs = {{"in", "audio"}, {"cv", "control signal multiplied into the gain (e.g. an envelope)"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"level", "amp"},
         .description = "linear gain (1 = unity)"},
    };
    return s;
}

} // namespace chronus::model::vca
