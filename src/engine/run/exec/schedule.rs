//! The bookkeeping every executor shares: which tasks are ready, in what
//! order (reduce work before new partitions, depth first as Dask orders it),
//! when a head has read enough, and the events that report all of it. The
//! executors differ only in where a task runs and where its output lives.

use std::collections::VecDeque;

use polars::prelude::DataFrame;

use super::{EventSink, JobResult};
use crate::engine::error::{QuarryError, Result};
use crate::engine::plan::graph::StageKind;
use crate::engine::run::events::{Event, ProgressTracker};
use crate::engine::run::job::Job;
use crate::engine::run::output::PartSink;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Skipped,
}

/// What a finished task reported.
pub struct Finished {
    pub worker: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub elapsed_ms: u64,
}

pub struct Schedule<'a> {
    job: &'a Job,
    events: EventSink,
    pub is_map: Vec<bool>,
    dependents: Vec<Vec<usize>>,
    state: Vec<State>,
    deps_left: Vec<usize>,
    map_queue: VecDeque<usize>,
    reduce_ready: Vec<usize>,
    /// Head: rows produced by each finished map task.
    map_rows: Vec<Option<u64>>,
    head_n: Option<u64>,
    tracker: ProgressTracker,
    /// The source's network bytes before the job (inference, previews).
    fetched_before: u64,
    /// Map outputs go to an output sink, not to a final task.
    pub sink_maps: bool,
    pub running: usize,
    pub rows_out: u64,
}

impl<'a> Schedule<'a> {
    /// Announce the job (`JobStarted`, then `TaskQueued` for every task).
    pub fn start(
        job: &'a Job,
        sink_maps: bool,
        events: EventSink,
        executor: String,
        workers: usize,
        memory_budget: u64,
    ) -> Schedule<'a> {
        let graph = &job.graph;
        let n = graph.tasks.len();
        let is_map: Vec<bool> = graph
            .tasks
            .iter()
            .map(|t| graph.stages[t.stage].kind == StageKind::Map)
            .collect();
        let input_bytes: u64 = graph
            .tasks
            .iter()
            .filter(|t| is_map[t.id])
            .map(|t| t.est_bytes)
            .sum();
        events(Event::JobStarted {
            executor,
            tasks: n,
            stages: graph.stages.len(),
            partitions: job.source.partitions.len(),
            input_bytes,
            workers,
            memory_budget,
        });
        for t in &graph.tasks {
            events(Event::TaskQueued {
                task: t.id,
                stage: t.stage,
                partition: t.partition,
            });
        }
        let map_queue = graph
            .tasks
            .iter()
            .filter(|t| is_map[t.id])
            .map(|t| t.id)
            .collect();
        Schedule {
            job,
            events,
            dependents: graph.dependents(),
            state: vec![State::Waiting; n],
            deps_left: graph.tasks.iter().map(|t| t.deps.len()).collect(),
            map_queue,
            reduce_ready: Vec::new(),
            map_rows: vec![None; n],
            head_n: job.plan.blocking.as_ref().and_then(|b| b.row_limit()),
            tracker: ProgressTracker::new(n, job.source.partitions.len(), input_bytes),
            fetched_before: job.source.bytes_fetched(),
            is_map,
            sink_maps,
            running: 0,
            rows_out: 0,
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.tracker.elapsed_ms()
    }

    /// A reduce task whose inputs are all done: run these first, so partial
    /// results are freed before more partitions are read.
    pub fn pop_reduce(&mut self) -> Option<usize> {
        self.reduce_ready.pop()
    }

    /// The next partition to read, without taking it.
    pub fn peek_map(&self) -> Option<usize> {
        self.map_queue.front().copied()
    }

    pub fn pop_map(&mut self) -> Option<usize> {
        self.map_queue.pop_front()
    }

    pub fn mark_running(&mut self, t: usize) {
        self.state[t] = State::Running;
        self.running += 1;
    }

    /// Whether `t`'s output is (part of) the job's result.
    pub fn is_result(&self, t: usize) -> bool {
        self.dependents[t].is_empty() || (self.sink_maps && self.is_map[t])
    }

    pub fn failed(&mut self, t: usize, worker: String, e: &QuarryError) {
        self.running -= 1;
        self.state[t] = State::Done;
        let task = &self.job.graph.tasks[t];
        (self.events)(Event::TaskFailed {
            task: t,
            stage: task.stage,
            partition: task.partition,
            worker,
            error: e.to_string(),
            fix: e.fix(),
        });
    }

