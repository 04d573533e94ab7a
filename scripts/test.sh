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

# The Dask tests: dask[distributed] in a venv inside the clone (with moto
# and boto3 for the remote-storage tests), and a
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
.venv/bin/python -m pip install -q --disable-pip-version-check \
  -r scripts/requirements-dask.txt -r scripts/requirements-remote.txt \
  -r scripts/requirements-oracle.txt
cluster=$(mktemp -d)
isolated=$(mktemp -d)
trap 'scripts/dask-cluster.sh stop "$cluster"; scripts/dask-cluster.sh stop "$isolated"; rm -rf "$cluster" "$isolated"' EXIT
scripts/dask-cluster.sh start "$cluster" "$PWD/.venv/bin/python"
export QUARRY_TEST_PYTHON="$PWD/.venv/bin/python"
export QUARRY_TEST_SCHEDULER_FILE="$cluster/scheduler.json"
export QUARRY_REQUIRE_DASK=1

# A second cluster whose workers share no filesystem with the driver: they
# run as `nobody`, with their own HOME, from a venv of the system Python in
# a world-readable place (this clone's venv may sit under an owner-only
# home directory).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  worker_venv=/tmp/quarry-worker-venv
  if [ ! -x "$worker_venv/bin/python" ]; then
    if ! /usr/bin/python3 -m venv "$worker_venv"; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      rm -rf "$worker_venv"
      /usr/bin/python3 -m venv "$worker_venv"
    fi
  fi
  "$worker_venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/requirements-dask.txt
  chmod -R a+rX "$worker_venv"
  scripts/dask-cluster.sh start "$isolated" "$PWD/.venv/bin/python" "$worker_venv/bin/python" nobody
  export QUARRY_TEST_ISOLATED_SCHEDULER_FILE="$isolated/scheduler.json"
  export QUARRY_REQUIRE_ISOLATED_DASK=1
fi
# The remote-storage tests start their own servers on 127.0.0.1 (moto's S3
# server and scripts/servers/range_http.py) with this Python, and azurite
# (Azure's storage emulator, pinned in scripts/servers/azurite) with Node,
# installed once per version into the cache directory.
export QUARRY_REQUIRE_REMOTE=1
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
azurite_dir="${XDG_CACHE_HOME:-$HOME/.cache}/quarry-test-tools/azurite-$(sha256sum scripts/servers/azurite/package-lock.json | cut -c1-12)"
if [ ! -x "$azurite_dir/node_modules/.bin/azurite-blob" ]; then
  mkdir -p "$azurite_dir"
  cp scripts/servers/azurite/package.json scripts/servers/azurite/package-lock.json "$azurite_dir/"
  (cd "$azurite_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
export QUARRY_TEST_AZURITE="$azurite_dir/node_modules/.bin/azurite-blob"

cargo test --release
