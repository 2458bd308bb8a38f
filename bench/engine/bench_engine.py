#!/usr/bin/python3
"""Engine benchmark: chronus-render against its peers, same synths, same run, as ratios.

Scenarios (all 48 kHz, stereo, --seconds long):
  chain        64 voices: band-limited saw -> 2-pole low-pass at 2 kHz -> ADSR, every value
               in the patch file; peer: Csound 6 (vco2 -> butterlp -> madsr, ksmps 64).
  chain-live   the same voices played the way a live user does: amplitudes and cutoffs set
               by /mod after the commit, an LFO on every cutoff, and a /mod stream (20 per
               second); peer: Csound with the same LFO on every cutoff.
  sines        100 sine oscillators (the `sine` module, and `osc` with waveform sine, and
               `osc` saw for reference); peer: SuperCollider's scsynth rendering 100 SinOsc
               offline (NRT). Outputs are checked for pitch and level.
  poly         a 64-voice poly (voice template: saw -> ladder -> ADSR) playing 64 held notes;
               peer: Csound 6 with 64 instances of vco2 -> moogladder -> madsr. Also the cost
               of an idle voice (a 64-voice poly with no note against an empty patch) and of
               a note (50 notes a second, 20 ms each, against the idle poly), and where the
               first note sounds (its own frame: note to sound is 0 frames offline).
  sampler      64 samplers looping a 1 s mono file at 64 rates (0.5 to 2); peer: Csound with
               64 instances of loscil over the same file (GEN01 table). Also the cost of
               chronus-render --analyze over the render (the supervisor's /analyze).
CPU is user + system time of the renderer process (from wait4, to the microsecond), the best
of --repeat runs. The figures end with the goals of issue 10 and whether this run met them:
chain-live at most half of Csound's CPU and within 1.3x of chain; sines as cheap as saws
(osc sine within 10 % of osc saw) and 100 sines at no more CPU than scsynth.
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "soak"))
import scsynth_nrt  # noqa: E402

VOICES = 64
SINES = 100


def cpu_of(argv, repeat):
    best = None
    for _ in range(repeat):
        with tempfile.TemporaryFile() as err:
            child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"{argv[0]} failed: {err.read().decode()[-400:]}")
        cpu = round(usage.ru_utime + usage.ru_stime, 4)
        best = cpu if best is None else min(best, cpu)
    return best


def goals(out):
    """The issue's goals, each with the measured ratio and whether this run met it."""
    checks = []

    def check(name, value, limit):
        if value is not None:
            checks.append({"goal": name, "measured": value, "limit": limit, "met": value <= limit})

    live = out.get("chain-live", {})
    sines = out.get("sines", {})
    check("chain-live CPU / Csound's", live.get("ratio_chronus_over_csound"), 0.5)
    check("chain-live CPU / chain CPU", live.get("ratio_live_over_patch_file"), 1.3)
    check("osc sine CPU / osc saw CPU", sines.get("ratio_osc_sine_over_osc_saw"), 1.1)
    check("64-voice poly CPU / Csound's 64 instruments", out.get("poly", {}).get("ratio_chronus_over_csound"), 0.5)
    check("64 samplers CPU / Csound's 64 loscil", out.get("sampler", {}).get("ratio_chronus_over_csound"), 1.0)
    check("100 sine modules CPU / scsynth's 100 SinOsc", sines.get("ratio_sine_over_scsynth"), 1.0)
    check("100 osc sines CPU / scsynth's 100 SinOsc", sines.get("ratio_osc_sine_over_scsynth"), 1.0)
    return checks


def chain_freqs():
    return [55.0 * 2 ** (i / 12.0 * 0.75) for i in range(VOICES)]