    /// Record a finished task: its event, the tasks it makes ready, and, for
    /// a head with enough rows in order, the partitions no longer needed.
    pub fn finished(&mut self, t: usize, f: Finished) {
        self.running -= 1;
        self.state[t] = State::Done;
        let job = self.job;
        let task = &job.graph.tasks[t];
        let bytes_read = if self.is_map[t] { task.est_bytes } else { 0 };
        self.tracker
            .task_done(self.is_map[t], f.rows_in, bytes_read);
        (self.events)(Event::TaskFinished {
            task: t,
            stage: task.stage,
            partition: task.partition,
            worker: f.worker,
            rows_in: f.rows_in,
            rows_out: f.rows_out,
            bytes_read,
            elapsed_ms: f.elapsed_ms,
            at_ms: self.tracker.elapsed_ms(),
        });
        if self.is_map[t] {
            self.map_rows[t] = Some(f.rows_out);
        }
        if self.is_result(t) {
            self.rows_out += f.rows_out;
        }
        self.release_dependents(t);
        if let Some(limit) = self.head_n {
            let have = self
                .job
                .graph
                .tasks
                .iter()
                .filter(|m| self.is_map[m.id])
                .map_while(|m| self.map_rows[m.id])
                .sum::<u64>();
            if have >= limit {
                while let Some(s) = self.map_queue.pop_front() {
                    self.state[s] = State::Skipped;
                    let skipped = &job.graph.tasks[s];
                    self.tracker.task_skipped(true, skipped.est_bytes);
                    (self.events)(Event::TaskCancelled {
                        task: s,
                        stage: skipped.stage,
                        partition: skipped.partition,
                        reason: format!("head: {limit} rows already read"),
                    });
                    self.release_dependents(s);
                }
            }
        }
    }

    fn release_dependents(&mut self, t: usize) {
        for &d in &self.dependents[t] {
            self.deps_left[d] -= 1;
            if self.deps_left[d] == 0 {
                self.reduce_ready.push(d);
            }
        }
    }

    pub fn progress(&mut self, bytes_in_flight: u64) {
        let fetched = self.job.source.bytes_fetched() - self.fetched_before;
        (self.events)(Event::Progress(
            self.tracker.snapshot(bytes_in_flight, fetched),
        ));
    }

    /// The task whose output is the job's result (the last without dependents).
    pub fn result_task(&self) -> Option<usize> {
        (0..self.state.len())
            .rev()
            .find(|&t| self.dependents[t].is_empty())
    }

    /// Report the tasks that never ran and how the job ended. `Ok` carries
    /// the number of tasks done; the caller emits `JobFinished` once the
    /// output is complete.
    pub fn end(&mut self, failure: Option<QuarryError>, cancelled: bool) -> Result<usize> {
        let unfinished: Vec<usize> = (0..self.state.len())
            .filter(|&t| matches!(self.state[t], State::Waiting | State::Running))
            .collect();
        let reason = if failure.is_some() {
            "the job failed"
        } else {
            "cancelled"
        };
        for &t in &unfinished {
            let task = &self.job.graph.tasks[t];
            (self.events)(Event::TaskCancelled {
                task: t,
                stage: task.stage,
                partition: task.partition,
                reason: reason.into(),
            });
        }
        if let Some(e) = failure {
            (self.events)(Event::JobFailed {
                error: e.to_string(),
            });
            return Err(e);
        }
        if cancelled && !unfinished.is_empty() {
            (self.events)(Event::JobCancelled {
                elapsed_ms: self.elapsed_ms(),
            });
            return Err(QuarryError::Cancelled);
        }
        Ok(self.state.len() - unfinished.len())
    }

    /// Complete the output (a reduced result goes to the sink as one part;
    /// streamed map outputs are already in it), then report the job done.
    pub fn complete(
        &self,
        tasks_done: usize,
        frame: Option<DataFrame>,
        sink: Option<PartSink>,
    ) -> Result<JobResult> {
        if let Some(mut s) = sink {
            if let Some(df) = &frame {
                s.push(0, df.clone())?;
            }
            s.finish()?;
        }
        (self.events)(Event::JobFinished {
            elapsed_ms: self.elapsed_ms(),
            rows_out: self.rows_out,
            tasks_done,
        });
        Ok(JobResult {
            frame,
            rows_out: self.rows_out,
            elapsed_ms: self.elapsed_ms(),
        })
    }
}
