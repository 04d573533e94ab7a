"""quarry's bridge to a Dask cluster.

quarry writes this file from its own binary and runs it; it is not a public
API. It speaks JSON lines: requests from quarry on stdin, events to quarry on
stdout. It accepts no code, only the requests below, and runs nothing on the
workers but `quarry exec-task DIR TASK`, whose job description quarry wrote
to the scratch directory DIR.

Two ways to move data, chosen at connect ("transport": "auto" picks the
first when every worker sees the scratch directory):
  shared   workers read the job description from DIR and keep task outputs
           there (a shared filesystem);
  dask     no shared filesystem: the job description is scattered to the
           workers, each task runs in a private directory on its worker, and
           its output (Arrow IPC bytes) stays in worker memory as the task's
           result, handed to the tasks that need it by Dask (and spilled as
           Dask spills). Outputs quarry itself reads are fetched to DIR on
           this machine.

Requests:
  {"op": "connect", "address"|"scheduler_file"|"local_workers": ..., "timeout_s": 5,
   "job": ID, "binary": PATH, "scratch": DIR, "retries": 2, "transport": "auto"}
  {"op": "submit", "task": 7, "deps": [3, 4], "fetch": false}
  {"op": "release", "tasks": [3, 4]}   outputs no longer needed (dask transport)
  {"op": "cancel"}   cancel every future, close, exit
  {"op": "close"}    the job is over: close, exit
Events:
  connecting {}; ready {workers: [{name, threads}], scheduler, shared_fs}; started {task, worker};
  finished {task, worker, rows_in, rows_out, elapsed_ms}; failed {task, worker, error, fix};
  worker_lost {worker, detail}; fatal {error}; closed {}
"""

import json
import os
import subprocess
import sys
import threading
import time

_out_lock = threading.Lock()


def emit(event, **fields):
    fields["event"] = event
    line = json.dumps(fields)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def task_outcome(returncode, out, err, task, name):
    """What one `quarry exec-task` run came to: ("ok", report) or
    ("data_error", report) from its last stdout line; a crash or an I/O
    failure raises, so Dask retries it (possibly on another worker)."""
    import json as _json

    lines = [l for l in out.decode("utf-8", "replace").splitlines() if l.strip()]
    report = None
    if lines:
        try:
            report = _json.loads(lines[-1])
        except ValueError:
            report = None
    if returncode == 0 and isinstance(report, dict) and "rows_out" in report:
        return "ok", report
    if returncode == 1 and isinstance(report, dict) and "error" in report:
        if not report.get("retryable"):
            return "data_error", report
    tail = err.decode("utf-8", "replace").strip().splitlines()[-20:]
    detail = "\n".join(tail) if tail else "(no output)"
    if report and "error" in report:
        detail = report["error"]
    raise RuntimeError(
        "quarry exec-task (task %d) exited with status %s on worker %s: %s"
        % (task, returncode, name, detail)
    )


def run_task(binary, job_dir, topic, task, extra_args=()):
    """Runs on a Dask worker: one quarry task as a subprocess.

    A deterministic failure (bad data) is returned, not raised, so Dask does
    not retry it; a crash or an I/O failure is raised, so Dask retries it
    (possibly on another worker). The subprocess is killed when quarry
    cancels the job (it marks the scratch directory, or removes it)."""
    import os as _os
    import subprocess as _subprocess
    import time as _time

    try:
        from distributed import get_worker

        worker = get_worker()
        name = str(worker.name)
        try:
            worker.log_event(topic, {"task": task, "lane": name})
        except Exception:
            pass
    except Exception:
        name = "dask"
    # A scratch prefix in a store (s3://…) has no directory to watch;
    # cancelling the future is enough there.
    local = "://" not in job_dir
    cancel_marker = _os.path.join(job_dir, "CANCEL")
    t0 = _time.time()
    proc = _subprocess.Popen(
        [binary, "exec-task", job_dir, str(task)] + list(extra_args),
        stdout=_subprocess.PIPE,
        stderr=_subprocess.PIPE,
        stdin=_subprocess.DEVNULL,
    )
    while True:
        try:
            out, err = proc.communicate(timeout=0.2)
            break
        except _subprocess.TimeoutExpired:
            if local and (not _os.path.isdir(job_dir) or _os.path.exists(cancel_marker)):
                proc.kill()
                proc.communicate()
                return {"cancelled": True, "worker": name}
    kind, report = task_outcome(proc.returncode, out, err, task, name)
    report["worker"] = name
    if kind == "ok":
        report.setdefault("elapsed_ms", int((_time.time() - t0) * 1000))
    return report


