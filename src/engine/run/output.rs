//! Writing results, always atomically: into a temp name in the target's
//! directory, renamed into place only when complete. A failed or cancelled
//! job leaves nothing behind.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::storage::remote::options::StoreOptions;
use crate::engine::input::storage::remote::url::is_remote;
use crate::engine::run::atomic::Pending;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Parquet,
    Csv,
    Ndjson,
    Ipc,
}

impl OutFormat {
    pub fn from_path(path: &Path) -> Option<OutFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "parquet" | "pq" => OutFormat::Parquet,
            "csv" => OutFormat::Csv,
            "ndjson" | "jsonl" | "json" => OutFormat::Ndjson,
            "arrow" | "ipc" | "feather" => OutFormat::Ipc,
            _ => return None,
        })
    }

    pub fn ext(self) -> &'static str {
        match self {
            OutFormat::Parquet => "parquet",
            OutFormat::Csv => "csv",
            OutFormat::Ndjson => "ndjson",
            OutFormat::Ipc => "arrow",
        }
    }
}

/// Where a result goes: one file, or a directory of parts.
#[derive(Debug, Clone)]
pub struct OutputTarget {
    pub path: PathBuf,
    pub format: OutFormat,
    pub directory: bool,
    /// A remote target (`s3://…`): how to reach its store. The result is
    /// staged in the cache directory and uploaded when complete.
    pub remote: Option<StoreOptions>,
}

impl OutputTarget {
    /// `out.parquet|csv|ndjson|arrow` is a file; `out/` (or an existing
    /// directory) is a directory of parquet parts.
    pub fn parse(path: &str) -> Result<OutputTarget> {
        let p = PathBuf::from(path);
        let remote = is_remote(path).then(StoreOptions::default);
        let is_dir = path.ends_with('/') || (remote.is_none() && p.is_dir());
        if is_dir {
            return Ok(OutputTarget {
                path: PathBuf::from(path.trim_end_matches('/')),
                format: OutFormat::Parquet,
                directory: true,
                remote,
            });
        }
        let format = OutFormat::from_path(&p).ok_or_else(|| {
            QuarryError::Usage(format!(
                "cannot tell the output format of `{path}`: name it .parquet, .csv, .ndjson or .arrow, or end it with / for a directory of parts"
            ))
        })?;
        Ok(OutputTarget {
            path: p,
            format,
            directory: false,
            remote,
        })
    }

    /// Reach a remote target's store with `options` (a source's endpoint
    /// and signing); no effect on a local target.
    pub fn with_store(mut self, options: &StoreOptions) -> OutputTarget {
        if self.remote.is_some() {
            self.remote = Some(options.clone());
        }
        self
    }

    /// Where the result is written before it is moved or uploaded: beside
    /// a local target, in the cache directory for a remote one.
    fn staging_path(&self) -> Result<PathBuf> {
        if self.remote.is_none() {
            return Ok(self.path.clone());
        }
        let dir = crate::engine::run::persist::cache_root().join("uploads");
        std::fs::create_dir_all(&dir).map_err(|e| QuarryError::io(&dir, e))?;
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("output")
            .to_string();
        Ok(dir.join(name))
    }
}

fn io_err(path: &Path, e: std::io::Error) -> QuarryError {
    QuarryError::io(path, e)
}

fn pl_err(path: &Path, e: PolarsError) -> QuarryError {
    QuarryError::Engine(format!("writing {}: {e}", path.display()))
}

/// Write one frame to `path` in `format` (not atomic by itself).
/// Write a part file of a directory output (the directory itself is
/// the pending, temporary one).
fn write_frame(path: &Path, format: OutFormat, df: &mut DataFrame) -> Result<()> {
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    write_frame_to(file, path, format, df)
}

fn write_frame_to(file: File, path: &Path, format: OutFormat, df: &mut DataFrame) -> Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, file);
    match format {
        OutFormat::Parquet => {
            ParquetWriter::new(&mut w)
                .finish(df)
                .map_err(|e| pl_err(path, e))?;
        }
        OutFormat::Csv => {
            let mut flat = crate::engine::frames::nested_as_json_text(df.clone())?;
            CsvWriter::new(&mut w)
                .include_header(true)
                .finish(&mut flat)
                .map_err(|e| pl_err(path, e))?
        }
        OutFormat::Ndjson => JsonWriter::new(&mut w)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)
            .map_err(|e| pl_err(path, e))?,
        OutFormat::Ipc => IpcWriter::new(&mut w)
            .finish(df)
            .map_err(|e| pl_err(path, e))?,
    }
    let file = w.into_inner().map_err(|e| io_err(path, e.into_error()))?;
    file.sync_all().map_err(|e| io_err(path, e))
}

