#include "model/modules/two_pole_filter.hpp"

#include "model/module_spec.hpp"

namespace chronus::model::two_pole_filter {

std::vector<ParamSpec> params(const std::string &qNote)
{
    return {
        {.name = "mode", .type = ParamType::Enum, .min = 0.0f, .max = 3.0f, .def = 0.0f,
         .choices = {"lp", "hp", "bp", "notch"}, .aliases = {"filter_mode"},
         .description = "response: lp (low-pass), hp (high-pass), bp (band-pass, 0 dB at its peak) or notch; "
                        "names or 0-3"},
        {.name = "cutoff", .min = 10.0f, .max = 20000.0f, .def = 1000.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"frequency", "freq"},
         .description = "cutoff (lp/hp: -3 dB point at q 0.707), centre (bp) or notch frequency; "
                        "limited to 0.49 x sample rate. Cutoff, q and mode are read every " +
                            std::to_string(kControlPeriod) +
                            " samples (0.67 ms at 48 kHz): glides and modulation move in steps that long"},
        {.name = "q", .min = 0.1f, .max = 40.0f, .def = 0.707f, .smoothingMs = 10.0f, .aliases = {"resonance"},
         .description = "quality factor: 0.707 is maximally flat (Butterworth), higher values resonate; " + qNote},
    };
}

} // namespace chronus::model::two_pole_filter
