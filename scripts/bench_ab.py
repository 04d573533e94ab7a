#!/usr/bin/env python3
"""Two quarry binaries side by side, alternated run by run, on the workloads
of ../shared/bench/compare.py (same files, same recipes, same peers), to
tell a regression from the machine's noise.

    scripts/bench_ab.py --a OLD_BIN --b NEW_BIN [--size 2]
        [--workloads arcos,maxtab,head,reviews] [--peer polars-streaming] [--runs 5]

Prints per workload the median, min and max wall seconds and peak RSS of
each, and the ratio b/a of the medians. The peer (optional) runs in the same
rotation, as a yardstick for how noisy the run was.
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))
import compare  # noqa: E402  (the shared harness: data, recipes, peer commands)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the baseline quarry binary")
    ap.add_argument("--b", required=True, help="the quarry binary under test")
    ap.add_argument("--size", type=int, default=2)
    ap.add_argument("--workloads", default="arcos,maxtab,head,reviews")
    ap.add_argument("--peer", default="polars-streaming", help="a peer in the rotation ('' for none)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    rows = []
    for workload in args.workloads.split(","):
        cmds = {
            "a": compare.commands(workload, "quarry", args.size, os.path.abspath(args.a)),
            "b": compare.commands(workload, "quarry", args.size, os.path.abspath(args.b)),
        }
        if args.peer:
            peer = compare.commands(workload, args.peer, args.size, args.a)
            if peer:
                cmds[args.peer] = peer
        for name, cmd in cmds.items():
            print(f"# {workload} {name}: {' '.join(cmd)}", file=sys.stderr)
            compare.run_once(cmd, args.timeout)  # warm-up, not counted
        runs = {name: [] for name in cmds}
        order = list(cmds)
        for i in range(args.runs):
            # Rotate the order so no binary always runs first after the peer.
            for name in order[i % len(order):] + order[: i % len(order)]:
                wall, rss, out = compare.run_once(cmds[name], args.timeout)
                runs[name].append((wall, rss, out))
        med = {}
        for name, rs in runs.items():
            walls = [w for w, _, _ in rs if w is not None]
            med[name] = statistics.median(walls) if walls else None
            rows.append((workload, name, med[name], min(walls, default=None), max(walls, default=None),
                         max((r for _, r, _ in rs if r is not None), default=None), rs[-1][2]))
        ratio = med["b"] / med["a"] if med.get("a") and med.get("b") else None
        rows.append((workload, "b/a", ratio, None, None, None, ""))
    f = lambda v, p: "-" if v is None else f"{v:.{p}f}"
    print(f"{'workload':9} {'binary':17} {'median s':>9} {'min':>7} {'max':>7} {'peak MiB':>9}  output")
    for w, name, m, lo, hi, rss, out in rows:
        print(f"{w:9} {name:17} {f(m, 3):>9} {f(lo, 3):>7} {f(hi, 3):>7} {f(rss, 0):>9}  {out[:50]}")


if __name__ == "__main__":
    main()