/// Write a whole result atomically.
pub fn write_result(target: &OutputTarget, df: &mut DataFrame) -> Result<()> {
    let mut sink = PartSink::create(target, u64::MAX)?;
    sink.push(0, df.clone())?;
    sink.finish()
}

/// Receives map outputs (possibly out of order), writes them in partition
/// order, and on `finish` renames the result into place. Dropping an
/// unfinished sink removes everything it wrote.
pub struct PartSink {
    target: OutputTarget,
    /// Asked between uploaded parts of a remote output.
    cancelled: Option<Box<dyn Fn() -> bool + Send>>,
    /// The file or directory being written under a temporary name.
    out: Pending,
    next: usize,
    pending: BTreeMap<usize, DataFrame>,
    state: SinkState,
    /// Directory mode: parts are coalesced up to this many bytes.
    part_bytes: u64,
}

enum SinkState {
    File(Option<Box<FileWriter>>),
    Dir {
        buffer: Vec<DataFrame>,
        buffered: u64,
        parts: usize,
    },
}

// Held once per output, behind a Box: variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum FileWriter {
    Parquet(polars::io::parquet::write::BatchedWriter<BufWriter<File>>),
    Csv(polars::io::csv::write::BatchedWriter<BufWriter<File>>),
    Ndjson(BufWriter<File>),
    Ipc(polars::io::ipc::BatchedWriter<BufWriter<File>>),
}

