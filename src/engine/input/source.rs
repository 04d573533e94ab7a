//! An opened source: its files, format, dialect, schema and partitions.
//! `open` builds one; `read` reads its partitions.

use std::fmt;
use std::path::PathBuf;

use polars::prelude::*;

use crate::engine::error::Result;
use crate::engine::input::dialect::CsvDialect;
use crate::engine::input::file::SourceFile;
use crate::engine::input::records::Grammar;
use crate::engine::input::spec::{format_bytes, Format, RecordSeparator, SourceSpec};

/// One unit of work: the records of one file whose first byte lies in one
/// block, a run of Parquet row groups, or a whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub index: usize,
    pub file: usize,
    pub kind: PartitionKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionKind {
    /// Block `block` of a text file: `[block * blocksize, (block+1) * blocksize)`,
    /// snapped to record starts when read.
    Block { block: usize, last: bool },
    /// Parquet row groups `[start, end)`, rows `[row_offset, row_offset + rows)`.
    RowGroups {
        start: usize,
        end: usize,
        row_offset: usize,
        rows: usize,
    },
    /// The whole file (compressed text, Arrow IPC).
    Whole,
}

/// A file of a glob whose columns differ from the source's (see
/// `infer::drift`): what it holds, and how each partition of it is read.
#[derive(Debug, Clone)]
pub struct FileDrift {
    /// Index into `Source::files`.
    pub file: usize,
    /// The file's own columns, in its order, as inference read them there.
    pub own: Schema,
    /// The file's columns in its order with the source's dtypes: what a
    /// reader that goes by position (CSV) or by the file's own schema
    /// (Parquet, IPC) reads, before missing columns are added as nulls.
    /// `None` for NDJSON, whose reader goes by key.
    pub read_as: Option<SchemaRef>,
}

pub struct Source {
    pub spec: SourceSpec,
    pub format: Format,
    pub files: Vec<SourceFile>,
    pub csv: Option<CsvDialect>,
    /// The schema after dtype overrides: what every partition is read as.
    pub schema: SchemaRef,
    /// The inferred (or stored) schema before overrides.
    pub native_schema: SchemaRef,
    /// Columns whose dtype came from an override, not inference.
    pub overridden: Vec<String>,
    /// Why inference read a column as it did, where that is not what its
    /// values first suggest (`infer::LEADING_ZEROS`).
    pub inference_notes: std::collections::BTreeMap<String, String>,
    /// Numeric columns that also hold null spellings (`NA`, `-`, …): read
    /// as text, the spellings made null, then cast (`parse::null_tokens`).
    pub null_tokens: std::collections::BTreeMap<String, Vec<String>>,
    /// Columns whose values are all dates in another layout (`05/13/2014`):
    /// read as written, with a cast offered.
    pub date_layouts:
        std::collections::BTreeMap<String, crate::engine::input::infer::date_layouts::DateLayout>,
    /// Files whose columns differ from the source's (empty when all agree).
    pub drift: Vec<FileDrift>,
    pub partitions: Vec<Partition>,
    /// Per file: where its CSV header record ends (computed when first
    /// needed; see `header_end`).
    pub(super) header_ends: std::sync::Mutex<Vec<Option<u64>>>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.spec.path)
            .field("format", &self.format)
            .field("files", &self.files.len())
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

