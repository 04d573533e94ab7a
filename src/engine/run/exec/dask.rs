//! The Dask executor: the same task graph, run on an existing Dask cluster.
//!
//! quarry keeps the schedule (what is ready, reduce work first, a head that
//! stops reading, cancellation) and hands each ready task to a small Python
//! bridge (`dask_bridge.py`, embedded in the binary) that submits it with
//! `distributed.Client`. On the worker the task runs `quarry exec-task`,
//! which reads its partition (or its inputs from the scratch directory on
//! the shared filesystem) and writes its output there. Without a shared
//! filesystem ([`Transport::Dask`]) the job description travels with the
//! tasks and outputs stay in worker memory as Dask results. Dask places
//! tasks, retries them and survives lost workers; quarry computes, so
//! results are the local executor's.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::remote::{output_name, read_frame, unique_id, Scratch};
use super::schedule::{Finished, Schedule};
use super::{CancelToken, EventSink, Executor, JobResult};
use crate::engine::error::Fix;
use crate::engine::error::{QuarryError, Result};
use crate::engine::run::events::Event;
use crate::engine::run::job::Job;
use crate::engine::run::output::PartSink;

const BRIDGE_SOURCE: &str = include_str!("dask_bridge.py");

/// Which cluster to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaskTarget {
    /// `tcp://host:8786`
    Address(String),
    /// A scheduler file written by `dask scheduler --scheduler-file`.
    SchedulerFile(PathBuf),
    /// An in-process LocalCluster of this many single-threaded workers on
    /// 127.0.0.1, for trying it without a cluster.
    Local(usize),
}

/// How task inputs and outputs move between the driver and the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Shared when every worker sees the scratch directory, else Dask.
    #[default]
    Auto,
    /// A filesystem every worker shares holds the job and task outputs.
    Shared,
    /// No shared filesystem: the job travels with the tasks, outputs stay
    /// in worker memory and move through Dask.
    Dask,
}

impl std::str::FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Transport, String> {
        match s {
            "auto" => Ok(Transport::Auto),
            "shared" => Ok(Transport::Shared),
            "dask" => Ok(Transport::Dask),
            _ => Err(format!("`{s}`: the transport is auto, shared or dask")),
        }
    }
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::Shared => "shared",
            Transport::Dask => "dask",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DaskExecutor {
    pub target: DaskTarget,
    /// The Python with `dask[distributed]`.
    pub python: PathBuf,
    /// The quarry the workers run (it must be reachable at this path on
    /// every worker: a shared filesystem).
    pub worker_binary: PathBuf,
    /// Where task outputs go; on a shared filesystem.
    pub scratch: PathBuf,
    pub keep_scratch: bool,
    /// Retries of a task that crashed (data errors are not retried).
    pub retries: u32,
    /// How long to wait for the scheduler to answer.
    pub connect_timeout: Duration,
    pub transport: Transport,
}

impl DaskExecutor {
    pub fn new(target: DaskTarget) -> DaskExecutor {
        DaskExecutor {
            target,
            python: PathBuf::from("python3"),
            worker_binary: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("quarry")),
            scratch: crate::engine::run::persist::cache_root().join("scratch"),
            keep_scratch: false,
            retries: 2,
            connect_timeout: Duration::from_secs(5),
            transport: Transport::Auto,
        }
    }
}

/// What the bridge says, one JSON line each.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum BridgeEvent {
    /// Python and distributed are loaded; the connect starts.
    Connecting {},
    Ready {
        workers: Vec<WorkerInfo>,
        /// Whether task outputs go through the shared scratch directory.
        #[serde(default = "shared_by_default")]
        shared_fs: bool,
    },
    Started {
        task: usize,
        worker: String,
    },
    Finished {
        task: usize,
        worker: String,
        rows_in: u64,
        rows_out: u64,
        elapsed_ms: u64,
    },
    Failed {
        task: usize,
        worker: String,
        error: String,
        #[serde(default)]
        fix: Option<Fix>,
    },
    WorkerLost {
        worker: String,
        detail: String,
    },
    Fatal {
        error: String,
        /// `import` when the Python lacks distributed (not the cluster's fault).
        #[serde(default)]
        stage: String,
    },
    Closed {},
    /// Not from the bridge: its stdout ended.
    #[serde(skip)]
    Exited,
}

fn shared_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct WorkerInfo {
    threads: usize,
}