impl PartSink {
    pub fn create(target: &OutputTarget, part_bytes: u64) -> Result<PartSink> {
        let staging = target.staging_path()?;
        if let Some(parent) = target.path.parent().filter(|_| target.remote.is_none()) {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                return Err(QuarryError::Usage(format!(
                    "the output directory {} does not exist",
                    parent.display()
                )));
            }
        }
        let out = if target.directory {
            Pending::dir(&staging)?
        } else {
            Pending::file(&staging)
        };
        let state = if target.directory {
            SinkState::Dir {
                buffer: Vec::new(),
                buffered: 0,
                parts: 0,
            }
        } else {
            SinkState::File(None)
        };
        Ok(PartSink {
            target: target.clone(),
            cancelled: None,
            out,
            next: 0,
            pending: BTreeMap::new(),
            state,
            part_bytes: part_bytes.max(1),
        })
    }

    /// Discard everything written so far and start the same output again
    /// (the job reads its partitions again).
    pub fn restart(mut self) -> Result<PartSink> {
        let target = self.target.clone();
        let part_bytes = self.part_bytes;
        let cancelled = self.cancelled.take();
        // The old temporary name is removed before the new one is made.
        drop(self);
        let mut fresh = PartSink::create(&target, part_bytes)?;
        fresh.cancelled = cancelled;
        Ok(fresh)
    }

    /// Ask `cancelled` between the parts of a remote upload, and abort the
    /// upload when it says so.
    pub fn cancel_with(mut self, cancelled: impl Fn() -> bool + Send + 'static) -> PartSink {
        self.cancelled = Some(Box::new(cancelled));
        self
    }

    /// Hand over partition `index`'s output. Partitions are written in order.
    pub fn push(&mut self, index: usize, df: DataFrame) -> Result<()> {
        self.pending.insert(index, df);
        while let Some(df) = self.pending.remove(&self.next) {
            self.write_in_order(df)?;
            self.next += 1;
        }
        Ok(())
    }

    fn write_in_order(&mut self, mut df: DataFrame) -> Result<()> {
        if df.width() == 0 {
            return Ok(());
        }
        // Batched writers need every column chunked alike.
        df.rechunk_mut();
        // A writer bug must fail this job, not abort the process.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.write_rechunked(df)))
            .unwrap_or_else(|_| {
                Err(QuarryError::Engine(format!(
                    "writing {} failed inside the writer",
                    self.target.path.display()
                )))
            })
    }

    fn write_rechunked(&mut self, mut df: DataFrame) -> Result<()> {
        let tmp = self.out.temp_path().to_path_buf();
        let format = self.target.format;
        if format == OutFormat::Csv {
            df = crate::engine::frames::nested_as_json_text(df)?;
        }
        match &mut self.state {
            SinkState::File(w) => {
                if w.is_none() {
                    let file = self.out.create()?;
                    let bw = BufWriter::with_capacity(1 << 20, file);
                    let schema = df.schema().as_ref().clone();
                    *w = Some(Box::new(match format {
                        OutFormat::Parquet => FileWriter::Parquet(
                            ParquetWriter::new(bw)
                                .batched(&schema)
                                .map_err(|e| pl_err(&tmp, e))?,
                        ),
                        OutFormat::Csv => FileWriter::Csv(
                            CsvWriter::new(bw)
                                .include_header(true)
                                .batched(&schema)
                                .map_err(|e| pl_err(&tmp, e))?,
                        ),
                        OutFormat::Ndjson => FileWriter::Ndjson(bw),
                        OutFormat::Ipc => {
                            let arrow = schema.to_arrow(CompatLevel::newest());
                            let fields = polars_arrow::io::ipc::write::default_ipc_fields(
                                arrow.iter_values(),
                            );
                            FileWriter::Ipc(
                                IpcWriter::new(bw)
                                    .batched(&schema, fields)
                                    .map_err(|e| pl_err(&tmp, e))?,
                            )
                        }
                    }));
                }
                match w.as_deref_mut().expect("writer") {
                    FileWriter::Parquet(b) => b.write_batch(&df).map_err(|e| pl_err(&tmp, e))?,
                    FileWriter::Csv(b) => b.write_batch(&df).map_err(|e| pl_err(&tmp, e))?,
                    FileWriter::Ipc(b) => b.write_batch(&df).map_err(|e| pl_err(&tmp, e))?,
                    FileWriter::Ndjson(f) => JsonWriter::new(f)
                        .with_json_format(JsonFormat::JsonLines)
                        .finish(&mut df)
                        .map_err(|e| pl_err(&tmp, e))?,
                }
            }
            SinkState::Dir {
                buffer, buffered, ..
            } => {
                *buffered += df.estimated_size() as u64;
                buffer.push(df);
                if *buffered >= self.part_bytes {
                    self.flush_part()?;
                }
            }
        }
        Ok(())
    }

    /// Directory mode: write the buffered outputs as one part, so selective
    /// filters do not leave one tiny file per input partition.
    fn flush_part(&mut self) -> Result<()> {
        let SinkState::Dir {
            buffer,
            buffered,
            parts,
        } = &mut self.state
        else {
            return Ok(());
        };
        if buffer.is_empty() {
            return Ok(());
        }
        let mut df = crate::engine::frames::concat_frames(std::mem::take(buffer))?;
        *buffered = 0;
        let path =
            self.out
                .temp_path()
                .join(format!("part-{:05}.{}", *parts, self.target.format.ext()));
        *parts += 1;
        write_frame(&path, self.target.format, &mut df)
    }

    /// Complete the output and move it into place.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            return Err(QuarryError::Engine(format!(
                "internal: output finished with partitions {:?} missing",
                self.pending.keys().take(5).collect::<Vec<_>>()
            )));
        }
        let tmp = self.out.temp_path().to_path_buf();
        match &mut self.state {
            SinkState::File(w) => {
                let file = match w.take().map(|b| *b) {
                    None => {
                        // No rows and no schema: write an empty file of the format.
                        let file = self.out.create()?;
                        write_frame_to(file, &tmp, self.target.format, &mut DataFrame::empty())?;
                        None
                    }
                    Some(FileWriter::Parquet(b)) => {
                        b.finish().map_err(|e| pl_err(&tmp, e))?;
                        None
                    }
                    Some(FileWriter::Csv(mut b)) => {
                        b.finish().map_err(|e| pl_err(&tmp, e))?;
                        None
                    }
                    Some(FileWriter::Ipc(mut b)) => {
                        b.finish().map_err(|e| pl_err(&tmp, e))?;
                        None
                    }
                    Some(FileWriter::Ndjson(f)) => Some(f),
                };
                if let Some(mut f) = file {
                    f.flush().map_err(|e| io_err(&tmp, e))?;
                }
            }
            SinkState::Dir { .. } => self.flush_part()?,
        }
        let Some(options) = self.target.remote.clone() else {
            return self.out.commit();
        };
        // Upload from the temporary name; it is removed either way when
        // `out` drops, and the object appears only on completion.
        let url = self.target.path.to_string_lossy().into_owned();
        let never = || false;
        let cancelled: &dyn Fn() -> bool = match &self.cancelled {
            Some(f) => f.as_ref(),
            None => &never,
        };
        if self.target.directory {
            crate::engine::run::upload::upload_dir(&tmp, &url, &options, cancelled)
        } else {
            crate::engine::run::upload::upload_file(&tmp, &url, &options, cancelled)
        }
    }
}
