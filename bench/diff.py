#!/usr/bin/env python3
"""Times `triage diff` (two rule sets, one read of the input) against one `triage classify` of the
same generated export, alternating the commands run by run, and reports medians and the ratio.

    python3 bench/diff.py --rows 1000000 --runs 3

OLD is a copy of rules/; NEW is the same copy (nothing can change) and a changed copy (the
`nginx*` term dropped from unsupported-oss.nginx, which moves tickets). Builds with
`cargo build --release` first; the export is generated once under target/bench/.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    """Runs `cmd` (stdout discarded), returns (wall seconds, user+sys seconds, exit status)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%U %S", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    user, system = map(float, proc.stderr.strip().splitlines()[-1].split())
    return wall, user + system


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--style", default="zendesk")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "triage", "--example", "gen_export"],
                   cwd=ROOT, check=True)
    data = os.path.join(ROOT, "target", "bench")
    os.makedirs(data, exist_ok=True)
    export = os.path.join(data, f"export-{args.style}-{args.rows}.csv")
    if not os.path.exists(export):
        subprocess.run([os.path.join(ROOT, "target/release/examples/gen_export"), "--rows", str(args.rows),
                        "--style", args.style, "-o", export], check=True)
    work = tempfile.mkdtemp(prefix="triage-diff-bench-")
    old = os.path.join(work, "rules")
    changed = os.path.join(work, "rules-changed")
    shutil.copytree(os.path.join(ROOT, "rules"), old)
    shutil.copytree(old, changed)
    path = os.path.join(changed, "categories", "unsupported-oss.toml")
    text = open(path).read()
    assert '"nginx*", ' in text
    open(path, "w").write(text.replace('"nginx*", ', "", 1))

    triage = os.path.join(ROOT, "target/release/triage")
    commands = {
        "classify": [triage, "classify", "-q", "--rules", old, export],
        "diff (same rules)": [triage, "diff", "-q", "--rules", old, "--against", old, export],
        "diff (changed rules)": [triage, "diff", "-q", "--rules", old, "--against", changed, export],
    }
    results = {name: [] for name in commands}
    for cmd in commands.values():  # warm-up: page cache, lazy regexes
        run(cmd)
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].append(run(cmd))
    shutil.rmtree(work)

    size = os.path.getsize(export)
    print(f"export: {export} ({args.rows} rows, {size / 1e6:.1f} MB), {args.runs} alternating runs each, "
          f"1-minute load average {load:.1f} before the timed runs, {os.getloadavg()[0]:.1f} after")
    base_wall = statistics.median(w for w, _ in results["classify"])
    base_cpu = statistics.median(c for _, c in results["classify"])
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:22} wall {wall:7.2f} s (runs {', '.join(f'{w:.2f}' for w, _ in runs)}), "
              f"cpu {cpu:7.2f} s; ratio to classify: wall {wall / base_wall:.2f}x, cpu {cpu / base_cpu:.2f}x")


if __name__ == "__main__":
    main()
