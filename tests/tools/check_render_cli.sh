#!/usr/bin/env bash
# chronus-render from the command line: a patch built entirely by a script, output that
# does not depend on --block-size, FLAC output, and errors that name the script line.
# usage: check_render_cli.sh PATH/TO/chronus-render
set -uo pipefail
render=$1
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

printf '0 /patch/create a sine\n0.5 /mod/a/nope 3\n' >"$work/bad.txt"
out=$("$render" --script "$work/bad.txt" --duration 1 -o "$work/bad.wav" 2>&1)
code=$?
[[ $code == 1 ]] || fail "a bad script should exit 1, got $code"
grep -q "line 2" <<<"$out" || fail "the error does not name line 2: $out"
out=$("$render" --duration 1 2>&1)
[[ $? == 2 ]] || fail "missing -o should be a usage error"
"$render" --help | grep -q -- "--script" || fail "--help does not describe --script"
echo "chronus-render CLI: all checks passed"