impl Source {
    /// A source of these files before inference: no schema, notes or
    /// partitions yet (`open` fills them in; inference over a group of a
    /// glob's files reads one as it stands).
    pub fn unread(
        spec: SourceSpec,
        format: Format,
        files: Vec<SourceFile>,
        csv: Option<CsvDialect>,
    ) -> Source {
        Source {
            spec,
            format,
            files,
            csv,
            schema: std::sync::Arc::new(Schema::default()),
            native_schema: std::sync::Arc::new(Schema::default()),
            overridden: Vec::new(),
            inference_notes: Default::default(),
            null_tokens: Default::default(),
            drift: Vec::new(),
            date_layouts: Default::default(),
            partitions: Vec::new(),
            header_ends: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// How file `file` differs from the source, if it does.
    pub fn drift_of(&self, file: usize) -> Option<&FileDrift> {
        self.drift.iter().find(|d| d.file == file)
    }

    /// The schema a reader that goes by position reads file `file` with:
    /// the source's, or the file's own columns with the source's dtypes.
    pub fn read_schema(&self, file: usize) -> &SchemaRef {
        self.drift_of(file)
            .and_then(|d| d.read_as.as_ref())
            .unwrap_or(&self.schema)
    }

    pub fn grammar(&self) -> Grammar {
        match self.format {
            Format::Csv | Format::Tsv => Grammar::Csv {
                quote: self.csv.as_ref().and_then(|d| d.quote),
            },
            Format::Ndjson => Grammar::Lines,
            Format::Text => match &self.spec.record_separator {
                RecordSeparator::Line => Grammar::Lines,
                RecordSeparator::Blank => Grammar::Blank,
                RecordSeparator::Custom(s) => Grammar::Separator(s.clone()),
            },
            Format::Parquet | Format::Ipc => Grammar::Lines,
        }
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Bytes fetched over the network for this source so far (reads the
    /// cache served are not counted; 0 for local files).
    pub fn bytes_fetched(&self) -> u64 {
        self.files.iter().map(|f| f.bytes_fetched()).sum()
    }

    pub fn file_path(&self, file: usize) -> &PathBuf {
        &self.files[file].path
    }

    /// The byte range `[start, end)` a block partition covers after snapping
    /// to record starts.
    pub fn byte_range(&self, p: &Partition) -> Result<(u64, u64)> {
        let PartitionKind::Block { block, .. } = p.kind else {
            return Ok((0, self.files[p.file].size));
        };
        let f = &self.files[p.file];
        let g = self.grammar();
        let start = f.record_start(&g, self.spec.blocksize, block)?;
        let end = f.record_start(&g, self.spec.blocksize, block + 1)?;
        // The header belongs to the first partition even when blank lines
        // before it push it past the first block (polars skips them).
        let header = self.header_end(p.file)?;
        let start = if block == 0 { start } else { start.max(header) };
        let end = end.max(header).max(start);
        Ok((start, end))
    }

    /// Per file, the record start of every block cut (empty for files read
    /// whole): a worker seeded with these reads partition k without
    /// resolving cuts 1..k itself (for quoted CSV that is a scan of
    /// everything before the partition).
    pub fn block_starts(&self) -> Result<Vec<Vec<u64>>> {
        let g = self.grammar();
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let blocks = self
                    .partitions
                    .iter()
                    .any(|p| p.file == i && matches!(p.kind, PartitionKind::Block { .. }));
                if blocks {
                    f.record_starts(&g, self.spec.blocksize)
                } else {
                    Ok(Vec::new())
                }
            })
            .collect()
    }

    /// Resolve the cuts of remote quoted CSV files on a guess from now on,
    /// instead of downloading each file twice (`SourceFile::guess_cuts`).
    /// Whether any file guesses: the run must then call
    /// [`check_guessed_cuts`](Self::check_guessed_cuts) before it trusts
    /// its result.
    pub fn guess_remote_cuts(&self) -> bool {
        let Grammar::Csv { quote: Some(_) } = self.grammar() else {
            return false;
        };
        let mut any = false;
        for f in self
            .files
            .iter()
            .filter(|f| f.is_remote() && !f.is_compressed())
        {
            f.guess_cuts(true);
            any = true;
        }
        any
    }

    /// Check every guessed cut resolved so far and stop guessing. `false`:
    /// one was wrong (a quoted field holds a line break after a cut); the
    /// cuts are cleared and will be resolved exactly, so what was read
    /// from them must be read again.
    pub fn check_guessed_cuts(&self) -> Result<bool> {
        let g = self.grammar();
        let mut all_right = true;
        for f in &self.files {
            all_right &= f.check_guessed_cuts(&g)?;
        }
        Ok(all_right)
    }

    /// Stop guessing and drop unchecked guesses unchecked (a cancelled run:
    /// checking them could mean reading what the cancel spared).
    pub fn forget_guessed_cuts(&self) {
        for f in &self.files {
            f.forget_guessed_cuts();
        }
    }

    /// Adopt cuts resolved by [`block_starts`] on the same files.
    pub fn seed_block_starts(&self, starts: &[Vec<u64>]) {
        for (f, s) in self.files.iter().zip(starts) {
            if !s.is_empty() {
                f.seed_record_starts(s);
            }
        }
    }

    /// Where file `file`'s CSV header record ends: after a BOM and leading
    /// blank lines (and, with more than one column, leading spaces), as
    /// polars finds it. 0 when there is no header.
    fn header_end(&self, file: usize) -> Result<u64> {
        let Some(d) = self.csv.as_ref().filter(|d| d.has_header) else {
            return Ok(0);
        };
        if let Some(Some(e)) = self.header_ends.lock().unwrap().get(file) {
            return Ok(*e);
        }
        let f = &self.files[file];
        let g = self.grammar();
        let mut len: u64 = 64 * 1024;
        let end = loop {
            let data = f.read_range(0, len.min(f.size))?;
            let mut i = if data.starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            };
            // Blank lines always; spaces and tabs too when there is more
            // than one column (fuzzing checked both against polars).
            let wide = self.native_schema.len() > 1;
            while i < data.len()
                && (matches!(data[i], b'\r' | b'\n')
                    || (wide && matches!(data[i], b' ' | b'\t') && data[i] != d.delimiter))
            {
                i += 1;
            }
            let found = if i < data.len() {
                g.next_record_start(&data[i..], 1, Some(data[i]) == d.quote)
                    .filter(|e| i + e < data.len() || len >= f.size)
            } else {
                None
            };
            match found {
                Some(e) => break (i + e) as u64,
                None if len >= f.size => break f.size,
                None => len = len.saturating_mul(4),
            }
        };
        let mut ends = self.header_ends.lock().unwrap();
        if ends.len() <= file {
            ends.resize(file + 1, None);
        }
        ends[file] = Some(end);
        Ok(end)
    }

    /// What partition `index` covers: its file and byte range (before the
    /// cut snaps to a record start) or row groups.
    pub fn describe_partition(&self, index: usize) -> String {
        let Some(p) = self.partitions.get(index) else {
            return format!("partition {index}");
        };
        let f = &self.files[p.file];
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.path.display().to_string());
        match &p.kind {
            PartitionKind::Block { block, .. } => {
                let start = *block as u64 * self.spec.blocksize;
                let end = (start + self.spec.blocksize).min(f.size);
                format!("{name} bytes {}–{}", format_bytes(start), format_bytes(end))
            }
            PartitionKind::RowGroups {
                start,
                end,
                row_offset,
                rows,
            } => format!(
                "{name} row groups {start}–{} (rows {row_offset}–{})",
                end.saturating_sub(1),
                row_offset + rows
            ),
            PartitionKind::Whole => format!("{name} (whole file)"),
        }
    }

