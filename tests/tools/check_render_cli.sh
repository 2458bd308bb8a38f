#!/usr/bin/env bash
# chronus-render from the command line: a patch built entirely by a script, output that
# does not depend on --block-size, FLAC output, the mono mix, warnings and errors that
# name their file and line, every command checked before any audio, and no output file
# (nor a partial one) when the render fails.
# usage: check_render_cli.sh PATH/TO/chronus-render [SOURCE_DIR]
set -uo pipefail
render=$1 source=${2:-$(dirname "$0")/../..}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$work/script.txt" <<'S'
# a patch built from nothing
0     /patch/create tone osc waveform saw freq 220
0     /patch/create f biquad_filter mode lp cutoff 1200
0     /patch/connect tone f
0     /patch/connect f output
0     /patch/commit 0
@24000 /mod/f/cutoff 400
1.0   /mod/tone/freq 330
S
"$render" --script "$work/script.txt" --duration 2 -o "$work/a.wav" --quiet >/dev/null || fail "render failed"
"$render" --script "$work/script.txt" --duration 2 -o "$work/b.wav" --block-size 7 --quiet >/dev/null || fail "render (block 7) failed"
cmp -s "$work/a.wav" "$work/b.wav" || fail "output depends on --block-size"
frames=$(soxi -s "$work/a.wav")
[[ "$frames" == 96000 ]] || fail "2 s at 48 kHz should be 96000 frames, got $frames"
peak=$(sox "$work/a.wav" -n stat 2>&1 | awk '/Maximum amplitude/ {print $3}')
python3 -c "import sys; sys.exit(0 if float('$peak') > 0.1 else 1)" || fail "render is silent (peak $peak)"

"$render" --script "$work/script.txt" --duration 1 -o "$work/c.flac" --format flac --quiet >/dev/null || fail "flac render failed"
[[ "$(soxi -t "$work/c.flac")" == flac ]] || fail "not a FLAC file"

