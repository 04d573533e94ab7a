//! User-facing errors. Every variant renders as a short paragraph that names
//! the problem and, where there is one, the fix. The CLI prints them and exits
//! with code 1; the TUI shows them in its status line.

use std::path::PathBuf;

pub type Result<T, E = QuarryError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum QuarryError {
    #[error("{path}: no such file or directory.\nCheck the path, or quote a glob so the shell does not expand it.")]
    NotFound { path: PathBuf },

    #[error("{path}: permission denied.\nquarry only reads its inputs; ask for read access (ls -l shows the mode) or copy the file somewhere readable.")]
    PermissionDenied { path: PathBuf },

    #[error("the pattern `{pattern}` matched no files.\nCheck the directory and the pattern (e.g. 'logs/2019-*.json', quoted).")]
    GlobEmpty { pattern: String },

    #[error("invalid glob pattern `{pattern}`: {reason}")]
    BadGlob { pattern: String, reason: String },

    #[error("{path}: the directory holds no data files.\nquarry looks for .csv .tsv .ndjson .jsonl .json .parquet .arrow .ipc .feather .txt (optionally .gz or .zst); name the files or pass --format.")]
    EmptyDirectory { path: PathBuf },

    #[error("{path}: cannot tell the format from the name.\nPass --format csv|tsv|ndjson|parquet|ipc|text (or `format = \"...\"` in the recipe's [source]).")]
    UnknownFormat { path: PathBuf },

    #[error("{path} and {other} have different formats ({a} vs {b}).\nA source reads one format; pass the files of one kind.")]
    MixedFormats {
        path: PathBuf,
        other: PathBuf,
        a: String,
        b: String,
    },

    #[error("{path} is empty (0 bytes): there is nothing to read.")]
    EmptyFile { path: PathBuf },

    #[error("{path} looks like a binary file (NUL byte at offset {offset}), not {format} text.\nIf it is Parquet or Arrow, name it with that extension or pass --format parquet|ipc.")]
    Binary {
        path: PathBuf,
        offset: u64,
        format: String,
    },

    #[error("{path}: invalid UTF-8 at line {line} (byte offset {offset}).\nThe file is not UTF-8 text. If it comes from Excel or an older Windows or ISO-8859 system, read it with --encoding windows-1252 (latin1); other encodings by their label (iso-8859-2, shift_jis, gbk, ...). --encoding utf8-lossy replaces bad bytes instead.")]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        offset: u64,
    },

    #[error("{path}: line {line} has {found} fields, but the header has {expected}.\nPartition {partition}, byte offset {offset}. The file is ragged or its quoting is broken; fix the line, or check the delimiter (--delimiter) and quote character.")]
    RaggedRow {
        path: PathBuf,
        partition: usize,
        line: u64,
        offset: u64,
        found: usize,
        expected: usize,
    },

    #[error("{0}")]
    DtypeMismatch(Box<DtypeMismatch>),

    #[error("{path}: not a valid {format} file ({detail}).\nThe file may be truncated or corrupt; re-create or re-download it.")]
    Corrupt {
        path: PathBuf,
        format: String,
        detail: String,
    },

    #[error("{path}: cannot decompress ({detail}).\nThe {codec} stream is truncated or corrupt.")]
    Decompress {
        path: PathBuf,
        codec: String,
        detail: String,
    },

    #[error("{0}")]
    Usage(String),

    #[error("{path}: {detail}")]
    Parse { path: PathBuf, detail: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Engine(String),

    /// A remote store's failure, already one paragraph: the URL, what the
    /// server said and the fix (`storage::remote::errors`).
    #[error("{0}")]
    Remote(String),

    /// A task's failure reported by another process (a Dask worker running
    /// `quarry exec-task`), with the repair it found, if any.
    #[error("{message}")]
    Task { message: String, fix: Option<Fix> },

    #[error("cancelled")]
    Cancelled,
}

/// A value that does not fit its column's dtype, located exactly.
#[derive(Debug)]
pub struct DtypeMismatch {
    pub path: PathBuf,
    pub partition: usize,
    pub partitions: usize,
    pub line: u64,
    pub offset: u64,
    pub column: String,
    pub dtype: String,
    pub value: String,
}

impl std::fmt::Display for DtypeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "column `{c}` has a value that does not fit its dtype {dt}: {v:?}\n  at {p}, partition {k} of {n}, line {l} (byte offset {o}).\nThe dtype was inferred from a sample of the file and this value appears later.\nFix: set the column's dtype, e.g. --dtype {c}=str (in a recipe: [source.dtypes] {c} = \"str\").",
            c = self.column,
            dt = self.dtype,
            v = self.value,
            p = self.path.display(),
            k = self.partition,
            n = self.partitions,
            l = self.line,
            o = self.offset,
        )
    }
}

impl QuarryError {
    /// The recipe change that repairs this error, when there is one.
    pub fn fix(&self) -> Option<Fix> {
        match self {
            QuarryError::DtypeMismatch(m) => Some(Fix::SetDtype {
                column: m.column.clone(),
                dtype: widen_dtype_for(&m.value).to_string(),
            }),
            QuarryError::Task { fix, .. } => fix.clone(),
            _ => None,
        }
    }

    /// Map an I/O error on `path` to the most specific user-facing variant.
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        let path = path.into();
        // A byte source that already explained its failure (a remote
        // store's paragraph) passes it through unchanged.
        if err.get_ref().is_some_and(|e| e.is::<QuarryError>()) {
            if let Some(Ok(inner)) = err.into_inner().map(|e| e.downcast::<QuarryError>()) {
                return *inner;
            }
            return QuarryError::Engine(format!("{}: an unreadable error", path.display()));
        }
        match err.kind() {
            std::io::ErrorKind::NotFound => QuarryError::NotFound { path },
            std::io::ErrorKind::PermissionDenied => QuarryError::PermissionDenied { path },
            _ => QuarryError::Io { path, source: err },
        }
    }
}

impl From<polars::prelude::PolarsError> for QuarryError {
    fn from(e: polars::prelude::PolarsError) -> Self {
        QuarryError::Engine(e.to_string())
    }
}

/// The narrowest dtype that holds `value` and what the inferred dtype held:
/// a number that is not an integer widens to f64; anything else to str.
pub fn widen_dtype_for(value: &str) -> &'static str {
    if value.trim().parse::<f64>().is_ok() {
        "f64"
    } else {
        "str"
    }
}

/// A repair the UI can offer for a failed task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "fix", rename_all = "snake_case")]
pub enum Fix {
    /// Read `column` as `dtype` (a `[source.dtypes]` override).
    SetDtype { column: String, dtype: String },
}
