//! Bytes of one partition -> DataFrame, per format, and turning a parse
//! failure into an error that names file, partition, line, column and value.

use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::dialect::{count_outside_quotes, csv_options};
use crate::engine::input::file::SourceFile;
use crate::engine::input::records::{count_byte, Grammar};
use crate::engine::input::source::{Partition, PartitionKind, Source};
use crate::engine::input::spec::{dtype_name, Encoding, Format};

/// Parse the bytes of a text partition. `offset` is where `bytes` start in
/// the (decompressed) file; `at_file_start` says whether a header is there.
/// `columns` limits the output to those columns (parsing only them, for CSV).
pub fn parse_bytes(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    at_file_start: bool,
    columns: Option<&[String]>,
) -> Result<DataFrame> {
    let decoded = source.spec.encoding.decode(bytes);
    let bytes = decoded.as_ref();
    match source.format {
        Format::Csv | Format::Tsv => parse_csv(source, p, bytes, offset, at_file_start, columns),
        Format::Ndjson => {
            // Every column wanted: a key no sample saw must not be dropped.
            if columns.is_none() {
                check_keys_known(source, p, bytes, offset)?;
            }
            project(parse_ndjson(source, p, bytes, offset, columns)?, columns)
        }
        Format::Text => project(parse_text(source, p, bytes, offset)?, columns),
        Format::Parquet | Format::Ipc => unreachable!("binary formats are not byte ranges"),
    }
}

/// Keep only `columns` (all when `None`).
pub fn project(df: DataFrame, columns: Option<&[String]>) -> Result<DataFrame> {
    match columns {
        None => Ok(df),
        Some(c) => Ok(df.select(c.iter().map(|s| s.as_str()))?),
    }
}

/// The request the vectorised reader gets for this source.
pub fn fast_request<'a>(
    source: &'a Source,
    file: usize,
    columns: Option<&'a [String]>,
    at_file_start: bool,
) -> crate::engine::input::fast_csv::Request<'a> {
    let d = source.csv.as_ref().expect("csv dialect");
    crate::engine::input::fast_csv::Request {
        dialect: d,
        encoding: source.spec.encoding.after_decoding(),
        schema: source.read_schema(file),
        columns,
        skip_header: at_file_start && d.has_header,
    }
}

fn parse_csv(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    at_file_start: bool,
    columns: Option<&[String]>,
) -> Result<DataFrame> {
    if source.null_tokens.is_empty() {
        let req = fast_request(source, p.file, columns, at_file_start);
        if let Some(df) = crate::engine::input::fast_csv::try_parse(bytes, &req) {
            return Ok(df);
        }
    }
    parse_csv_with_polars(source, p, bytes, offset, at_file_start, columns)
}

/// polars' reader: whatever the vectorised one declines, and the error
/// diagnosis when it fails. The bytes are UTF-8 already (a legacy encoding
/// was decoded by [`parse_bytes`]).
pub fn parse_csv_with_polars(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    at_file_start: bool,
    columns: Option<&[String]>,
) -> Result<DataFrame> {
    let d = source.csv.as_ref().expect("csv dialect");
    let header = at_file_start && d.has_header;
    // Columns with null spellings are read as text and converted below.
    let schema = if source.null_tokens.is_empty() {
        source.read_schema(p.file).clone()
    } else {
        let mut s = (**source.read_schema(p.file)).clone();
        for c in source.null_tokens.keys() {
            if let Some(dt) = s.get_mut(c.as_str()) {
                *dt = DataType::String;
            }
        }
        std::sync::Arc::new(s)
    };
    let opts = csv_options(d, source.spec.encoding, header)
        .with_schema(Some(schema))
        .with_columns(columns.map(|c| c.iter().map(|s| PlSmallStr::from(s.as_str())).collect()))
        .with_raise_if_empty(false);
    match opts
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
    {
        Ok(df) if source.null_tokens.is_empty() => Ok(df),
        Ok(df) => null_tokens(source, p, df, bytes, offset, header),
        Err(e) => Err(diagnose_csv(source, p, bytes, offset, header, e)),
    }
}