def chain_patch(live):
    nodes, conns = [], []
    for i, f in enumerate(chain_freqs()):
        osc = {"waveform": "saw", "freq": f}
        filt = {"mode": "lp", "q": 0.7071}
        if not live:
            osc["amp"] = 0.01
            filt["cutoff"] = 2000
        nodes += [
            {"id": f"o{i}", "type": "osc", "params": osc},
            {"id": f"f{i}", "type": "biquad_filter", "params": filt},
            {"id": f"e{i}", "type": "adsr", "params": {"attack": 10, "decay": 100, "sustain": 0.8, "release": 200,
                                                       "gate": 1}},
        ]
        conns += [{"from": f"o{i}", "to": f"f{i}"}, {"from": f"f{i}", "to": f"e{i}"},
                  {"from": f"e{i}", "to": "output"}]
        if live:
            nodes.append({"id": f"l{i}", "type": "lfo", "params": {"waveform": "sine", "rate": 0.5 + 0.01 * i,
                                                                   "depth": 1}})
            conns.append({"from": f"l{i}", "to": f"f{i}.cutoff", "depth": 500})
    return {"nodes": nodes, "connections": conns}


def chain_live_script(seconds):
    lines = []
    for i in range(VOICES):
        lines.append(f"0.01 /mod/o{i}/amp 0.01")
        lines.append(f"0.01 /mod/f{i}/cutoff 2000")
    rng = random.Random(7)
    t, k = 0.05, 0
    while t < seconds:
        lines.append(f"{t:.3f} /mod/f{k % VOICES}/cutoff {rng.uniform(1500, 2500):.1f}")
        t += 0.05
        k += 1
    return "\n".join(lines) + "\n"


def write_csd(work, name, orchestra, score):
    """A .csd rendering to <work>/csound_<name>.wav at 48 kHz stereo, ksmps 64."""
    path = os.path.join(work, name + ".csd")
    with open(path, "w") as f:
        f.write(f"""<CsoundSynthesizer>
<CsOptions>
-o {work}/csound_{name}.wav -W -f -d -m0 --nodisplays
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1
{orchestra}
</CsInstruments>
<CsScore>
{score}
</CsScore>
</CsoundSynthesizer>
""")
    return path


def csound_chain(work, seconds, lfo):
    score = "\n".join(f"i1 0 {seconds} {f} {0.5 + 0.01 * i}" for i, f in enumerate(chain_freqs()))
    cutoff = "2000 + klfo" if lfo else "2000"
    lfo_line = "  klfo lfo 500, p5" if lfo else ""
    return write_csd(work, "chain_lfo" if lfo else "chain", f"""instr 1
{lfo_line}
  asig vco2 0.01, p4
  afilt butterlp asig, {cutoff}
  aenv madsr 0.01, 0.1, 0.8, 0.2
  aout = afilt * aenv
  outs aout, aout
endin""", score)


POLY_TEMPLATE = {
    "nodes": [{"id": "osc", "type": "osc", "params": {"waveform": "saw", "amp": 0.01}},
              {"id": "filter", "type": "ladder", "params": {"cutoff": 2000, "resonance": 0.3}},
              {"id": "env", "type": "adsr", "params": {"attack": 10, "decay": 100, "sustain": 0.8, "release": 20}}],
    "connections": [{"from": "voice.pitch", "to": "osc.freq"}, {"from": "voice.gate", "to": "env.gate"},
                    {"from": "osc", "to": "filter"}, {"from": "filter", "to": "env"}, {"from": "env", "to": "output"}],
}


def poly_patch(voices=VOICES):
    return {"nodes": [{"id": "keys", "type": "poly", "params": {"voices": voices}, "voice": POLY_TEMPLATE}],
            "connections": [{"from": "keys", "to": "output"}]}


def poly_notes_script():
    # 64 held notes from frame 0, each at the chain scenario's frequency (as a MIDI pitch).
    return "".join(f"@0 /note/keys {69 + 12 * math.log2(f / 440.0):.4f} 1.0\n" for f in chain_freqs())


def poly_stream_script(seconds):
    lines, t, k = [], 0.0, 0
    while t < seconds:
        lines.append(f"{t:.3f} /note/keys {48 + k % 24} 0.8 0.02")
        t += 0.02
        k += 1
    return "\n".join(lines) + "\n", k


def csound_poly(work, seconds):
    score = "\n".join(f"i1 0 {seconds} {f}" for f in chain_freqs())
    return write_csd(work, "poly", """instr 1
  asig vco2 0.01, p4
  afilt moogladder asig, 2000, 0.3
  aenv madsr 0.01, 0.1, 0.8, 0.02
  aout = afilt * aenv
  outs aout, aout
endin""", score)


