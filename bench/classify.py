#!/usr/bin/env python3
"""Times `triage classify` against the floor (read + write back with the csv crate) on the same
generated export, alternating the commands run by run, and reports medians, MB/s, the ratio to the
floor, the 2-thread speed-up and peak RSS.

    python3 bench/classify.py --rows 1000000 --runs 5

Builds with `cargo build --release` first; the export is generated once under target/bench/.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    """Runs `cmd` (stdout discarded), returns (wall seconds, peak RSS in KB)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    rss = int(proc.stderr.strip().splitlines()[-1])
    return wall, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--style", default="zendesk")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "triage",
                    "--example", "gen_export", "--example", "csv_floor"], cwd=ROOT, check=True)
    data = os.path.join(ROOT, "target", "bench")
    os.makedirs(data, exist_ok=True)
    export = os.path.join(data, f"export-{args.style}-{args.rows}.csv")
    if not os.path.exists(export):
        subprocess.run([os.path.join(ROOT, "target/release/examples/gen_export"), "--rows", str(args.rows),
                        "--style", args.style, "-o", export], check=True)
    size = os.path.getsize(export)
    triage = os.path.join(ROOT, "target/release/triage")
    commands = {
        "floor (csv read+write)": [os.path.join(ROOT, "target/release/examples/csv_floor"), export],
        "triage classify --threads 1": [triage, "classify", "-q", "--threads", "1", export],
        "triage classify --threads 2": [triage, "classify", "-q", "--threads", "2", export],
    }
    results = {name: [] for name in commands}
    for name, cmd in commands.items():  # warm-up: page cache, lazy regexes
        run(cmd)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].append(run(cmd))

    floor = statistics.median(w for w, _ in results["floor (csv read+write)"])
    one = statistics.median(w for w, _ in results["triage classify --threads 1"])
    print(f"export: {export} ({args.rows} rows, {size / 1e6:.1f} MB), {args.runs} alternating runs each")
    summary = {"rows": args.rows, "bytes": size, "runs": args.runs, "commands": {}}
    for name, samples in results.items():
        med = statistics.median(w for w, _ in samples)
        rss = max(r for _, r in samples)
        line = f"{name:30} median {med:7.3f} s  {size / 1e6 / med:7.1f} MB/s  {med / floor:5.2f}x floor  peak RSS {rss / 1024:6.1f} MB"
        if name.endswith("--threads 2"):
            line += f"  speed-up vs 1 thread {one / med:4.2f}x"
        print(line)
        summary["commands"][name] = {"median_s": med, "mb_per_s": size / 1e6 / med,
                                     "ratio_to_floor": med / floor, "peak_rss_kb": rss,
                                     "samples_s": [w for w, _ in samples]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
