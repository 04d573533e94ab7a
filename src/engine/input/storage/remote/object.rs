//! One remote object read at offsets: ranged GETs, a read-ahead window for
//! small reads (record-boundary probes, decoders, footers) and a cache of
//! the windows fetched, so previews do not fetch the same bytes twice.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use polars::io::mmap::MmapBytesReader;

use super::errors::remote_error;
use super::transfer::Transfer;
use super::url::Scheme;
use crate::engine::input::storage::{ByteReader, ByteSource};

/// Reads smaller than this fetch this much (or up to the end), and keep it.
pub const READ_AHEAD: u64 = 2 << 20;
/// A read that continues where a window ends (a partition read a chunk at a
/// time, a decompressor's input) fetches twice that window, up to this.
const MAX_READ_AHEAD: u64 = 32 << 20;
/// Ranges closer than this are fetched as one (the bytes between cost less
/// than another round trip).
const MERGE_GAP: u64 = 1 << 20;
/// Windows kept per object; the oldest go first. Two full-size windows per
/// reading thread fit.
const CACHE_BYTES: usize = 160 << 20;

pub struct RemoteObject {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) key: StorePath,
    pub(super) url: String,
    pub(super) scheme: Scheme,
    pub(super) size: u64,
    pub(super) modified: Option<SystemTime>,
    pub(super) transfer: Arc<Transfer>,
    cache: Mutex<WindowCache>,
    /// Bytes fetched for this object (the transfer counts its whole store).
    fetched: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RemoteObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteObject")
            .field("url", &self.url)
            .field("size", &self.size)
            .finish()
    }
}

/// Fetched windows, newest last.
#[derive(Default)]
struct WindowCache {
    windows: VecDeque<(u64, Bytes)>,
    bytes: usize,
}

impl WindowCache {
    /// The cached bytes covering `[start, end)`, if one window holds them.
    fn find(&self, start: u64, end: u64) -> Option<(u64, Bytes)> {
        self.windows
            .iter()
            .rev()
            .find(|(at, b)| *at <= start && at + b.len() as u64 >= end)
            .cloned()
    }

    /// The length of a window that ends exactly at `offset`: the stream
    /// reading there is sequential.
    fn ending_at(&self, offset: u64) -> Option<u64> {
        self.windows
            .iter()
            .rev()
            .find(|(at, b)| at + b.len() as u64 == offset)
            .map(|(_, b)| b.len() as u64)
    }

    fn keep(&mut self, at: u64, bytes: Bytes) {
        self.bytes += bytes.len();
        self.windows.push_back((at, bytes));
        while self.bytes > CACHE_BYTES && self.windows.len() > 1 {
            let (_, old) = self.windows.pop_front().expect("not empty");
            self.bytes -= old.len();
        }
    }
}

impl RemoteObject {
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        key: StorePath,
        url: String,
        scheme: Scheme,
        size: u64,
        modified: Option<SystemTime>,
        transfer: Arc<Transfer>,
    ) -> RemoteObject {
        RemoteObject {
            store,
            key,
            url,
            scheme,
            size,
            modified,
            transfer,
            cache: Mutex::new(WindowCache::default()),
            fetched: Default::default(),
        }
    }

    fn count(&self, requests: u64, bytes: u64) {
        self.transfer.count(requests, bytes);
        self.fetched
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    fn io_error(&self, e: &object_store::Error) -> std::io::Error {
        std::io::Error::other(remote_error(e, &self.url, self.scheme))
    }

    fn fetch(&self, range: Range<u64>) -> std::io::Result<Bytes> {
        let len = range.end - range.start;
        let got = self
            .transfer
            .block_on_unless_stopped(self.store.get_range(&self.key, range))
            .ok_or_else(cancelled)?
            .map_err(|e| self.io_error(&e))?;
        self.count(1, len);
        Ok(got)
    }

    /// The window a small read at `offset` fetches: `READ_AHEAD` bytes from
    /// it, or the object's last `READ_AHEAD` bytes when it is near the end
    /// (a Parquet footer is read backwards from the end).
    fn window_for(&self, offset: u64, previous: Option<u64>) -> Range<u64> {
        let len = match previous {
            Some(len) => (2 * len).clamp(READ_AHEAD, MAX_READ_AHEAD),
            None => READ_AHEAD,
        };
        if offset + len >= self.size {
            self.size.saturating_sub(len).min(offset)..self.size
        } else {
            offset..offset + len
        }
    }
}