# Planar float samples of one channel (1-based) of a file, as text, one per line.
samples() { sox "$1" -t f32 - remix "$2" 2>/dev/null | python3 -c '
import struct, sys
data = sys.stdin.buffer.read()
print("\n".join(repr(x) for x in struct.unpack("<%df" % (len(data) // 4), data)))'; }
peak() { sox "$1" -n remix "$2" stat 2>&1 | awk '/Maximum amplitude/ {print $3}'; }
near() { python3 -c "import sys; sys.exit(0 if abs(float('$1') - float('$2')) <= float('$3') else 1)"; }

# --channels 1 is (L+R)/2: a mono source keeps its level exactly, a hard-right pan is heard.
cat >"$work/centre.txt" <<'S'
0 /patch/create a sine freq 1000 gain 0.5
0 /patch/connect a output
0 /patch/commit 0
S
"$render" --script "$work/centre.txt" --duration 0.5 -o "$work/stereo.wav" --quiet >/dev/null || fail "stereo render failed"
"$render" --script "$work/centre.txt" --duration 0.5 -o "$work/mono.wav" --channels 1 --quiet >/dev/null || fail "mono render failed"
[[ "$(soxi -c "$work/mono.wav")" == 1 ]] || fail "--channels 1 did not write one channel"
cmp -s <(samples "$work/stereo.wav" 1) <(samples "$work/mono.wav" 1) ||
    fail "the mono mix of a centred mono source is not that source"
cat >"$work/right.txt" <<'S'
0 /patch/create a sine freq 1000 gain 0.5
0 /patch/create p pan pan 1
0 /patch/connect a p
0 /patch/connect p output
0 /patch/commit 0
S
"$render" --script "$work/right.txt" --duration 0.5 -o "$work/right2.wav" --quiet >/dev/null || fail "panned render failed"
"$render" --script "$work/right.txt" --duration 0.5 -o "$work/right1.wav" --channels 1 --quiet >/dev/null || fail "panned mono render failed"
right=$(peak "$work/right2.wav" 2); mono=$(peak "$work/right1.wav" 1)
near "$right" 0.5 0.01 || fail "hard right should carry the sine at 0.5, peak $right"
near "$mono" "$(python3 -c "print($right / 2)")" 0.001 || fail "hard right in the mono mix should be at half level, peak $mono"

# Warnings name file and line; --quiet keeps them off stderr.
printf '0 /patch/create a sine\n0 /patch/connect a output\n0 /patch/commit 0\n0.5 /mod/a/freq 99999\n' >"$work/clamp.txt"
out=$("$render" --script "$work/clamp.txt" --duration 1 -o "$work/clamp.wav" 2>&1 >/dev/null) || fail "a warning is not an error"
grep -q "clamp.txt:4: warning: .*clamped" <<<"$out" || fail "no located warning for a clamped value: $out"
out=$("$render" --script "$work/clamp.txt" --duration 1 -o "$work/clamp.wav" --quiet 2>&1 >/dev/null)
[[ -z "$out" ]] || fail "--quiet should keep warnings quiet: $out"
printf '0 /patch/create a sine\n0.5 /mod/a/freq 300\n' >"$work/pending.txt"
out=$("$render" --script "$work/pending.txt" --duration 1 -o "$work/pending.wav" 2>&1 >/dev/null)
grep -q "pending.txt:2: warning: .*not live yet" <<<"$out" || fail "no warning for a node that is not live: $out"

# Errors name the line, and are found before any audio: no output file, no temporary file,
# an older file of that name left as it was.
printf '0 /patch/create a sine\n0.5 /mod/a/nope 3\n' >"$work/bad.txt"
out=$("$render" --script "$work/bad.txt" --duration 1 -o "$work/bad.wav" 2>&1)
code=$?
[[ $code == 1 ]] || fail "a bad script should exit 1, got $code"
grep -q "bad.txt:2: error: /mod/a/nope: " <<<"$out" || fail "the error does not name line 2: $out"
mkdir "$work/out"
printf '0 /patch/create a sine\n0 /patch/connect a output\n0 /patch/commit 0\n50 /mod/a/nope 3\n' >"$work/late.txt"
"$render" --script "$work/late.txt" --duration 60 -o "$work/out/late.wav" >/dev/null 2>&1 && fail "a bad command at 50 s should fail"
[[ -z "$(ls -A "$work/out")" ]] || fail "a failed render left files: $(ls -A "$work/out")"
cp "$work/a.wav" "$work/out/keep.wav"
"$render" --script "$work/late.txt" --duration 60 -o "$work/out/keep.wav" >/dev/null 2>&1
cmp -s "$work/a.wav" "$work/out/keep.wav" || fail "a failed render changed the existing output file"
[[ "$(ls -A "$work/out")" == keep.wav ]] || fail "a failed render left files: $(ls -A "$work/out")"
# Past --duration: still checked (an error fails), and otherwise a warning naming the line.
out=$("$render" --script "$work/late.txt" --duration 1 -o "$work/out/short.wav" 2>&1)
[[ $? == 1 ]] || fail "a bad command past --duration should still fail"
grep -q "late.txt:4: error:" <<<"$out" || fail "the error past --duration does not name line 4: $out"
printf '0 /patch/create a sine\n0 /patch/connect a output\n0 /patch/commit 0\n5 /mod/a/freq 300\n' >"$work/after.txt"
out=$("$render" --script "$work/after.txt" --duration 1 -o "$work/out/after.wav" 2>&1 >/dev/null) || fail "a command past the end is no error"
grep -q "after.txt:4: warning: .*past the end" <<<"$out" || fail "no warning for a command past the end: $out"
printf '0 /x "open\n' >"$work/syntax.txt"
out=$("$render" --script "$work/syntax.txt" --duration 1 -o "$work/out/syntax.wav" 2>&1)
grep -q "syntax.txt:1: error: unterminated quote" <<<"$out" || fail "a syntax error does not name its line: $out"

# Patch files: JSON errors say where, semantic errors name the file, a missing file is not
# a usage error.
printf '{"nodes": [{"id": "a", "type": "sine"}],\n "connections": [{"from": "a" "to": "output"}]}\n' >"$work/bad.json"
out=$("$render" --patch "$work/bad.json" --duration 1 -o "$work/out/j.wav" 2>&1)
[[ $? == 1 ]] || fail "an invalid patch should exit 1"
grep -q "bad.json: error: patch is not valid JSON: line 2, column [0-9]*: " <<<"$out" ||
    fail "the JSON error does not name the file and place: $out"
printf '{"nodes": [{"id": "f", "type": "filtr"}]}\n' >"$work/type.json"
out=$("$render" --patch "$work/type.json" --script "$work/after.txt" --duration 1 -o "$work/out/j.wav" 2>&1)
grep -q "^$work/type.json: error: node 'f': unknown module type 'filtr'" <<<"$out" ||
    fail "the patch error does not name the patch file: $out"
out=$("$render" --patch "$work/missing.json" --duration 1 -o "$work/out/j.wav" 2>&1)
code=$?
[[ $code == 1 ]] || fail "a missing patch file should exit 1, got $code"
grep -q "cannot open $work/missing.json: No such file or directory" <<<"$out" || fail "missing patch: $out"
grep -q "try --help" <<<"$out" && fail "a missing patch file is not a usage error: $out"
[[ -z "$(ls -A "$work/out" | grep -v -e keep.wav -e after.wav)" ]] || fail "failed renders left files: $(ls -A "$work/out")"

# --analyze: what the demo sounds like, measured: its tempo, its loudness, not silence; a
# tone's pitch; silence as silence.
out=$("$render" --quiet --patch "$source/patches/demo.json" --script "$source/patches/demo-script.txt" --duration 12 \
  -o "$work/out/demo.wav" --analyze) || fail "--analyze failed"
python3 - "$out" <<'PY' || fail "the demo's analysis is off: $out"
import json, sys
d = json.loads(sys.argv[1].split("\n", 1)[1])
assert abs(d["tempo_bpm"] - 126) <= 2, d["tempo_bpm"]
assert -20 < d["integrated_lufs"] < -8, d["integrated_lufs"]
assert not d["silent"] and d["true_peak_dbtp"] < 0.5
PY
printf '0 /patch/create t sine freq 440 gain 0.3\n0 /patch/connect t output\n0 /patch/commit 0\n' >"$work/tone.txt"
out=$("$render" --quiet --script "$work/tone.txt" --duration 2 -o "$work/out/tone.wav" --analyze)
grep -q '"note": "A4 +0"' <<<"$out" || fail "a 440 Hz sine is not A4: $out"
out=$("$render" --quiet --duration 1 -o "$work/out/silence.wav" --analyze)
grep -q '"silent": true' <<<"$out" || fail "silence is not silent: $out"

# --input: an input node passes a file through a unity patch bit for bit.
printf '0 /patch/create in input stereo 1\n0 /patch/connect in output\n0 /patch/commit 0\n' >"$work/through.txt"
"$render" --quiet --script "$work/through.txt" --duration 1 -o "$work/out/source.wav" >/dev/null  # silence, 2 ch
sox -n -r 48000 -c 2 -e floating-point -b 32 "$work/noise.wav" synth 1 whitenoise vol 0.3 2>/dev/null ||
  fail "sox cannot make a test signal"
"$render" --quiet --script "$work/through.txt" --input "$work/noise.wav" --duration 1 -o "$work/out/through.wav" \
  >/dev/null || fail "--input failed"
cmp <(sox "$work/noise.wav" -t f32 - 2>/dev/null) <(sox "$work/out/through.wav" -t f32 - 2>/dev/null) ||
  fail "an input through a unity patch is not the input"
out=$("$render" --quiet --script "$work/through.txt" --input "$work/missing.wav" --duration 1 -o "$work/out/x.wav" 2>&1)
grep -q "cannot read the input file" <<<"$out" || fail "a missing --input file: $out"

out=$("$render" --duration 1 2>&1)
[[ $? == 2 ]] || fail "missing -o should be a usage error"
"$render" --help | grep -q -- "--script" || fail "--help does not describe --script"
echo "chronus-render CLI: all checks passed"
