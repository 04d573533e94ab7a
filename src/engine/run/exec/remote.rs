//! Tasks that run in another process, on another machine that shares the
//! filesystem (a Dask worker): the job description the driver writes to a
//! scratch directory, the task outputs kept there as Arrow IPC, and
//! `quarry exec-task DIR TASK`, which runs one task of that job.
//!
//! The worker re-plans the job from the same recipe and options, so it
//! computes exactly what the local executor would; a fingerprint of the
//! plan (partitions, bytes, schema) guards against inputs that changed in
//! between.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::error::Fix;
use crate::engine::error::{QuarryError, Result};
use crate::engine::input::spec::dtype_name;
use crate::engine::input::storage::remote::options::StoreOptions;
use crate::engine::plan::graph::StageKind;
use crate::engine::recipe::{Recipe, SourceConfig};
use crate::engine::run::exec::scratch_store::ScratchStore;
use crate::engine::run::job::{Job, JobOptions};

pub const JOB_FILE: &str = "job.json";
/// Created by the driver when it cancels: running tasks stop.
pub const CANCEL_FILE: &str = "CANCEL";

/// What a worker needs to re-plan the job.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobSpec {
    /// The recipe with its source as the driver resolved it (absolute path,
    /// blocksize and dtypes explicit).
    pub recipe: Recipe,
    /// Absolute: relative paths in join sources resolve against it.
    pub base: PathBuf,
    pub options: JobOptions,
    pub check: Fingerprint,
    /// Record starts at every block cut, per file, as the driver resolved
    /// them (see `Source::block_starts`).
    pub block_starts: Vec<Vec<u64>>,
    /// Where the driver keeps the partitions of a `persist` step: workers
    /// keep theirs there too (on a shared filesystem, the driver's later
    /// previews and runs start from them), not in their own cache.
    #[serde(default)]
    pub persist_dir: Option<PathBuf>,
}

/// Enough of the driver's plan to notice a worker that sees other data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub tasks: usize,
    pub partitions: usize,
    pub bytes: u64,
    pub schema: Vec<(String, String)>,
}

impl Fingerprint {
    pub fn of(job: &Job) -> Fingerprint {
        Fingerprint {
            tasks: job.graph.tasks.len(),
            partitions: job.source.partitions.len(),
            bytes: job.source.total_bytes(),
            schema: job
                .source
                .schema
                .iter()
                .map(|(n, d)| (n.to_string(), dtype_name(d)))
                .collect(),
        }
    }
}

impl JobSpec {
    pub fn of(job: &Job) -> Result<JobSpec> {
        let base = absolute(&job.base)?;
        let mut spec = job.source.spec.clone();
        // A remote source is the same URL everywhere; a local one is made
        // absolute so a worker in another directory finds it.
        if !crate::engine::input::storage::remote::url::is_remote(&spec.path) {
            spec.path = absolute(Path::new(&spec.path))?
                .to_string_lossy()
                .into_owned();
        }
        let mut recipe = job.recipe.clone();
        recipe.source = SourceConfig::from_spec(&spec);
        let mut options = job.options.clone();
        options.blocksize = Some(spec.blocksize);
        Ok(JobSpec {
            recipe,
            base,
            options,
            check: Fingerprint::of(job),
            block_starts: job.source.block_starts()?,
            persist_dir: job.persist.as_ref().map(|p| absolute(&p.dir)).transpose()?,
        })
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    // A recipe in the current directory has an empty base.
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::path::absolute(p).map_err(|e| QuarryError::io(p, e))
}

/// What `exec-task` prints as its last stdout line on success.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskReport {
    pub rows_in: u64,
    pub rows_out: u64,
    pub elapsed_ms: u64,
}

/// What `exec-task` prints as its last stdout line on failure (exit 1).
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskFailure {
    pub error: String,
    #[serde(default)]
    pub fix: Option<Fix>,
    /// Worth running again (an I/O error); a data error fails every time.
    #[serde(default)]
    pub retryable: bool,
}

impl TaskFailure {
    pub fn of(e: &QuarryError) -> TaskFailure {
        TaskFailure {
            error: e.to_string(),
            fix: e.fix(),
            retryable: matches!(e, QuarryError::Io { .. }),
        }
    }
}

