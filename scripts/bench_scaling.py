#!/usr/bin/env python3
"""Does quarry's cost grow linearly with the data?

Runs the ARCOS group-by recipe (the one ../shared/bench/compare.py uses) with
`quarry run` on ARCOS-like files of several sizes, in rounds (every size once
per round, so drift in machine speed hits all sizes alike), and prints the
median wall time and peak RSS per size, the least-squares line through the
medians and its R².

Usage:
  scripts/bench_scaling.py --quarry target/release/quarry [--sizes 0.5,1,2,4,8] [--runs 3]

Files are made (and kept) in $QUARRY_BENCH_HOME (default ~/.cache/quarry-bench)
by ../shared/bench's generator; sizes of 2 and 8 GB are compare.py's own files.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "shared", "bench")
sys.path.insert(0, BENCH)
import compare  # noqa: E402  (the shared harness: venv, data, recipe text)


def data_file(gb):
    """compare.py names files by whole GB; fractions get their own name."""
    if float(gb).is_integer():
        return compare.data("arcos", int(gb))
    path = os.path.join(compare.HOME, f"arcos_{gb}g.csv")
    if not os.path.exists(path):
        tmp = path + ".tmp"
        subprocess.run([compare.python(), os.path.join(BENCH, "gen_arcos.py"), "--gb", str(gb),
                        "--out", tmp], check=True)
        os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--sizes", default="0.5,1,2,4,8")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    quarry = os.path.abspath(a.quarry)
    sizes = [float(s) for s in a.sizes.split(",")]
    recipes = {}
    for gb in sizes:
        path = data_file(gb)
        recipes[gb] = (compare.recipe(f"scaling_{gb}", compare.ARCOS_RECIPE, path), os.path.getsize(path))
    for gb, (r, _) in recipes.items():  # warm the page cache
        compare.run_once([quarry, "run", r], 3600)
    walls = {gb: [] for gb in sizes}
    rss = {gb: [] for gb in sizes}
    for _ in range(a.runs):
        for gb, (r, _) in recipes.items():
            wall, peak, out = compare.run_once([quarry, "run", r], 3600)
            if wall is None:
                sys.exit(f"{gb} GB: {out}")
            walls[gb].append(wall)
            rss[gb].append(peak)
    xs = [recipes[gb][1] / 1e9 for gb in sizes]
    ys = [statistics.median(walls[gb]) for gb in sizes]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    icept = my - slope * mx
    ss_res = sum((y - (icept + slope * x)) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    print(f"{'GB':>6} {'median s':>9} {'min':>7} {'max':>7} {'peak MiB':>9}")
    for gb, x, y in zip(sizes, xs, ys):
        print(f"{x:6.2f} {y:9.2f} {min(walls[gb]):7.2f} {max(walls[gb]):7.2f} {max(rss[gb]):9.0f}")
    print(f"fit: wall = {slope:.3f} s/GB * size + {icept:.3f} s, R² = {1 - ss_res / ss_tot:.4f}")


if __name__ == "__main__":
    main()
