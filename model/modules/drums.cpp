#include "model/modules/drums.hpp"

namespace chronus::model::drums {

namespace {

std::vector<PortSpec> drumInputs()
{
    return {{"gate", "trigger: a rising edge (> 0.5) fires the voice"},
            {"velocity", "0..1, sampled at the trigger (1 when unconnected)"}};
}

ParamSpec gateParam()
{
    return {.name = "gate", .type = ParamType::Bool, .min = 0.0f, .max = 1.0f, .def = 0.0f,
            .aliases = {"trig", "trigger"},
            .description = "a rising edge (off to on, e.g. /gate/<id> 1) fires the voice; OR-ed with the gate input"};
}

} // namespace

ModuleSpec kickSpec()
{
    ModuleSpec s;
    s.type = "kick";
    s.aliases = {"bd"};
    s.description = "Kick drum: sine with a downward pitch sweep and a noise click, fired by a gate edge";
    s.inputs = drumInputs();
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "tune", .min = 20.0f, .max = 200.0f, .def = 50.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"freq", "pitch"}, .description = "frequency the body settles to"},
        {.name = "decay", .min = 10.0f, .max = 5000.0f, .def = 400.0f, .unit = "ms", .smoothingMs = 10.0f,
         .description = "body decay time to -60 dB"},
        {.name = "sweep", .min = 0.0f, .max = 10.0f, .def = 3.0f, .smoothingMs = 10.0f,
         .description = "pitch sweep: the hit starts at tune x (1 + sweep) and falls with a 25 ms time constant"},
        {.name = "click", .min = 0.0f, .max = 1.0f, .def = 0.3f, .smoothingMs = 10.0f,
         .description = "level of the noise click at the start of the hit"},
        {.name = "level", .min = 0.0f, .max = 2.0f, .def = 0.9f, .smoothingMs = 10.0f, .aliases = {"amp", "gain"},
         .description = "linear output level"},
        gateParam(),
    };
    return s;
}

ModuleSpec snareSpec()
{
    ModuleSpec s;
    s.type = "snare";
    s.aliases = {"sd"};
    s.description = "Snare drum: two-sine body with a pitch drop plus band-passed noise, fired by a gate edge";
    s.inputs = drumInputs();
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "tune", .min = 80.0f, .max = 500.0f, .def = 180.0f, .unit = "Hz", .smoothingMs = 10.0f,
         .aliases = {"freq", "pitch"}, .description = "body frequency (a second partial sits at 1.63 x)"},
        {.name = "decay", .min = 20.0f, .max = 2000.0f, .def = 200.0f, .unit = "ms", .smoothingMs = 10.0f,
         .description = "noise decay time to -60 dB (the body takes half of it)"},
        {.name = "snappy", .min = 0.0f, .max = 1.0f, .def = 0.6f, .smoothingMs = 10.0f, .aliases = {"snare"},
         .description = "level of the noise (the snares) against the body"},
        {.name = "level", .min = 0.0f, .max = 2.0f, .def = 0.8f, .smoothingMs = 10.0f, .aliases = {"amp", "gain"},
         .description = "linear output level"},
        gateParam(),
    };
    return s;
}

ModuleSpec hatSpec()
{
    ModuleSpec s;
    s.type = "hat";
    s.aliases = {"hihat", "hh"};
    s.description = "Hi-hat: six detuned square waves and noise through a high-pass, fired by a gate edge";
    s.inputs = drumInputs();
    s.outputs = {{"out", "audio"}};
    s.params = {
        {.name = "decay", .min = 5.0f, .max = 2000.0f, .def = 60.0f, .unit = "ms", .smoothingMs = 10.0f,
         .description = "decay time to -60 dB (short: closed, long: open)"},
        {.name = "tone", .min = 0.0f, .max = 1.0f, .def = 0.5f, .smoothingMs = 10.0f, .aliases = {"color"},
         .description = "brightness: raises the high-pass (5..11 kHz) and the metal pitch, adds noise"},
        {.name = "level", .min = 0.0f, .max = 2.0f, .def = 0.6f, .smoothingMs = 10.0f, .aliases = {"amp", "gain"},
         .description = "linear output level"},
        gateParam(),
    };
    return s;
}

} // namespace chronus::model::drums