def run_task_isolated(binary, job_text, topic, task, deps):
    """Runs on a Dask worker that shares no filesystem with quarry: the task
    runs in a private directory holding the job description and its inputs
    (the outputs of `deps`, passed by Dask), and its output is returned as
    bytes. Its report (or a data error, which is not worth a retry) is sent
    as a worker event, so quarry never pulls outputs it does not read."""
    import os as _os
    import shutil as _shutil
    import subprocess as _subprocess
    import tempfile as _tempfile
    import time as _time

    from distributed import get_worker

    worker = get_worker()
    name = str(worker.name)

    def tell(**fields):
        fields["task"] = task
        fields["lane"] = name
        try:
            worker.log_event(topic, fields)
        except Exception:
            pass

    tell(kind="started")
    d = _tempfile.mkdtemp(prefix="quarry-task-")
    try:
        with open(_os.path.join(d, "job.json"), "w") as f:
            f.write(job_text)
        for dep, data in deps.items():
            with open(_os.path.join(d, "t%06d.arrow" % int(dep)), "wb") as f:
                f.write(data)
        t0 = _time.time()
        proc = _subprocess.run(
            [binary, "exec-task", d, str(task)],
            stdout=_subprocess.PIPE,
            stderr=_subprocess.PIPE,
            stdin=_subprocess.DEVNULL,
        )
        kind, report = task_outcome(proc.returncode, proc.stdout, proc.stderr, task, name)
        if kind == "data_error":
            tell(kind="failed", error=report["error"], fix=report.get("fix"))
            return b""
        with open(_os.path.join(d, "t%06d.arrow" % task), "rb") as f:
            data = f.read()
        tell(
            kind="finished",
            rows_in=int(report.get("rows_in", 0)),
            rows_out=int(report.get("rows_out", 0)),
            elapsed_ms=int(report.get("elapsed_ms", (_time.time() - t0) * 1000)),
        )
        return data
    finally:
        _shutil.rmtree(d, ignore_errors=True)


def _sees(path):
    import os as _os

    return _os.path.isdir(path)


