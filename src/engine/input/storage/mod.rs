//! Byte access: every read of input bytes (positioned reads, sizes,
//! listings, modification times for cache keys) goes through these two
//! traits. The local filesystem is one implementation; another backend (an
//! object store, HTTP) is one more, and nothing above this folder changes.

pub mod local;
pub mod memory;
pub mod remote;

use std::fmt::Debug;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use polars::io::mmap::MmapBytesReader;

use crate::engine::error::Result;

/// One readable object: a file, or an object in a store.
pub trait ByteSource: Send + Sync + Debug {
    /// Its size in bytes when it was opened.
    fn size(&self) -> u64;

    /// Read into `dst` from `offset`; the count read, 0 at the end.
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize>;

    /// When it last changed (`None`: unknown), for cache keys.
    fn modified(&self) -> Option<SystemTime>;

    /// A reader for polars' Parquet and IPC readers. A local file hands over
    /// the file itself, so polars maps it instead of reading it.
    fn polars_reader(&self) -> std::io::Result<Box<dyn MmapBytesReader>>;

    /// Several ranges at once (a Parquet row group's column chunks). A store
    /// merges near ranges and fetches them concurrently.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> std::io::Result<Vec<bytes::Bytes>> {
        ranges
            .iter()
            .map(|r| {
                let mut buf = vec![0u8; (r.end - r.start) as usize];
                let mut done = 0;
                while done < buf.len() {
                    let n = self.read_at(r.start + done as u64, &mut buf[done..])?;
                    if n == 0 {
                        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                    }
                    done += n;
                }
                Ok(bytes::Bytes::from(buf))
            })
            .collect()
    }

    /// Whether reads cross a network (each one a request): readers then
    /// fetch only the ranges they need instead of the whole object.
    fn is_remote(&self) -> bool {
        false
    }

    /// Bytes fetched over the network so far (0 for a local file).
    fn bytes_fetched(&self) -> u64 {
        0
    }

    /// Requests in flight give up as soon as `flag` is set (a job's cancel
    /// flag; `None` when the job is over). Local reads are too short to
    /// need it.
    fn stop_when(&self, _flag: Option<Arc<std::sync::atomic::AtomicBool>>) {}
}

/// What a location names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        size: u64,
    },
    Directory,
    /// A FIFO, socket or device: nothing that can be read at an offset.
    Other,
}

/// A place objects live: the local filesystem, or a store.
pub trait Storage: Send + Sync + Debug {
    /// What `location` names.
    fn entry(&self, location: &Path) -> Result<Entry>;

    /// The objects directly inside directory `location` (not sorted).
    fn list(&self, location: &Path) -> Result<Vec<PathBuf>>;

    /// The objects matching a glob pattern (not sorted).
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>>;

    /// Open one object for positioned reads.
    fn open(&self, location: &Path) -> Result<Arc<dyn ByteSource>>;
}

/// The storage that serves `location`: a remote store for `s3://`,
/// `gs://`, `az://` and `http(s)://` URLs, else the local filesystem.
pub fn storage_for(
    location: &str,
    options: &remote::options::StoreOptions,
) -> Result<Arc<dyn Storage>> {
    if remote::url::is_remote(location) {
        Ok(Arc::new(remote::RemoteStorage::new(options.clone())?))
    } else {
        Ok(Arc::new(local::LocalStorage))
    }
}

/// A `Read + Seek` cursor over a byte source, for decoders and readers
/// that want a stream.
#[derive(Debug)]
pub struct ByteReader {
    source: Arc<dyn ByteSource>,
    at: u64,
}

impl ByteReader {
    pub fn new(source: Arc<dyn ByteSource>) -> ByteReader {
        ByteReader { source, at: 0 }
    }
}

impl std::io::Read for ByteReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.source.read_at(self.at, buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for ByteReader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let size = self.source.size() as i128;
        let to = match pos {
            std::io::SeekFrom::Start(n) => n as i128,
            std::io::SeekFrom::End(d) => size + d as i128,
            std::io::SeekFrom::Current(d) => self.at as i128 + d as i128,
        };
        if to < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        self.at = to as u64;
        Ok(self.at)
    }
}

impl MmapBytesReader for ByteReader {}
