#include "model/modules/svf.hpp"

namespace chronus::model::svf {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "svf";
    s.aliases = {"state_variable_filter"};
    s.description = "State-variable filter (Cytomic/Simper trapezoidal): 12 dB/oct, stable under any modulation";
    s.inputs = {{"in", "audio"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "filtered audio"}};
    s.params = two_pole_filter::params("peak gain = q");
    return s;
}

} // namespace chronus::model::svf
