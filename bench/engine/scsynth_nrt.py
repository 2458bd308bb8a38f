"""SuperCollider's scsynth as a benchmark peer, without sclang.

scsynth renders offline (non-real-time mode, `scsynth -N`) from a binary score of OSC
bundles; the SynthDefs it plays are loaded from that score with /d_recv. This module writes
both: SynthDef files in the SCgf version 2 format (as documented in SuperCollider's
"Synth Definition File Format" help page) and the score.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from osc_wire import message as _message  # noqa: E402


def _pstring(s):
    b = s.encode()
    return struct.pack(">B", len(b)) + b


class SynthDef:
    """A SynthDef built UGen by UGen. Inputs are (ugen index, output index) pairs or floats
    (constants)."""

    SCALAR, CONTROL, AUDIO = 0, 1, 2

    def __init__(self, name, params):
        self.name = name
        self.params = list(params)  # [(name, default)]
        self.constants = []
        self.ugens = []
        if self.params:
            # Control.kr: one output per parameter.
            self.ugens.append(("Control", self.CONTROL, [], [self.CONTROL] * len(self.params), 0))

    def param(self, name):
        return (0, [p[0] for p in self.params].index(name))

    def _const(self, value):
        value = float(value)
        if value not in self.constants:
            self.constants.append(value)
        return self.constants.index(value)

    def ugen(self, cls, rate, inputs, outputs=1, special=0):
        self.ugens.append((cls, rate, list(inputs), [rate] * outputs, special))
        return (len(self.ugens) - 1, 0)

    def bytes(self):
        out = _pstring(self.name)
        body_inputs = []
        for cls, rate, inputs, outputs, special in self.ugens:
            spec = []
            for i in inputs:
                if isinstance(i, tuple):
                    spec.append(struct.pack(">ii", i[0], i[1]))
                else:
                    spec.append(struct.pack(">ii", -1, self._const(i)))
            body_inputs.append(spec)
        out += struct.pack(">i", len(self.constants)) + b"".join(struct.pack(">f", c) for c in self.constants)
        out += struct.pack(">i", len(self.params)) + b"".join(struct.pack(">f", d) for _, d in self.params)
        out += struct.pack(">i", len(self.params))
        out += b"".join(_pstring(n) + struct.pack(">i", k) for k, (n, _) in enumerate(self.params))
        out += struct.pack(">i", len(self.ugens))
        for (cls, rate, inputs, outputs, special), spec in zip(self.ugens, body_inputs):
            out += _pstring(cls) + struct.pack(">biih", rate, len(inputs), len(outputs), special)
            out += b"".join(spec) + b"".join(struct.pack(">b", r) for r in outputs)
        out += struct.pack(">h", 0)  # variants
        return out


def synthdef_file(defs):
    return b"SCgf" + struct.pack(">ih", 2, len(defs)) + b"".join(d.bytes() for d in defs)


def _bundle(seconds, messages):
    ntp = int(seconds * (1 << 32))
    body = b"#bundle\0" + struct.pack(">Q", ntp)
    for m in messages:
        body += struct.pack(">i", len(m)) + m
    return struct.pack(">i", len(body)) + body


def score(defs, notes, seconds):
    """A binary NRT score: load `defs`, start every note (name, {param: value}) at time 0,
    end at `seconds`."""
    out = _bundle(0.0, [_message("/d_recv", synthdef_file(defs))])
    starts = []
    for k, (name, params) in enumerate(notes):
        args = [name, 1000 + k, 1, 0]
        for p, v in params.items():
            args += [p, float(v)]
        starts.append(_message("/s_new", *args))
    out += _bundle(0.0, starts)
    out += _bundle(seconds, [_message("/c_set", 0, 0.0)])
    return out


def sine_def():
    """`chronus_sine`: SinOsc.ar(freq) * amp to both channels of bus 0."""
    d = SynthDef("chronus_sine", [("freq", 440.0), ("amp", 0.01)])
    osc = d.ugen("SinOsc", SynthDef.AUDIO, [d.param("freq"), 0.0])
    sig = d.ugen("BinaryOpUGen", SynthDef.AUDIO, [osc, d.param("amp")], special=2)  # *
    d.ugen("Out", SynthDef.AUDIO, [0.0, sig, sig], outputs=0)
    return d
