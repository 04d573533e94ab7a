//! Executors run a prepared job's task graph and report events. The local
//! executor is the embedded default; others implement the same trait.

pub mod dask;
pub mod local;
pub mod remote;
pub mod schedule;
pub mod scratch_store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use polars::prelude::DataFrame;

use crate::engine::error::Result;
use crate::engine::run::events::Event;
use crate::engine::run::job::Job;
use crate::engine::run::output::PartSink;

/// Cooperative cancellation shared between the caller and the executor.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for waits that poll it (a remote read in flight).
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// Receives every event of a job, from the executor's threads.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// What a finished job produced.
pub struct JobResult {
    /// The result frame; `None` when map outputs went to a sink instead.
    pub frame: Option<DataFrame>,
    pub rows_out: u64,
    pub elapsed_ms: u64,
}

pub trait Executor: Send + Sync {
    /// Run `job`. Map-only jobs with a `sink` stream their partitions into it
    /// in order; everything else returns its result frame.
    fn execute(
        &self,
        job: Arc<Job>,
        sink: Option<PartSink>,
        events: EventSink,
        cancel: CancelToken,
    ) -> Result<JobResult>;
}
