#include "model/modules/limiter.hpp"

namespace chronus::model::limiter {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "limiter";
    s.aliases = {"brickwall"};
    s.description = "Stereo look-ahead brickwall limiter: no output sample exceeds the ceiling; "
                    "delays the signal by the look-ahead";
    s.inputs = {{"L", "left"}, {"R", "right"}};
    s.mainInputs = 2;
    s.outputs = {{"L", "left"}, {"R", "right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "lookahead", .min = 0.0f, .max = static_cast<float>(kMaxLookaheadMs), .def = 5.0f, .unit = "ms",
         .description = "look-ahead and latency (rounded to samples); gain reduction ramps over it. "
                        "Set before playing: changing it shifts the latency"},
        {.name = "ceiling", .min = -24.0f, .max = 0.0f, .def = -1.0f, .unit = "dB", .smoothingMs = 20.0f,
         .aliases = {"threshold"}, .description = "highest sample peak let through (dBFS)"},
        {.name = "release", .min = 1.0f, .max = 2000.0f, .def = 100.0f, .unit = "ms", .smoothingMs = 10.0f,
         .description = "time constant of the gain's recovery after a peak"},
    };
    return s;
}

} // namespace chronus::model::limiter
