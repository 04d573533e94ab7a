//! Persisted partitions: the rows of every partition as of a `persist` step,
//! kept as Arrow IPC files in the cache directory. The key covers the source
//! files (path, size, modification time), how they are read, and the steps up
//! to the marker, so any change reads the source afresh.

use std::path::PathBuf;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::source::Source;
use crate::engine::recipe::Step;
use crate::engine::run::atomic::Pending;

/// Where persisted partitions of one prefix live.
#[derive(Debug, Clone)]
pub struct PersistStore {
    pub dir: PathBuf,
}

/// The cache root: `$QUARRY_CACHE_DIR`, else the platform cache directory.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("QUARRY_CACHE_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "quarry")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("quarry-cache"))
}

/// FNV-1a: stable across builds, unlike the std hasher.
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl PersistStore {
    /// The store for `source` read through `prefix` (the steps up to and
    /// including the persist marker).
    pub fn for_prefix(source: &Source, prefix: &[Step]) -> PersistStore {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for f in &source.files {
            let mtime = f
                .modified()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            h = fnv(f.path.to_string_lossy().as_bytes(), h);
            h = fnv(&f.size.to_le_bytes(), h);
            h = fnv(&mtime.to_le_bytes(), h);
        }
        h = fnv(format!("{:?}", source.spec).as_bytes(), h);
        h = fnv(format!("{:?}", source.schema).as_bytes(), h);
        for s in prefix {
            h = fnv(format!("{s:?}").as_bytes(), h);
        }
        PersistStore {
            dir: cache_root().join("persist").join(format!("{h:016x}")),
        }
    }

    fn part(&self, partition: usize) -> PathBuf {
        self.dir.join(format!("part-{partition:06}.arrow"))
    }

    pub fn has(&self, partition: usize) -> bool {
        self.part(partition).is_file()
    }

    pub fn load(&self, partition: usize) -> Result<DataFrame> {
        let path = self.part(partition);
        let file = std::fs::File::open(&path).map_err(|e| QuarryError::io(&path, e))?;
        IpcReader::new(file)
            .finish()
            .map_err(|e| QuarryError::Engine(format!("reading {}: {e}", path.display())))
    }

    /// Write atomically: a concurrent or interrupted run never leaves a torn part.
    pub fn save(&self, partition: usize, df: &mut DataFrame) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| QuarryError::io(&self.dir, e))?;
        let pending = Pending::file(&self.part(partition));
        let file = pending.create()?;
        df.rechunk_mut();
        IpcWriter::new(file).finish(df).map_err(|e| {
            QuarryError::Engine(format!("writing {}: {e}", pending.temp_path().display()))
        })?;
        pending.commit()
    }
}
