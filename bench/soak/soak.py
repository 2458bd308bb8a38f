#!/usr/bin/python3
"""Soak: the whole suite under the load an unkind user makes, checked frame by frame.

A private jackd (dummy backend), chronus-supervisor with a journal, chronus-recorder
recording its output, the demo patch playing, three OSC clients sending valid commands
(200 per second in all: /mod, /gate, /seq/pattern, /status, /ping, small commits) and a
worker killed or stopped every --fault-every seconds. Optionally CPU hogs (--hogs N)
starve the machine. At the end the journal is rendered with chronus-render and the take
is compared with the render block by block: every block must be identical to the render
or inside a gap the recorder or the supervisor declared.

Prints a report (and --json FILE writes it) with: /fail answers to valid commands,
failovers against injected faults, output gaps, divergences, unprovoked replacements,
recorder frames lost (declared) and misplaced, blocks compared/equal/differing, ping
p50/p99/max. Exit status 1 when a promise broke (see --strict-*), 0 otherwise.
"""
import argparse
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


# --- OSC ---------------------------------------------------------------------------------

sys.path.insert(0, os.path.join(HERE, ".."))
from osc_wire import message as osc_message, parse as osc_parse  # noqa: E402


class OscClient:
    """One UDP socket: send, and receive replies addressed to it."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.dest = ("127.0.0.1", port)

    def send(self, address, *args):
        self.sock.sendto(osc_message(address, *args), self.dest)

    def recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return None
        data, _ = self.sock.recvfrom(1 << 16)
        return osc_parse(data)

    def request(self, address, *args, expect=None, timeout=5.0):
        self.send(address, *args)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self.recv(end - time.monotonic())
            if m and (expect is None or m[0] == expect or m[0] == "/fail"):
                return m
        return None


def status_values(client):
    m = client.request("/status", expect="/status.reply", timeout=5)
    if not m or m[0] != "/status.reply":
        return {}
    a = m[1]
    return {a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)}


# --- WAV ---------------------------------------------------------------------------------

def read_wav(path):
    """(channels, rate, frames as a list of per-channel float lists) for float/PCM WAV."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file")
    at, fmt, body = 12, None, None
    while at + 8 <= len(data):
        cid, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        chunk = data[at + 8:at + 8 + size] if size != 0xFFFFFFFF else data[at + 8:]
        if cid == b"fmt ":
            fmt = chunk
        elif cid == b"data":
            body = chunk
            break
        at += 8 + size + (size & 1)
    tag, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if tag == 0xFFFE:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if tag == 3 and bits == 32:
        samples = np.frombuffer(body[: len(body) // 4 * 4], dtype="<f4")
    elif tag == 1 and bits == 16:
        samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype("f4") / 32768.0
    elif tag == 1 and bits == 32:
        samples = np.frombuffer(body[: len(body) // 4 * 4], dtype="<i4").astype("f8") / 2147483648.0
    else:
        raise ValueError(f"{path}: unsupported WAV format tag {tag}, {bits} bits")
    frames = len(samples) // channels
    return channels, rate, samples[: frames * channels].reshape(frames, channels)


# --- the suite ---------------------------------------------------------------------------

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Suite:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.procs = []
        self.server = f"chronus-soak-{os.getpid()}"
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.server, JACK_NO_START_SERVER="1",
                        CHRONUS_FAULT_INJECTION="1")
        self.sup_port, self.rec_port, self.clocked_port = free_port(), free_port(), free_port()
        self.instance = f"soak{os.getpid()}"
        self.journal = os.path.join(work, "journal.txt")

    def spawn(self, name, argv):
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append((name, p))
        return p

    def start(self):
        a, b = self.args, self.args.build
        sched = ["--realtime"] if a.realtime else ["--no-realtime"]
        self.spawn("jackd", ["jackd", "-n", self.server] + sched + ["-d", "dummy", "-r", "48000", "-p", str(a.period)])
        for _ in range(100):
            if subprocess.run(["jack_lsp"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("jackd did not start")
        self.spawn("recorder", [f"{b}/recorder/chronus-recorder", "--osc-port", str(self.rec_port), "--dir",
                                self.work, "--port", "chronus-soak:out_*", "--client-name", "soak-recorder"])
        # A second take of the same ports, placed by the supervisor's timeline clock.
        if not a.no_clocked:
            self.spawn("recorder-clocked", [f"{b}/recorder/chronus-recorder", "--osc-port", str(self.clocked_port),
                                            "--dir", self.work, "--port", "chronus-soak:out_*", "--clock",
                                            "chronus-soak:clock", "--client-name", "soak-recorder-clocked"])
        sup = [f"{b}/supervisor/chronus-supervisor", "--osc-port", str(self.sup_port), "--recorder-port",
               str(self.rec_port), "--instance", self.instance, "--jack-name", "chronus-soak", "--no-connect",
               "--journal", self.journal, "--lookahead", str(a.lookahead),
               "--worker", f"{b}/synth-worker/worker/chronus-synth-worker"]
        self.supervisor = self.spawn("supervisor", sup)
        ctl = OscClient(self.sup_port)
        for _ in range(200):
            v = status_values(ctl) if self.supervisor.poll() is None else {}
            if v.get("redundant") == 1:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the suite did not become redundant")
        rec = OscClient(self.rec_port)
        clocked = OscClient(self.clocked_port)
        for r in (rec,) if self.args.no_clocked else (rec, clocked):
            for _ in range(100):
                if r.request("/ping", expect="/pong", timeout=0.3):
                    break
        with open(os.path.join(ROOT, "patches", "demo.json")) as f:
            patch = f.read()
        m = ctl.request("/patch/load", patch, 0.0, expect="/done", timeout=10)
        if not m or m[0] != "/done":
            raise RuntimeError(f"patch load failed: {m}")
        m = rec.request("/record/start", "soak.wav", expect="/done", timeout=10)
        if not m or m[0] != "/done":
            raise RuntimeError(f"record start failed: {m}")
        self.take = m[1][1]
        self.clocked = clocked
        self.clocked_take = None
        if self.args.no_clocked:
            return ctl, rec
        m = clocked.request("/record/start", "soak-clocked.wav", expect="/done", timeout=10)
        if not m or m[0] != "/done":
            raise RuntimeError(f"record start (clocked) failed: {m}")
        self.clocked_take = m[1][1]
        return ctl, rec

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


# --- load --------------------------------------------------------------------------------

class Client(threading.Thread):
    """Sends valid commands at `rate` per second and tallies the answers."""

    def __init__(self, port, rate, seed, stop, commits):
        super().__init__(daemon=True)
        self.osc, self.rate, self.rng, self.stop, self.commits = OscClient(port), rate, random.Random(seed), stop, commits
        self.sent = 0
        self.done = 0
        self.fails = []
        self.pings = {}
        self.rtts = []
        self.seq = seed * 1000000

    def command(self):
        r = self.rng.random()
        if r < 0.40:
            node, param, lo, hi = self.rng.choice([("bass_filter", "cutoff", 200, 2000), ("lead_filter", "cutoff", 400, 6000),
                                                   ("bass_osc", "amp", 0.3, 0.8), ("lead_pan", "pan", -0.8, 0.8),
                                                   ("bass_filter", "resonance", 0.2, 0.9)])
            return ("/mod/%s/%s" % (node, param), round(self.rng.uniform(lo, hi), 3))
        if r < 0.50:
            return ("/gate/%s" % self.rng.choice(["kick", "snare", "hat"]), self.rng.choice([1, 0]))
        if r < 0.62:
            pattern = "".join(self.rng.choice("xX..") for _ in range(16))
            return ("/seq/pattern", self.rng.choice(["bass_seq", "clock_hat", "clock_snare"]), pattern)
        if r < 0.80:
            return ("/status",)
        if r < 0.99 or not self.commits:
            self.seq += 1
            self.pings[self.seq] = time.monotonic()
            return ("/ping", self.seq)
        # A small commit: add or remove an unconnected LFO.
        return None

    def run(self):
        period = 1.0 / self.rate
        next_at = time.monotonic()
        lfo = 0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_at:
                cmd = self.command()
                if cmd is None:
                    lfo += 1
                    name = "soak_lfo_%d_%d" % (self.seq // 1000000, lfo % 2)
                    if lfo % 2:
                        self.osc.send("/patch/create", name, "lfo")
                    else:
                        self.osc.send("/patch/delete", "soak_lfo_%d_1" % (self.seq // 1000000))
                    self.osc.send("/patch/commit", 0.0)
                    self.sent += 2
                else:
                    self.osc.send(*cmd)
                    self.sent += 1
                next_at += period
                if next_at < now - 1.0:
                    next_at = now
            m = self.osc.recv(min(period, max(0.0, next_at - time.monotonic())))
            while m:
                addr, margs = m
                if addr == "/pong" and margs and margs[0] in self.pings:
                    self.rtts.append(time.monotonic() - self.pings.pop(margs[0]))
                elif addr == "/done" or addr == "/status.reply":
                    self.done += 1
                elif addr == "/fail":
                    self.fails.append(margs)
                m = self.osc.recv(0)


def active_worker(client):
    v = status_values(client)
    slot = v.get("active_slot", -1)
    if slot not in (0, 1):
        return None, None, v
    return slot, v.get("slot%d_pid" % slot), v


def supervisor_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_summary(samples, seconds):
    """RSS after warm-up (the first sample past a fifth of the run) and at the end."""
    samples = [s for s in samples if s[1]]
    if not samples:
        return None
    warm = next((s for s in samples if s[0] >= seconds / 5), samples[0])
    return dict(after_warmup=warm[1], end=samples[-1][1], growth=samples[-1][1] - warm[1],
                max=max(s[1] for s in samples))


# --- compare -----------------------------------------------------------------------------

def parse_gap_frames(log_path):
    frames = []
    pat = re.compile(r"no usable block from any slot at frame (\d+)")
    with open(log_path, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                frames.append(int(m.group(1)))
    return frames


def compare(args, suite, take_path, duration):
    import numpy as np
    origin = None
    with open(suite.journal) as f:
        for line in f:
            m = re.match(r"# origin (\d+)", line)
            if m:
                origin = int(m.group(1))
    side = json.load(open(take_path + ".json"))
    # A take placed by the timeline clock counts in the journal's frames already.
    first_timeline = side["first_frame_timeline"] if "clock" in side else side["first_frame_jack"] - origin
    ch, rate, take = read_wav(take_path)
    render_path = os.path.join(suite.work, "render.wav")  # rendered again for each take: its own length
    end_frame = first_timeline + len(take)
    r = subprocess.run([f"{args.build}/synth-worker/render/chronus-render", "--script", suite.journal,
                        "--sample-rate", "48000", "--block-size", str(args.period), "--channels", "2",
                        "--duration", "%.6f" % (end_frame / 48000.0 + 0.01), "--quiet", "-o", render_path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("chronus-render failed: " + r.stderr)
    _, _, ref = read_wav(render_path)
    ref = ref[first_timeline:first_timeline + len(take)]
    n = min(len(ref), len(take))
    declared = np.zeros(n, dtype=bool)
    # Frames right after a gap that the recorder says may belong earlier (JACK's clock cannot
    # tell a late callback JACK then skipped from a cycle skipped before it): file position
    # -> how much earlier.
    uncertain = {}
    for g in side.get("gaps", []):
        start, length = g["at_frame"], g["frames"]
        declared[start:start + length] = True
        if g.get("uncertain_frames"):
            uncertain[start + length] = g["uncertain_frames"]
    # Inputs the recorder had no source for (not yet connected when the take began, or its
    # port gone): silence there, declared per input in the sidecar's input_gaps.
    no_source = np.zeros((n, take.shape[1] if take.ndim > 1 else 1), dtype=bool)
    for g in side.get("input_gaps", []):
        no_source[g["at_frame"]:g["at_frame"] + g["frames"], g["channel"]] = True
    P = args.period
    sup_gap_blocks = set()
    for f in parse_gap_frames(os.path.join(suite.work, "supervisor.log")):
        sup_gap_blocks.add(f)
    # Blocks the supervisor declared in the journal as never played.
    not_played = set()
    # Blocks the supervisor says may have gone out one cycle early (its clock jumped).
    early = set()
    with open(suite.journal) as f:
        for line in f:
            m = re.match(r"# not played: frames (\d+) ", line)
            if m:
                not_played.add(int(m.group(1)))
            m = re.match(r"# uncertain: frames (\d+) ", line)
            if m:
                early.add(int(m.group(1)))
            m = re.match(r"# gap: frames (\d+) \+(\d+)", line)
            if m:
                for b in range(int(m.group(1)), int(m.group(1)) + int(m.group(2)), P):
                    sup_gap_blocks.add(b)
    # Blocks on the timeline's grid (the supervisor outputs whole periods).
    offset = (-first_timeline) % P
    stats = dict(blocks=0, equal=0, declared=0, supervisor_gap=0, differ=0)
    first_diffs = []
    for s in range(offset, n - P + 1, P):
        stats["blocks"] += 1
        tl = first_timeline + s
        a, b = take[s:s + P], ref[s:s + P]
        if np.array_equal(a, b):
            stats["equal"] += 1
            continue
        if declared[s:s + P].any():
            stats["declared"] += 1
            continue
        if no_source[s:s + P].any() and all(
                np.array_equal(a[:, c], b[:, c]) or (no_source[s:s + P, c].all() and not a[:, c].any())
                for c in range(a.shape[1])):
            stats["no_source"] = stats.get("no_source", 0) + 1
            continue
        if tl + P in early and s + 2 * P <= n and np.array_equal(a, ref[s + P:s + 2 * P]):
            stats["early_declared"] = stats.get("early_declared", 0) + 1
            continue
        u = uncertain.get(s)
        if u and s >= u and np.array_equal(a, ref[s - u:s - u + P]):
            stats["uncertain_placed_earlier"] = stats.get("uncertain_placed_earlier", 0) + 1
            continue
        if tl in not_played:
            stats["not_played"] = stats.get("not_played", 0) + 1
            continue
        if tl in sup_gap_blocks:
            stats["supervisor_gap"] += 1
            continue
        stats["differ"] += 1
        if len(first_diffs) < 10:
            # Where the block's content does stand in the render (a misplaced block), if nearby.
            shift = next((k for k in range(-8, 9) if k and 0 <= s + k * P and s + (k + 1) * P <= n
                          and np.array_equal(a, ref[s + k * P:s + (k + 1) * P])), None)
            first_diffs.append(dict(timeline_frame=tl, max_abs=float(np.max(np.abs(a - b))),
                                    content_of_block_offset=shift, silent=bool(not a.any()),
                                    after_declared_gap=bool(s >= P and declared[s - P:s].any())))
    stats["first_differences"] = first_diffs
    stats["take_frames"] = int(len(take))
    stats["first_timeline_frame"] = int(first_timeline)
    return stats


# --- main --------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build directory")
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--rate", type=float, default=200, help="valid commands per second, all clients")
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--fault-every", type=float, default=30, help="seconds between injected faults (0: none)")
    p.add_argument("--hogs", type=int, default=0, help="CPU hog processes for the whole run")
    p.add_argument("--period", type=int, default=256)
    p.add_argument("--lookahead", default="2", help="1..8 or auto (chronus-supervisor --lookahead)")
    p.add_argument("--realtime", action="store_true", help="jackd --realtime (default --no-realtime)")
    p.add_argument("--realtime-if-allowed", action="store_true",
                   help="--realtime when real-time scheduling is permitted here (chrt -f 1 true)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--no-clocked", action="store_true",
                   help="no second take placed by the timeline clock (chronus-recorder --clock chronus:clock)")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--strict", action="store_true", help="exit 1 on any broken promise")
    p.add_argument("--exact", action="store_true",
                   help="exit 1 only when exactness broke: a /fail to a valid command, a divergence, or a "
                        "block that differs from the render outside any declared gap")
    p.add_argument("--recompare", metavar="DIR", help="only compare the take in a kept work directory")
    p.add_argument("--attempts", type=int, default=1,
                   help="run again (up to this many runs) when a run broke exactness only where JACK itself ran "
                        "the measuring chain late: the supervisor or the recorder 'was not finished' in jackd's "
                        "log (every run is reported)")
    args = p.parse_args()
    if args.attempts > 1:
        return attempts(args)
    if args.realtime_if_allowed:
        args.realtime = subprocess.run(["chrt", "-f", "1", "true"], capture_output=True).returncode == 0
    if args.recompare:
        suite = Suite(args, args.recompare)
        suite.journal = os.path.join(args.recompare, "journal.txt")
        print(json.dumps(compare(args, suite, os.path.join(args.recompare, "soak.wav"), 0), indent=2))
        clocked = os.path.join(args.recompare, "soak-clocked.wav")
        if os.path.exists(clocked):
            print(json.dumps(dict(clocked=compare(args, suite, clocked, 0)), indent=2))
        return 0

    work = tempfile.mkdtemp(prefix="chronus-soak-")
    suite = Suite(args, work)
    hogs = []
    report = {}
    ok = True
    try:
        ctl, rec = suite.start()
        base = status_values(ctl)
        stop = threading.Event()
        clients = [Client(suite.sup_port, args.rate / args.clients, args.seed * 10 + i, stop, commits=(i == 0))
                   for i in range(args.clients)]
        for h in range(args.hogs):
            hogs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        for c in clients:
            c.start()
        faults = []
        rss = []  # (seconds, supervisor RSS in kB)
        t0 = time.monotonic()
        kinds = ["SIGKILL", "SIGSTOP", "SIGKILL-standby", "SIGSEGV"]
        next_fault = args.fault_every / 2 if args.fault_every > 0 else float("inf")
        next_rss = 0.0
        while time.monotonic() - t0 < args.seconds:
            time.sleep(0.2)
            if time.monotonic() - t0 >= next_rss:
                rss.append((round(time.monotonic() - t0, 1), supervisor_rss_kb(suite.supervisor.pid)))
                next_rss += 5.0
            if time.monotonic() - t0 >= next_fault:
                kind = kinds[len(faults) % len(kinds)]
                slot, pid, v = active_worker(ctl)
                if kind == "SIGKILL-standby" and slot is not None:
                    slot = 1 - slot
                    pid = v.get("slot%d_pid" % slot)
                if pid and pid > 0:
                    sig = {"SIGKILL": signal.SIGKILL, "SIGSTOP": signal.SIGSTOP, "SIGKILL-standby": signal.SIGKILL,
                           "SIGSEGV": signal.SIGSEGV}[kind]
                    try:
                        os.kill(pid, sig)
                        faults.append(dict(t=round(time.monotonic() - t0, 1), kind=kind, slot=slot, pid=pid))
                    except ProcessLookupError:
                        pass
                next_fault += args.fault_every
        stop.set()
        for c in clients:
            c.join(5)
        for h in hogs:
            h.kill()
        time.sleep(1.0)
        final = status_values(ctl)
        m = rec.request("/record/stop", expect="/done", timeout=10)
        mc = suite.clocked.request("/record/stop", expect="/done", timeout=10) if suite.clocked_take else None
        rstat = rec.request("/record/status", expect="/done", timeout=5)
        time.sleep(0.5)
        take = suite.take if os.path.isabs(suite.take) else os.path.join(work, suite.take)
        cmp = compare(args, suite, take, args.seconds)
        cmp_clocked = dict(differ=0, skipped=True)
        if suite.clocked_take:
            clocked_take = (suite.clocked_take if os.path.isabs(suite.clocked_take)
                            else os.path.join(work, suite.clocked_take))
            cmp_clocked = compare(args, suite, clocked_take, args.seconds)
        rtts = sorted(x for c in clients for x in c.rtts)
        pct = lambda q: round(1000 * rtts[min(len(rtts) - 1, int(q * len(rtts)))], 2) if rtts else None
        fails = [f for c in clients for f in c.fails]
        injected_active = sum(1 for f in faults if f["kind"] != "SIGKILL-standby")
        failovers = final.get("failovers", 0) - base.get("failovers", 0)
        with open(os.path.join(work, "supervisor.log"), errors="replace") as f:
            sup_log = f.read()
        replacements = len(re.findall(r"replacing it", sup_log))
        report = dict(
            seconds=args.seconds, rate=args.rate, hogs=args.hogs, period=args.period, lookahead=args.lookahead,
            realtime=args.realtime,
            commands_sent=sum(c.sent for c in clients), answered=sum(c.done for c in clients),
            fail_answers=len(fails), fail_examples=fails[:5],
            faults_injected=len(faults), faults=faults, failovers=failovers,
            unprovoked_failovers=max(0, failovers - injected_active),
            replacements=replacements, unprovoked_replacements=max(0, replacements - len(faults)),
            both_late=final.get("both_late", 0), both_late_max_ms=final.get("both_late_max_ms", 0),
            gaps=final.get("gaps", 0), divergences=final.get("divergences", 0),
            lookahead_end=final.get("lookahead"), lookahead_raised=final.get("lookahead_raised", 0),
            lookahead_lowered=final.get("lookahead_lowered", 0), thin_cycles=final.get("thin_cycles", 0),
            ready_cycles=final.get("ready_cycles", ""),
            late_commands=final.get("late_commands", 0), skipped_frames=final.get("skipped_frames", 0),
            recorder_lost=(m[1][3] if m and m[0] == "/done" and len(m[1]) > 3 else None),
            compare=cmp, misplaced_blocks=cmp["differ"],
            recorder_lost_clocked=(mc[1][3] if mc and mc[0] == "/done" and len(mc[1]) > 3 else None),
            compare_clocked=cmp_clocked, differing_blocks_clocked=cmp_clocked["differ"],
            commands_at_risk=final.get("commands_at_risk", 0), misplayed_blocks=final.get("misplayed_blocks", 0),
            supervisor_rss_kb=rss_summary(rss, args.seconds),
            ping_ms=dict(p50=pct(0.5), p99=pct(0.99), max=round(1000 * rtts[-1], 2) if rtts else None, n=len(rtts)),
            work=work,
        )
        exact = (report["fail_answers"] == 0 and report["divergences"] == 0 and report["misplaced_blocks"] == 0
                 and report["differing_blocks_clocked"] == 0)
        ok = exact if args.exact else (exact and report["unprovoked_failovers"] == 0 and report["gaps"] == 0
                                       and report["unprovoked_replacements"] == 0)
    except Exception as e:  # noqa: BLE001 - report anything
        report["error"] = str(e)
        report["work"] = work
        ok = False
    finally:
        for h in hogs:
            if h.poll() is None:
                h.kill()
        suite.stop()
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok or not (args.strict or args.exact) else 1


def attempts(args):
    """Runs the soak up to args.attempts times (each a child of this script, its report
    printed), stopping at the first run that keeps its promises. A failed run is retried only
    when nothing but block placement broke (no /fail to a valid command, no divergence) and
    jackd's log shows it ran the supervisor or the recorder late: the measurement itself was
    disturbed. Anything else fails at once."""
    argv = [a for a in sys.argv[1:]]
    i = argv.index("--attempts")
    del argv[i:i + 2]
    for n in range(1, args.attempts + 1):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            rc = subprocess.call([sys.executable, os.path.abspath(__file__), *argv, "--json", out.name, "--keep"])
            try:
                report = json.load(open(out.name))
            except (OSError, ValueError):
                report = {}
        work = report.get("work", "")
        if rc == 0:
            shutil.rmtree(work, ignore_errors=True)
            return 0
        late = []
        try:
            with open(os.path.join(work, "jackd.log"), errors="replace") as f:
                late = [c for c in re.findall(r"client = (\S+) was not finished", f.read()) if "-worker-" not in c]
        except OSError:
            pass
        placement_only = report.get("fail_answers", 1) == 0 and report.get("divergences", 1) == 0
        if not (placement_only and late) or n == args.attempts:
            print(f"soak: run {n} failed (kept in {work})", file=sys.stderr)
            return rc
        print(f"soak: run {n} of {args.attempts} broke placement while JACK ran our chain late "
              f"({len(late)} late cycles of {', '.join(sorted(set(late)))}); running again (kept in {work})",
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