    /// One line describing the source, as the UI and `schema` show it.
    /// Remote reads in flight give up as soon as `flag` is set (a job's
    /// cancel flag), so a cancel does not wait for a large range to arrive;
    /// `None` when the job is over.
    pub fn stop_reads_when(&self, flag: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>) {
        for f in &self.files {
            f.stop_when(flag.clone());
        }
    }

    pub fn describe(&self) -> String {
        // A remote source names its store and counts objects, not files.
        let store = crate::engine::input::storage::remote::url::RemoteUrl::parse(&self.spec.path)
            .and_then(|u| u.ok())
            .map(|u| u.scheme.name());
        let files = match (self.files.len(), store) {
            (1, None) => self.files[0].path.display().to_string(),
            (1, Some(store)) => format!("{} ({store})", self.files[0].path.display()),
            (n, None) => format!("{n} files ({})", self.spec.path),
            (n, Some(store)) => format!("{n} objects in {store} ({})", self.spec.path),
        };
        let compressed = self.files.iter().filter(|f| f.is_compressed()).count();
        let how = match self.format {
            Format::Parquet => "row groups".to_string(),
            Format::Ipc => "one per file".to_string(),
            _ if compressed == self.files.len() => "compressed: one per file".to_string(),
            _ => format!("blocksize {}", format_bytes(self.spec.blocksize)),
        };
        format!(
            "{files} · {} · {} · {} partitions ({how})",
            self.format,
            format_bytes(self.total_bytes()),
            self.partitions.len()
        )
    }
}
