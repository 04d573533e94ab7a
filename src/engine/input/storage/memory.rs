//! Objects held in memory: a second implementation of the byte-access
//! traits, which tests use to check that nothing above them reads files
//! directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use polars::io::mmap::MmapBytesReader;

use super::{ByteSource, Entry, Storage};
use crate::engine::error::{QuarryError, Result};

/// Named objects; a name ending in `/` is never stored, directories are the
/// prefixes of names.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    objects: BTreeMap<PathBuf, Arc<Vec<u8>>>,
}

#[derive(Debug)]
pub struct MemoryObject {
    bytes: Arc<Vec<u8>>,
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    pub fn insert(&mut self, location: impl Into<PathBuf>, bytes: Vec<u8>) {
        self.objects.insert(location.into(), Arc::new(bytes));
    }

    fn missing(location: &Path) -> QuarryError {
        QuarryError::io(
            location,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"),
        )
    }
}

impl Storage for MemoryStorage {
    fn entry(&self, location: &Path) -> Result<Entry> {
        if let Some(b) = self.objects.get(location) {
            return Ok(Entry::File {
                size: b.len() as u64,
            });
        }
        if self.objects.keys().any(|k| k.starts_with(location)) {
            return Ok(Entry::Directory);
        }
        Err(MemoryStorage::missing(location))
    }

    fn list(&self, location: &Path) -> Result<Vec<PathBuf>> {
        Ok(self
            .objects
            .keys()
            .filter(|k| k.parent() == Some(location))
            .cloned()
            .collect())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>> {
        let pat = glob::Pattern::new(pattern).map_err(|e| QuarryError::BadGlob {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        Ok(self
            .objects
            .keys()
            .filter(|k| pat.matches_path(k))
            .cloned()
            .collect())
    }

    fn open(&self, location: &Path) -> Result<Arc<dyn ByteSource>> {
        let bytes = self
            .objects
            .get(location)
            .cloned()
            .ok_or_else(|| MemoryStorage::missing(location))?;
        Ok(Arc::new(MemoryObject { bytes }))
    }
}

impl ByteSource for MemoryObject {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset as usize).min(self.bytes.len());
        let n = dst.len().min(self.bytes.len() - start);
        dst[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn modified(&self) -> Option<SystemTime> {
        None
    }

    fn polars_reader(&self) -> std::io::Result<Box<dyn MmapBytesReader>> {
        Ok(Box::new(std::io::Cursor::new(self.bytes.as_ref().clone())))
    }
}
