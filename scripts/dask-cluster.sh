#!/usr/bin/env bash
# A Dask cluster for the tests, bound to 127.0.0.1 only: one scheduler (it
# writes DIR/scheduler.json) and two single-threaded workers.
#
#   scripts/dask-cluster.sh start DIR PYTHON   # returns once both workers joined
#   scripts/dask-cluster.sh start DIR PYTHON WORKER_PYTHON USER
#       the workers run as USER (with setpriv; needs root) from WORKER_PYTHON,
#       with their own HOME and no access to DIR or the driver's files: a
#       cluster that shares no filesystem with the machine quarry runs on
#   scripts/dask-cluster.sh stop DIR           # workers first, then the scheduler
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?cluster directory}

stop_pids() { # pidfiles...: TERM, wait up to 5 s, then KILL
  local f pid
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    local alive=0
    for f in "$@"; do
      [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for f in "$@"; do
    [ -f "$f" ] || continue
    kill -KILL "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

case "$cmd" in
start)
  py=${3:?python with dask[distributed]}
  worker_py=${4:-$py}
  user=${5:-}
  mkdir -p "$dir"
  rm -f "$dir/scheduler.json"
  # Lost (hung) workers are noticed in seconds, not the default 5 minutes.
  export DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL=15s
  "$py" -m distributed.cli.dask_scheduler --host 127.0.0.1 --port 0 --dashboard-address 127.0.0.1:0 \
    --scheduler-file "$dir/scheduler.json" >"$dir/scheduler.log" 2>&1 &
  echo $! >"$dir/scheduler.pid"
  for _ in $(seq 300); do [ -s "$dir/scheduler.json" ] && break; sleep 0.1; done
  [ -s "$dir/scheduler.json" ] || { cat "$dir/scheduler.log"; echo "the Dask scheduler did not start" >&2; exit 1; }
  address=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$dir/scheduler.json")
  for w in w1 w2; do
    if [ -n "$user" ]; then
      # Another user, another HOME, a working directory of its own: the
      # worker sees nothing of the driver's (DIR is owner-only).
      home=$(mktemp -d /tmp/quarry-worker-XXXXXX)
      chown "$user" "$home"
      echo "$home" >"$dir/$w.home"
      setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$home" DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL=15s \
        "$worker_py" -m distributed.cli.dask_worker "$address" \
        --host 127.0.0.1 --nthreads 1 --name "$w" --dashboard-address 127.0.0.1:0 \
        --local-directory "$home/dask" >"$dir/$w.log" 2>&1 &
    else
      "$py" -m distributed.cli.dask_worker --scheduler-file "$dir/scheduler.json" \
        --host 127.0.0.1 --nthreads 1 --name "$w" --dashboard-address 127.0.0.1:0 \
        --local-directory "$dir/$w" >"$dir/$w.log" 2>&1 &
    fi
    echo $! >"$dir/$w.pid"
  done
  "$py" - "$dir/scheduler.json" <<'EOF'
import sys
from distributed import Client
with Client(scheduler_file=sys.argv[1], timeout=30) as c:
    c.wait_for_workers(2, timeout=60)
    print("dask test cluster:", c.scheduler.address, sorted(w["name"] for w in c.scheduler_info()["workers"].values()))
EOF
  ;;
stop)
  stop_pids "$dir/w1.pid" "$dir/w2.pid"
  stop_pids "$dir/scheduler.pid"
  for h in "$dir"/w*.home; do
    if [ -f "$h" ]; then rm -rf "$(cat "$h")"; fi
  done
  ;;
*)
  echo "usage: $0 start DIR PYTHON | stop DIR" >&2
  exit 2
  ;;
esac
