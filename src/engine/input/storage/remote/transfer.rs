//! The runtime remote requests run on, and their count.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::error::{QuarryError, Result};

/// The runtime requests run on, and what they have fetched: the explorer
/// and the progress view count bytes fetched, tests count requests.
pub struct Transfer {
    runtime: tokio::runtime::Runtime,
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl Transfer {
    pub fn new() -> Result<Transfer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quarry-io")
            .enable_all()
            .build()
            .map_err(|e| QuarryError::Engine(format!("cannot start the network runtime: {e}")))?;
        Ok(Transfer {
            runtime,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// Run a request to completion from a synchronous caller (a task
    /// thread, the previewer).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    pub fn count(&self, requests: u64, bytes: u64) {
        self.requests.fetch_add(requests, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Data requests (GETs) made so far and the bytes they returned.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}
