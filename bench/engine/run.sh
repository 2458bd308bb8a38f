#!/usr/bin/env bash
# Engine benchmark: the same 64-voice patch (band-limited saw -> 2-pole low-pass at 2 kHz
# -> ADSR, stereo, 60 s at 48 kHz) rendered by chronus-render and by Csound 6
# (vco2 -> butterlp -> madsr) in the same run. Prints each speed as a multiple of real
# time and the ratio chronus/csound.
#
# usage: run.sh PATH/TO/chronus-render [seconds]
set -euo pipefail
render=${1:?usage: run.sh PATH/TO/chronus-render [seconds]}
seconds=${2:-60}
voices=64
if ! command -v csound >/dev/null; then
  echo "bench: csound is not installed (apt-get install csound, or CHRONUS_BENCH=1 scripts/install-deps)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$voices" "$seconds" <<'PY'
import json, sys
work, voices, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
freqs = [55.0 * 2 ** (i / 12.0 * 0.75) for i in range(voices)]
nodes, conns = [], []
for i, f in enumerate(freqs):
    nodes += [
        {"id": f"o{i}", "type": "osc", "params": {"waveform": "saw", "freq": f, "amp": 0.01}},
        {"id": f"f{i}", "type": "biquad_filter", "params": {"mode": "lp", "cutoff": 2000, "q": 0.7071}},
        {"id": f"e{i}", "type": "adsr", "params": {"attack": 10, "decay": 100, "sustain": 0.8, "release": 200, "gate": 1}},
    ]
    conns += [{"from": f"o{i}", "to": f"f{i}"}, {"from": f"f{i}", "to": f"e{i}"}, {"from": f"e{i}", "to": "output"}]
json.dump({"nodes": nodes, "connections": conns}, open(f"{work}/voices.json", "w"))
score = "\n".join(f"i1 0 {seconds} {f}" for f in freqs)
open(f"{work}/voices.csd", "w").write(f"""<CsoundSynthesizer>
<CsOptions>
-o {work}/csound.wav -W -f -d -m0 --nodisplays
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1
instr 1
  asig vco2 0.01, p4
  afilt butterlp asig, 2000
  aenv madsr 0.01, 0.1, 0.8, 0.2
  aout = afilt * aenv
  outs aout, aout
endin
</CsInstruments>
<CsScore>
{score}
</CsScore>
</CsoundSynthesizer>
""")
PY

measure() { # prints wall seconds for the command
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
t0 = time.monotonic(); c0 = os.times()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
t1 = time.monotonic(); c1 = os.times()
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode()); sys.exit(1)
cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
print(f"{t1 - t0:.3f} {cpu:.3f}")
PY
}

read -r chronus_wall chronus_cpu < <(measure "$render" --quiet --patch "$work/voices.json" --duration "$seconds" -o "$work/chronus.wav")
read -r csound_wall csound_cpu < <(measure csound "$work/voices.csd")
python3 - "$seconds" "$chronus_wall" "$chronus_cpu" "$csound_wall" "$csound_cpu" <<'PY'
import sys
s, cw, cc, sw, sc = map(float, sys.argv[1:])
print(f"engine benchmark: {int(s)} s of a 64-voice saw -> 2-pole LP -> ADSR patch at 48 kHz")
print(f"  chronus-render: {cw:7.2f} s wall, {cc:7.2f} s CPU = {s / cw:7.1f}x real time")
print(f"  csound 6:       {sw:7.2f} s wall, {sc:7.2f} s CPU = {s / sw:7.1f}x real time")
print(f"  ratio chronus/csound speed: {sw / cw:.2f} (goal >= 2)")
PY
