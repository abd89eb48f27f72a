#!/usr/bin/env python3
"""Load figures for `triage serve`: wrk POSTs one typical ticket (bench/serve_wrk.lua) to
/v1/classify over loopback, from a second process, several times; prints every run and the
median. Needs `wrk` (apt-get install wrk) and a release build (cargo build --release).

    python3 bench/serve.py --runs 3
    python3 bench/serve.py --binary /tmp/other-triage --connections 64 --duration 20
"""
import argparse
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def start_server(binary, workers):
    cmd = [binary, "serve", "--addr", "127.0.0.1:0"]
    if workers:
        cmd += ["--workers", str(workers)]
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        server.kill()
        sys.exit(f"server did not start: {line!r}")
    return server, match.group(1)


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def millis(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * UNITS[unit]


def run_wrk(url, args):
    cmd = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
        "-s", os.path.join(ROOT, "bench", "serve_wrk.lua"), f"{url}/v1/classify",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}"] = millis(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)
    result["errors"] = (int(errors.group(1)) if errors else 0)
    result["socket_errors"] = sockets.group(1) if sockets else ""
    return " ".join(cmd), result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "triage"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds per run")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, help="server worker threads (default: one per core)")
    args = p.parse_args()

    server, url = start_server(args.binary, args.workers)
    try:
        # Warm up: first connections, page faults, lazily compiled regexes.
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", os.path.join(ROOT, "bench", "serve_wrk.lua"),
                        f"{url}/v1/classify"], capture_output=True, check=True)
        runs = []
        for i in range(args.runs):
            before = cpu_seconds(server.pid)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            cmd, r = run_wrk(url, args)
            requests = r["rps"] * args.duration
            r["cpu_us"] = (cpu_seconds(server.pid) - before) / requests * 1e6
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            wrk_cpu = (after.ru_utime - kids.ru_utime) + (after.ru_stime - kids.ru_stime)
            r["wrk_us"] = wrk_cpu / requests * 1e6
            if i == 0:
                print(cmd)
            load = os.getloadavg()[0]
            print(f"run {i + 1}: {r['rps']:>9.0f} req/s  p50 {r['p50']:.2f} ms  p75 {r['p75']:.2f} ms  "
                  f"p90 {r['p90']:.2f} ms  p99 {r['p99']:.2f} ms  "
                  f"CPU per request: server {r['cpu_us']:.1f} us, wrk {r['wrk_us']:.1f} us  non-200 {r['errors']}"
                  f"{'  socket errors ' + r['socket_errors'] if r['socket_errors'] else ''}"
                  f"  (load average {load:.1f})")
            runs.append(r)
            time.sleep(1)
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p75", "p90", "p99", "cpu_us", "wrk_us")}
        print(f"median: {med['rps']:>8.0f} req/s  p50 {med['p50']:.2f} ms  p75 {med['p75']:.2f} ms  "
              f"p90 {med['p90']:.2f} ms  p99 {med['p99']:.2f} ms  "
              f"CPU per request: server {med['cpu_us']:.1f} us, wrk {med['wrk_us']:.1f} us")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
