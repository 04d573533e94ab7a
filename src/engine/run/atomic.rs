//! Writing files and directories so that nobody ever sees half of one: the
//! content goes to a temporary name in the same directory (same
//! filesystem, so the rename is atomic), is synced, and only then renamed
//! to its final name. Until then an existing file under that name is left
//! as it was; a failure, a cancel or a drop removes the temporary.
//!
//! Every writer of the project goes through here: outputs, persisted
//! partitions, task results on shared storage, saved recipes, demo data.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::error::{QuarryError, Result};

/// A file or directory being written under a temporary name.
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    path: PathBuf,
    kind: Kind,
    committed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// A temporary name beside `path`, unique across processes, threads and
/// hosts sharing a filesystem (a retried or orphaned Dask task may write
/// the same output from another machine at the same moment).
fn temp_name(path: &Path) -> PathBuf {
    // Distinguishes writers within one process; the pid and host, across.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    path.with_file_name(format!(
        ".{name}.{}.{}.{}.quarry-tmp",
        hostname(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// This machine's name (for temporary names on shared filesystems).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

impl Pending {
    /// A file that will appear at `path` on [`commit`](Pending::commit).
    pub fn file(path: &Path) -> Pending {
        Pending {
            tmp: temp_name(path),
            path: path.to_path_buf(),
            kind: Kind::File,
            committed: false,
        }
    }

    /// A directory that will appear at `path`, created empty now under its
    /// temporary name.
    pub fn dir(path: &Path) -> Result<Pending> {
        let p = Pending {
            tmp: temp_name(path),
            path: path.to_path_buf(),
            kind: Kind::Dir,
            committed: false,
        };
        std::fs::create_dir(&p.tmp).map_err(|e| QuarryError::io(&p.tmp, e))?;
        Ok(p)
    }

    /// Where the content is written until the commit.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The final name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Create the temporary file; never opens an existing one (another
    /// writer's, or a link planted there).
    pub fn create(&self) -> Result<File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.tmp)
            .map_err(|e| QuarryError::io(&self.tmp, e))
    }

    /// Sync the content and move it to its final name. A directory replaces
    /// an existing one at that name (the old one is moved aside first, then
    /// removed).
    pub fn commit(mut self) -> Result<()> {
        match self.kind {
            Kind::File => {
                File::open(&self.tmp)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| QuarryError::io(&self.tmp, e))?;
                std::fs::rename(&self.tmp, &self.path)
                    .map_err(|e| QuarryError::io(&self.path, e))?;
            }
            Kind::Dir if self.path.exists() => {
                let old = temp_name(&self.path);
                std::fs::rename(&self.path, &old).map_err(|e| QuarryError::io(&self.path, e))?;
                if let Err(e) = std::fs::rename(&self.tmp, &self.path) {
                    // Put the old one back: the caller keeps what it had.
                    let _ = std::fs::rename(&old, &self.path);
                    return Err(QuarryError::io(&self.path, e));
                }
                let _ = std::fs::remove_dir_all(&old);
            }
            Kind::Dir => {
                std::fs::rename(&self.tmp, &self.path)
                    .map_err(|e| QuarryError::io(&self.path, e))?;
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let _ = match self.kind {
            Kind::File => std::fs::remove_file(&self.tmp),
            Kind::Dir => std::fs::remove_dir_all(&self.tmp),
        };
    }
}

/// Write a whole file at once: `fill` writes the content, then it is moved
/// into place. On any error nothing is left under either name.
pub fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let pending = Pending::file(path);
    let mut w = BufWriter::with_capacity(1 << 20, pending.create()?);
    fill(&mut w)
        .and_then(|_| w.flush())
        .map_err(|e| QuarryError::io(pending.temp_path(), e))?;
    drop(w);
    pending.commit()
}

/// Like [`write_file`], for content already in memory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("quarry-tmp"))
            .collect()
    }

    #[test]
    fn the_file_appears_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_file(&path, |w| {
            w.write_all(b"a,b\n")?;
            assert!(!path.exists(), "the final name exists before the commit");
            w.write_all(b"1,2\n")
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n1,2\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_nothing_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let err = write_file(&path, |w| {
            w.write_all(b"new, half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_crash_between_write_and_rename_leaves_no_file_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.parquet");
        let pending = Pending::file(&path);
        let mut f = pending.create().unwrap();
        f.write_all(b"complete content, never renamed").unwrap();
        f.sync_all().unwrap();
        // A process killed here runs no destructor.
        std::mem::forget(pending);
        assert!(!path.exists());
        assert_eq!(leftovers(dir.path()).len(), 1, "only the temporary exists");
    }

    #[test]
    fn a_dropped_pending_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.arrow");
        {
            let pending = Pending::file(&path);
            pending.create().unwrap().write_all(b"x").unwrap();
        }
        assert!(!path.exists());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn temporary_names_differ_and_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let a = Pending::file(&path);
        let b = Pending::file(&path);
        assert_ne!(a.temp_path(), b.temp_path());
        a.create().unwrap();
        // An existing file at the temporary name is not opened.
        std::fs::write(b.temp_path(), "planted").unwrap();
        assert!(b.create().is_err());
    }

    #[test]
    fn a_directory_replaces_the_old_one_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parts");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("old-part"), "old").unwrap();
        let pending = Pending::dir(&path).unwrap();
        std::fs::write(pending.temp_path().join("part-0"), "new").unwrap();
        assert!(path.join("old-part").exists());
        pending.commit().unwrap();
        assert!(!path.join("old-part").exists());
        assert_eq!(std::fs::read_to_string(path.join("part-0")).unwrap(), "new");
        assert!(leftovers(dir.path()).is_empty());
        // An abandoned directory disappears whole.
        let abandoned = Pending::dir(&dir.path().join("other")).unwrap();
        std::fs::write(abandoned.temp_path().join("p"), "x").unwrap();
        drop(abandoned);
        assert!(leftovers(dir.path()).is_empty());
        assert!(!dir.path().join("other").exists());
    }
}
