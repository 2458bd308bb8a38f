#!/usr/bin/env bash
# The generated systemd units pass `systemd-analyze verify`, with their programs pointed at
# this build. A deliberately broken copy must fail, so the check itself can fail.
# usage: check_systemd_units.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
# Units are installed exactly when the programs can signal readiness (libsystemd found):
# a Type=notify unit for a program that never sends READY=1 would hang in "activating".
read -r have_libsystemd planned < <(python3 - "$build/meson-info" <<'PY'
import json, sys
info = sys.argv[1]
deps = {d["name"] for d in json.load(open(info + "/intro-dependencies.json"))}
plan = json.load(open(info + "/intro-install_plan.json"))
units = sorted(e["destination"].rsplit("/", 1)[1] for group in plan.values() for e in group.values()
               if "/systemd/user/" in e["destination"])
print("yes" if "libsystemd" in deps else "no", ",".join(units) or "-")
PY
)
expected=chronus-jackd.service,chronus-recorder.service,chronus-supervisor.service,chronus.target
if [[ $have_libsystemd == no ]]; then
  if [[ $planned != - ]]; then
    echo "built without libsystemd, yet meson would install units: $planned" >&2
    exit 1
  fi
  echo "built without libsystemd: no units are installed, so there is nothing to verify"
  exit 77
fi
if [[ $planned != "$expected" ]]; then
  echo "meson installs units '$planned', expected '$expected'" >&2
  exit 1
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is missing (apt-get install systemd)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$build"/systemd/*.service "$source"/systemd/chronus.target "$work"/
for unit in "$work"/*.service; do
  sed -i -E "s|ExecStart=[^ ]*/chronus-supervisor|ExecStart=$build/supervisor/chronus-supervisor|;
             s|ExecStart=[^ ]*/chronus-recorder|ExecStart=$build/recorder/chronus-recorder|" "$unit"
done
for program in "$build/supervisor/chronus-supervisor" "$build/recorder/chronus-recorder"; do
  [[ -x "$program" ]] || { echo "missing $program" >&2; exit 1; }
done
out=$(systemd-analyze verify "$work"/chronus.target "$work"/*.service 2>&1) || { echo "$out" >&2; exit 1; }
if [[ -n "$out" ]]; then
  echo "systemd-analyze verify complained:" >&2
  echo "$out" >&2
  exit 1
fi
# The private JACK server counts as started only once it accepts clients, so After= on it
# means the supervisor and recorder can connect at once.
grep -Eq '^ExecStartPost=[^ ]*/jack_wait -w' "$work/chronus-jackd.service" ||
  { echo "chronus-jackd.service does not wait for its server (ExecStartPost=jack_wait -w)" >&2; exit 1; }
for name in supervisor recorder; do
  grep -Eq '^After=.*chronus-jackd\.service' "$work/chronus-$name.service" ||
    { echo "chronus-$name.service is not ordered after chronus-jackd.service" >&2; exit 1; }
done
# Enabling, offline in a scratch root: the target alone pulls in the supervisor and the
# recorder but no JACK server (users who run their own JACK); enabling chronus-jackd makes
# both require it.
root=$work/root
mkdir -p "$root/usr/lib/systemd/user"
cp "$work"/chronus*.service "$work/chronus.target" "$root/usr/lib/systemd/user/"
enable() { systemctl --root="$root" --global enable "$1" >/dev/null 2>&1 || { echo "cannot enable $1 offline" >&2; exit 1; }; }
links=$root/etc/systemd/user
enable chronus.target
for name in supervisor recorder; do
  grep -Eq "^Wants=.*chronus-$name\.service" "$work/chronus.target" ||
    { echo "chronus.target does not pull in chronus-$name.service" >&2; exit 1; }
  [[ ! -e "$links/chronus-$name.service.requires/chronus-jackd.service" ]] ||
    { echo "chronus-$name.service requires chronus-jackd.service without it being enabled" >&2; exit 1; }
done
enable chronus-jackd.service
for name in supervisor recorder; do
  [[ -L "$links/chronus-$name.service.requires/chronus-jackd.service" ]] ||
    { echo "enabling chronus-jackd.service does not make chronus-$name.service require it" >&2; exit 1; }
done
# Sanity: the verifier rejects a broken unit.
sed 's/^Type=notify/Type=notifyy/' "$work/chronus-supervisor.service" > "$work/broken.service"
if systemd-analyze verify "$work/broken.service" >/dev/null 2>&1 && \
   [[ -z "$(systemd-analyze verify "$work/broken.service" 2>&1)" ]]; then
  echo "systemd-analyze accepted a broken unit; the check proves nothing" >&2
  exit 1
fi
echo "units verified: $(cd "$work" && ls chronus*.service chronus.target | tr '\n' ' ')"