/// The columns read as text for their null spellings: those spellings
/// become null and the rest is cast to the column's number type; a value
/// that is neither fails as any value that does not fit its dtype.
fn null_tokens(
    source: &Source,
    p: &Partition,
    mut df: DataFrame,
    bytes: &[u8],
    offset: u64,
    header: bool,
) -> Result<DataFrame> {
    let d = source.csv.as_ref().expect("csv dialect");
    let grammar = Grammar::Csv { quote: d.quote };
    for (col, tokens) in &source.null_tokens {
        let Ok(text) = df.column(col.as_str()).and_then(|c| c.str().cloned()) else {
            continue;
        };
        let target = source.schema.get(col.as_str()).expect("null-token column");
        let masked: StringChunked = text
            .iter()
            .map(|v| v.filter(|v| !tokens.iter().any(|t| t == v)))
            .collect();
        let series = masked.with_name(col.as_str().into()).into_series();
        match convert(&series, target) {
            Ok(cast) => {
                df.with_column(cast.into_column())?;
            }
            Err(failure) => {
                return Err(dtype_mismatch(
                    source, p, failure, target, col, bytes, offset, &grammar, header,
                )?)
            }
        }
    }
    Ok(df)
}

/// The keys an NDJSON read builds into columns: only those the plan reads.
fn ndjson_schema(source: &Source, columns: Option<&[String]>) -> Schema {
    match columns {
        None => native_schema(source),
        Some(c) => source
            .native_schema
            .iter()
            .filter(|(n, _)| c.iter().any(|w| w == n.as_str()))
            .map(|(n, dt)| Field::new(n.clone(), dt.clone()))
            .collect(),
    }
}

/// An NDJSON partition parsed by the fast reader as `read_more` brings its
/// bytes a chunk at a time (see `fast_ndjson::try_parse_chunks`), finished
/// as [`parse_bytes`] finishes it. `Ok(None)`: the reader declined, or the
/// partition has an error; [`parse_bytes`] on its whole bytes reads it, or
/// reports the error with its line.
pub fn parse_ndjson_in_chunks(
    source: &Source,
    columns: Option<&[String]>,
    read_more: impl FnMut(&mut Vec<u8>) -> Result<bool>,
    size_hint: usize,
) -> Result<Option<DataFrame>> {
    let schema = ndjson_schema(source, columns);
    // Every column wanted: a key no sample saw must not be dropped.
    let known = |key: &[u8]| key_is_column(source, key);
    let keys_known = |lines: &[u8]| {
        columns.is_some()
            || crate::engine::input::json_keys::first_unknown_key(lines, known).is_none()
    };
    let parsed = crate::engine::input::fast_ndjson::try_parse_chunks(
        read_more, size_hint, &schema, keys_known,
    )?;
    let Some(df) = parsed else {
        return Ok(None);
    };
    let Ok(df) = try_cast_overrides(source, df)? else {
        return Ok(None);
    };
    Ok(Some(project(user_nulls_in_text(source, df), columns)?))
}

fn parse_ndjson(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    columns: Option<&[String]>,
) -> Result<DataFrame> {
    let schema = ndjson_schema(source, columns);
    let parsed = match crate::engine::input::fast_ndjson::try_parse(bytes, &schema) {
        Some(df) => Ok(df),
        None => polars::io::ndjson::core::parse_ndjson(bytes, None, &schema, false),
    };
    match parsed {
        Ok(df) => {
            let df = cast_overrides(source, p, df, bytes, offset, &Grammar::Lines, false)?;
            Ok(user_nulls_in_text(source, df))
        }
        Err(e) => {
            // Find the first line that does not parse on its own.
            for (s, end) in Grammar::Lines.records(bytes) {
                let line = &bytes[s..end];
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                if let Err(le) =
                    polars::io::ndjson::core::parse_ndjson(line, Some(1), &schema, false)
                {
                    let file = &source.files[p.file];
                    let abs = offset + s as u64;
                    return Err(QuarryError::Parse {
                        path: file.path.clone(),
                        detail: format!(
                            "line {} (partition {}, byte offset {abs}) is not a JSON object matching the schema: {le}\nFix the line, or set the column's dtype (--dtype COL=str).",
                            line_number(file, p, bytes, offset, s)?,
                            p.index
                        ),
                    });
                }
            }
            Err(QuarryError::Parse {
                path: source.files[p.file].path.clone(),
                detail: format!("partition {}: {e}", p.index),
            })
        }
    }
}

