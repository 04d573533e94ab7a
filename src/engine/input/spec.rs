//! What the user asked to read: formats, CSV dialect, record separators,
//! block sizes and dtype overrides. Plain data (serde), shared by the CLI,
//! recipes and the TUI.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use polars::prelude::DataType;
use serde::{Deserialize, Serialize};

use crate::engine::error::{QuarryError, Result};

/// Default partition size: 64 MiB, as Dask's `blocksize`.
pub const DEFAULT_BLOCKSIZE: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Tsv,
    Ndjson,
    Parquet,
    Ipc,
    Text,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Csv,
        Format::Tsv,
        Format::Ndjson,
        Format::Parquet,
        Format::Ipc,
        Format::Text,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
            Format::Ipc => "ipc",
            Format::Text => "text",
        }
    }

    /// Text formats are split into byte ranges at record boundaries.
    pub fn is_byte_splittable(self) -> bool {
        matches!(
            self,
            Format::Csv | Format::Tsv | Format::Ndjson | Format::Text
        )
    }

    pub fn parse(s: &str) -> Result<Format> {
        Format::from_name(&s.to_ascii_lowercase()).ok_or_else(|| {
            QuarryError::Usage(format!(
                "unknown format `{s}`; expected one of csv, tsv, ndjson, parquet, ipc, text"
            ))
        })
    }

    /// A format by its name or file extension (lower case).
    fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "ndjson" | "jsonl" | "json" => Format::Ndjson,
            "parquet" | "pq" => Format::Parquet,
            "ipc" | "arrow" | "feather" => Format::Ipc,
            "text" | "txt" | "lines" | "log" => Format::Text,
            _ => return None,
        })
    }

    /// The format a file name implies, looking through a .gz/.zst suffix.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let stem = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        Format::from_name(stem.rsplit_once('.')?.1)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = QuarryError;
    fn from_str(s: &str) -> Result<Self> {
        Format::parse(s)
    }
}

/// Whole-file compression; a compressed file is one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_path(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// How plain text is cut into records (Dask's "bag" of lines or blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSeparator {
    /// One record per line (`\n`, with `\r\n` tolerated).
    Line,
    /// Records separated by one or more blank lines (SNAP review dumps).
    Blank,
    /// Records separated by a custom byte string.
    Custom(Vec<u8>),
}

