#!/usr/bin/python3
"""Chronus over NetJACK2 on loopback, checked on the audio.

A master jackd (dummy backend) with the netmanager loaded, a slave jackd (net backend) that
the master clocks; the suite (supervisor, two workers) on the slave, its outputs on the
slave's system:playback_1/2, which arrive on the master as <slave>:from_slave_1/2;
chronus-recorder on the master records those. Shows:

1. every block of the take on the master is chronus-render of the supervisor's journal (on
   the slave) at NetJACK2's latency, or declared lost (the recorder's sidecar, the journal),
   or NetJACK2's own repeat or silence for a packet that came late (TakeComparison): never
   other sound; a worker on the slave is SIGKILLed in the middle of the take and the
   failover leaves no broken block at the master; a second take on the master, placed by the
   suite's timeline clock (chronus:clock on the slave's system:playback_3, recorder --clock),
   holds every block at the journal's own frame: each the render's or declared lost, with
   nothing left to allow for;
2. the master stopped (SIGSTOP) for a second: the supervisor on the slave keeps answering and
   says its audio stalled while it is, and audio reaches the master again without a restart;
3. two suites on two more slaves, one take on the master, one bundle starting both on the
   same master frame (chronus-clock on the master, --master-clock on each slave);
4. the master killed and started again: the slave's net driver registers its playback ports
   anew, the supervisor connects its outputs to them again on its own, and a take on the new
   master holds the suite's output, equal to the journal's render;
5. the slave lost for 3 s (its jackd stopped: to the master, a cut link): the master drops its
   ports, the master's recorder declares the span without a source on each channel and holds
   silence there, and the suite's sound flows into the same take again when the slave is back.

Exits 0 when all holds, 1 otherwise (77, skip, only when jackd is missing outside CI).
Usage: check_netjack.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD, SOURCE = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SOURCE, "bench", "soak"))
sys.path.insert(0, os.path.join(SOURCE, "bench"))
from soak import OscClient, free_port, read_wav, status_values  # noqa: E402

import numpy as np  # noqa: E402

P = 256
ROUND_TRIP = 6 * P  # NetJACK2's round trip at the slave's default -l 5 (docs/scaling.md)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


class Procs:
    def __init__(self, work):
        self.work, self.all = work, []

    def spawn(self, name, argv, server):
        env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1", CHRONUS_FAULT_INJECTION="1")
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.all.append((name, p))
        return p

    def stop(self, which=lambda name: True):
        for name, p in reversed(self.all):
            if which(name) and p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def start_master(procs, name, master, net_port):
    """The master jackd (dummy backend) with the netmanager loaded on `net_port`; its process."""
    m = procs.spawn(name, ["jackd", "-n", master, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", str(P)], master)
    if not wait_for(lambda: subprocess.run(["jack_lsp"], env=dict(os.environ, JACK_DEFAULT_SERVER=master,
                                                                 JACK_NO_START_SERVER="1"),
                                           capture_output=True).returncode == 0, 10):
        raise RuntimeError(f"the master jackd ({name}) did not start")
    jack(master, "jack_load", "netmanager", "-i", f"-a 127.0.0.1 -p {net_port}", check_rc=True)
    return m


def jack(server, *argv, check_rc=False):
    env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1")
    r = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=20)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r.stdout


def wait_for(pred, seconds, step=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def ports(server):
    return jack(server, "jack_lsp").split()


def align(take, ref):
    """The render frame of the take's frame 0: the first loud block of the take found in the
    render, sample for sample (None if nowhere)."""
    for s in range(0, len(take) - P, P):
        block = take[s:s + P]
        if np.abs(block).max() < 1e-3:
            continue
        hits = np.nonzero(ref[:, 0] == block[0, 0])[0]
        for h in hits:
            if h + P <= len(ref) and np.array_equal(ref[h:h + P], block):
                return int(h) - s
        return None
    return None


def main():
    if not shutil.which("jackd"):
        if os.environ.get("CI"):
            print("FAIL jackd is not installed and CI is set")
            return 1
        print("jackd is not installed; skipping")
        return 77
    work = tempfile.mkdtemp(prefix="chronus-netjack-")
    procs = Procs(work)
    # jackd keeps 8 servers in its registry and frees a dead one's slot only when a server of
    # that name starts again; this test starts four.
    reclaim = [os.path.join(SOURCE, "scripts", "jack-reclaim"), "-q"]
    subprocess.run(reclaim)
    master, slave_server, slave_name = f"chronus-test-netm-{os.getpid()}", f"chronus-test-nets-{os.getpid()}", "synthbox"
    net_port = free_port()
    try:
        m = start_master(procs, "master", master, net_port)
        # Three playback ports: out_L, out_R and the suite's timeline clock.
        slave = procs.spawn("slave", ["jackd", "-n", slave_server, "--no-realtime", "-d", "net", "-a", "127.0.0.1", "-p",
                              str(net_port), "-n", slave_name, "-P", "3"], slave_server)
        if not wait_for(lambda: f"{slave_name}:from_slave_3" in ports(master), 15):
            raise RuntimeError("the slave never appeared on the master")
        print(f"slave {slave_name} joined the master", flush=True)

        sup_port, rec_port = free_port(), free_port()
        journal = os.path.join(work, "journal.txt")
        sup = procs.spawn("supervisor", [f"{BUILD}/supervisor/chronus-supervisor", "--osc-port", str(sup_port),
                                         "--instance", f"netjack{os.getpid()}", "--jack-server", slave_server,
                                         "--journal", journal, "--lookahead", "3", "--state-dir",
                                         os.path.join(work, "state"), "--fresh",
                                         "--worker", f"{BUILD}/synth-worker/worker/chronus-synth-worker"],
                          slave_server)
        ctl = OscClient(sup_port)
        if not wait_for(lambda: sup.poll() is None and status_values(ctl).get("redundant") == 1, 20, 0.2):
            raise RuntimeError("the suite on the slave did not become redundant")
        for side in ("L", "R"):
            jack(slave_server, "jack_connect", f"chronus:out_{side}", f"system:playback_{1 if side == 'L' else 2}")
        jack(slave_server, "jack_connect", "chronus:clock", "system:playback_3")
        rec = procs.spawn("recorder", [f"{BUILD}/recorder/chronus-recorder", "--osc-port", str(rec_port), "--dir",
                                       work, "--jack-server", master, "--port", f"{slave_name}:from_slave_*"], master)
        rctl = OscClient(rec_port)
        clocked_port = free_port()
        procs.spawn("recorder-clocked", [f"{BUILD}/recorder/chronus-recorder", "--osc-port", str(clocked_port),
                                         "--dir", work, "--jack-server", master, "--client-name", "recorder-clocked",
                                         "--port", f"{slave_name}:from_slave_1", "--port", f"{slave_name}:from_slave_2",
                                         "--clock", f"{slave_name}:from_slave_3"], master)
        cctl = OscClient(clocked_port)
        for r in (rctl, cctl):
            if not wait_for(lambda: r.request("/ping", expect="/pong", timeout=0.3) is not None, 10):
                raise RuntimeError("a recorder on the master does not answer")
        with open(os.path.join(SOURCE, "patches", "demo.json")) as f:
            r = ctl.request("/patch/load", f.read(), 0.0, expect="/done", timeout=10)
        check(r is not None and r[0] == "/done", "the demo patch loads on the slave's suite")
        time.sleep(0.5)

        # 1. A take on the master across a worker failover on the slave.
        r = rctl.request("/record/start", "net.wav", expect="/done", timeout=10)
        if not r or r[0] != "/done":
            raise RuntimeError(f"/record/start: {r}")
        take_path = r[1][1]
        r = cctl.request("/record/start", "net-clocked.wav", expect="/done", timeout=10)
        if not r or r[0] != "/done":
            raise RuntimeError(f"/record/start (clocked): {r}")
        clocked_path = r[1][1]
        time.sleep(2.0)
        before = status_values(ctl)
        active = int(before.get("active_slot", -1))
        os.kill(int(before[f"slot{active}_pid"]), signal.SIGKILL)
        time.sleep(2.0)
        after = status_values(ctl)
        check(after.get("failovers", 0) == before.get("failovers", 0) + 1,
              f"the worker's SIGKILL on the slave is one failover ({before.get('failovers')} -> {after.get('failovers')})")

        # 2. The master stopped for a second: the slave's suite says so and plays on after.
        os.kill(m.pid, signal.SIGSTOP)
        time.sleep(1.2)
        during = status_values(ctl)
        os.kill(m.pid, signal.SIGCONT)
        continued = time.monotonic()
        check(bool(during), "the supervisor on the slave answers while the master is stopped")
        print(f"while the master was stopped: audio {during.get('audio')}, "
              f"ms_since_cycle {during.get('ms_since_cycle')}", flush=True)
        check(during.get("audio") == "stalled", "its /status says the audio stalled while the master was stopped")
        resumed = wait_for(lambda: status_values(ctl).get("audio") == "running", 15, 0.05)
        print(f"audio running on the slave {time.monotonic() - continued:.2f} s after the master continued",
              flush=True)
        check(resumed, "audio runs on the slave again without a restart")
        time.sleep(1.5)
        r = rctl.request("/record/stop", expect="/done", timeout=10)
        check(r is not None and r[0] == "/done", "the take on the master stops")
        r = cctl.request("/record/stop", expect="/done", timeout=10)
        check(r is not None and r[0] == "/done", "the clocked take on the master stops")
        check(sup.poll() is None and rec.poll() is None, "the supervisor and the recorder are still running")

        # The take against the journal's render.
        ch, rate, take = read_wav(take_path)
        side = json.load(open(take_path + ".json"))
        render = os.path.join(work, "render.wav")
        total = 48000 * 30
        rr = subprocess.run([f"{BUILD}/synth-worker/render/chronus-render", "--script", journal, "--sample-rate",
                             "48000", "--block-size", str(P), "--channels", "2", "--duration",
                             "%.3f" % (total / 48000), "--quiet", "-o", render], capture_output=True, text=True)
        check(rr.returncode == 0, "chronus-render renders the slave's journal: " + rr.stderr.strip()[:200])
        _, _, ref = read_wav(render)
        offset = align(take, ref)
        check(offset is not None, "the take on the master is found, sample for sample, in the render")
        if offset is None:
            return 1
        declared = np.zeros(len(take), dtype=bool)
        for g in side.get("gaps", []):
            declared[g["at_frame"]:g["at_frame"] + g["frames"] + g.get("uncertain_frames", 0)] = True
        # What the supervisor's journal declares (render frames): silence, a block not played
        # (its clock read a cycle ahead) or one that may have gone out a cycle early. Each
        # shifts what follows by a block against a take the master labels with its own clock.
        near_mark = journal_marks(journal)
        origin = next((int(line.split()[2]) for line in open(journal) if line.startswith("# origin ")), 0)
        c = compare_take(take, ref, offset, declared, near_mark)
        print(f"take on the master: {len(take)} frames, {len(side.get('gaps', []))} gaps in its sidecar; "
              f"journal origin {origin}; {c.summary()}", flush=True)
        # The master stood still while stopped: its take holds what the slave played when the
        # master ran, nothing between. Blocks after the stop sit at another distance from the
        # render (the slave's clock ran on alone): compare them on their own.
        check(c.blocks > 100, "the take holds audio")
        clocked_take(clocked_path, ref, journal)
        # Two more slaves first, stopped after; then the master's restart, which NetJACK2 takes
        # worse with slaves that joined the restarted master still coming and going.
        two_slaves(procs, work, master, net_port)
        procs.stop(lambda name: "box" in name or name in ("recorder-desk", "clock"))
        master_restart(procs, work, m, master, net_port, slave_server, slave_name, journal)
        slave_lost(procs, work, master, slave, slave_name, ctl, journal)
        check(c.faithful(), "every block of the take on the master is the render's at NetJACK2's latency, "
              "declared lost, or NetJACK2's own repeat or silence; most are the render's")
    except Exception as e:  # a broken setup is a failure, said in one line
        failures.append(str(e))
        print("FAIL " + str(e), flush=True)
    finally:
        procs.stop()
        subprocess.run(reclaim)
        if failures:
            print(f"--- logs in {work}")
            for name in ["master", "slave", "supervisor", "recorder", "recorder-clocked"] + sorted(
                    f[:-4] for f in os.listdir(work) if f.startswith(("slave-box", "supervisor-box")) and f.endswith(".log")
            ) + ["recorder-desk", "clock", "master-again", "recorder-again"]:
                path = os.path.join(work, name + ".log")
                if os.path.exists(path):
                    print(f"--- {name}.log (tail)")
                    print("".join(open(path, errors="replace").readlines()[-15:]))
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def connected(server, port):
    """The ports `port` is connected to, from jack_lsp -c."""
    out, current, peers = jack(server, "jack_lsp", "-c"), None, []
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            current = line.strip()
        elif current == port:
            peers.append(line.strip())
    return peers


def start_take(procs, work, master, name, ports):
    """A recorder client `name` on the master with these --port/--channels arguments (its log is
    recorder-<name>.log), and a take <name>.wav started on it: (its OSC client, the take's path)."""
    rec_port = free_port()
    procs.spawn(f"recorder-{name}", [f"{BUILD}/recorder/chronus-recorder", "--osc-port", str(rec_port), "--dir", work,
                                     "--jack-server", master, "--client-name", name] + ports, master)
    rctl = OscClient(rec_port)
    if not wait_for(lambda: rctl.request("/ping", expect="/pong", timeout=0.3) is not None, 10):
        raise RuntimeError(f"the recorder {name} on the master does not answer")
    time.sleep(0.5)
    r = rctl.request("/record/start", f"{name}.wav", expect="/done", timeout=10)
    if not r or r[0] != "/done":
        raise RuntimeError(f"/record/start on {name}: {r}")
    return rctl, r[1][1]


def master_restart(procs, work, m, master, net_port, slave_server, slave_name, journal):
    """The master killed and started again: the slave comes back, the supervisor on it
    connects its outputs to the slave's new playback ports by itself (the net driver registers
    them anew, without -s unconnected), and the new master records the suite again."""
    os.kill(m.pid, signal.SIGKILL)
    m.wait()
    wait_for(lambda: "system:playback_1" not in connected(slave_server, "chronus:out_L"), 10)
    time.sleep(0.5)
    started = time.monotonic()
    start_master(procs, "master-again", master, net_port)
    back = wait_for(lambda: f"{slave_name}:from_slave_2" in ports(master), 20)
    print(f"master restarted: the slave is back on it {time.monotonic() - started:.2f} s after the master started",
          flush=True)
    check(back, "the slave joins the restarted master")
    rewired = wait_for(lambda: "system:playback_1" in connected(slave_server, "chronus:out_L") and
                       "system:playback_2" in connected(slave_server, "chronus:out_R"), 10)
    print(f"out_L on the slave connected to {connected(slave_server, 'chronus:out_L')}", flush=True)
    check(rewired, "the supervisor connected its outputs to the slave's new playback ports by itself")
    rctl, path = start_take(procs, work, master, "again", ["--port", f"{slave_name}:from_slave_*"])
    time.sleep(2.0)
    rctl.request("/record/stop", expect="/done", timeout=10)
    _, _, take = read_wav(path)
    render = os.path.join(work, "render-again.wav")
    subprocess.run([f"{BUILD}/synth-worker/render/chronus-render", "--script", journal, "--sample-rate", "48000",
                    "--block-size", str(P), "--channels", "2", "--duration", "60", "--quiet", "-o", render],
                   capture_output=True, text=True)
    _, _, ref = read_wav(render) if os.path.exists(render) else (0, 0, np.zeros((0, 2), dtype=np.float32))
    offset = align_by_majority(take, ref)
    c = compare_take(take, ref, offset, near_mark=journal_marks(journal)) if offset is not None else None
    print(f"take on the restarted master: {len(take)} frames; {c.summary() if c else 'not found in the render'}",
          flush=True)
    check(c is not None and c.blocks > 100 and c.faithful(),
          "the restarted master records the suite's output again, equal to the journal's render")


class TakeComparison:
    """A take on the master block by block against the render of the slave's journal.

    What NetJACK2 does to a slave's audio on a busy machine (seen here under CPU load, never
    on a quiet one): when the slave's packet for a cycle comes late, the master's port holds
    the block before once more (a repeat) or silence, and the late block is lost; after a late
    stretch the slave's sound can arrive a cycle or more later (or earlier) than before, for
    good (a latency step). None of that is the suite's, and none of it is wrong sound:
    counted, allowed. A block that is none of these is sound the suite never played: never
    allowed. Blocks the master's recorder declares lost (its sidecar), and steps within a few
    blocks of what the supervisor's journal declares (a block not played, or played a cycle
    early), are the suite's own declarations."""

    def __init__(self):
        self.blocks = self.equal = self.declared = self.declared_steps = 0
        self.net_steps = self.net_repeats = self.net_silent = self.differ = 0
        self.first_bad = None

    def faithful(self):
        return self.differ == 0 and self.equal >= self.blocks // 2

    def summary(self):
        return (f"blocks {self.blocks}: {self.equal} identical to the render, {self.declared} declared lost, "
                f"{self.declared_steps} steps at a journal mark; NetJACK2: {self.net_repeats} repeated, "
                f"{self.net_silent} silent, {self.net_steps} latency steps; {self.differ} differing "
                f"(first at take frame {self.first_bad})")


def journal_marks(journal):
    """Whether a render frame is within a few blocks of what the supervisor's journal declares:
    silence (the live output faded there), a block not played (its clock read a cycle ahead),
    or one that may have gone out a cycle early. Each can shift what follows by a block."""
    marks = []
    with open(journal) as f:
        for line in f:
            if line.startswith(("# gap: frames", "# not played: frames", "# uncertain: frames")):
                marks.append(int(line.split("frames ")[1].split()[0]))
    return lambda render_frame: any(abs(render_frame - f) <= 4 * P for f in marks)


def partly_silent(a, ref, at):
    """The block step k (0 first, then up to 12 either way) at which every channel of block `a`
    is either silent or the render's channel at `at` + k blocks; None if there is none."""
    for k in [0] + [j for i in range(1, 13) for j in (-i, i)]:
        r = at + k * P
        if 0 <= r and r + P <= len(ref) and all(not a[:, ch].any() or np.array_equal(a[:, ch], ref[r:r + P, ch])
                                                 for ch in range(a.shape[1])):
            return k
    return None


def compare_take(take, ref, offset, declared=None, near_mark=lambda render_frame: False):
    c = TakeComparison()
    previous = None
    for s in range((-offset) % P, len(take) - P + 1, P):
        if offset + s + P > len(ref):
            break
        c.blocks += 1
        a = take[s:s + P]
        if np.array_equal(a, ref[offset + s:offset + s + P]):
            c.equal += 1
        elif declared is not None and declared[s:s + P].any():
            c.declared += 1
        elif previous is not None and a.any() and np.array_equal(a, previous):
            c.net_repeats += 1
        else:
            step = next((k for k in range(-12, 13) if k and 0 <= offset + k * P + s
                         and offset + k * P + s + P <= len(ref)
                         and np.array_equal(a, ref[offset + k * P + s:offset + k * P + s + P])), None)
            if step is not None:
                if near_mark(offset + s):
                    c.declared_steps += 1
                else:
                    c.net_steps += 1
                offset += step * P
                c.equal += 1
            elif near_mark(offset + s):
                c.declared += 1  # the journal's own gap (the live output faded where the render is silent)
            elif (partial := partly_silent(a, ref, offset + s)) is not None:
                # Silence on some channels, the render on the others: a whole silent block, or
                # the cycles after a slave's net driver registered its playback ports anew and
                # the supervisor had connected out_L but not yet out_R.
                c.net_silent += 1
                offset += partial * P
            else:
                c.differ += 1
                c.first_bad = c.first_bad if c.first_bad is not None else s
        previous = a
    return c


def clocked_take(path, ref, journal):
    """The take placed by the suite's timeline clock against the render, block by block at the
    journal's own frames: each block must be the render's, or declared lost (the sidecar's
    gaps: cycles NetJACK2 repeated, left silent or never delivered, and the master's stop),
    or silence where the journal declares the live output faded."""
    _, _, take = read_wav(path)
    side = json.load(open(path + ".json"))
    check(side.get("clock", "").endswith(":from_slave_3"), "the clocked take says which clock placed it")
    first = int(side.get("first_frame_timeline", 0))
    declared = np.zeros(len(take), dtype=bool)
    for g in side.get("gaps", []):
        declared[g["at_frame"]:g["at_frame"] + g["frames"]] = True
    faded = []
    with open(journal) as f:
        for line in f:
            if line.startswith("# gap: frames "):
                at, n = line.split("frames ")[1].split()[:2]
                faded.append((int(at), int(at) + int(n.lstrip("+"))))
    blocks = equal = lost = silent = differ = 0
    first_bad = None
    for s in range((-first) % P, len(take) - P + 1, P):
        if first + s + P > len(ref):
            break
        blocks += 1
        a, b = take[s:s + P], ref[first + s:first + s + P]
        if np.array_equal(a, b):
            equal += 1
        elif declared[s:s + P].any():
            lost += 1
        elif any(lo <= first + s < hi for lo, hi in faded):
            silent += 1
        else:
            differ += 1
            first_bad = first_bad if first_bad is not None else first + s
    uncertain = sum(1 for g in side.get("gaps", []) if g.get("uncertain_frames"))
    print(f"clocked take on the master: {blocks} blocks at the journal's frames: {equal} identical to the render, "
          f"{lost} declared lost, {silent} in the journal's own gaps, {differ} differing (first at journal frame "
          f"{first_bad}); {len(side.get('gaps', []))} gaps, {uncertain} uncertain", flush=True)
    check(blocks > 100 and differ == 0 and equal >= blocks // 2,
          "every block of the clocked take is the render's at its journal frame, or declared")
    check(uncertain == 0, "a clocked take's gaps are exact")


def slave_lost(procs, work, master, slave, slave_name, ctl, journal):
    """The master loses the slave for 3 s (the slave's jackd stopped: to the master, a cut link).
    The master's recorder keeps the take going; NetJACK2 drops the slave's ports after a
    moment, and the recorder declares each channel's span without a source (sidecar
    input_gaps) and holds silence there; when the slave continues it joins again, its ports
    come back under the same names, the recorder takes them again, and the suite's sound
    flows again, equal to the journal's render, without a restart of anything."""
    rctl, path = start_take(procs, work, master, "lost", ["--port", f"{slave_name}:from_slave_*"])
    time.sleep(1.5)
    slave.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    dropped = wait_for(lambda: f"{slave_name}:from_slave_1" not in ports(master), 10, 0.05)
    dropped_after = time.monotonic() - stopped
    time.sleep(max(0.0, 3.0 - (time.monotonic() - stopped)))
    r = rctl.request("/record/status", expect="/record/status.reply", timeout=5)
    during = {r[1][i]: r[1][i + 1] for i in range(0, len(r[1]) - 1, 2)} if r else {}
    slave.send_signal(signal.SIGCONT)
    continued = time.monotonic()
    back = wait_for(lambda: f"{slave_name}:from_slave_2" in ports(master), 20, 0.05)
    back_after = time.monotonic() - continued
    print(f"slave lost: the master dropped its ports {dropped_after:.2f} s after the slave stopped, and had them "
          f"again {back_after:.2f} s after it continued; the recorder meanwhile said "
          f"source_1 {during.get('source_1')!r}, waiting_for_1 {during.get('waiting_for_1')!r}, "
          f"no_source_frames {during.get('no_source_frames')!r}", flush=True)
    check(dropped and back, "the master drops a lost slave's ports and has them again when it comes back")
    time.sleep(3.0)
    playing = status_values(ctl)
    rctl.request("/record/stop", expect="/done", timeout=10)
    check(slave.poll() is None and playing.get("audio") == "running",
          "the slave's jackd and the suite on it play on without a restart")
    _, _, take = read_wav(path)
    side = json.load(open(path + ".json"))
    holes = {g["channel"]: g for g in side.get("input_gaps", [])}
    print(f"the take's sidecar declares: {side.get('input_gaps')}", flush=True)
    check(sorted(holes) == [0, 1], "the take declares a span without a source on both channels")
    if sorted(holes) != [0, 1]:
        return
    start = min(g["at_frame"] for g in holes.values())
    end = max(g["at_frame"] + g["frames"] for g in holes.values())
    check(all(not take[g["at_frame"]:g["at_frame"] + g["frames"], ch].any() for ch, g in holes.items()),
          "the take holds silence on each channel where it declares that channel without a source")
    lost = sum(g["frames"] for g in side.get("gaps", []) if start <= g["at_frame"] < end)
    print(f"within it, frames the master did not run the recorder for (its graph waited on the lost slave; "
          f"sidecar gaps): {lost}", flush=True)
    render = os.path.join(work, "render-lost.wav")
    subprocess.run([f"{BUILD}/synth-worker/render/chronus-render", "--script", journal, "--sample-rate", "48000",
                    "--block-size", str(P), "--channels", "2", "--duration", "90", "--quiet", "-o", render],
                   capture_output=True, text=True)
    _, _, ref = read_wav(render) if os.path.exists(render) else (0, 0, np.zeros((0, 2), dtype=np.float32))
    before, after = take[:start], take[end:]
    results = []
    for part in (before, after):
        offset = align_by_majority(part, ref)
        results.append(compare_take(part, ref, offset, near_mark=journal_marks(journal)) if offset is not None
                       else None)
    # Before the ports went: NetJACK2 gave the master repeats or silence for the slave's
    # missing packets (its own, undeclared); after they came back: the suite's sound again.
    print(f"before the gap: {results[0].summary() if results[0] else 'not found in the render'}", flush=True)
    print(f"after the gap: {results[1].summary() if results[1] else 'not found in the render'}", flush=True)
    undeclared = (results[0].net_repeats + results[0].net_silent) * P if results[0] else None
    print(f"declared without a source: {end - start} frames ({(end - start) / 48000:.2f} s); NetJACK2's undeclared "
          f"repeats and silence before: {undeclared} frames", flush=True)
    check(all(r is not None and r.faithful() for r in results) and results[1].blocks > 50,
          "around the declared span the take is the suite's sound, and it flows again after it")


def align_by_majority(take, ref, samples=9):
    """The render frame of the take's frame 0 that most of `samples` loud blocks spread over the
    take agree on (None if none is found). The first block a take gets on a just-restarted
    master can stand a few blocks away from the rest."""
    from collections import Counter
    votes = Counter()
    for s in np.linspace(P * 8, max(P * 8, len(take) - 2 * P), samples).astype(int) // P * P:
        block = take[s:s + P]
        if np.abs(block).max() < 1e-3:
            continue
        for h in np.nonzero(ref[:, 0] == block[0, 0])[0]:
            if h + P <= len(ref) and np.array_equal(ref[h:h + P], block):
                votes[int(h) - int(s)] += 1
    return votes.most_common(1)[0][0] if votes else None


def ntp_now_plus(seconds):
    t = time.time() + seconds + 2208988800
    return (int(t) << 32) | int((t - int(t)) * (1 << 32))


def bundle(timetag, message):
    import struct
    return b"#bundle\0" + struct.pack(">Q", timetag) + struct.pack(">i", len(message)) + message


def two_slaves(procs, work, master, net_port):
    """Two suites on two slaves, one 4-channel take on the master: a bundle with one timetag
    sent to both starts their sound on the same master frame."""
    from osc_wire import message
    names, sups = [], []
    for base in ("boxa", "boxb"):
        # A slave whose join fails on this loaded machine exits ("Recv connection lost"), or
        # the master's side of it loses its semaphore ("already deallocated"): NetJACK2's own
        # start-up, not ours. It starts again, under a new server name (a server killed under
        # a name keeps it in JACK's registry) and a new client name on the master.
        for attempt in range(3):
            name = base + ("" if attempt == 0 else f"{attempt + 1}")
            server = f"chronus-test-net{name}-{os.getpid()}"
            slave = procs.spawn(f"slave-{name}", ["jackd", "-n", server, "--no-realtime", "-d", "net", "-a",
                                                  "127.0.0.1", "-p", str(net_port), "-n", name], server)
            if wait_for(lambda: f"{name}:from_slave_2" in ports(master), 20):
                break
            print(f"slave {name} did not join within 20 s (jackd {'exited' if slave.poll() is not None else 'runs'});"
                  " starting it again", flush=True)
            slave.kill()
            slave.wait()
        else:
            raise RuntimeError(f"slave {base} never appeared on the master (3 starts)")
        names.append(name)
        port = free_port()
        sup = procs.spawn("supervisor-" + name,
                          [f"{BUILD}/supervisor/chronus-supervisor", "--osc-port", str(port), "--instance",
                           f"net{name}{os.getpid()}", "--jack-server", server, "--lookahead", "3", "--state-dir",
                           os.path.join(work, "state-" + name), "--fresh", "--master-clock", "system:capture_1",
                           "--worker", f"{BUILD}/synth-worker/worker/chronus-synth-worker"], server)
        ctl = OscClient(port)
        if not wait_for(lambda: sup.poll() is None and status_values(ctl).get("redundant") == 1, 20, 0.2):
            raise RuntimeError(f"the suite on {name} did not become redundant")
        for side, n in (("L", 1), ("R", 2)):
            jack(server, "jack_connect", f"chronus:out_{side}", f"system:playback_{n}")
        r = ctl.request("/patch/load", '{"nodes":[{"id":"s","type":"sine","params":{"freq":440,"gain":0}}],'
                        '"connections":[{"from":"s","to":"output"}]}', 0.0, expect="/done", timeout=10)
        check(r is not None and r[0] == "/done", f"a silent sine loads on {name}")
        sups.append(ctl)
    # The master's clock, fed to both slaves' system:capture_1 (started once both have joined:
    # NetJACK2's join is fragile on a busy machine).
    procs.spawn("clock", [f"{BUILD}/tools/chronus-clock", "--jack-server", master, "--connect",
                          f"{names[0]}:to_slave_1", "--connect", f"{names[1]}:to_slave_1"], master)
    clocked = wait_for(lambda: all(status_values(c).get("master_clock") == "on" for c in sups), 15, 0.1)
    check(clocked, "both slaves' supervisors map timetags through the master's clock (/status master_clock on)")
    rctl, path = start_take(procs, work, master, "desk",
                            ["--channels", "4", "--port", f"{names[0]}:from_slave_*", "--port", f"{names[1]}:from_slave_*"])
    tag = ntp_now_plus(0.7)
    packet = bundle(tag, message("/mod/s/gain", 0.5))
    for ctl in sups:
        ctl.sock.sendto(packet, ctl.dest)
    time.sleep(1.6)
    rctl.request("/record/stop", expect="/done", timeout=10)
    _, _, take = read_wav(path)
    onsets = [int(np.argmax(np.abs(take[:, c]) > 0)) if np.abs(take[:, c]).max() > 0 else -1 for c in (0, 2)]
    print(f"two slaves: the bundle's sound starts at master take frame {onsets[0]} ({names[0]}) and {onsets[1]} "
          f"({names[1]})",
          flush=True)
    check(min(onsets) > 0, "both slaves' sound reached the desk's take")
    # Each slave maps the timetag through the master's clock (chronus-clock, --master-clock):
    # the same anchor cycle of the master and its wall-clock time, so the same master frame.
    # Without it they were 6 to 673 frames apart (each slave's own estimate of the master's
    # cycle start). NetJACK2 may still deliver one slave's blocks a whole cycle later than
    # the other's (a latency step): a whole number of periods apart is that, anything else
    # is a misplaced event.
    apart = abs(onsets[0] - onsets[1])
    check(apart % P == 0 and apart <= ROUND_TRIP,
          f"one bundle starts both slaves on the same master frame (or whole NetJACK2 cycles apart): {apart} frames")
    return onsets


if __name__ == "__main__":
    sys.exit(main())
