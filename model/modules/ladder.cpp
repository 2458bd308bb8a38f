#include "model/modules/ladder.hpp"

namespace chronus::model::ladder {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "ladder";
    s.aliases = {"moog", "ladder_filter"};
    s.description = "Four-pole (24 dB/oct) ladder low-pass with tanh drive, envelope and accent inputs (acid bass)";
    s.inputs = {{"in", "audio"},
                {"env", "envelope 0..1 that opens the cutoff by env_amount octaves"},
                {"accent", "accent/velocity 0..1: scales env_amount and level by the accent parameter"}};
    s.mainInputs = 1;
    s.outputs = {{"out", "filtered audio"}};
    s.params = {
        {.name = "cutoff", .min = 20.0f, .max = 20000.0f, .def = 1000.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"frequency", "freq"},
         .description = "cutoff of each of the four poles (response -12 dB there at resonance 0); "
                        "limited to 0.45 x sample rate. Read with the env input every " +
                            std::to_string(kControlPeriod) +
                            " samples (0.67 ms at 48 kHz): glides, modulation and envelopes move it in "
                            "steps that long"},
        {.name = "resonance", .min = 0.0f, .max = 1.0f, .def = 0.0f, .smoothingMs = 10.0f, .aliases = {"res", "q"},
         .description = "feedback 0..1; self-oscillates at the cutoff just below 1, always stable"},
        {.name = "drive", .min = 0.0f, .max = 36.0f, .def = 0.0f, .unit = "dB", .smoothingMs = 10.0f,
         .description = "input gain into the tanh saturation"},
        {.name = "env_amount", .min = -8.0f, .max = 8.0f, .def = 0.0f, .unit = "oct", .smoothingMs = 10.0f,
         .aliases = {"env_mod", "envmod"},
         .description = "octaves the cutoff rises when the env input is 1"},
        {.name = "accent", .min = 0.0f, .max = 1.0f, .def = 0.0f, .smoothingMs = 10.0f,
         .description = "accent depth: at accent input 1, env_amount and output level are multiplied by "
                        "(1 + accent)"},
    };
    return s;
}

} // namespace chronus::model::ladder
