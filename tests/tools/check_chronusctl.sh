#!/usr/bin/env bash
# chronusctl against a live supervisor and recorder: every subcommand, its output and
# its exit code (0 done, 1 /fail, 2 usage, 3 no reply).
# usage: check_chronusctl.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BUILD=$1 SOURCE=$2
source "$SOURCE/tests/tools/live_suite.sh"

checks=0
expect() { # expect <exit code> <grep pattern or ""> -- chronusctl args...
  local want=$1 pattern=$2
  shift 3
  local out code
  out=$("${CTL[@]}" "$@" 2>&1)
  code=$?
  checks=$((checks + 1))
  [[ $code == "$want" ]] || fail "chronusctl $* exited $code, expected $want; output: $out"
  if [[ -n "$pattern" ]] && ! grep -Eq -- "$pattern" <<<"$out"; then
    fail "chronusctl $* printed no match for /$pattern/: $out"
  fi
  LAST="$out"
}

expect 0 '^/pong' -- ping
expect 0 'active_slot: [01]' -- status
expect 0 '"redundant"' -- --json status
expect 0 '"type": "osc"' -- modules
expect 0 '^/done /patch/create' -- patch create tone osc waveform saw freq 220
expect 0 '^/done /patch/connect' -- patch connect tone output
expect 0 '^/done /patch/commit' -- patch commit 0
expect 0 '^/done /mod/tone/freq' -- set tone.freq 330
expect 0 'clamped' -- set tone.freq 1e9
expect 1 'no parameter' -- set tone.nope 1
expect 1 "no node 'ghost'" -- set ghost.freq 1
expect 2 'set <node>.<param>' -- set tonefreq 1
expect 0 '^/done /patch/create' -- patch create env adsr
expect 0 '^/done' -- patch commit
expect 0 '^/done /gate/env' -- gate env on
expect 1 'on/off' -- gate env banana
expect 1 'has no gate' -- gate tone on
expect 0 '"nodes"' -- patch dump
expect 0 '^/done /patch/save' -- patch save mypatch
[[ -f "$WORK/mypatch.json" ]] || fail "patch save wrote no $WORK/mypatch.json"
expect 0 '^/done /patch/load' -- patch load "$SOURCE/patches/demo.json" 0
expect 1 'cannot read|not valid JSON|no such' -- patch load "{broken"
expect 0 '^/done /patch/abort|^/done' -- patch abort
expect 0 '^/done /seq/pattern' -- seq pattern bass_seq "x.x.X..x"
expect 0 '^/done /seq/notes' -- seq notes bass_seq A1 C2 E2
expect 0 '^/done /seq/stop' -- seq stop bass_seq
expect 0 '^/done /seq/start' -- seq start bass_seq
expect 1 'unknown /seq command' -- seq dance bass_seq
expect 0 '^/synced' -- sync
expect 0 '^/done /record/start' -- record start ctl-take.wav
take=$(sed -n 's|^/done /record/start ||p' <<<"$LAST")
expect 1 '^/fail /record/start' -- record start again.wav
expect 0 '^/record/status.reply' -- record status
sleep 0.5
expect 0 '^/done /record/stop' -- record stop
[[ -f "$take" ]] || fail "record start reported $take but it does not exist"
expect 1 '^/fail /record/stop' -- record stop
# A take with a duration limit (the number after the file and format is seconds), straight
# to the recorder's own port; split and pre-roll.
expect 0 '^/done /record/start .*timed' -- --recorder-port "$REC_PORT" record start timed.wav wav 0.5
sleep 1.5
expect 0 'state: idle' -- --recorder-port "$REC_PORT" record status
expect 0 'frames: 24000' -- --recorder-port "$REC_PORT" record status
expect 0 '^/done /record/start' -- record start parts.wav
expect 0 '^/done /record/split .*parts_0002' -- record split
expect 0 '^/done /record/stop' -- record stop
expect 0 '^/done /record/preroll' -- record preroll 0.5
expect 1 '^/fail /record/preroll' -- record preroll lots
expect 0 '^/done /record/preroll' -- record preroll 0
expect 0 '^/done /mod/bass_filter/cutoff' -- send /mod/bass_filter/cutoff 440.0
expect 1 '^/fail' -- send /no/such/address
printf '0 /mod/bass_filter/cutoff 600\n0.2 /mod/bass_filter/cutoff 700\n' >"$WORK/moves.txt"
expect 0 '' -- play "$WORK/moves.txt"
# The script's last move is what the live patch now holds.
expect 0 '"cutoff": 700' -- patch dump
expect 2 'cannot read script' -- play "$WORK/missing.txt"
# Playing: a poly, notes by name and number, a chord on one frame, note names for Hz.
expect 0 '^/done /patch/create' -- patch create keys poly voices 6
expect 0 '^/done /patch/connect' -- patch connect keys output
expect 0 '^/done /patch/commit' -- patch commit 0
expect 0 '^/done /note/keys keys 61' -- note keys C#4 0.7 0.5
expect 0 '^/done /note/keys keys 64' -- note keys 64
expect 0 '^/done /note_off/keys keys 64' -- note keys 64 off
expect 0 'chord of 3 notes on keys' -- chord keys C3+Eb3+G3 0.6 1
expect 1 'no poly' -- note ghost C4
expect 1 'out of range' -- note keys 200
expect 1 'no poly' -- chord ghost C3+E3
expect 2 'chord <poly>' -- chord keys C3++E3
expect 0 '^/done /mod/keys/filter.cutoff' -- set keys.filter.cutoff A5
expect 0 '^/done /mod/lead_osc/freq' -- set lead_osc.freq C4
expect 0 '^/done /panic' -- panic
# Stems: a node on ports of its own, and back.
expect 0 '^/done /stem keys 1' -- stem keys on
expect 1 'a stem already' -- stem keys 1
expect 0 '^/done /stem keys 0' -- stem keys off
expect 2 'stem <node>' -- stem keys
# Buffers and a sampler: a file loaded, played, listed; bad files refused.
sox -n -r 48000 -c 1 "$WORK/hit.wav" synth 0.2 sine 440 2>/dev/null || fail "sox cannot make a sample"
expect 0 '^/done /buffer/load hit' -- buffer load hit "$WORK/hit.wav"
expect 0 '"name": "hit"' -- buffer list
expect 1 'not a readable file' -- buffer load nope "$WORK/none.wav"
expect 1 'not an audio file' -- buffer load bad "$WORK/moves.txt"
expect 0 '^/done /patch/create' -- patch create smp sampler buffer hit
expect 0 '^/done /patch/connect' -- patch connect smp output
expect 0 '^/done /patch/commit' -- patch commit 0
expect 0 '^/done /gate/smp' -- gate smp on
expect 1 'in use by node' -- buffer free hit
# Ears: the last seconds described, levels now.
expect 0 'integrated_lufs' -- analyze 1
expect 1 'from 0.1 to 40' -- analyze 100
expect 0 '^/done /levels' -- levels
expect 2 'unknown command' -- dance
expect 2 'unknown option' -- --bogus status
# watch: runs until interrupted; one refresh must show the status.
timeout -s INT 1.5 "${CTL[@]}" watch 0.5 >"$WORK/watch.out" 2>&1
grep -q 'active_slot' "$WORK/watch.out" || fail "watch showed no status: $(head -c 300 "$WORK/watch.out")"
checks=$((checks + 1))
# No server: exit 3 within the timeout.
out=$("$BUILD/tools/chronusctl" --port "$(free_port)" --timeout 0.3 ping 2>&1)
code=$?
[[ $code == 3 ]] || fail "ping with no server exited $code: $out"
grep -q 'no reply' <<<"$out" || fail "no-server message missing: $out"
checks=$((checks + 1))
echo "chronusctl: $checks checks passed"
