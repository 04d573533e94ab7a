#!/usr/bin/env bash
# The one test command (README "Test"): installs what the tests need, checks
# formatting and lints, then runs every test. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests drive: setpriv (permission tests as root), prlimit
# (memory-limit tests), mkfifo (bad-input tests), tmux (real-terminal tests).
need=()
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v prlimit >/dev/null 2>&1 || need+=(util-linux)
command -v mkfifo >/dev/null 2>&1 || need+=(coreutils)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings

# The Dask tests: dask[distributed] in a venv inside the clone, and a
# scheduler with two workers on 127.0.0.1 for the length of the test run,
# stopped (workers first) however the tests end.
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
    rm -rf .venv
    python3 -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-dask.txt
cluster=$(mktemp -d)
trap 'scripts/dask-cluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
scripts/dask-cluster.sh start "$cluster" "$PWD/.venv/bin/python"
export QUARRY_TEST_PYTHON="$PWD/.venv/bin/python"
export QUARRY_TEST_SCHEDULER_FILE="$cluster/scheduler.json"
export QUARRY_REQUIRE_DASK=1

cargo test --release
