//! The local executor: a bounded pool of worker threads fed by one scheduler
//! loop. Reduce tasks run before new partitions are read (depth first, as
//! Dask orders work) so partial results are freed early; new map tasks start
//! only while the memory budget allows; cancellation stops dispatch at once
//! and a running task ends within one partition.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polars::prelude::DataFrame;

use super::{CancelToken, EventSink, Executor, JobResult};
use crate::engine::error::{QuarryError, Result};
use crate::engine::events::{Event, ProgressTracker};
use crate::engine::graph::StageKind;
use crate::engine::job::{Job, TaskOutput};
use crate::engine::lower::Blocking;
use crate::engine::output::PartSink;

/// Parsed frames take more memory than their text; budget this many bytes of
/// memory per input byte of a running map task.
const MEMORY_PER_INPUT_BYTE: u64 = 3;

pub struct LocalExecutor {
    pub workers: usize,
    pub memory_budget: u64,
}

impl LocalExecutor {
    pub fn new(workers: usize, memory_budget: u64) -> LocalExecutor {
        LocalExecutor {
            workers: workers.max(1),
            memory_budget: memory_budget.max(1),
        }
    }

    /// Default budget: a quarter of physical memory.
    pub fn default_memory_budget() -> u64 {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map(|kib| kib * 1024)
            .unwrap_or(8 << 30);
        total / 4
    }
}

struct Work {
    task: usize,
    inputs: Vec<DataFrame>,
}

struct Done {
    task: usize,
    worker: usize,
    started: Instant,
    result: Result<TaskOutput>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Skipped,
}

