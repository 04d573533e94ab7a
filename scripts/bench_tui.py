#!/usr/bin/env python3
"""Launch to first data on screen: start the explorer in a detached tmux
session and poll the pane until the file's first data value shows.

    python3 scripts/bench_tui.py --quarry target/release/quarry FILE [FILE...]
    python3 scripts/bench_tui.py --quarry target/release/quarry --pipe FILE
    python3 scripts/bench_tui.py --quarry target/release/quarry --drill COLUMN FILE
    python3 scripts/bench_tui.py --quarry target/release/quarry --filter EXPR FILE

With --pipe the file's first 64 KiB are piped into `quarry` by a producer
that then stays open (as a slow command would): the time is from their
arrival to the first value on screen.

With --drill the explorer groups FILE by COLUMN (through the command
palette), and once that preview is on screen Enter drills into the first
group: the time is from the key to the group's rows on screen (the title
at step 1 of 2, no longer loading).

With --filter the explorer adds a filter step once the first rows are on
screen (through the command palette), then the same filter as a second
step: the times are from Enter to each preview on screen (the title at
the new step, no longer loading), as for a step edit.

Prints the median, min and max over --runs launches per file. The polling
itself costs a few milliseconds per look (one `tmux capture-pane`), so the
figures are upper bounds with about that resolution.
"""
import argparse
import contextlib
import csv
import statistics
import subprocess
import time


def first_value(path):
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f)
        next(rows)  # header
        return next(rows)[0]


def launch_once(quarry, path, expect, width, height, timeout, pipe=False):
    session = f"qbench{time.monotonic_ns()}"
    if pipe:
        command = ["sh", "-c", f"(head -c 65536 '{path}'; sleep {timeout}) | '{quarry}'"]
    else:
        command = [quarry, path]
    t0 = time.perf_counter()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height)]
        + command,
        check=True,
    )
    try:
        while time.perf_counter() - t0 < timeout:
            pane = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session],
                capture_output=True, text=True,
            ).stdout
            if expect in pane:
                return time.perf_counter() - t0
        raise SystemExit(f"{path}: {expect!r} not on screen after {timeout} s")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def pane(session):
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True,
    ).stdout


def wait_for(session, done, timeout, what):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if done(pane(session)):
            return time.perf_counter() - t0
    raise SystemExit(f"{what} not on screen after {timeout} s:\n{pane(session)}")


def start(session, command, width, height):
    """A detached tmux session; tried again when the server of the last
    session is still going away."""
    for attempt in range(3):
        done = subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height)]
            + command,
        )
        if done.returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"tmux could not start a session for {command}")


@contextlib.contextmanager
def explorer(quarry, path, width, height, timeout):
    """The explorer on `path` in a tmux session, its first rows on screen."""
    session = f"qbench{time.monotonic_ns()}"
    start(session, [quarry, path], width, height)
    try:
        ready = lambda p: "step 0/0" in p and "loading" not in p
        wait_for(session, ready, timeout, "the first rows")
        yield session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def keys(session, *keys, literal=False):
    subprocess.run(["tmux", "send-keys", "-t", session] + (["-l"] if literal else []) + list(keys),
                   check=True)


def at_step(k, n):
    """The title shows step k of n, no longer loading."""
    return lambda p: f"step {k}/{n}" in p and "loading" not in p


def drill_once(quarry, path, column, width, height, timeout):
    with explorer(quarry, path, width, height, timeout) as session:
        keys(session, ":")
        keys(session, f"group {column}: n = count(*)", literal=True)
        keys(session, "Enter")
        wait_for(session, at_step(1, 1), timeout, "the group-by preview")
        keys(session, "Enter")
        return wait_for(session, at_step(1, 2), timeout, "the drilled rows")


def filter_once(quarry, path, expr, width, height, timeout):
    times = []
    with explorer(quarry, path, width, height, timeout) as session:
        # A filter step, then the same filter again as a second step.
        for k in (1, 2):
            keys(session, ":")
            keys(session, f"filter {expr}", literal=True)
            time.sleep(0.2)
            t0 = time.perf_counter()
            keys(session, "Enter")
            wait_for(session, at_step(k, k), timeout, f"step {k}'s rows")
            times.append(time.perf_counter() - t0)
    return tuple(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--height", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--expect", help="the value to wait for (default: a CSV's first field; needed for Parquet and NDJSON)")
    ap.add_argument("--pipe", action="store_true", help="pipe the file's first 64 KiB in, the producer left open")
    ap.add_argument("--drill", metavar="COLUMN", help="time a drill into the first group of a group-by on COLUMN")
    ap.add_argument("--filter", metavar="EXPR", help="time the preview of a filter step added once the first rows show")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    for path in a.files:
        if a.filter:
            pairs = [filter_once(a.quarry, path, a.filter, a.width, a.height, a.timeout)
                     for _ in range(a.runs)]
            for label, times in (("a filter step", [p[0] for p in pairs]),
                                 ("the same filter as a second step", [p[1] for p in pairs])):
                ms = sorted(t * 1000 for t in times)
                print(f"{path}: {label}: median {statistics.median(ms):.0f} ms "
                      f"(min {ms[0]:.0f}, max {ms[-1]:.0f}, {a.runs} runs)")
            continue
        if a.drill:
            times = [drill_once(a.quarry, path, a.drill, a.width, a.height, a.timeout)
                     for _ in range(a.runs)]
            ms = sorted(t * 1000 for t in times)
            print(f"{path}: drill-down key to the group's rows median {statistics.median(ms):.0f} ms "
                  f"(min {ms[0]:.0f}, max {ms[-1]:.0f}, {a.runs} runs)")
            continue
        expect = a.expect or first_value(path)
        times = [launch_once(a.quarry, path, expect, a.width, a.height, a.timeout, a.pipe)
                 for _ in range(a.runs)]
        ms = sorted(t * 1000 for t in times)
        print(f"{path}: launch to first data median {statistics.median(ms):.0f} ms "
              f"(min {ms[0]:.0f}, max {ms[-1]:.0f}, {a.runs} runs)")


if __name__ == "__main__":
    main()