class Bridge:
    def __init__(self, cfg):
        self.cfg = cfg
        self.job = cfg["job"]
        self.topic = "quarry-" + self.job
        self.futures = {}
        self.lock = threading.Lock()
        self.client = None
        self.cluster = None
        self.closing = False
        self.workers = {}
        self.shared = True
        self.job_future = None
        # dask transport: finished outputs kept in worker memory, by task
        self.outputs = {}
        self.fetch = set()
        # a task is reported finished once both its future and its report
        # event have arrived (they may come in either order)
        self.reports = {}
        self.done = set()

    def connect(self):
        from distributed import Client

        timeout = self.cfg.get("timeout_s", 5)
        # distributed is imported: from here quarry times the connect.
        emit("connecting")
        if self.cfg.get("local_workers"):
            from distributed import LocalCluster

            self.cluster = LocalCluster(
                n_workers=int(self.cfg["local_workers"]),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            self.client = Client(self.cluster, timeout=timeout)
        elif self.cfg.get("scheduler_file"):
            self.client = Client(scheduler_file=self.cfg["scheduler_file"], timeout=timeout)
        else:
            self.client = Client(self.cfg["address"], timeout=timeout)
        self.client.subscribe_topic(self.topic, self.on_event)
        info = self.client.scheduler_info(n_workers=-1)
        self.workers = self.names(info)
        transport = self.cfg.get("transport", "auto")
        if transport == "auto" and "://" in self.cfg["scratch"]:
            self.shared = True
        elif transport == "auto":
            try:
                seen = self.client.run(_sees, self.cfg["scratch"])
                self.shared = bool(seen) and all(seen.values())
            except Exception:
                self.shared = False
        else:
            self.shared = transport == "shared"
        if not self.shared:
            with open(os.path.join(self.cfg["scratch"], "job.json")) as f:
                self.job_future = self.client.scatter(f.read(), broadcast=True, hash=False)
        emit(
            "ready",
            shared_fs=self.shared,
            scheduler=str(info.get("address", "")),
            workers=[
                {"name": n, "threads": int(w.get("nthreads", 1))}
                for n, w in ((self.workers[a], info["workers"][a]) for a in self.workers)
            ],
        )
        threading.Thread(target=self.watch_workers, daemon=True).start()

    @staticmethod
    def names(info):
        return {a: str(w.get("name", a)) for a, w in info.get("workers", {}).items()}

    def on_event(self, event):
        try:
            _, msg = event
            task = int(msg["task"])
            kind = msg.get("kind", "started")
            if kind == "started":
                emit("started", task=task, worker=str(msg["lane"]))
                return
            if kind == "failed":
                emit("failed", task=task, worker=str(msg["lane"]), error=msg["error"], fix=msg.get("fix"))
                return
            with self.lock:
                self.reports[task] = msg
            self.maybe_finished(task)
        except Exception:
            pass

    def maybe_finished(self, task):
        """dask transport: report a task once its output is in hand (and,
        when quarry reads it, written to the scratch directory)."""
        with self.lock:
            if task not in self.done or task not in self.reports:
                return
            msg = self.reports.pop(task)
            self.done.discard(task)
            fut = self.outputs.get(task)
            fetch = task in self.fetch
        if fetch and fut is not None:
            try:
                data = fut.result()
                path = os.path.join(self.cfg["scratch"], "t%06d.arrow" % task)
                tmp = path + ".part"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except Exception as e:
                emit("failed", task=task, worker=str(msg.get("lane", "dask")),
                     error="fetching the output of task %d from Dask: %s" % (task, e), fix=None)
                return
        emit(
            "finished",
            task=task,
            worker=str(msg.get("lane", "dask")),
            rows_in=int(msg.get("rows_in", 0)),
            rows_out=int(msg.get("rows_out", 0)),
            elapsed_ms=int(msg.get("elapsed_ms", 0)),
        )

    def release(self, tasks):
        with self.lock:
            for t in tasks:
                self.outputs.pop(int(t), None)

    def watch_workers(self):
        while not self.closing:
            time.sleep(0.5)
            try:
                now = self.names(self.client.scheduler_info(n_workers=-1))
            except Exception:
                continue
            for addr, name in self.workers.items():
                if addr not in now and not self.closing:
                    emit(
                        "worker_lost",
                        worker=name,
                        detail="Dask worker %s (%s) left the cluster; its tasks are retried elsewhere"
                        % (name, addr),
                    )
            self.workers = now

    def submit(self, task, deps=(), fetch=False):
        key = "%s-t%d" % (self.topic, task)
        if self.shared:
            args = (run_task, self.cfg["binary"], self.cfg["scratch"], self.topic, task,
                    self.cfg.get("task_args", []))
            on_done = self.on_done
        else:
            with self.lock:
                inputs = {int(d): self.outputs[int(d)] for d in deps}
                if fetch:
                    self.fetch.add(task)
            args = (run_task_isolated, self.cfg["binary"], self.job_future, self.topic, task, inputs)
            on_done = self.on_done_isolated
        fut = self.client.submit(*args, key=key, pure=False, retries=int(self.cfg.get("retries", 2)))
        with self.lock:
            self.futures[task] = fut
        fut.add_done_callback(lambda f, t=task: on_done(t, f))

    @staticmethod
    def report_unfinished(task, fut):
        """A future that did not finish: the scheduler lost it (quarry
        cancels only while closing), or it raised on every retry."""
        if fut.status == "cancelled":
            emit(
                "failed",
                task=task,
                worker="dask",
                error="the Dask scheduler cancelled the task (it lost it, or the client lost the scheduler)",
                fix=None,
            )
            return
        try:
            exc = fut.exception()
            error = "%s: %s" % (type(exc).__name__, exc)
        except Exception as e:
            error = str(e)
        emit("failed", task=task, worker="dask", error=error, fix=None)

    def on_done_isolated(self, task, fut):
        with self.lock:
            self.futures.pop(task, None)
        if self.closing:
            return
        if fut.status != "finished":
            self.report_unfinished(task, fut)
            return
        # The output stays on its worker; dependents get it from Dask.
        with self.lock:
            self.outputs[task] = fut
            self.done.add(task)
        self.maybe_finished(task)

    def on_done(self, task, fut):
        # Release the future at once: a finished task's output lives in the
        # scratch directory, so Dask must never recompute it when the worker
        # that ran it goes away.
        with self.lock:
            self.futures.pop(task, None)
        if self.closing:
            return
        if fut.status != "finished":
            self.report_unfinished(task, fut)
            return
        try:
            r = fut.result()
        except Exception as e:  # pragma: no cover - status raced
            emit("failed", task=task, worker="dask", error=str(e), fix=None)
            return
        if r.get("cancelled"):
            return
        if "error" in r:
            emit("failed", task=task, worker=r.get("worker", "dask"), error=r["error"], fix=r.get("fix"))
            return
        emit(
            "finished",
            task=task,
            worker=r.get("worker", "dask"),
            rows_in=int(r.get("rows_in", 0)),
            rows_out=int(r.get("rows_out", 0)),
            elapsed_ms=int(r.get("elapsed_ms", 0)),
        )

    def close(self, cancel):
        self.closing = True
        if self.client is not None:
            with self.lock:
                futures = list(self.futures.values())
                self.futures.clear()
                self.outputs.clear()
            if cancel and futures:
                try:
                    self.client.cancel(futures, force=True)
                except Exception:
                    pass
            # Unsubscribe before closing, or the scheduler logs tracebacks.
            try:
                self.client.unsubscribe_topic(self.topic)
            except Exception:
                pass
            try:
                self.client.close(timeout=5)
            except Exception:
                pass
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=10)
            except Exception:
                pass
        emit("closed")