/// A record with a top-level key the schema lacks is an error that names
/// the key, its line and the fix (the reader would drop its values).
fn check_keys_known(source: &Source, p: &Partition, bytes: &[u8], offset: u64) -> Result<()> {
    let known = |key: &[u8]| key_is_column(source, key);
    let Some((at, key)) = crate::engine::input::json_keys::first_unknown_key(bytes, known) else {
        return Ok(());
    };
    let file = &source.files[p.file];
    Err(QuarryError::Parse {
        path: file.path.clone(),
        detail: format!(
            "line {} (partition {} of {}) has the key `{key}`, which none of the sampled records had, so it is not a column and its values would be lost.\nFix: add it with --dtype '{key}=str' (or another type; in a recipe: [source.dtypes] \"{key}\" = \"str\").",
            line_number(file, p, bytes, offset, at)?,
            p.index,
            source.partitions.len()
        ),
    })
}

/// Whether a record's top-level key is one of the source's columns. An
/// escaped key is compared by the reader, after decoding, not here.
fn key_is_column(source: &Source, key: &[u8]) -> bool {
    key.contains(&b'\\') || std::str::from_utf8(key).is_ok_and(|k| source.native_schema.contains(k))
}

/// `--null` values in text columns read as null (CSV's reader does this
/// itself; NDJSON's does not know the option).
fn user_nulls_in_text(source: &Source, mut df: DataFrame) -> DataFrame {
    let nulls = &source.spec.null_values;
    if nulls.is_empty() {
        return df;
    }
    let text: Vec<PlSmallStr> = df
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().clone())
        .collect();
    for name in text {
        let Ok(values) = df.column(name.as_str()).and_then(|c| c.str().cloned()) else {
            continue;
        };
        let masked: StringChunked = values
            .iter()
            .map(|v| v.filter(|v| !nulls.iter().any(|n| n == v)))
            .collect();
        let _ = df.with_column(masked.with_name(name).into_column());
    }
    df
}

fn parse_text(source: &Source, p: &Partition, bytes: &[u8], offset: u64) -> Result<DataFrame> {
    let grammar = source.grammar();
    let recs = grammar.records(bytes);
    let mut builder = StringChunkedBuilder::new("text".into(), recs.len());
    for (s, e) in recs {
        let raw = &bytes[s..e];
        match std::str::from_utf8(raw) {
            Ok(text) => builder.append_value(text),
            Err(_) if source.spec.encoding == Encoding::Utf8Lossy => {
                builder.append_value(String::from_utf8_lossy(raw).as_ref())
            }
            Err(err) => {
                let rel = s + err.valid_up_to();
                let file = &source.files[p.file];
                return Err(QuarryError::InvalidUtf8 {
                    path: file.path.clone(),
                    line: line_number(file, p, bytes, offset, rel)?,
                    offset: offset + rel as u64,
                });
            }
        }
    }
    let col = builder.finish().into_series().into_column();
    Ok(DataFrame::new_infer_height(vec![col])?)
}

/// The schema a binary or JSON reader produces before overrides are cast.
fn native_schema(source: &Source) -> Schema {
    source.native_schema.as_ref().clone()
}

/// Convert what the format's reader produced to the source's schema:
/// columns with dtype overrides, and text that inference found to be dates
/// or numbers with null spellings (their spellings made null first). The
/// first value that does not convert is reported.
fn cast_overrides(
    source: &Source,
    p: &Partition,
    df: DataFrame,
    bytes: &[u8],
    offset: u64,
    grammar: &Grammar,
    header: bool,
) -> Result<DataFrame> {
    match try_cast_overrides(source, df)? {
        Ok(df) => Ok(df),
        Err(m) => Err(dtype_mismatch(
            source, p, m.value, &m.target, &m.column, bytes, offset, grammar, header,
        )?),
    }
}

