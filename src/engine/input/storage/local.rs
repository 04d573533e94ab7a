//! The local filesystem: positioned reads with `pread` (never mmap, so a
//! file truncated under us is an error and not a SIGBUS).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use polars::io::mmap::MmapBytesReader;

use super::{ByteSource, Entry, Storage};
use crate::engine::error::{QuarryError, Result};

#[derive(Debug, Clone, Copy, Default)]
pub struct LocalStorage;

#[derive(Debug)]
pub struct LocalFile {
    path: PathBuf,
    file: File,
    size: u64,
    modified: Option<SystemTime>,
}

impl Storage for LocalStorage {
    fn entry(&self, location: &Path) -> Result<Entry> {
        let meta = std::fs::metadata(location).map_err(|e| QuarryError::io(location, e))?;
        Ok(if meta.is_dir() {
            Entry::Directory
        } else if meta.is_file() {
            Entry::File { size: meta.len() }
        } else {
            Entry::Other
        })
    }

    fn list(&self, location: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(location).map_err(|e| QuarryError::io(location, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| QuarryError::io(location, e))?;
            let child = entry.path();
            // Links are followed: a link to a file is a file.
            if std::fs::metadata(&child).is_ok_and(|m| m.is_file()) {
                out.push(child);
            }
        }
        Ok(out)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>> {
        let paths = glob::glob(pattern).map_err(|e| QuarryError::BadGlob {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        let mut files = Vec::new();
        for entry in paths {
            match entry {
                Ok(p) if p.is_file() => files.push(p),
                Ok(_) => {}
                Err(e) => {
                    let path = e.path().to_path_buf();
                    return Err(QuarryError::io(path, e.into()));
                }
            }
        }
        Ok(files)
    }

    fn open(&self, location: &Path) -> Result<Arc<dyn ByteSource>> {
        let file = File::open(location).map_err(|e| QuarryError::io(location, e))?;
        let meta = file.metadata().map_err(|e| QuarryError::io(location, e))?;
        if meta.is_dir() {
            return Err(QuarryError::Usage(format!(
                "{} is a directory inside a file list",
                location.display()
            )));
        }
        if !meta.is_file() {
            return Err(QuarryError::Usage(format!(
                "{} is not a regular file (a FIFO or device?); quarry needs a file it can seek in. Copy it to a file first.",
                location.display()
            )));
        }
        Ok(Arc::new(LocalFile {
            path: location.to_path_buf(),
            file,
            size: meta.len(),
            modified: meta.modified().ok(),
        }))
    }
}

impl ByteSource for LocalFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        self.file.read_at(dst, offset)
    }

    fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    fn polars_reader(&self) -> std::io::Result<Box<dyn MmapBytesReader>> {
        // A fresh handle: its own cursor, and polars maps it.
        Ok(Box::new(File::open(&self.path)?))
    }
}