impl RecordSeparator {
    /// `line`, `blank`, or a literal separator. Escapes `\n`, `\t`, `\r`, `\\`
    /// are understood so that `"\n\n"` can be typed on a command line.
    pub fn parse(s: &str) -> Result<RecordSeparator> {
        match s {
            "line" | "lines" | "newline" => return Ok(RecordSeparator::Line),
            "blank" | "blank-line" | "paragraph" => return Ok(RecordSeparator::Blank),
            _ => {}
        }
        let bytes = unescape(s).into_bytes();
        match bytes.as_slice() {
            [] => Err(QuarryError::Usage(
                "the record separator is empty; use `line`, `blank` or a string".into(),
            )),
            b"\n" => Ok(RecordSeparator::Line),
            b"\n\n" => Ok(RecordSeparator::Blank),
            _ => Ok(RecordSeparator::Custom(bytes)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            RecordSeparator::Line => "line".into(),
            RecordSeparator::Blank => "blank".into(),
            RecordSeparator::Custom(b) => String::from_utf8_lossy(b)
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\t', "\\t")
                .replace('\r', "\\r"),
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Text decoding for CSV/text sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    /// Replace invalid bytes with U+FFFD instead of failing.
    Utf8Lossy,
    /// Another ASCII-compatible encoding by its WHATWG label (`latin1`,
    /// `windows-1252`, `iso-8859-15`, `shift_jis`, …), decoded to UTF-8 as
    /// each partition is read. Newlines, quotes and delimiters are the ASCII
    /// bytes in all of them, so partitions are cut exactly as for UTF-8.
    Legacy(&'static encoding_rs::Encoding),
}

impl Encoding {
    pub fn parse(s: &str) -> Result<Encoding> {
        let label = s.trim().to_ascii_lowercase();
        match label.as_str() {
            "utf8" | "utf-8" => return Ok(Encoding::Utf8),
            "utf8-lossy" | "lossy" => return Ok(Encoding::Utf8Lossy),
            _ => {}
        }
        match encoding_rs::Encoding::for_label(label.as_bytes()) {
            Some(e) if e == encoding_rs::UTF_8 => Ok(Encoding::Utf8),
            Some(e) if e.is_ascii_compatible() => Ok(Encoding::Legacy(e)),
            Some(e) => Err(QuarryError::Usage(format!(
                "{} is not ASCII-compatible, so its records cannot be split at newline bytes; convert the file first (iconv -f {} -t utf-8)",
                e.name(),
                e.name()
            ))),
            None => Err(QuarryError::Usage(format!(
                "unknown encoding `{s}`; expected utf8, utf8-lossy, or a WHATWG label such as latin1, windows-1252, iso-8859-15, shift_jis, gbk"
            ))),
        }
    }

    /// The name a recipe stores it under.
    pub fn name(&self) -> String {
        match self {
            Encoding::Utf8 => "utf8".into(),
            Encoding::Utf8Lossy => "utf8-lossy".into(),
            Encoding::Legacy(e) => e.name().to_ascii_lowercase(),
        }
    }

    /// `bytes` as UTF-8: decoded for a legacy encoding, as they are
    /// otherwise (UTF-8 is checked where it is parsed).
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        match self {
            Encoding::Legacy(e) => match e.decode_without_bom_handling(bytes).0 {
                std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
                std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
            },
            _ => std::borrow::Cow::Borrowed(bytes),
        }
    }

    /// What the bytes are once decoded: UTF-8 (strict or lossy).
    pub fn after_decoding(&self) -> Encoding {
        match self {
            Encoding::Legacy(_) => Encoding::Utf8,
            other => *other,
        }
    }
}

pub use crate::engine::input::storage::remote::options::StoreOptions;

/// Everything needed to open a source. Built from CLI flags or a recipe.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// File, directory or glob, as given.
    pub path: String,
    pub format: Option<Format>,
    pub blocksize: u64,
    /// CSV delimiter; `None` sniffs it (tab for .tsv).
    pub delimiter: Option<u8>,
    pub has_header: bool,
    /// CSV quote character; `None` disables quoting.
    pub quote: Option<u8>,
    pub null_values: Vec<String>,
    /// Read common null spellings (`NA`, `N/A`, `NULL`, `-`, …) as null in
    /// columns whose other values are numbers. Off when `null_values` is
    /// given (that list replaces the automatic choice) or asked off.
    pub null_tokens: bool,
    pub record_separator: RecordSeparator,
    pub encoding: Encoding,
    /// Per-column dtype overrides, applied over the inferred schema.
    pub dtypes: BTreeMap<String, String>,
    /// Endpoint and signing for remote paths.
    pub store: StoreOptions,
}

impl SourceSpec {
    pub fn new(path: impl Into<String>) -> SourceSpec {
        SourceSpec {
            path: path.into(),
            format: None,
            blocksize: DEFAULT_BLOCKSIZE,
            delimiter: None,
            has_header: true,
            quote: Some(b'"'),
            null_values: Vec::new(),
            null_tokens: true,
            record_separator: RecordSeparator::Line,
            encoding: Encoding::Utf8,
            dtypes: BTreeMap::new(),
            store: StoreOptions::default(),
        }
    }

    /// Resolve the path against a base directory (a recipe's folder).
    pub fn relative_to(mut self, base: &Path) -> SourceSpec {
        let p = PathBuf::from(&self.path);
        if p.is_relative() && !crate::engine::input::storage::remote::url::is_remote(&self.path) {
            self.path = base.join(p).to_string_lossy().into_owned();
        }
        self
    }
}

/// Parse sizes like `64MiB`, `16MB`, `1g`, `4096`. Units are binary for `KiB`
/// style and for bare `K/M/G`; `KB/MB/GB` are decimal.
pub fn parse_bytesize(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| QuarryError::Usage(format!("`{s}` is not a size (try 64MiB, 16MB, 4096)")))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        u => {
            return Err(QuarryError::Usage(format!(
                "unknown size unit `{u}` in `{s}` (use B, KiB, MiB, GiB, KB, MB, GB)"
            )))
        }
    };
    let bytes = (value * mult).round();
    if bytes < 1.0 {
        return Err(QuarryError::Usage(format!(
            "size `{s}` must be at least 1 byte"
        )));
    }
    Ok(bytes as u64)
}