/// A value that does not convert to its column's type.
struct Unconverted {
    /// Its row and text.
    value: (usize, String),
    target: DataType,
    column: String,
}

/// [`cast_overrides`] without locating a failure in the bytes: the first
/// value that does not convert is returned as it is.
fn try_cast_overrides(
    source: &Source,
    mut df: DataFrame,
) -> Result<std::result::Result<DataFrame, Unconverted>> {
    for (col, target) in source.schema.iter() {
        if source.native_schema.get(col.as_str()) == Some(target) {
            continue;
        }
        let Ok(mut series) = df
            .column(col.as_str())
            .map(|c| c.as_materialized_series().clone())
        else {
            continue;
        };
        if series.dtype() == target {
            continue;
        }
        if let (Some(tokens), Ok(text)) = (source.null_tokens.get(col.as_str()), series.str()) {
            let masked: StringChunked = text
                .iter()
                .map(|v| v.filter(|v| !tokens.iter().any(|t| t == v)))
                .collect();
            series = masked.with_name(col.clone()).into_series();
        }
        match convert(&series, target) {
            Ok(cast) => {
                df.with_column(cast.into_column())?;
            }
            Err(value) => {
                return Ok(Err(Unconverted {
                    value,
                    target: target.clone(),
                    column: col.to_string(),
                }))
            }
        }
    }
    Ok(Ok(df))
}

/// `series` as `target`: ISO-8601 text to dates and datetimes exactly as
/// inference recognised them, anything else by polars' strict cast.
/// `Err`: the first value that does not convert (its row and text).
fn convert(series: &Series, target: &DataType) -> std::result::Result<Series, (usize, String)> {
    let value_at = |row: usize| match series.get(row) {
        Ok(AnyValue::String(v)) => v.to_string(),
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    };
    if let (Ok(text), DataType::Date | DataType::Datetime(TimeUnit::Microseconds, _)) =
        (series.str(), target)
    {
        return crate::engine::input::iso::convert_iso(text, target)
            .map_err(|row| (row, value_at(row)));
    }
    series
        .strict_cast(target)
        .map_err(|_| first_cast_failure(series, target).unwrap_or((0, String::new())))
}

/// The error for a value (its row and text) that does not convert to
/// `target`, located in the partition's bytes (line 0 when there are none).
#[allow(clippy::too_many_arguments)]
fn dtype_mismatch(
    source: &Source,
    p: &Partition,
    (row, value): (usize, String),
    target: &DataType,
    column: &str,
    bytes: &[u8],
    offset: u64,
    grammar: &Grammar,
    header: bool,
) -> Result<QuarryError> {
    let (line, abs) = if bytes.is_empty() {
        (0, 0)
    } else {
        row_location(source, p, bytes, offset, grammar, header, row)?
    };
    Ok(QuarryError::DtypeMismatch(Box::new(
        crate::engine::error::DtypeMismatch {
            path: source.files[p.file].path.clone(),
            partition: p.index,
            partitions: source.partitions.len(),
            line,
            offset: abs,
            column: column.to_string(),
            dtype: dtype_name(target),
            value,
        },
    )))
}

/// The first row whose value is lost by casting `s` to `dtype`.
fn first_cast_failure(s: &Series, dtype: &DataType) -> Option<(usize, String)> {
    let cast = s.cast(dtype).ok()?;
    let lost = s.is_not_null() & cast.is_null();
    let row = lost.iter().position(|v| v == Some(true))?;
    let value = match s.get(row).ok()? {
        AnyValue::String(v) => v.to_string(),
        AnyValue::StringOwned(v) => v.to_string(),
        v => v.to_string(),
    };
    Some((row, value))
}

