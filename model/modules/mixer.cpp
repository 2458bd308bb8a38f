#include "model/modules/mixer.hpp"

namespace chronus::model::mixer {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "mixer";
    s.description = "Eight-input mono mixer: out = master x sum(level_n x in_n); unnamed connections go to in1";
    for (int c = 1; c <= kChannels; ++c) {
        const std::string n = std::to_string(c);
        s.inputs.push_back({"in" + n, "audio " + n});
        s.params.push_back({.name = "level" + n, .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f,
                            .aliases = {"gain" + n}, .description = "linear gain of in" + n});
    }
    s.mainInputs = 1;
    s.outputs = {{"out", "mix"}};
    s.params.push_back({.name = "master", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f,
                        .aliases = {"gain", "level"}, .description = "linear gain applied to the sum"});
    return s;
}

} // namespace chronus::model::mixer