def main():
    bridge = None
    cancel = True
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            emit("fatal", error="the bridge got a line that is not JSON: %r" % line[:200])
            continue
        op = req.get("op")
        try:
            if op == "connect":
                bridge = Bridge(req)
                bridge.connect()
            elif op == "submit" and bridge is not None:
                bridge.submit(int(req["task"]), req.get("deps", ()), bool(req.get("fetch")))
            elif op == "release" and bridge is not None:
                bridge.release(req.get("tasks", ()))
            elif op in ("cancel", "close"):
                cancel = op == "cancel"
                break
            else:
                emit("fatal", error="unknown request %r" % op)
        except Exception as e:
            emit("fatal", error="%s: %s" % (type(e).__name__, e))
            if op == "connect":
                return 1
    # stdin closed (quarry went away) counts as a cancel.
    if bridge is not None:
        bridge.close(cancel=cancel)
    return 0


if __name__ == "__main__":
    try:
        import distributed  # noqa: F401
    except ImportError as e:
        emit(
            "fatal",
            stage="import",
            error="the Python at %s cannot import dask.distributed (%s). Install it there "
            "(python3 -m pip install 'dask[distributed]') or point quarry at one that has it "
            "with --python." % (sys.executable, e),
        )
        sys.exit(1)
    sys.exit(main())
