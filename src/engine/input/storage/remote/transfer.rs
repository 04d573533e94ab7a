//! The runtime remote requests run on, and their count.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::Either;

use crate::engine::error::{QuarryError, Result};

/// The runtime requests run on, and what they have fetched: the explorer
/// and the progress view count bytes fetched, tests count requests.
pub struct Transfer {
    runtime: tokio::runtime::Runtime,
    requests: AtomicU64,
    bytes: AtomicU64,
    /// The running job's cancel flag: requests give up when it is set.
    stop: Mutex<Option<Arc<AtomicBool>>>,
}

/// How often a request in flight looks at the cancel flag.
const STOP_POLL: Duration = Duration::from_millis(20);

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
            stop: Mutex::new(None),
        })
    }

    /// Run a request to completion from a synchronous caller (a task
    /// thread, the previewer).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Watch `flag` (a job's cancel flag) from now on; `None` stops
    /// watching.
    pub fn stop_when(&self, flag: Option<Arc<AtomicBool>>) {
        *self.stop.lock().expect("stop lock") = flag;
    }

    /// Like [`block_on`](Self::block_on), but `None` as soon as the watched
    /// cancel flag is set: the request is dropped, which closes its
    /// connection, so Ctrl-C does not wait for a large range to arrive.
    pub fn block_on_unless_stopped<F: Future>(&self, f: F) -> Option<F::Output> {
        let flag = self.stop.lock().expect("stop lock").clone();
        let Some(flag) = flag else {
            return Some(self.runtime.block_on(f));
        };
        if flag.load(Ordering::SeqCst) {
            return None;
        }
        self.runtime.block_on(async {
            let watch = async {
                while !flag.load(Ordering::SeqCst) {
                    tokio::time::sleep(STOP_POLL).await;
                }
            };
            match futures::future::select(std::pin::pin!(f), std::pin::pin!(watch)).await {
                Either::Left((out, _)) => Some(out),
                Either::Right(_) => None,
            }
        })
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
