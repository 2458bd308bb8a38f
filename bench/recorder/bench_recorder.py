#!/usr/bin/python3
"""CPU cost of chronus-recorder against jack_capture, recording the same ports for the same
time in the same run, on a private dummy jackd; then a sustained 256-channel run that must
lose no frame. Standard library only.

usage: bench_recorder.py RECORDER RAMP_SOURCE [--seconds S] [--channels 2,32]
Prints one line per run and exits non-zero if the 256-channel run lost frames.
"""
import argparse, os, shutil, signal, socket, subprocess, sys, tempfile, time

def cpu_seconds(pid):
    """CPU time of all the process's threads, in seconds, to the nanosecond (the scheduler's
    own run-time accounting; utime/stime in /proc/PID/stat only count 10 ms ticks, too coarse
    for processes that use well under 1 % of a core)."""
    total_ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total_ns += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended between listing and reading
    return total_ns / 1e9


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from osc_wire import message as osc_message, parse as osc_parse  # noqa: E402


class Osc:
    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.2)
        self.port = port

    def request(self, address, *args, want=None, timeout=10.0):
        self.sock.sendto(osc_message(address, *args), ("127.0.0.1", self.port))
        end = time.time() + timeout
        while time.time() < end:
            try:
                a, v = osc_parse(self.sock.recv(65536))
            except socket.timeout:
                continue
            if (want and a == want) or (not want and v and v[0] == address):
                return a, v
        raise RuntimeError(f"no reply to {address}")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close(); return p


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill(); proc.wait()


def run(args, channels, seconds, tmp, env, with_jack_capture=True):
    ramp = subprocess.Popen([args.ramp, "--channels", str(channels)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ramp.stdout.readline()  # "ready"
    port = free_port()
    rec = subprocess.Popen([args.recorder, "--channels", str(channels), "--osc-port", str(port),
                            "--dir", os.path.join(tmp, "chronus")], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    osc = Osc(port)
    for _ in range(300):
        try:
            osc.request("/ping", want="/pong", timeout=0.2); break
        except RuntimeError:
            pass
    time.sleep(0.3)
    try:  # drop late /pong replies
        while True:
            osc.sock.recv(65536)
    except socket.timeout:
        pass
    jc = None
    if with_jack_capture:
        jc_file = os.path.join(tmp, f"jack_capture_{channels}.wav")
        jc = subprocess.Popen(["jack_capture", "-ns", "-dc", "-f", "wav", "-b", "32", "-c", str(channels),
                               "-p", "chronus:out_*", jc_file], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # let it connect and start writing
    a, v = osc.request("/record/start", f"bench_{channels}")
    assert a == "/done", (a, v)
    t0 = time.time()
    r0 = cpu_seconds(rec.pid)
    j0 = cpu_seconds(jc.pid) if jc else 0
    time.sleep(seconds)
    r1 = cpu_seconds(rec.pid)
    j1 = cpu_seconds(jc.pid) if jc else 0
    wall = time.time() - t0
    a, v = osc.request("/record/stop")
    assert a == "/done", (a, v)
    _, status = osc.request("/record/status", want="/record/status.reply")
    st = dict(zip(status[0::2], status[1::2]))
    stop(jc); stop(rec); stop(ramp)
    return {"channels": channels, "wall": wall, "recorder_cpu": r1 - r0, "jack_capture_cpu": j1 - j0,
            "frames": v[2], "lost": v[3], "xruns": v[4], "ring_peak": st.get("ring_peak", -1),
            "lost_total": st.get("lost_frames_total", -1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("recorder"); p.add_argument("ramp")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--channels", default="2,32")
    p.add_argument("--sustained-seconds", type=float, default=10.0)
    args = p.parse_args()
    for tool in ("jackd", "jack_capture"):
        if not shutil.which(tool):
            print(f"{tool} is not installed", file=sys.stderr); return 1
    tmp = tempfile.mkdtemp(prefix="chronus-bench-")
    name = f"chronus-bench-{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name)
    jackd = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = True
    try:
        time.sleep(1.5)
        for ch in [int(c) for c in args.channels.split(",")]:
            r = run(args, ch, args.seconds, tmp, env)
            ratio = r["recorder_cpu"] / r["jack_capture_cpu"] if r["jack_capture_cpu"] > 0 else float("nan")
            print(f"{ch:4d} ch, {r['wall']:.1f} s: chronus-recorder {r['recorder_cpu']:.2f} s CPU, "
                  f"jack_capture -ns {r['jack_capture_cpu']:.2f} s CPU, ratio {ratio:.2f} "
                  f"(lost {r['lost']}, xruns {r['xruns']})", flush=True)
        r = run(args, 256, args.sustained_seconds, tmp, env, with_jack_capture=False)
        print(f" 256 ch sustained, {r['wall']:.1f} s: {r['frames']} frames, lost {r['lost']} "
              f"(since start {r['lost_total']}), ring peak {100 * r['ring_peak']:.1f} %, xruns {r['xruns']}, "
              f"chronus-recorder {r['recorder_cpu']:.2f} s CPU", flush=True)
        ok = r["lost"] == 0
    finally:
        stop(jackd)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