/// 1-based line number of byte `rel` of a partition's bytes.
fn line_number(
    file: &SourceFile,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    rel: usize,
) -> Result<u64> {
    let mut lines = 1 + count_byte(&bytes[..rel.min(bytes.len())], b'\n');
    if matches!(p.kind, PartitionKind::Block { .. }) && offset > 0 {
        // Count the newlines before this partition, in chunks.
        let mut at = 0u64;
        const CHUNK: u64 = 16 << 20;
        while at < offset {
            let end = (at + CHUNK).min(offset);
            lines += count_byte(&file.read_range(at, end)?, b'\n');
            at = end;
        }
    }
    Ok(lines)
}

/// Line number and absolute byte offset of data row `row` of a partition.
fn row_location(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    grammar: &Grammar,
    header: bool,
    row: usize,
) -> Result<(u64, u64)> {
    let recs = grammar.records(bytes);
    let data_recs = recs
        .iter()
        .skip(usize::from(header))
        .filter(|(s, e)| e > s)
        .nth(row);
    let rel = data_recs.map_or(0, |(s, _)| *s);
    let file = &source.files[p.file];
    Ok((
        line_number(file, p, bytes, offset, rel)?,
        offset + rel as u64,
    ))
}

fn diagnose_csv(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    header: bool,
    err: PolarsError,
) -> QuarryError {
    match try_diagnose_csv(source, p, bytes, offset, header) {
        Ok(Some(e)) => e,
        Ok(None) => QuarryError::Parse {
            path: source.files[p.file].path.clone(),
            detail: format!(
                "cannot parse partition {} of {} (bytes {}..{}): {err}",
                p.index,
                source.partitions.len(),
                offset,
                offset + bytes.len() as u64
            ),
        },
        Err(e) => e,
    }
}

fn try_diagnose_csv(
    source: &Source,
    p: &Partition,
    bytes: &[u8],
    offset: u64,
    header: bool,
) -> Result<Option<QuarryError>> {
    let file = &source.files[p.file];
    let d = source.csv.as_ref().expect("csv dialect");
    // 1. Bytes that are not UTF-8.
    if source.spec.encoding.after_decoding() == Encoding::Utf8 {
        if let Err(e) = simd_free_utf8_check(bytes) {
            return Ok(Some(QuarryError::InvalidUtf8 {
                path: file.path.clone(),
                line: line_number(file, p, bytes, offset, e)?,
                offset: offset + e as u64,
            }));
        }
    }
    // 2. Rows with more fields than the header.
    let grammar = Grammar::Csv { quote: d.quote };
    let schema = source.read_schema(p.file);
    let expected = schema.len();
    for (s, e) in grammar.records(bytes).into_iter().skip(usize::from(header)) {
        if e == s {
            continue;
        }
        let found = count_outside_quotes(&bytes[s..e], d.delimiter, d.quote) + 1;
        if found > expected {
            return Ok(Some(QuarryError::RaggedRow {
                path: file.path.clone(),
                partition: p.index,
                line: line_number(file, p, bytes, offset, s)?,
                offset: offset + s as u64,
                found,
                expected,
            }));
        }
    }
    // 3. A value that does not fit its column's dtype: read everything as
    //    text and find the first value the cast loses.
    let all_str: Schema = schema
        .iter_names()
        .map(|n| Field::new(n.clone(), DataType::String))
        .collect();
    let Ok(text) = csv_options(d, source.spec.encoding, header)
        .with_schema(Some(all_str.into()))
        .with_raise_if_empty(false)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
    else {
        return Ok(None);
    };
    for (name, dtype) in schema.iter() {
        if dtype == &DataType::String {
            continue;
        }
        let Ok(col) = text.column(name.as_str()) else {
            continue;
        };
        if let Some((row, value)) = first_cast_failure(col.as_materialized_series(), dtype) {
            let (line, abs) = row_location(source, p, bytes, offset, &grammar, header, row)?;
            return Ok(Some(QuarryError::DtypeMismatch(Box::new(
                crate::engine::error::DtypeMismatch {
                    path: file.path.clone(),
                    partition: p.index,
                    partitions: source.partitions.len(),
                    line,
                    offset: abs,
                    column: name.to_string(),
                    dtype: dtype_name(dtype),
                    value,
                },
            ))));
        }
    }
    Ok(None)
}

