#!/usr/bin/env python3
"""Side by side: `quarry describe` against polars' describe() (eager read and
lazy scan) and DuckDB's SUMMARIZE, on the same file, runs interleaved so
machine noise hits every tool alike. Prints each run, then the median wall
time and peak RSS per tool and the ratio to quarry.

    python3 scripts/bench_describe.py --quarry target/release/quarry \
        --file arcos_2g.csv [--runs 3] [--python VENV/bin/python]

The Python peers need polars and duckdb in the interpreter given with
--python (../shared/bench's venv has both).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

PEERS = {
    "polars-eager": "import sys, polars as pl\n"
    "print(pl.read_csv(sys.argv[1], infer_schema_length=10000).describe())",
    "polars-lazy": "import sys, polars as pl\n"
    "print(pl.scan_csv(sys.argv[1], infer_schema_length=10000).describe())",
    "duckdb": "import sys, duckdb\n"
    "print(duckdb.sql(f\"SUMMARIZE SELECT * FROM read_csv_auto('{sys.argv[1]}')\").fetchall()[:1])",
}


def run(cmd):
    """Wall seconds and the child's peak RSS in MiB (Linux: ru_maxrss is KiB)."""
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--tools", default="quarry,polars-eager,polars-lazy,duckdb")
    a = ap.parse_args()
    tools = a.tools.split(",")
    cmds = {"quarry": [a.quarry, "describe", a.file]}
    for name, code in PEERS.items():
        cmds[name] = [a.python, "-c", code, a.file]
    # Warm the page cache once so the first tool is not charged for the disk.
    subprocess.run(["cat", a.file], stdout=subprocess.DEVNULL, check=True)
    results = {t: [] for t in tools}
    for r in range(a.runs):
        for t in tools:
            wall, rss = run(cmds[t])
            results[t].append((wall, rss))
            print(f"run {r + 1} {t:<13} {wall:7.2f} s {rss:8.0f} MiB", flush=True)
    base = statistics.median(w for w, _ in results["quarry"]) if "quarry" in results else None
    print(f"\n{'tool':<13} {'median s':>9} {'peak MiB':>9} {'vs quarry':>9}")
    for t in tools:
        wall = statistics.median(w for w, _ in results[t])
        rss = max(m for _, m in results[t])
        ratio = f"{wall / base:.2f}x" if base else ""
        print(f"{t:<13} {wall:9.2f} {rss:9.0f} {ratio:>9}")


if __name__ == "__main__":
    main()