impl ByteSource for RemoteObject {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.size || dst.is_empty() {
            return Ok(0);
        }
        let end = (offset + dst.len() as u64).min(self.size);
        let want = (end - offset) as usize;
        let (cached, previous) = {
            let cache = self.cache.lock().expect("cache lock");
            (cache.find(offset, end), cache.ending_at(offset))
        };
        let (at, bytes) = match cached {
            Some(hit) => hit,
            // A large read (a partition's bytes) is one request of its own
            // and is not kept: the executor reads each partition once.
            None if want as u64 >= READ_AHEAD => (offset, self.fetch(offset..end)?),
            None => {
                let window = self.window_for(offset, previous);
                let bytes = self.fetch(window.clone())?;
                self.cache
                    .lock()
                    .expect("cache lock")
                    .keep(window.start, bytes.clone());
                (window.start, bytes)
            }
        };
        let from = (offset - at) as usize;
        dst[..want].copy_from_slice(&bytes[from..from + want]);
        Ok(want)
    }

    fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    fn polars_reader(&self) -> std::io::Result<Box<dyn MmapBytesReader>> {
        // polars reads a non-file reader whole; callers that need only some
        // ranges (Parquet) use `read_ranges` instead.
        Ok(Box::new(ByteReader::new(Arc::new(self.share()))))
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> std::io::Result<Vec<Bytes>> {
        // Nearby ranges (a row group's column chunks) become one request;
        // the requests run concurrently.
        let merged = merge_ranges(ranges, MERGE_GAP);
        let fetches = merged
            .iter()
            .map(|r| self.store.get_range(&self.key, r.clone()));
        let got = self
            .transfer
            .block_on_unless_stopped(futures::future::try_join_all(fetches))
            .ok_or_else(cancelled)?
            .map_err(|e| self.io_error(&e))?;
        let fetched: u64 = merged.iter().map(|r| r.end - r.start).sum();
        self.count(merged.len() as u64, fetched);
        Ok(ranges
            .iter()
            .map(|r| {
                if r.end <= r.start {
                    return Bytes::new();
                }
                let i = merged
                    .iter()
                    .position(|m| m.start <= r.start && r.end <= m.end)
                    .expect("every range is inside a merged one");
                let from = (r.start - merged[i].start) as usize;
                got[i].slice(from..from + (r.end - r.start) as usize)
            })
            .collect())
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn bytes_fetched(&self) -> u64 {
        self.fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn stop_when(&self, flag: Option<Arc<std::sync::atomic::AtomicBool>>) {
        self.transfer.stop_when(flag);
    }
}

/// The read a cancel cut short.
fn cancelled() -> std::io::Error {
    std::io::Error::other(crate::engine::error::QuarryError::Cancelled)
}

impl RemoteObject {
    /// Another handle on the same object with its own (empty) cache.
    fn share(&self) -> RemoteObject {
        RemoteObject::new(
            self.store.clone(),
            self.key.clone(),
            self.url.clone(),
            self.scheme,
            self.size,
            self.modified,
            self.transfer.clone(),
        )
    }
}

/// Sorted, merged ranges covering `ranges`, joining those less than `gap`
/// apart.
fn merge_ranges(ranges: &[Range<u64>], gap: u64) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| r.end > r.start).cloned().collect();
    sorted.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end + gap => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_near_ranges_only() {
        let m = merge_ranges(&[10..20, 0..5, 25..30, 5000..6000], 10);
        assert_eq!(m, vec![0..30, 5000..6000]);
        assert_eq!(merge_ranges(&[0..10, 2..4], 0), vec![0..10]);
    }

    #[test]
    fn cache_finds_covering_windows_and_evicts_oldest() {
        let mut c = WindowCache::default();
        c.keep(0, Bytes::from(vec![1u8; 100]));
        assert!(c.find(10, 100).is_some());
        assert!(c.find(10, 101).is_none());
        assert_eq!(c.ending_at(100), Some(100));
        assert_eq!(c.ending_at(99), None);
        c.keep(1000, Bytes::from(vec![0u8; CACHE_BYTES]));
        assert!(c.find(0, 10).is_none(), "the oldest window went");
        assert!(c.find(1000, 1010).is_some());
    }
}