/// Human-readable byte count (binary units).
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Parse a dtype name as users write it (`str`, `i64`, `float`, `date`, ...).
pub fn parse_dtype(s: &str) -> Result<DataType> {
    use polars::prelude::TimeUnit;
    // `datetime[UTC]`: an instant, shown in that zone (the zone keeps its case).
    if let Some(zone) = s
        .trim()
        .strip_prefix("datetime[")
        .and_then(|z| z.strip_suffix(']'))
    {
        let zone = polars::prelude::TimeZone::opt_try_new(Some(zone))
            .ok()
            .flatten()
            .ok_or_else(|| {
                QuarryError::Usage(format!(
                    "unknown time zone `{zone}` in `{s}`; use an IANA name such as UTC or Europe/Paris"
                ))
            })?;
        return Ok(DataType::Datetime(TimeUnit::Microseconds, Some(zone)));
    }
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "str" | "string" | "utf8" | "varchar" | "text" => DataType::String,
        "i8" | "int8" => DataType::Int8,
        "i16" | "int16" => DataType::Int16,
        "i32" | "int32" => DataType::Int32,
        "i64" | "int64" | "int" | "integer" | "bigint" => DataType::Int64,
        "u8" | "uint8" => DataType::UInt8,
        "u16" | "uint16" => DataType::UInt16,
        "u32" | "uint32" => DataType::UInt32,
        "u64" | "uint64" => DataType::UInt64,
        "f32" | "float32" => DataType::Float32,
        "f64" | "float64" | "float" | "double" => DataType::Float64,
        "bool" | "boolean" => DataType::Boolean,
        "date" => DataType::Date,
        "datetime" | "timestamp" => DataType::Datetime(TimeUnit::Microseconds, None),
        "time" => DataType::Time,
        other => {
            return Err(QuarryError::Usage(format!(
                "unknown dtype `{other}`; use str, i64, i32, f64, bool, date, datetime, datetime[UTC], time (or int8..uint64, float32)"
            )))
        }
    })
}

/// The short name quarry shows for a dtype (the inverse of [`parse_dtype`]).
pub fn dtype_name(dt: &DataType) -> String {
    match dt {
        DataType::String => "str".into(),
        DataType::Int8 => "i8".into(),
        DataType::Int16 => "i16".into(),
        DataType::Int32 => "i32".into(),
        DataType::Int64 => "i64".into(),
        DataType::UInt8 => "u8".into(),
        DataType::UInt16 => "u16".into(),
        DataType::UInt32 => "u32".into(),
        DataType::UInt64 => "u64".into(),
        DataType::Float32 => "f32".into(),
        DataType::Float64 => "f64".into(),
        DataType::Boolean => "bool".into(),
        DataType::Date => "date".into(),
        DataType::Datetime(_, None) => "datetime".into(),
        DataType::Datetime(_, Some(zone)) => format!("datetime[{zone}]"),
        DataType::Time => "time".into(),
        other => other.to_string(),
    }
}

/// `COL=TYPE` as given to `--dtype`.
pub fn parse_dtype_override(s: &str) -> Result<(String, String)> {
    let (col, ty) = s.split_once('=').ok_or_else(|| {
        QuarryError::Usage(format!(
            "--dtype takes COLUMN=TYPE (e.g. BUYER_ZIP=str), got `{s}`"
        ))
    })?;
    parse_dtype(ty)?;
    Ok((col.trim().to_string(), ty.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytesize("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytesize("16MB").unwrap(), 16_000_000);
        assert_eq!(parse_bytesize("4096").unwrap(), 4096);
        assert_eq!(parse_bytesize("1.5k").unwrap(), 1536);
        assert!(parse_bytesize("lots").is_err());
        assert!(parse_bytesize("0").is_err());
    }

    #[test]
    fn separators() {
        assert_eq!(
            RecordSeparator::parse("\\n\\n").unwrap(),
            RecordSeparator::Blank
        );
        assert_eq!(
            RecordSeparator::parse("\n\n").unwrap(),
            RecordSeparator::Blank
        );
        assert_eq!(
            RecordSeparator::parse("blank").unwrap(),
            RecordSeparator::Blank
        );
        assert_eq!(
            RecordSeparator::parse("</row>").unwrap(),
            RecordSeparator::Custom(b"</row>".to_vec())
        );
    }

    #[test]
    fn formats_from_paths() {
        assert_eq!(
            Format::from_path(Path::new("a/b.csv.gz")),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_path(Path::new("x.JSONL")),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_path(Path::new("x.bin")), None);
        assert_eq!(
            Compression::from_path(Path::new("x.csv.zst")),
            Compression::Zstd
        );
    }
}