/// Offset of the first invalid UTF-8 byte.
fn simd_free_utf8_check(bytes: &[u8]) -> std::result::Result<(), usize> {
    std::str::from_utf8(bytes)
        .map(|_| ())
        .map_err(|e| e.valid_up_to())
}

fn corrupt(file: &SourceFile, format: &str, e: impl std::fmt::Display) -> QuarryError {
    QuarryError::Corrupt {
        path: file.path.clone(),
        format: format.into(),
        detail: e.to_string(),
    }
}

fn open(file: &SourceFile) -> Result<Box<dyn polars::io::mmap::MmapBytesReader>> {
    file.polars_reader()
}

pub fn parquet_schema(file: &SourceFile) -> Result<Schema> {
    let mut reader = ParquetReader::new(open(file)?);
    reader.set_metadata(parquet_metadata(file)?);
    let arrow = reader.schema().map_err(|e| corrupt(file, "Parquet", e))?;
    Ok(Schema::from_arrow_schema(&arrow))
}

pub fn ipc_schema(file: &SourceFile) -> Result<Schema> {
    let arrow = IpcReader::new(open(file)?)
        .schema()
        .map_err(|e| corrupt(file, "Arrow IPC", e))?;
    Ok(Schema::from_arrow_schema(&arrow))
}

/// A Parquet file's footer, parsed once per opened file (every task of the
/// file reuses it instead of reading and parsing it again).
pub fn parquet_metadata(file: &SourceFile) -> Result<FileMetadataRef> {
    if let Some(meta) = file.parquet_metadata.get() {
        return Ok(meta.clone());
    }
    let meta = ParquetReader::new(open(file)?)
        .get_metadata()
        .map_err(|e| corrupt(file, "Parquet", e))?
        .clone();
    Ok(file.parquet_metadata.get_or_init(|| meta).clone())
}

/// The fewest rows a slice of a row group holds: finer slices would cut
/// pages (about a MiB each) into pieces each decoded whole.
const MIN_SLICE_ROWS: usize = 100_000;

/// Runs of consecutive row groups of about `blocksize` compressed bytes,
/// and slices of rows of a row group much larger than that:
/// `(first_group, end_group, row_offset, rows)`.
pub fn parquet_row_group_runs(
    file: &SourceFile,
    blocksize: u64,
) -> Result<Vec<(usize, usize, usize, usize)>> {
    let meta = parquet_metadata(file)?;
    let mut runs = Vec::new();
    let (mut start, mut bytes, mut row_offset, mut rows) = (0usize, 0u64, 0usize, 0usize);
    for (i, rg) in meta.row_groups.iter().enumerate() {
        bytes += rg.compressed_size() as u64;
        rows += rg.num_rows();
        if bytes >= blocksize {
            runs.push((start, i + 1, row_offset, rows));
            start = i + 1;
            row_offset += rows;
            bytes = 0;
            rows = 0;
        }
    }
    if start < meta.row_groups.len() || runs.is_empty() {
        runs.push((start, meta.row_groups.len(), row_offset, rows));
    }
    // A row group much larger than a run is read in slices of rows: polars
    // decodes only the pages a slice covers, so a task holds part of the
    // row group's decoded columns, not all of them.
    let mut sliced = Vec::with_capacity(runs.len());
    for (start, end, row_offset, rows) in runs {
        let compressed: u64 = meta.row_groups[start..end]
            .iter()
            .map(|rg| rg.compressed_size() as u64)
            .sum();
        let pieces = if end == start + 1 {
            let most = (rows / MIN_SLICE_ROWS).max(1) as u64;
            compressed.div_ceil(blocksize).clamp(1, most) as usize
        } else {
            1
        };
        let per = rows.div_ceil(pieces).max(1);
        let mut at = 0;
        while at < rows || (rows == 0 && at == 0) {
            let n = per.min(rows - at);
            sliced.push((start, end, row_offset + at, n));
            at += per;
        }
    }
    Ok(sliced)
}

