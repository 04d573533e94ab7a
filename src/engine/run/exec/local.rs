//! The local executor: a bounded pool of worker threads fed by one scheduler
//! loop. Reduce tasks run before new partitions are read (depth first, as
//! Dask orders work) so partial results are freed early; new map tasks start
//! only while the memory budget allows; cancellation stops dispatch at once
//! and a running task ends within one partition.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polars::prelude::DataFrame;

use super::schedule::{Finished, Schedule};
use super::{CancelToken, EventSink, Executor, JobResult};
use crate::engine::error::{QuarryError, Result};
use crate::engine::plan::graph::StageKind;
use crate::engine::plan::operators::Layout;
use crate::engine::run::events::Event;
use crate::engine::run::job::{Job, TaskOutput};
use crate::engine::run::output::PartSink;

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

/// While a job runs, a cancel also stops its remote reads in flight.
struct StopReadsOnCancel(Arc<Job>);

impl StopReadsOnCancel {
    fn watch(job: &Arc<Job>, cancel: &CancelToken) -> StopReadsOnCancel {
        job.source.stop_reads_when(Some(cancel.flag()));
        StopReadsOnCancel(Arc::clone(job))
    }
}

impl Drop for StopReadsOnCancel {
    fn drop(&mut self) {
        self.0.source.stop_reads_when(None);
    }
}

/// How one pass over the graph ended.
enum Attempt {
    Done(JobResult),
    /// A cut guessed for a remote quoted CSV was wrong: what was read from
    /// it is discarded and the job runs again on exact cuts.
    ReadAgain,
}

impl Executor for LocalExecutor {
    fn execute(
        &self,
        job: Arc<Job>,
        mut sink: Option<PartSink>,
        events: EventSink,
        cancel: CancelToken,
    ) -> Result<JobResult> {
        let _stop_reads = StopReadsOnCancel::watch(&job, &cancel);
        let guessing = job.source.guess_remote_cuts();
        match self.attempt(&job, &mut sink, &events, &cancel, guessing)? {
            Attempt::Done(result) => Ok(result),
            Attempt::ReadAgain => {
                events(Event::ReadAgain {
                    reason: "a quoted field holds a line break where a partition was cut; \
                             every partition is read again on cuts that follow the quotes"
                        .into(),
                });
                let mut sink = sink.map(PartSink::restart).transpose()?;
                match self.attempt(&job, &mut sink, &events, &cancel, false)? {
                    Attempt::Done(result) => Ok(result),
                    Attempt::ReadAgain => Err(QuarryError::Engine(
                        "internal: cuts resolved exactly were reported wrong".into(),
                    )),
                }
            }
        }
    }
}

impl LocalExecutor {
    /// Run the graph once. With `guessing`, the source's cuts are guesses
    /// (`Source::guess_remote_cuts`), checked before the result is trusted
    /// or a failure reported, since a wrong cut can cause either.
    fn attempt(
        &self,
        job: &Arc<Job>,
        sink: &mut Option<PartSink>,
        events: &EventSink,
        cancel: &CancelToken,
        guessing: bool,
    ) -> Result<Attempt> {
        let graph = &job.graph;
        let n = graph.tasks.len();
        let sink_maps = sink.is_some() && job.is_map_only();
        let mut sched = Schedule::start(
            job,
            sink_maps,
            Arc::clone(events),
            "local".into(),
            self.workers,
            self.memory_budget,
        );
        let mut outputs: Vec<Option<DataFrame>> = vec![None; n];
        // Memory: reserved for running maps plus outputs waiting for consumers.
        let mut reserved = vec![0u64; n];
        let mut held = vec![0u64; n];
        let mut in_flight: u64 = 0;
        let mut failure: Option<QuarryError> = None;
        // Whether map outputs are all held for one last task (no tree).
        let gathers_everything: Option<String> = match &job.plan.blocking {
            Some(b) => match b.layout() {
                Layout::Gather { reason } => Some(format!(
                    "step {} ({}) runs on all rows in one task: {reason}",
                    b.first_index() + 1,
                    job.recipe.steps[b.first_index()].op()
                )),
                _ => None,
            },
            None if !sink_maps => Some(
                "the result is every row of the pipeline, gathered in memory to be shown".into(),
            ),
            None => None,
        };

        let (work_tx, work_rx) = channel::<Work>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = channel::<Done>();

        std::thread::scope(|scope| -> Result<Attempt> {
            for w in 0..self.workers {
                let rx = Arc::clone(&work_rx);
                let tx: Sender<Done> = done_tx.clone();
                let job = Arc::clone(job);
                let events = Arc::clone(events);
                let t0 = Instant::now();
                scope.spawn(move || worker_loop(w, &job, rx, tx, &events, t0));
            }
            drop(done_tx);

            loop {
                let stop = cancel.is_cancelled() || failure.is_some();
                // Dispatch: reduce work first, then partitions within budget.
                while !stop && sched.running < self.workers {
                    let next = if let Some(t) = sched.pop_reduce() {
                        Some(t)
                    } else if let Some(t) = sched.peek_map() {
                        let need = graph.tasks[t].est_bytes.max(1) * MEMORY_PER_INPUT_BYTE;
                        if sched.running == 0 || in_flight + need <= self.memory_budget {
                            sched.pop_map();
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
                    sched.mark_running(t);
                    if work_tx.send(Work { task: t, inputs }).is_err() {
                        return Err(QuarryError::Engine("the worker pool stopped".into()));
                    }
                }
                if sched.running == 0 {
                    break;
                }
                let done = match done_rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(d) => d,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(QuarryError::Engine("a worker thread died".into()))
                    }
                };
                let t = done.task;
                in_flight -= reserved[t];
                reserved[t] = 0;
                let worker = format!("local-{}", done.worker);
                match done.result {
                    Err(e) => {
                        sched.failed(t, worker, &e);
                        failure.get_or_insert(e);
                    }
                    Ok(out) => {
                        let rows_out = out.frame.height() as u64;
                        sched.finished(
                            t,
                            Finished {
                                worker,
                                rows_in: out.rows_in as u64,
                                rows_out,
                                elapsed_ms: done.started.elapsed().as_millis() as u64,
                            },
                        );
                        if sink_maps && sched.is_map[t] {
                            let s = sink.as_mut().expect("sink");
                            s.push(graph.tasks[t].partition.unwrap_or(0), out.frame)?;
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
                    }
                }
                sched.progress(in_flight);
            }
            drop(work_tx);

            if guessing {
                if cancel.is_cancelled() {
                    job.source.forget_guessed_cuts();
                } else if !job.source.check_guessed_cuts()? {
                    return Ok(Attempt::ReadAgain);
                }
            }
            let tasks_done = sched.end(failure, cancel.is_cancelled())?;
            let frame = if sink_maps {
                None
            } else {
                sched.result_task().and_then(|t| outputs[t].take())
            };
            sched
                .complete(tasks_done, frame, sink.take())
                .map(Attempt::Done)
        })
    }
}

fn over_budget(why: &str, held: u64, budget: u64) -> QuarryError {
    use crate::engine::input::spec::format_bytes;
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
