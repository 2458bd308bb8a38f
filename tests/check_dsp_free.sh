#!/usr/bin/env bash
# The programs that only speak the command vocabulary (chronus-supervisor, chronusctl) link
# the model library, never the DSP engine: no symbol of chronus::engine or chronus::dsp
# may be in them. The reference binary (chronus-render) must show such symbols, or this
# check has stopped seeing what it looks for (a stripped build, a renamed namespace).
# usage: check_dsp_free.sh REFERENCE BINARY...
set -uo pipefail
pattern='chronus::(engine|dsp)::'
reference=$1
shift

# Sets `found` to the demangled DSP symbols of a binary, one per line; stops the check if
# nm cannot read it.
dspSymbols() {
    local symbols
    symbols=$(nm -C "$1") || { echo "FAIL: nm cannot read $1" >&2; exit 1; }
    found=$(grep -E "$pattern" <<<"$symbols")
}

dspSymbols "$reference"
expected=$(grep -c . <<<"$found")
if ((expected == 0)); then
    echo "FAIL: no chronus::engine or chronus::dsp symbol in $reference: the check cannot see DSP code" >&2
    exit 1
fi
status=0
for binary in "$@"; do
    dspSymbols "$binary"
    if [[ -n $found ]]; then
        echo "FAIL: $(basename "$binary") links DSP code ($(wc -l <<<"$found") symbols), e.g.:" >&2
        head -n 5 <<<"$found" >&2
        status=1
    else
        echo "$(basename "$binary"): no DSP symbol ($(basename "$reference") has $expected)"
    fi
done
exit $status
