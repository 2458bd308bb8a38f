#include "model/modules/output.hpp"

namespace chronus::model::output {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "output";
    s.description = "Stereo sink; a mono source connected without a port feeds both channels";
    s.inputs = {{"L", "left"}, {"R", "right"}};
    s.mainInputs = 2;
    s.outputs = {{"L", "left (to the engine)"}, {"R", "right (to the engine)"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"volume"},
         .description = "master gain (linear)"},
    };
    return s;
}

} // namespace chronus::model::output
