#include "model/modules/pan.hpp"

namespace chronus::model::pan {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "pan";
    s.aliases = {"panner"};
    s.description = "Constant-power mono-to-stereo panner (centre -3 dB per side, L^2 + R^2 = in^2)";
    s.inputs = {{"in", "mono audio"}};
    s.mainInputs = 1;
    s.outputs = {{"L", "left"}, {"R", "right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "pan", .min = -1.0f, .max = 1.0f, .def = 0.0f, .smoothingMs = 10.0f,
         .aliases = {"position", "balance"}, .description = "position: -1 hard left, 0 centre, 1 hard right"},
    };
    return s;
}

} // namespace chronus::model::pan