/// Run task `task` of the job described in scratch space `dir` (a
/// directory, or a store prefix reached with `options`), writing its output
/// there.
pub fn exec_task(dir: &str, task: usize, options: &StoreOptions) -> Result<TaskReport> {
    let t0 = Instant::now();
    let scratch = ScratchStore::open(dir, options)?;
    let bytes = scratch.read(JOB_FILE)?;
    let spec: JobSpec = serde_json::from_slice(&bytes).map_err(|e| {
        QuarryError::Usage(format!(
            "{}/{JOB_FILE}: not a job description this quarry understands ({e}).\nThe worker's quarry must be the same version as the driver's (--worker-binary).",
            scratch.location()
        ))
    })?;
    let mut job = Job::prepare(spec.recipe, &spec.base, &spec.options)?;
    // The driver's persist directory, when this worker sees it (a shared
    // filesystem); otherwise the worker keeps its own.
    if let (Some(store), Some(dir)) = (job.persist.as_mut(), spec.persist_dir) {
        if dir.is_dir() {
            store.dir = dir;
        }
    }
    let seen = Fingerprint::of(&job);
    if seen != spec.check {
        return Err(QuarryError::Usage(format!(
            "the worker plans this job differently from the driver (driver: {} tasks, {} partitions, {} bytes; worker: {} tasks, {} partitions, {} bytes{}).\n\
             The input changed since the job started, or the worker sees other files at the same path: run it again, and check that the data is on a filesystem every worker shares.",
            spec.check.tasks,
            spec.check.partitions,
            spec.check.bytes,
            seen.tasks,
            seen.partitions,
            seen.bytes,
            if seen.schema != spec.check.schema { ", another schema" } else { "" }
        )));
    }
    job.source.seed_block_starts(&spec.block_starts);
    let Some(t) = job.graph.tasks.get(task) else {
        return Err(QuarryError::Usage(format!(
            "task {task} is not in this job (it has {} tasks)",
            job.graph.tasks.len()
        )));
    };
    let out = match t.partition {
        Some(p) if job.graph.stages[t.stage].kind == StageKind::Map => job.run_map(p)?,
        _ => {
            let inputs = t
                .deps
                .iter()
                .map(|&d| read_frame(&scratch, d))
                .collect::<Result<Vec<_>>>()?;
            job.run_reduce(task, inputs)?
        }
    };
    let mut frame = out.frame;
    write_frame(&scratch, task, &mut frame)?;
    Ok(TaskReport {
        rows_in: out.rows_in as u64,
        rows_out: frame.height() as u64,
        elapsed_ms: t0.elapsed().as_millis() as u64,
    })
}

/// The name of task `task`'s output in the scratch space.
pub fn output_name(task: usize) -> String {
    format!("t{task:06}.arrow")
}

/// Task `task`'s output, from the scratch space.
pub fn read_frame(scratch: &ScratchStore, task: usize) -> Result<DataFrame> {
    let name = output_name(task);
    let bytes = scratch.read(&name)?;
    IpcReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| {
            QuarryError::Engine(format!(
                "reading task output {}/{name}: {e}",
                scratch.location()
            ))
        })
}

/// Write task `task`'s output to the scratch space, whole or not at all: a
/// task that is retried, or orphaned by a lost worker and still running,
/// never leaves a torn file, and two copies of a task write the same bytes.
pub fn write_frame(scratch: &ScratchStore, task: usize, frame: &mut DataFrame) -> Result<()> {
    frame.rechunk_mut();
    let mut bytes = Vec::new();
    IpcWriter::new(&mut bytes)
        .finish(frame)
        .map_err(|e| QuarryError::Engine(format!("encoding task output {task}: {e}")))?;
    scratch.write(&output_name(task), bytes)
}

/// A job's scratch space: an owner-only directory, or a prefix in a store;
/// removed when dropped unless kept.
pub struct Scratch {
    /// Where it is: a directory, or the prefix's URL.
    pub dir: PathBuf,
    pub store: ScratchStore,
    pub keep: bool,
}

impl Scratch {
    /// Create `root/quarry-HOST-PID-NANOS/` and write the job description.
    /// A `root` URL (`s3://bucket/prefix`) puts it in that store, reached
    /// with `options`.
    pub fn create(root: &Path, job: &Job, keep: bool, options: &StoreOptions) -> Result<Scratch> {
        let spec = JobSpec::of(job)?;
        let text = serde_json::to_string(&spec)
            .map_err(|e| QuarryError::Engine(format!("cannot describe the job: {e}")))?;
        let root_text = root.to_string_lossy();
        if crate::engine::input::storage::remote::url::is_remote(&root_text) {
            let location = format!("{}/quarry-{}", root_text.trim_end_matches('/'), unique_id());
            let store = ScratchStore::open(&location, options)?;
            store.write(JOB_FILE, text.into_bytes())?;
            return Ok(Scratch {
                dir: PathBuf::from(location),
                store,
                keep,
            });
        }
        use std::os::unix::fs::DirBuilderExt;
        let root = absolute(root)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| QuarryError::io(&root, e))?;
        let dir = root.join(format!("quarry-{}", unique_id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| QuarryError::io(&dir, e))?;
        let scratch = Scratch {
            store: ScratchStore::Local(dir.clone()),
            dir,
            keep,
        };
        // Workers keep a persist step's partitions in the driver's persist
        // directory when they see it (a shared filesystem): it must exist.
        if let Some(p) = &job.persist {
            std::fs::create_dir_all(&p.dir).map_err(|e| QuarryError::io(&p.dir, e))?;
        }
        let path = scratch.dir.join(JOB_FILE);
        std::fs::write(&path, text).map_err(|e| QuarryError::io(&path, e))?;
        Ok(scratch)
    }

    /// Tell running tasks to stop (they poll for this file).
    pub fn mark_cancelled(&self) {
        let _ = self.store.write(CANCEL_FILE, Vec::new());
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if self.store.is_remote() {
            self.store.remove_all_remote();
            return;
        }
        // A task orphaned by a lost bridge or worker may still be writing
        // its output here: a file created between listing the directory and
        // removing it fails the removal (not empty). Try again briefly; once
        // the directory is gone such a task fails to write and stops.
        for _ in 0..50 {
            if std::fs::remove_dir_all(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Unique across the machines of a cluster and the jobs of one process:
/// Dask task keys are global on a shared scheduler.
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let host = crate::engine::run::atomic::hostname();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{host}-{}-{nanos:x}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}