def sampler_file(work):
    import numpy as np
    path = os.path.join(work, "loop.wav")
    t = np.arange(48000) / 48000.0
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-2 * t)).astype("<f4")
    with open(path, "wb") as f:  # a float WAV by hand: header + data
        data = x.tobytes()
        f.write(b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little"))
        f.write((3).to_bytes(2, "little") + (1).to_bytes(2, "little") + (48000).to_bytes(4, "little"))
        f.write((48000 * 4).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little"))
        f.write(b"data" + len(data).to_bytes(4, "little") + data)
    return path


def sampler_rates():
    return [0.5 * 4 ** (i / 63.0) for i in range(VOICES)]


def sampler_patch(path):
    nodes = [{"id": f"s{i}", "type": "sampler", "params": {"buffer": "loop", "loop": 1, "gate": 1, "rate": r,
                                                            "gain": 0.05}} for i, r in enumerate(sampler_rates())]
    return {"buffers": {"loop": {"file": path}}, "nodes": nodes,
            "connections": [{"from": f"s{i}", "to": "output"} for i in range(VOICES)]}


def csound_sampler(work, seconds, path):
    score = "\n".join(f"i1 0 {seconds} {r}" for r in sampler_rates())
    return write_csd(work, "sampler", f"""giLoop ftgen 1, 0, 0, 1, "{path}", 0, 0, 0
instr 1
  a1 loscil 0.05, p4, 1, 1, 1
  outs a1, a1
endin""", score)


def first_sound(path):
    import soak
    _, _, x = soak.read_wav(path)
    nonzero = (x[:, 0] != 0).nonzero()[0]
    return int(nonzero[0]) if len(nonzero) else -1


def sine_freqs():
    return [110.0 * 2 ** (i / 24.0) for i in range(SINES)]


def sines_patch(module, waveform=None):
    nodes, conns = [], []
    for i, f in enumerate(sine_freqs()):
        if module == "sine":
            nodes.append({"id": f"s{i}", "type": "sine", "params": {"freq": f, "gain": 0.01}})
        else:
            nodes.append({"id": f"s{i}", "type": "osc", "params": {"waveform": waveform, "freq": f, "amp": 0.01}})
        conns.append({"from": f"s{i}", "to": "output"})
    return {"nodes": nodes, "connections": conns}


def check_sines(path, label):
    """Pitch and level of a 100-sine render: the mix's RMS against the analytic value, and the
    pitch of the lowest partial from its spectrum peak."""
    import numpy as np
    import soak
    _, rate, x = soak.read_wav(path)
    left = x[: rate * 2, 0].astype("f8")
    rms = float(np.sqrt(np.mean(left ** 2)))
    expect = 0.01 * math.sqrt(SINES / 2.0)
    spec = np.abs(np.fft.rfft(left * np.hanning(len(left))))
    freqs = np.fft.rfftfreq(len(left), 1.0 / rate)
    band = (freqs > 100) & (freqs < 113)
    peak = float(freqs[band][np.argmax(spec[band])])
    return dict(label=label, rms=round(rms, 5), rms_expected=round(expect, 5), lowest_hz=round(peak, 2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("render", help="path to chronus-render")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", choices=["chain", "chain-live", "sines", "poly", "sampler"], action="append")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    only = set(args.only or ["chain", "chain-live", "sines", "poly", "sampler"])
    work = tempfile.mkdtemp(prefix="chronus-bench-")
    s = args.seconds
    out = {"seconds": s}
    try:
        render = lambda patch, script=None, name="out": [args.render, "--quiet", "--patch", patch, "--duration",
                                                         str(s), "-o", os.path.join(work, name + ".wav")] + (
            ["--script", script] if script else [])
        have_csound = shutil.which("csound") is not None
        have_scsynth = shutil.which("scsynth") is not None
        if {"chain", "chain-live"} & only:
            for live in (False, True):
                name = "chain-live" if live else "chain"
                if name not in only:
                    continue
                patch = os.path.join(work, name + ".json")
                json.dump(chain_patch(live), open(patch, "w"))
                script = None
                if live:
                    script = os.path.join(work, "live.txt")
                    open(script, "w").write(chain_live_script(s))
                row = {"chronus_cpu": cpu_of(render(patch, script, name), args.repeat)}
                if have_csound:
                    row["csound_cpu"] = cpu_of(["csound", csound_chain(work, s, live)], args.repeat)
                    row["ratio_chronus_over_csound"] = round(row["chronus_cpu"] / row["csound_cpu"], 3)
                out[name] = row
            if "chain" in out and "chain-live" in out:
                out["chain-live"]["ratio_live_over_patch_file"] = round(
                    out["chain-live"]["chronus_cpu"] / out["chain"]["chronus_cpu"], 3)
        if "poly" in only:
            row = {}
            files = {}
            for name, spec, script in (("poly", poly_patch(), poly_notes_script()), ("idle", poly_patch(), None),
                                       ("empty", {"nodes": [], "connections": []}, None),
                                       ("stream", poly_patch(), poly_stream_script(s)[0])):
                files[name] = os.path.join(work, name + ".json")
                json.dump(spec, open(files[name], "w"))
                script_path = None
                if script:
                    script_path = os.path.join(work, name + ".txt")
                    open(script_path, "w").write(script)
                row[name + "_cpu"] = cpu_of(render(files[name], script_path, name), args.repeat)
            notes = poly_stream_script(s)[1]
            row["idle_voice_us_per_second"] = round((row["idle_cpu"] - row["empty_cpu"]) / VOICES / s * 1e6, 3)
            row["note_us"] = round((row["stream_cpu"] - row["idle_cpu"]) / notes * 1e6, 2)
            row["note_to_sound_frames"] = first_sound(os.path.join(work, "poly.wav"))
            if have_csound:
                row["csound_cpu"] = cpu_of(["csound", csound_poly(work, s)], args.repeat)
                row["ratio_chronus_over_csound"] = round(row["poly_cpu"] / row["csound_cpu"], 3)
            out["poly"] = row
        if "sampler" in only:
            row = {}
            wav = sampler_file(work)
            patch = os.path.join(work, "sampler.json")
            json.dump(sampler_patch(wav), open(patch, "w"))
            row["chronus_cpu"] = cpu_of(render(patch, None, "sampler"), args.repeat)
            row["chronus_analyze_cpu"] = cpu_of(render(patch, None, "sampler") + ["--analyze"], args.repeat)
            row["analyze_cpu_per_second_of_audio_ms"] = round(
                max(0.0, row["chronus_analyze_cpu"] - row["chronus_cpu"]) / min(s, 120.0) * 1000.0, 3)
            if have_csound:
                row["csound_cpu"] = cpu_of(["csound", csound_sampler(work, s, wav)], args.repeat)
                row["ratio_chronus_over_csound"] = round(row["chronus_cpu"] / row["csound_cpu"], 3)
            out["sampler"] = row
        if "sines" in only:
            row = {}
            checks = []
            for label, patch in (("sine", sines_patch("sine")), ("osc_sine", sines_patch("osc", "sine")),
                                 ("osc_saw", sines_patch("osc", "saw"))):
                path = os.path.join(work, label + ".json")
                json.dump(patch, open(path, "w"))
                row[label + "_cpu"] = cpu_of(render(path, None, label), args.repeat)
                if label != "osc_saw":
                    checks.append(check_sines(os.path.join(work, label + ".wav"), label))
            if have_scsynth:
                score = os.path.join(work, "sines.osc")
                with open(score, "wb") as f:
                    f.write(scsynth_nrt.score([scsynth_nrt.sine_def()],
                                              [("chronus_sine", {"freq": fr, "amp": 0.01}) for fr in sine_freqs()], s))
                wav = os.path.join(work, "scsynth.wav")
                row["scsynth_cpu"] = cpu_of(["scsynth", "-N", score, "_", wav, "48000", "WAV", "float", "-o", "2"],
                                            args.repeat)
                checks.append(check_sines(wav, "scsynth"))
                row["ratio_sine_over_scsynth"] = round(row["sine_cpu"] / row["scsynth_cpu"], 3)
                row["ratio_osc_sine_over_scsynth"] = round(row["osc_sine_cpu"] / row["scsynth_cpu"], 3)
            row["ratio_osc_sine_over_osc_saw"] = round(row["osc_sine_cpu"] / row["osc_saw_cpu"], 3)
            row["checks"] = checks
            out["sines"] = row
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["goals"] = goals(out)
    print(json.dumps(out, indent=2))
    if args.json:
        json.dump(out, open(args.json, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