/// The bridge process and the channel its events arrive on.
struct Bridge {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<BridgeEvent>,
    stderr_tail: Arc<Mutex<Vec<String>>>,
}

impl Bridge {
    fn spawn(python: &Path) -> Result<Bridge> {
        let script = write_bridge_script()?;
        let mut child = Command::new(python)
            .arg("-u")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                QuarryError::Usage(format!(
                    "cannot start the Dask bridge with `{}`: {e}.\nInstall Python 3 with dask[distributed] (python3 -m pip install 'dask[distributed]'), or name its interpreter with --python PATH.",
                    python.display()
                ))
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(ev) = serde_json::from_str::<BridgeEvent>(&line) {
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(BridgeEvent::Exited);
        });
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr_tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut t) = tail.lock() {
                    t.push(line);
                    let n = t.len();
                    if n > 30 {
                        t.drain(..n - 30);
                    }
                }
            }
        });
        Ok(Bridge {
            child,
            stdin,
            events: rx,
            stderr_tail,
        })
    }

    fn send(&mut self, msg: serde_json::Value) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        writeln!(stdin, "{msg}").and_then(|_| stdin.flush()).is_ok()
    }

    /// Why the bridge stopped: its exit status and the end of its stderr.
    fn death_note(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => s.to_string(),
            _ => "still running".into(),
        };
        let tail = self
            .stderr_tail
            .lock()
            .map(|t| t.iter().rev().take(8).rev().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        if tail.is_empty() {
            status
        } else {
            format!("{status}; its last output:\n  {}", tail.join("\n  "))
        }
    }

    /// Stop it now (an error path: nothing to hand over).
    fn kill(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Ask the bridge to stop (cancelling its futures or not) and wait for
    /// it a few seconds, then kill it.
    fn stop(&mut self, cancel: bool) {
        self.send(json!({ "op": if cancel { "cancel" } else { "close" } }));
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The bridge source, written once per version to the cache directory.
fn write_bridge_script() -> Result<PathBuf> {
    let hash = BRIDGE_SOURCE
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    let dir = crate::engine::run::persist::cache_root().join("bridge");
    std::fs::create_dir_all(&dir).map_err(|e| QuarryError::io(&dir, e))?;
    let path = dir.join(format!("quarry_dask_bridge_{hash:016x}.py"));
    if std::fs::read_to_string(&path).is_ok_and(|s| s == BRIDGE_SOURCE) {
        return Ok(path);
    }
    crate::engine::run::atomic::write_bytes(&path, BRIDGE_SOURCE.as_bytes())?;
    Ok(path)
}

impl DaskExecutor {
    fn connect_request(&self, scratch: &Scratch, job_id: &str, job: &Job) -> serde_json::Value {
        // A store prefix is shared by every worker that can reach it; the
        // workers reach it as the driver does (endpoint, signing).
        let (transport, task_args) = if scratch.store.is_remote() {
            let store = &job.source.spec.store;
            let mut args = Vec::new();
            if let Some(e) = &store.endpoint {
                args.extend(["--endpoint".to_string(), e.clone()]);
            }
            if store.anonymous {
                args.push("--anonymous".to_string());
            }
            (Transport::Shared, args)
        } else {
            (self.transport, Vec::new())
        };
        let mut req = json!({
            "op": "connect",
            "job": job_id,
            "binary": self.worker_binary,
            "scratch": scratch.dir,
            "task_args": task_args,
            "retries": self.retries,
            "timeout_s": self.connect_timeout.as_secs_f64(),
            "transport": transport.name(),
        });
        match &self.target {
            DaskTarget::Address(a) => req["address"] = json!(a),
            DaskTarget::SchedulerFile(f) => req["scheduler_file"] = json!(f),
            DaskTarget::Local(n) => req["local_workers"] = json!(n),
        }
        req
    }

    /// The executor as the progress view names it.
    fn label(&self) -> String {
        match &self.target {
            DaskTarget::Address(a) => format!("dask {a}"),
            DaskTarget::SchedulerFile(f) => format!("dask ({})", f.display()),
            DaskTarget::Local(n) => format!("local dask ×{n}"),
        }
    }

    fn where_(&self) -> String {
        match &self.target {
            DaskTarget::Address(a) => format!("the Dask scheduler at {a}"),
            DaskTarget::SchedulerFile(f) => {
                format!("the Dask scheduler named in {}", f.display())
            }
            DaskTarget::Local(n) => format!("a local Dask cluster of {n} workers"),
        }
    }

    /// Wait for the bridge to connect; returns the cluster's thread count
    /// and whether the workers share the scratch directory.
    fn await_ready(&self, bridge: &mut Bridge, cancel: &CancelToken) -> Result<(usize, bool)> {
        // Starting Python and importing distributed is not the scheduler's
        // time; once the bridge says it connects, the scheduler has the
        // connect timeout (a handshake that hangs is not answering), and a
        // local cluster the time to start its worker processes.
        let mut deadline = Instant::now() + Duration::from_secs(60);
        let mut connecting = false;
        loop {
            if cancel.is_cancelled() {
                bridge.kill();
                return Err(QuarryError::Cancelled);
            }
            if Instant::now() > deadline {
                bridge.kill();
                return Err(QuarryError::Usage(if connecting {
                    format!(
                        "{} did not answer within {} s.\nCheck the address (--scheduler tcp://HOST:PORT) or the scheduler file (--scheduler-file), that the scheduler is running, and that this machine can reach it.",
                        self.where_(),
                        self.connect_timeout.as_secs()
                    )
                } else {
                    format!(
                        "the Dask bridge ({}) did not start within a minute",
                        self.python.display()
                    )
                }));
            }
            match bridge.events.recv_timeout(Duration::from_millis(50)) {
                Ok(BridgeEvent::Connecting {}) => {
                    connecting = true;
                    let grace = match self.target {
                        DaskTarget::Local(_) => Duration::from_secs(60),
                        _ => Duration::from_secs(1),
                    };
                    deadline = Instant::now() + self.connect_timeout + grace;
                }
                Ok(BridgeEvent::Ready { workers, shared_fs }) => {
                    let threads = workers
                        .iter()
                        .map(|w| w.threads.max(1))
                        .sum::<usize>()
                        .max(1);
                    return Ok((threads, shared_fs));
                }
                Ok(BridgeEvent::Fatal { error, stage }) if stage == "import" => {
                    bridge.kill();
                    return Err(QuarryError::Usage(error));
                }
                Ok(BridgeEvent::Fatal { error, .. }) => {
                    bridge.kill();
                    return Err(QuarryError::Usage(format!(
                        "cannot use {}: {error}\nCheck the address (--scheduler tcp://HOST:PORT) or the scheduler file (--scheduler-file), and that the scheduler is running.",
                        self.where_()
                    )));
                }
                Ok(BridgeEvent::Exited) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(QuarryError::Usage(format!(
                        "the Dask bridge exited before connecting ({})",
                        bridge.death_note()
                    )))
                }
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

impl Executor for DaskExecutor {
    fn execute(
        &self,
        job: Arc<Job>,
        mut sink: Option<PartSink>,
        events: EventSink,
        cancel: CancelToken,
    ) -> Result<JobResult> {
        // A store prefix (--scratch s3://…) is reached as the source is.
        let scratch = Scratch::create(
            &self.scratch,
            &job,
            self.keep_scratch,
            &job.source.spec.store,
        )?;
        let job_id = unique_id();
        let mut bridge = Bridge::spawn(&self.python)?;
        if !bridge.send(self.connect_request(&scratch, &job_id, &job)) {
            return Err(QuarryError::Usage(format!(
                "the Dask bridge did not start ({})",
                bridge.death_note()
            )));
        }
        let (threads, shared_fs) = self.await_ready(&mut bridge, &cancel)?;
        let sink_maps = sink.is_some() && job.is_map_only();
        // The progress view says which way data moves.
        let label = if scratch.store.is_remote() {
            format!("{} · scratch in {}", self.label(), scratch.dir.display())
        } else if shared_fs {
            format!("{} · shared filesystem", self.label())
        } else {
            format!("{} · no shared filesystem", self.label())
        };
        let mut sched = Schedule::start(&job, sink_maps, Arc::clone(&events), label, threads, 0);
        let graph = &job.graph;
        // Outputs quarry reads itself: streamed map outputs and the tasks no
        // other task consumes (the result). Without a shared filesystem only
        // these are fetched from the workers.
        let mut consumed = vec![false; graph.tasks.len()];
        for t in &graph.tasks {
            for &d in &t.deps {
                consumed[d] = true;
            }
        }
        // Enough submitted to keep every worker thread busy, few enough that
        // a cancel or a satisfied head wastes little.
        let cap = (2 * threads).max(2);
        let mut running = vec![false; graph.tasks.len()];
        let mut failure: Option<QuarryError> = None;
        let mut bridge_gone = false;
        let keep = self.keep_scratch;

        loop {
            let stop = cancel.is_cancelled() || failure.is_some();
            while !stop && sched.running < cap {
                let Some(t) = sched.pop_reduce().or_else(|| sched.pop_map()) else {
                    break;
                };
                sched.mark_running(t);
                running[t] = true;
                let fetch = !consumed[t] || (sink_maps && sched.is_map[t]);
                let deps = &graph.tasks[t].deps;
                if !bridge.send(json!({ "op": "submit", "task": t, "deps": deps, "fetch": fetch }))
                {
                    break;
                }
            }
            if sched.running == 0 || stop {
                break;
            }
            let ev = match bridge.events.recv_timeout(Duration::from_millis(50)) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => BridgeEvent::Exited,
            };
            match ev {
                BridgeEvent::Started { task, worker } if running.get(task) == Some(&true) => {
                    let t = &graph.tasks[task];
                    events(Event::TaskStarted {
                        task,
                        stage: t.stage,
                        partition: t.partition,
                        worker,
                        at_ms: sched.elapsed_ms(),
                    });
                }
                BridgeEvent::Finished {
                    task,
                    worker,
                    rows_in,
                    rows_out,
                    elapsed_ms,
                } if running.get(task) == Some(&true) => {
                    running[task] = false;
                    sched.finished(
                        task,
                        Finished {
                            worker,
                            rows_in,
                            rows_out,
                            elapsed_ms,
                        },
                    );
                    if sink_maps && sched.is_map[task] {
                        if let Err(e) = self.stream_output(&job, &scratch, task, &mut sink) {
                            failure.get_or_insert(e);
                        }
                    }
                    if !keep {
                        // Its inputs are consumed: free the scratch space
                        // (or the workers' memory).
                        let deps = &graph.tasks[task].deps;
                        for &d in deps {
                            scratch.store.remove(&output_name(d));
                        }
                        if !shared_fs && !deps.is_empty() {
                            bridge.send(json!({ "op": "release", "tasks": deps }));
                        }
                    }
                }
                BridgeEvent::Failed {
                    task,
                    worker,
                    error,
                    fix,
                } if running.get(task) == Some(&true) => {
                    running[task] = false;
                    let e = QuarryError::Task {
                        message: error,
                        fix,
                    };
                    sched.failed(task, worker, &e);
                    failure.get_or_insert(e);
                }
                BridgeEvent::WorkerLost { worker, detail } => {
                    events(Event::WorkerLost { worker, detail });
                }
                BridgeEvent::Fatal { error, .. } => {
                    failure.get_or_insert(QuarryError::Engine(format!(
                        "the Dask bridge failed: {error}"
                    )));
                }
                BridgeEvent::Exited | BridgeEvent::Closed {} => {
                    bridge_gone = true;
                    failure.get_or_insert(QuarryError::Engine(format!(
                        "the Dask bridge stopped in the middle of the job ({}).\nNothing was written. Run the job again, or without --scheduler to use the local executor.",
                        bridge.death_note()
                    )));
                }
                _ => {}
            }
            sched.progress(0);
        }

        if sched.running > 0 || cancel.is_cancelled() || failure.is_some() {
            // Running tasks stop within one poll of the marker.
            scratch.mark_cancelled();
        }
        if !bridge_gone {
            bridge.stop(sched.running > 0);
        }
        let tasks_done = sched.end(failure, cancel.is_cancelled())?;
        let frame = if sink_maps {
            None
        } else {
            match sched.result_task() {
                Some(t) => Some(read_frame(&scratch.store, t)?),
                None => None,
            }
        };
        sched.complete(tasks_done, frame, sink.take())
    }
}

impl DaskExecutor {
    /// A map's output goes to the sink as soon as the map finishes.
    fn stream_output(
        &self,
        job: &Job,
        scratch: &Scratch,
        task: usize,
        sink: &mut Option<PartSink>,
    ) -> Result<()> {
        let t = &job.graph.tasks[task];
        let Some(s) = sink.as_mut() else {
            return Ok(());
        };
        s.push(t.partition.unwrap_or(0), read_frame(&scratch.store, task)?)?;
        if !self.keep_scratch {
            scratch.store.remove(&output_name(task));
        }
        Ok(())
    }
}
