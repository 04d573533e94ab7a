//! Task and job events: one stream, consumed by the TUI, the headless
//! progress bar and `--json-events`. Every executor emits the same events.

use std::time::Instant;

use serde::Serialize;

use crate::engine::error::Fix;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    JobStarted {
        /// Where the tasks run: `local`, or the Dask scheduler.
        executor: String,
        tasks: usize,
        stages: usize,
        partitions: usize,
        input_bytes: u64,
        workers: usize,
        memory_budget: u64,
    },
    TaskQueued {
        task: usize,
        stage: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<usize>,
    },
    TaskStarted {
        task: usize,
        stage: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<usize>,
        worker: String,
        at_ms: u64,
    },
    TaskFinished {
        task: usize,
        stage: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<usize>,
        worker: String,
        rows_in: u64,
        rows_out: u64,
        bytes_read: u64,
        elapsed_ms: u64,
        at_ms: u64,
    },
    TaskFailed {
        task: usize,
        stage: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<usize>,
        worker: String,
        error: String,
        /// A change to the recipe that fixes this failure, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        fix: Option<Fix>,
    },
    /// Not run: the job was cancelled or failed, or a head had enough rows.
    TaskCancelled {
        task: usize,
        stage: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        partition: Option<usize>,
        reason: String,
    },
    WorkerLost {
        worker: String,
        detail: String,
    },
    /// What was read so far is discarded and read again, for `reason`.
    ReadAgain {
        reason: String,
    },
    Progress(Progress),
    JobFinished {
        elapsed_ms: u64,
        rows_out: u64,
        tasks_done: usize,
    },
    JobFailed {
        error: String,
    },
    JobCancelled {
        elapsed_ms: u64,
    },
}

/// Job totals, recomputed after every task.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub partitions_done: usize,
    pub partitions: usize,
    pub rows_in: u64,
    pub bytes_read: u64,
    /// Bytes fetched over the network (remote sources; 0 for local files).
    pub bytes_fetched: u64,
    pub input_bytes: u64,
    pub rows_per_s: f64,
    pub bytes_per_s: f64,
    pub eta_s: Option<f64>,
    pub bytes_in_flight: u64,
    pub elapsed_ms: u64,
}

/// Accumulates totals from task events.
pub struct ProgressTracker {
    started: Instant,
    p: Progress,
}

impl ProgressTracker {
    pub fn new(total: usize, partitions: usize, input_bytes: u64) -> ProgressTracker {
        ProgressTracker {
            started: Instant::now(),
            p: Progress {
                total,
                partitions,
                input_bytes,
                ..Progress::default()
            },
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn task_done(&mut self, is_map: bool, rows_in: u64, bytes_read: u64) {
        self.p.done += 1;
        if is_map {
            self.p.partitions_done += 1;
            self.p.rows_in += rows_in;
            self.p.bytes_read += bytes_read;
        }
    }

    pub fn task_skipped(&mut self, is_map: bool, bytes: u64) {
        self.p.done += 1;
        if is_map {
            self.p.partitions_done += 1;
            // Skipped input counts as covered for the ETA.
            self.p.input_bytes = self.p.input_bytes.saturating_sub(bytes);
        }
    }

    pub fn snapshot(&mut self, bytes_in_flight: u64, bytes_fetched: u64) -> Progress {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        self.p.elapsed_ms = (secs * 1000.0) as u64;
        self.p.rows_per_s = self.p.rows_in as f64 / secs;
        self.p.bytes_per_s = self.p.bytes_read as f64 / secs;
        self.p.bytes_in_flight = bytes_in_flight;
        self.p.bytes_fetched = bytes_fetched;
        self.p.eta_s = if self.p.bytes_read > 0 && self.p.input_bytes > 0 {
            let left = self.p.input_bytes.saturating_sub(self.p.bytes_read) as f64;
            Some(left / self.p.bytes_per_s)
        } else {
            None
        };
        self.p.clone()
    }
}
