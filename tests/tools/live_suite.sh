# Sourced by shell integration tests: starts a private dummy jackd, chronus-recorder and
# chronus-supervisor on free ports, and stops all of them by PID on exit.
# Needs: BUILD (build dir), SOURCE (source dir). Sets: SUP_PORT, REC_PORT, REC_DIR, WORK.
# Fails (never skips) under CI when jackd is missing.

fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v jackd >/dev/null; then
  if [[ -n "${CI:-}" ]]; then fail "jackd is not installed and CI is set"; fi
  echo "jackd is not installed; skipping" >&2
  exit 77
fi

WORK=$(mktemp -d /tmp/chronus-test.XXXXXX)
REC_DIR="$WORK/recordings"
mkdir -p "$REC_DIR"
_pids=()
_cleanup() {
  local status=$?
  for ((i = ${#_pids[@]} - 1; i >= 0; i--)); do
    local pid=${_pids[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((status != 0)); then
    echo "--- logs ($WORK)" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
  else
    rm -rf "$WORK"
  fi
}
trap _cleanup EXIT

free_port() {
  python3 -c 'import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); p = u.getsockname()[1]
    t = socket.socket(); 
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()'
}

export JACK_NO_START_SERVER=1
export JACK_DEFAULT_SERVER="chronus-test-$$"
"$SOURCE/scripts/jack-reclaim" -q
jackd -n "$JACK_DEFAULT_SERVER" --no-realtime -d dummy -r 48000 -p 256 >"$WORK/jackd.log" 2>&1 &
_pids+=($!)
for _ in $(seq 50); do jack_lsp >/dev/null 2>&1 && break; sleep 0.1; done
jack_lsp >/dev/null 2>&1 || fail "private jackd did not start"

SUP_PORT=$(free_port)
REC_PORT=$(free_port)
"$BUILD/recorder/chronus-recorder" --osc-port "$REC_PORT" --dir "$REC_DIR" >"$WORK/recorder.log" 2>&1 &
_pids+=($!)
"$BUILD/supervisor/chronus-supervisor" --osc-port "$SUP_PORT" --recorder-port "$REC_PORT" --no-connect \
  --instance "test-$$" --patch-dir "$WORK" --state-dir "$WORK/state" >"$WORK/supervisor.log" 2>&1 &
_pids+=($!)
CTL=("$BUILD/tools/chronusctl" --port "$SUP_PORT")
for _ in $(seq 100); do
  "${CTL[@]}" --timeout 0.2 ping >/dev/null 2>&1 && "${CTL[@]}" --timeout 0.2 record status >/dev/null 2>&1 && break
  sleep 0.1
done
"${CTL[@]}" --timeout 1 ping >/dev/null || fail "the supervisor does not answer"
