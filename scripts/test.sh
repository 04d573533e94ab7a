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
cargo test --release
