#include "model/modules/poly.hpp"

namespace chronus::model::poly {

const char *const kDefaultTemplate = R"({
  "nodes": [
    {"id": "osc", "type": "osc", "params": {"waveform": "saw", "amp": 0.25}},
    {"id": "filter", "type": "svf", "params": {"mode": "lp", "cutoff": 2500, "q": 1.0}},
    {"id": "env", "type": "adsr", "params": {"attack": 5, "decay": 250, "sustain": 0.6, "release": 300,
                                              "velocity_amount": 1}}
  ],
  "connections": [
    {"from": "voice.pitch", "to": "osc.freq"},
    {"from": "voice.gate", "to": "env.gate"},
    {"from": "voice.velocity", "to": "env.velocity"},
    {"from": "osc", "to": "filter"},
    {"from": "filter", "to": "env"},
    {"from": "env", "to": "output"}
  ]
})";

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "poly";
    s.aliases = {"polysynth"};
    s.description = "Polyphonic voices: plays its voice template (the node's \"voice\" field: a patch whose "
                    "built-in node 'voice' gives pitch, note, gate, velocity and aftertouch; default saw -> "
                    "svf -> adsr) once per note, summed in stereo. Played by /note, MIDI or a sequencer "
                    "(connect its outputs: seq -> poly); /mod/<poly>/<node>.<param> sets a template "
                    "parameter in every voice";
    s.inputs = {
        {"gate", "from a sequencer: a rising edge starts the notes on pitch..pitch4, a falling edge releases them"},
        {"pitch", "Hz of the first note a gate starts"},
        {"pitch2", "Hz of a second note (0: none)"},
        {"pitch3", "Hz of a third note (0: none)"},
        {"pitch4", "Hz of a fourth note (0: none)"},
        {"velocity", "velocity (0..1) of the notes a gate starts; 1 when unconnected"},
    };
    s.mainInputs = 0;
    s.outputs = {{"left", "sum of the voices, left"}, {"right", "sum of the voices, right"}};
    s.mainOutputs = 2;
    s.params = {
        {.name = "voices", .type = ParamType::Int, .min = 1.0f, .max = float(kMaxVoices), .def = 8.0f,
         .aliases = {"polyphony"},
         .description = "voices that can sound at once; more notes steal a voice (raising it above the number "
                        "the patch was built with takes effect at the next commit)"},
        {.name = "steal", .type = ParamType::Enum, .min = 0.0f, .max = 1.0f, .def = 0.0f,
         .choices = {"oldest", "quietest"},
         .description = "which voice a note takes when all are busy: the oldest (released voices first) or the "
                        "quietest; the stolen voice fades out in 5 ms first"},
        {.name = "gain", .min = 0.0f, .max = 4.0f, .def = 1.0f, .smoothingMs = 10.0f, .aliases = {"amp", "level"},
         .description = "linear gain on the sum of the voices"},
        {.name = "bend_range", .min = 0.0f, .max = 48.0f, .def = 2.0f, .unit = "semitones",
         .aliases = {"bend"}, .description = "pitch bend at full deflection (MIDI pitch wheel)"},
    };
    return s;
}

} // namespace chronus::model::poly

namespace chronus::model::voice {

ModuleSpec spec()
{
    ModuleSpec s;
    s.type = "voice";
    s.description = "Inside a poly's voice template only (built in, id 'voice'): the note this voice plays";
    s.outputs = {
        {"pitch", "frequency in Hz, pitch bend included"},
        {"note", "MIDI note number (fractional with microtones and bend)"},
        {"gate", "1 while the note is held (or sustained by the pedal), 0 once released"},
        {"velocity", "velocity 0..1 of the note"},
        {"aftertouch", "pressure 0..1 (channel or polyphonic aftertouch)"},
    };
    s.mainOutputs = 1;
    return s;
}

} // namespace chronus::model::voice