/// The row groups rows `[row_offset, +rows)` live in, as a footer of their
/// own, and where the slice starts in them. polars visits every row group
/// of the footer it is given (decoding the headers of those outside the
/// slice), so a partition hands it only its own.
fn footer_for_rows(
    meta: &FileMetadataRef,
    row_offset: usize,
    rows: usize,
) -> (FileMetadataRef, usize) {
    let mut first_row = 0usize;
    let mut kept = Vec::new();
    let mut kept_first_row = None;
    for rg in &meta.row_groups {
        let end_row = first_row + rg.num_rows();
        if first_row < row_offset + rows && end_row > row_offset {
            kept_first_row.get_or_insert(first_row);
            kept.push(rg.clone());
        }
        first_row = end_row;
    }
    let mut footer = (**meta).clone();
    footer.num_rows = kept.iter().map(|rg| rg.num_rows()).sum();
    footer.row_groups = kept;
    let skip = row_offset - kept_first_row.unwrap_or(row_offset);
    (Arc::new(footer), skip)
}

/// The byte ranges of the column chunks of `columns` (all when `None`) in
/// every row group of `footer`, with their page indexes.
pub fn parquet_chunk_ranges(
    footer: &FileMetadataRef,
    columns: Option<&[String]>,
) -> Vec<std::ops::Range<u64>> {
    let mut ranges = Vec::new();
    for rg in &footer.row_groups {
        let chunks: Vec<_> = match columns {
            None => rg.parquet_columns().iter().collect(),
            Some(cols) => cols
                .iter()
                .filter_map(|c| rg.columns_under_root_iter(c))
                .flatten()
                .collect(),
        };
        for chunk in chunks {
            ranges.push(chunk.byte_range());
            let index = |offset: Option<i64>, len: Option<i32>| match (offset, len) {
                (Some(o), Some(l)) if o >= 0 && l > 0 => Some(o as u64..o as u64 + l as u64),
                _ => None,
            };
            ranges.extend(index(
                chunk.offset_index_offset(),
                chunk.offset_index_length(),
            ));
            ranges.extend(index(
                chunk.column_index_offset(),
                chunk.column_index_length(),
            ));
        }
    }
    ranges
}

/// How a Parquet read uses the cores: a task is one of several running at
/// once (one thread each); a head is the only read in flight (its columns
/// decompress on every core).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParquetCores {
    One,
    All,
}

pub fn read_parquet(
    source: &Source,
    p: &Partition,
    row_offset: usize,
    rows: usize,
    columns: Option<&[String]>,
    cores: ParquetCores,
) -> Result<DataFrame> {
    let file = &source.files[p.file];
    let (footer, skip) = footer_for_rows(&parquet_metadata(file)?, row_offset, rows);
    let reader: Box<dyn polars::io::mmap::MmapBytesReader> = if file.is_remote() {
        // Fetch only the column chunks the slice and projection need.
        Box::new(file.sparse_image(&parquet_chunk_ranges(&footer, columns))?)
    } else {
        open(file)?
    };
    let mut reader = ParquetReader::new(reader);
    reader.set_metadata(footer);
    let df = reader
        .read_parallel(match cores {
            ParquetCores::One => ParallelStrategy::None,
            ParquetCores::All => ParallelStrategy::Columns,
        })
        .with_columns(columns.map(|c| c.to_vec()))
        .with_slice(Some((skip, rows)))
        .finish()
        .map_err(|e| corrupt(file, "Parquet", e))?;
    cast_overrides(source, p, df, &[], 0, &Grammar::Lines, false)
}

pub fn read_ipc(source: &Source, p: &Partition, columns: Option<&[String]>) -> Result<DataFrame> {
    let file = &source.files[p.file];
    let df = IpcReader::new(open(file)?)
        .with_columns(columns.map(|c| c.to_vec()))
        .finish()
        .map_err(|e| corrupt(file, "Arrow IPC", e))?;
    cast_overrides(source, p, df, &[], 0, &Grammar::Lines, false)
}
