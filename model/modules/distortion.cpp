#include "model/modules/distortion.hpp"

namespace chronus::model::distortion {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "distortion";
    s.aliases = {"overdrive", "waveshaper"};
    s.description = "Waveshaping distortion (soft tanh, hard clip, foldback, bitcrush) with tone and dry/wet mix";
    s.inputs = {{"in", "audio"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "mode", .type = ParamType::Enum, .min = 0.0f, .max = 3.0f, .def = 0.0f,
         .choices = {"soft", "hard", "foldback", "bitcrush"}, .aliases = {"type", "shape"},
         .description = "soft (tanh), hard (clip at ±1), foldback (mirrors at ±1) or bitcrush (bits, downsample)"},
        {.name = "drive", .min = 0.0f, .max = 60.0f, .def = 12.0f, .unit = "dB", .smoothingMs = 10.0f,
         .aliases = {"gain"}, .description = "gain before the shaper, in dB"},
        {.name = "tone", .min = 200.0f, .max = 20000.0f, .def = 12000.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .description = "cutoff of the one-pole low-pass after the shaper"},
        {.name = "mix", .min = 0.0f, .max = 1.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"wet"},
         .description = "dry/wet: 0 = input only, 1 = distorted only"},
        {.name = "level", .min = 0.0f, .max = 2.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"output"},
         .description = "linear output gain"},
        {.name = "bits", .min = 1.0f, .max = 16.0f, .def = 8.0f, .unit = "bit", .smoothingMs = 10.0f,
         .description = "bitcrush: resolution (fractional values allowed)"},
        {.name = "downsample", .type = ParamType::Int, .min = 1.0f, .max = 64.0f, .def = 1.0f,
         .aliases = {"rate_divider"},
         .description = "bitcrush: hold each sample this many samples (sample-rate reduction)"},
    };
    return s;
}

} // namespace chronus::model::distortion