impl Executor for LocalExecutor {
    fn execute(
        &self,
        job: Arc<Job>,
        mut sink: Option<PartSink>,
        events: EventSink,
        cancel: CancelToken,
    ) -> Result<JobResult> {
        let graph = &job.graph;
        let n = graph.tasks.len();
        let dependents = graph.dependents();
        let is_map: Vec<bool> = graph
            .tasks
            .iter()
            .map(|t| graph.stages[t.stage].kind == StageKind::Map)
            .collect();
        let sink_maps = sink.is_some() && job.is_map_only();
        let input_bytes: u64 = graph
            .tasks
            .iter()
            .filter(|t| is_map[t.id])
            .map(|t| t.est_bytes)
            .sum();
        let mut tracker = ProgressTracker::new(n, job.source.partitions.len(), input_bytes);
        events(Event::JobStarted {
            tasks: n,
            stages: graph.stages.len(),
            partitions: job.source.partitions.len(),
            input_bytes,
            workers: self.workers,
            memory_budget: self.memory_budget,
        });
        for t in &graph.tasks {
            events(Event::TaskQueued {
                task: t.id,
                stage: t.stage,
                partition: t.partition,
            });
        }

        let mut state = vec![State::Waiting; n];
        let mut deps_left: Vec<usize> = graph.tasks.iter().map(|t| t.deps.len()).collect();
        let mut outputs: Vec<Option<DataFrame>> = vec![None; n];
        let mut map_queue: VecDeque<usize> = graph
            .tasks
            .iter()
            .filter(|t| is_map[t.id])
            .map(|t| t.id)
            .collect();
        let mut reduce_ready: Vec<usize> = Vec::new();
        // Memory: reserved for running maps plus outputs waiting for consumers.
        let mut reserved = vec![0u64; n];
        let mut held = vec![0u64; n];
        let mut in_flight: u64 = 0;
        let mut running = 0usize;
        let mut failure: Option<QuarryError> = None;
        // Head: rows produced by the contiguous prefix of finished partitions.
        let head_n = match &job.plan.blocking {
            Some(Blocking::Head { n, .. }) => Some(*n as u64),
            _ => None,
        };
        let mut map_rows: Vec<Option<u64>> = vec![None; n];
        // Whether map outputs are all held for one last task (no tree).
        let gathers_everything: Option<String> = match &job.plan.blocking {
            Some(Blocking::Gather { index, reason }) => Some(format!(
                "step {} ({}) runs on all rows in one task: {reason}",
                index + 1,
                job.recipe.steps[*index].op()
            )),
            None if !sink_maps => Some(
                "the result is every row of the pipeline, gathered in memory to be shown".into(),
            ),
            _ => None,
        };
        let mut rows_out_total = 0u64;

        let (work_tx, work_rx) = channel::<Work>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = channel::<Done>();

        std::thread::scope(|scope| -> Result<JobResult> {
            for w in 0..self.workers {
                let rx = Arc::clone(&work_rx);
                let tx: Sender<Done> = done_tx.clone();
                let job = Arc::clone(&job);
                let events = Arc::clone(&events);
                let t0 = Instant::now();
                scope.spawn(move || worker_loop(w, &job, rx, tx, &events, t0));
            }
            drop(done_tx);

            loop {
                let stop = cancel.is_cancelled() || failure.is_some();
                // Dispatch: reduce work first, then partitions within budget.
                while !stop && running < self.workers {
                    let next = if let Some(t) = reduce_ready.pop() {
                        Some(t)
                    } else if let Some(&t) = map_queue.front() {
                        let need = graph.tasks[t].est_bytes.max(1) * MEMORY_PER_INPUT_BYTE;
                        if running == 0 || in_flight + need <= self.memory_budget {
                            map_queue.pop_front();
                            reserved[t] = need;
                            in_flight += need;
                            Some(t)
                        } else {
                            None
                        }
                    } else {
                        None
                    };
                    let Some(t) = next else { break };
                    let inputs: Vec<DataFrame> = graph.tasks[t]
                        .deps
                        .iter()
                        .filter_map(|&d| {
                            in_flight -= held[d];
                            held[d] = 0;
                            outputs[d].take()
                        })
                        .collect();
                    state[t] = State::Running;
                    running += 1;
                    if work_tx.send(Work { task: t, inputs }).is_err() {
                        return Err(QuarryError::Engine("the worker pool stopped".into()));
                    }
                }
                if running == 0 {
                    break;
                }
                let done = match done_rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(d) => d,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(QuarryError::Engine("a worker thread died".into()))
                    }
                };
                running -= 1;
                let t = done.task;
                in_flight -= reserved[t];
                reserved[t] = 0;
                let task = &graph.tasks[t];
                let worker = format!("local-{}", done.worker);
                match done.result {
                    Err(e) => {
                        events(Event::TaskFailed {
                            task: t,
                            stage: task.stage,
                            partition: task.partition,
                            worker,
                            error: e.to_string(),
                            fix: e.fix(),
                        });
                        state[t] = State::Done;
                        if failure.is_none() {
                            failure = Some(e);
                        }
                    }
                    Ok(out) => {
                        state[t] = State::Done;
                        let rows_out = out.frame.height() as u64;
                        let bytes_read = if is_map[t] { task.est_bytes } else { 0 };
                        tracker.task_done(is_map[t], out.rows_in as u64, bytes_read);
                        events(Event::TaskFinished {
                            task: t,
                            stage: task.stage,
                            partition: task.partition,
                            worker,
                            rows_in: out.rows_in as u64,
                            rows_out,
                            bytes_read,
                            elapsed_ms: done.started.elapsed().as_millis() as u64,
                            at_ms: tracker.elapsed_ms(),
                        });
                        if is_map[t] {
                            map_rows[t] = Some(rows_out);
                        }
                        if dependents[t].is_empty() || (sink_maps && is_map[t]) {
                            rows_out_total += rows_out;
                        }
                        if sink_maps && is_map[t] {
                            let s = sink.as_mut().expect("sink");
                            s.push(task.partition.unwrap_or(0), out.frame)?;
                        } else {
                            held[t] = out.frame.estimated_size() as u64;
                            in_flight += held[t];
                            outputs[t] = Some(out.frame);
                            // Everything held waits for one task that needs
                            // all of it at once: stop now, with a way out,
                            // rather than when the kernel kills us.
                            if failure.is_none() && in_flight > self.memory_budget {
                                if let Some(why) = gathers_everything.as_deref() {
                                    failure = Some(over_budget(why, in_flight, self.memory_budget));
                                }
                            }
                        }
                        for &d in &dependents[t] {
                            deps_left[d] -= 1;
                            if deps_left[d] == 0 {
                                reduce_ready.push(d);
                            }
                        }
                        // A head with enough rows in order stops reading.
                        if let Some(limit) = head_n {
                            let mut have = 0;
                            for m in graph.tasks.iter().filter(|m| is_map[m.id]) {
                                match map_rows[m.id] {
                                    Some(r) => have += r,
                                    None => break,
                                }
                            }
                            if have >= limit {
                                while let Some(s) = map_queue.pop_front() {
                                    state[s] = State::Skipped;
                                    tracker.task_skipped(true, graph.tasks[s].est_bytes);
                                    events(Event::TaskCancelled {
                                        task: s,
                                        stage: graph.tasks[s].stage,
                                        partition: graph.tasks[s].partition,
                                        reason: format!("head: {limit} rows already read"),
                                    });
                                    for &d in &dependents[s] {
                                        deps_left[d] -= 1;
                                        if deps_left[d] == 0 {
                                            reduce_ready.push(d);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                events(Event::Progress(tracker.snapshot(in_flight)));
            }
            drop(work_tx);

            let elapsed_ms = tracker.elapsed_ms();
            let unfinished: Vec<usize> = (0..n).filter(|&t| state[t] == State::Waiting).collect();
            let reason = if failure.is_some() {
                "the job failed"
            } else {
                "cancelled"
            };
            for &t in &unfinished {
                events(Event::TaskCancelled {
                    task: t,
                    stage: graph.tasks[t].stage,
                    partition: graph.tasks[t].partition,
                    reason: reason.into(),
                });
            }
            if let Some(e) = failure {
                events(Event::JobFailed {
                    error: e.to_string(),
                });
                return Err(e);
            }
            if cancel.is_cancelled() && !unfinished.is_empty() {
                events(Event::JobCancelled { elapsed_ms });
                return Err(QuarryError::Cancelled);
            }
            let frame = if sink_maps {
                None
            } else {
                let last = (0..n).rev().find(|&t| dependents[t].is_empty());
                last.and_then(|t| outputs[t].take())
            };
            if let Some(s) = sink.take() {
                match &frame {
                    // A reduced result goes to the output as one part.
                    Some(df) => {
                        let mut s = s;
                        s.push(0, df.clone())?;
                        s.finish()?;
                    }
                    None => s.finish()?,
                }
            }
            events(Event::JobFinished {
                elapsed_ms,
                rows_out: rows_out_total,
                tasks_done: n - unfinished.len(),
            });
            Ok(JobResult {
                frame,
                rows_out: rows_out_total,
                elapsed_ms,
            })
        })
    }
}

fn over_budget(why: &str, held: u64, budget: u64) -> QuarryError {
    use crate::engine::spec::format_bytes;
    QuarryError::Usage(format!(
        "over the memory budget: {why}, and the partitions read so far already hold {} (budget {}).\n\
         To proceed: filter or select fewer columns before that step; after a sort, add a head step \
         (a top-k runs in bounded memory); write the result to a file (-o, or w in the explorer) \
         instead of gathering it; or raise --memory if the machine has room.",
        format_bytes(held),
        format_bytes(budget)
    ))
}

thread_local! {
    static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is running a task whose panics the executor catches
/// and reports as a task failure.
pub fn in_task() -> bool {
    IN_TASK.with(|f| f.get())
}

fn worker_loop(
    w: usize,
    job: &Job,
    rx: Arc<Mutex<Receiver<Work>>>,
    tx: Sender<Done>,
    events: &EventSink,
    t0: Instant,
) {
    loop {
        let work = {
            let guard = match rx.lock() {
                Ok(g) => g,
                Err(_) => return,
            };
            match guard.recv() {
                Ok(w) => w,
                Err(_) => return,
            }
        };
        let task = &job.graph.tasks[work.task];
        let started = Instant::now();
        events(Event::TaskStarted {
            task: work.task,
            stage: task.stage,
            partition: task.partition,
            worker: format!("local-{w}"),
            at_ms: t0.elapsed().as_millis() as u64,
        });
        // A panic inside polars must not take the job down silently; it is
        // reported as the task's failure (the panic hook stays quiet).
        IN_TASK.with(|f| f.set(true));
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match task.partition {
                Some(p) if job.graph.stages[task.stage].kind == StageKind::Map => job.run_map(p),
                _ => job.run_reduce(work.task, work.inputs),
            }));
        IN_TASK.with(|f| f.set(false));
        let result = result.unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(QuarryError::Engine(format!(
                "task {} crashed inside the engine: {msg}",
                work.task
            )))
        });
        if tx
            .send(Done {
                task: work.task,
                worker: w,
                started,
                result,
            })
            .is_err()
        {
            return;
        }
    }
}
