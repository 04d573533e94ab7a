//! Dialect sniffing and schema inference from a sample spread through the
//! files (start, middle, end), so a column that turns non-numeric late is
//! caught before compute, not in partition 97.

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::file::head_bytes;
use crate::engine::input::file::SourceFile;
use crate::engine::input::records::Grammar;
use crate::engine::input::source::Source;
use crate::engine::input::spec::{parse_dtype, Encoding, Format};

/// Bytes read from the start of the first file.
const HEAD_SAMPLE: usize = 256 * 1024;
/// Bytes read at each spot further into the data.
const SPOT_SAMPLE: u64 = 64 * 1024;
/// Spots (fractions of the total size) sampled after the start.
const SPOTS: [f64; 4] = [0.25, 0.5, 0.75, 1.0];
/// Below this total size the whole data is the sample: inference is exact.
const SMALL_TOTAL: u64 = 1024 * 1024;

/// Cut `data` after its last complete record (it began at a record start).
fn complete_records(grammar: &Grammar, data: &[u8], complete: bool) -> usize {
    if complete {
        return data.len();
    }
    let recs = grammar.records(data);
    // The last record may be cut; keep everything before it.
    match recs.len() {
        0 | 1 => 0,
        n => recs[n - 1].0,
    }
}

fn check_not_binary(file: &SourceFile, data: &[u8], format: Format) -> Result<()> {
    if let Some(pos) = memchr::memchr(0, data) {
        return Err(QuarryError::Binary {
            path: file.path.clone(),
            offset: pos as u64,
            format: format.to_string(),
        });
    }
    Ok(())
}

/// The sample text inference reads: the start of the data and complete
/// records from spots spread through it. The first element holds the header
/// (for CSV) and the rest hold records only.
fn sample(source: &Source) -> Result<Vec<Vec<u8>>> {
    let parts = raw_sample(source)?;
    Ok(match source.spec.encoding {
        Encoding::Legacy(_) => parts
            .iter()
            .map(|p| source.spec.encoding.decode(p).into_owned())
            .collect(),
        _ => parts,
    })
}

/// The sample as the file's bytes (before decoding a legacy encoding).
fn raw_sample(source: &Source) -> Result<Vec<Vec<u8>>> {
    let grammar = source.grammar();
    let Some(first) = source.files.iter().position(|f| f.size > 0) else {
        return Err(QuarryError::EmptyFile {
            path: source.files[0].path.clone(),
        });
    };
    let f0 = &source.files[first];
    let total = source.total_bytes();
    let small = total <= SMALL_TOTAL && source.files.iter().all(|f| !f.is_compressed());
    let head_limit = if small { total as usize } else { HEAD_SAMPLE };
    let (head, complete) = head_bytes(f0, head_limit)?;
    check_not_binary(f0, &head, source.format)?;
    let cut = complete_records(&grammar, &head, complete);
    // A single record longer than the sample: take the whole first partition.
    let head = if cut == 0 && !complete {
        let end = source.spec.blocksize.max(head_limit as u64) as usize;
        let (more, complete) = head_bytes(f0, end)?;
        let cut = complete_records(&grammar, &more, complete);
        more[..cut].to_vec()
    } else {
        head[..cut].to_vec()
    };
    let mut out = vec![head];
    let header_skip = |data: &[u8]| -> usize {
        // Later files repeat the CSV header: drop it.
        match (&source.csv, &grammar) {
            (Some(d), Grammar::Csv { .. }) if d.has_header => grammar
                .next_record_start(data, 1, data.first() == d.quote.as_ref())
                .unwrap_or(data.len()),
            _ => 0,
        }
    };
    if small {
        for f in source.files.iter().skip(first + 1) {
            let data = f.read_range(0, f.size)?;
            check_not_binary(f, &data, source.format)?;
            let skip = header_skip(&data);
            out.push(data[skip..].to_vec());
        }
        return Ok(out);
    }
    // Spots spread through the plain files, by cumulative offset.
    let plain: Vec<&SourceFile> = source
        .files
        .iter()
        .filter(|f| !f.is_compressed() && f.size > 0)
        .collect();
    let plain_total: u64 = plain.iter().map(|f| f.size).sum();
    for frac in SPOTS {
        let mut at = ((plain_total as f64 * frac) as u64).saturating_sub(SPOT_SAMPLE);
        for f in &plain {
            if at < f.size {
                if at < head_limit as u64 && std::ptr::eq(*f, f0) {
                    break; // already covered by the head sample
                }
                let data = f.read_range(at, at + SPOT_SAMPLE)?;
                // Assume the cut is outside quotes: this is only a sample, and
                // a wrong guess is caught when the sample fails to parse.
                if let Some(s) = grammar.next_record_start(&data, 1, false) {
                    let complete = at + SPOT_SAMPLE >= f.size;
                    let body = &data[s.min(data.len())..];
                    let end = complete_records(&grammar, body, complete);
                    if end > 0 {
                        check_not_binary(f, body, source.format)?;
                        out.push(body[..end].to_vec());
                    }
                }
                break;
            }
            at -= f.size;
        }
    }
    Ok(out)
}

fn join_samples(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        if p.is_empty() {
            continue;
        }
        buf.extend_from_slice(p);
        if buf.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
    }
    buf
}

/// Why a column was read as it was, when inference chose differently from
/// what the values first suggest (shown by the schema view and `quarry
/// schema`).
pub const LEADING_ZEROS: &str = "leading zeros: kept as text";

/// The schema of a source (before dtype overrides), and per column the
/// reason for a choice a reader would not expect.
pub struct Inferred {
    pub schema: Schema,
    pub notes: BTreeMap<String, String>,
    /// Per numeric column, the spellings read as null in it.
    pub null_tokens: BTreeMap<String, Vec<String>>,
}

/// Infer the schema of a source (before dtype overrides).
pub fn infer(source: &Source) -> Result<Schema> {
    Ok(infer_with_notes(source)?.schema)
}

/// Like [`infer`], with the reasons for the choices it made.
pub fn infer_with_notes(source: &Source) -> Result<Inferred> {
    let plain = |schema| Inferred {
        schema,
        notes: BTreeMap::new(),
        null_tokens: BTreeMap::new(),
    };
    match source.format {
        Format::Csv | Format::Tsv => {
            let parts = sample(source)?;
            let (schema, frame, covered) = infer_csv_parts(source, &parts)?;
            let mut inferred = keep_leading_zeros(source, schema, &parts);
            read_iso_dates(source, &mut inferred, &frame, &parts[covered..]);
            if source.spec.null_tokens && source.spec.null_values.is_empty() {
                read_null_tokens(source, &mut inferred, &frame, &parts[covered..]);
            }
            Ok(inferred)
        }
        Format::Ndjson => {
            let parts = sample(source)?;
            let buf = join_samples(&parts);
            let mut cursor = Cursor::new(buf);
            polars::io::ndjson::infer_schema(&mut cursor, None)
                .map(plain)
                .map_err(|e| QuarryError::Parse {
                    path: source.files[0].path.clone(),
                    detail: format!("not valid NDJSON (one JSON object per line): {e}"),
                })
        }
        Format::Text => Ok(plain(Schema::from_iter([Field::new(
            "text".into(),
            DataType::String,
        )]))),
        Format::Parquet => crate::engine::input::parse::parquet_schema(&source.files[0]).map(plain),
        Format::Ipc => crate::engine::input::parse::ipc_schema(&source.files[0]).map(plain),
    }
}

/// The CSV schema of the sample: the head's, when every spot reads under
/// it, else inference over all the samples.
/// The CSV schema of the sample, with the frame it was read into and how
/// many of the parts that frame covers (the head alone, or all of them).
fn infer_csv_parts(source: &Source, parts: &[Vec<u8>]) -> Result<(Schema, DataFrame, usize)> {
    if parts.len() > 1 {
        if let Ok(df) = read_sample(source, &parts[0]) {
            let complete = df.columns().iter().all(|c| c.null_count() < c.len());
            let schema = df.schema().as_ref().clone();
            if complete && spots_fit(source, &schema, &parts[1..]) {
                return Ok((schema, df, 1));
            }
        }
    }
    let (df, covered) = match read_sample(source, &join_samples(parts)) {
        Ok(df) => (df, parts.len()),
        // A spot cut inside a quoted field can garble the sample;
        // fall back to the start of the file, which is exact.
        Err(_) if parts.len() > 1 => (read_sample(source, &join_samples(&parts[..1]))?, 1),
        Err(e) => return Err(e),
    };
    Ok((df.schema().as_ref().clone(), df, covered))
}

/// An integer written with a leading zero (`08123`, `-007`, `00`; not `0`,
/// `-0` or `0.5`): a code, not a quantity.
pub fn has_leading_zero(value: &str) -> bool {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The temporal type an ISO-8601 value reads as: `2014-05-13` a date,
/// `2014-05-13T23:58:30.457` or `2014-05-13 23:58` a datetime. Values with
/// a time zone (`Z`, `+02:00`) are left as text for now.
fn iso_temporal(value: &str) -> Option<DataType> {
    let b = value.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if !date {
        return None;
    }
    let (month, day) = (&value[5..7], &value[8..10]);
    if !("01"..="12").contains(&month) || !("01"..="31").contains(&day) {
        return None;
    }
    if b.len() == 10 {
        return Some(DataType::Date);
    }
    // hh:mm, then optional :ss and .fraction.
    let time = matches!(b[10], b'T' | b' ')
        && b.len() >= 16
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16);
    if !time {
        return None;
    }
    let rest = &b[16..];
    let ok = match rest {
        [] => true,
        [b':', s1, s2, tail @ ..] if s1.is_ascii_digit() && s2.is_ascii_digit() => match tail {
            [] => true,
            [b'.', frac @ ..] => {
                !frac.is_empty() && frac.len() <= 9 && frac.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        },
        _ => false,
    };
    ok.then_some(DataType::Datetime(TimeUnit::Microseconds, None))
}

/// The temporal type every value of `values` reads as (`None`: some value
/// is not ISO-8601, or dates and datetimes are mixed; `Null`: no values).
fn temporal_of(values: &StringChunked, so_far: DataType) -> Option<DataType> {
    let mut kind = so_far;
    for v in values.iter().flatten() {
        match iso_temporal(v) {
            Some(t) if kind == DataType::Null || kind == t => kind = t,
            _ => return None,
        }
    }
    Some(kind)
}

/// Check candidate columns against the sample parts inference did not
/// read: `keep` sees each part's values of a column as text and says
/// whether the column is still a candidate. False when a part could not be
/// read this way (odd quoting or the like): then no column should change.
fn narrow_by_spots<T>(
    source: &Source,
    schema: &Schema,
    candidates: &mut Vec<(String, T)>,
    rest: &[Vec<u8>],
    mut keep: impl FnMut(&StringChunked, &mut T) -> bool,
) -> bool {
    if rest.is_empty() || candidates.is_empty() {
        return true;
    }
    let Some(dialect) = source.csv.as_ref() else {
        return false;
    };
    let as_text: Schema = schema
        .iter_names()
        .map(|n| Field::new(n.clone(), DataType::String))
        .collect();
    let names: Vec<String> = candidates.iter().map(|(n, _)| n.clone()).collect();
    for part in rest {
        let req = crate::engine::input::fast_csv::Request {
            dialect,
            encoding: source.spec.encoding.after_decoding(),
            schema: &as_text,
            columns: Some(&names),
            skip_header: false,
        };
        let Some(spot) = crate::engine::input::fast_csv::try_parse(part, &req) else {
            return false;
        };
        candidates.retain_mut(|(n, state)| {
            spot.column(n.as_str())
                .ok()
                .and_then(|c| c.str().ok())
                .is_some_and(|values| keep(values, state))
        });
    }
    true
}

/// Text columns whose every sampled value is an ISO-8601 date (or
/// datetime) are read as `date` (or `datetime`): what their author meant.
/// A column mixing both, or with any other value, stays text. `frame` is
/// the sample inference read; `rest` the sample parts it did not cover.
fn read_iso_dates(source: &Source, inferred: &mut Inferred, frame: &DataFrame, rest: &[Vec<u8>]) {
    // Candidates from the frame at hand: usually none, and then no more work.
    let mut candidates: Vec<(String, DataType)> = inferred
        .schema
        .iter()
        .filter(|(n, dt)| **dt == DataType::String && !inferred.notes.contains_key(n.as_str()))
        .filter_map(|(n, _)| {
            let values = frame.column(n.as_str()).ok()?.str().ok()?;
            Some((n.to_string(), temporal_of(values, DataType::Null)?))
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let spots_agree = narrow_by_spots(
        source,
        &inferred.schema,
        &mut candidates,
        rest,
        |values, kind| match temporal_of(values, kind.clone()) {
            Some(t) => {
                *kind = t;
                true
            }
            None => false,
        },
    );
    if !spots_agree {
        return;
    }
    for (name, kind) in candidates {
        if kind == DataType::Null {
            continue; // no values at all: nothing says what they are
        }
        if let Some(slot) = inferred.schema.get_mut(name.as_str()) {
            *slot = kind;
        }
    }
}

/// Whether some field of `bytes` could start with a zero followed by a
/// digit: a cheap scan that spares parsing samples that cannot have one.
fn may_hold_leading_zero(bytes: &[u8], delimiter: u8) -> bool {
    memchr::memchr_iter(b'0', bytes).any(|i| {
        let before = if i == 0 { b'\n' } else { bytes[i - 1] };
        let field_start = matches!(before, b'\n' | b'"' | b'-' | b'+') || before == delimiter;
        field_start && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    })
}

/// Integer columns whose sampled values include an integer with a leading
/// zero become text, so `08123` stays `08123` on screen and in every output
/// (a ZIP code read as 8123 loses what its author wrote).
fn keep_leading_zeros(source: &Source, mut schema: Schema, parts: &[Vec<u8>]) -> Inferred {
    // An integer-looking value with a leading zero makes polars infer an
    // integer column (a float among them makes it float, and the value then
    // reads as a quantity anyway).
    let numeric: Vec<String> = schema
        .iter()
        .filter(|(_, dt)| dt.is_integer())
        .map(|(n, _)| n.to_string())
        .collect();
    let mut notes = BTreeMap::new();
    let Some(dialect) = source.csv.as_ref().filter(|_| !numeric.is_empty()) else {
        return Inferred {
            schema,
            notes,
            null_tokens: BTreeMap::new(),
        };
    };
    let as_text: Schema = schema
        .iter_names()
        .map(|n| Field::new(n.clone(), DataType::String))
        .collect();
    let mut zeros: Vec<String> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if !may_hold_leading_zero(part, dialect.delimiter) {
            continue;
        }
        let header = i == 0 && dialect.has_header;
        let req = crate::engine::input::fast_csv::Request {
            dialect,
            encoding: source.spec.encoding.after_decoding(),
            schema: &as_text,
            columns: Some(&numeric),
            skip_header: header,
        };
        let frame = crate::engine::input::fast_csv::try_parse(part, &req).or_else(|| {
            crate::engine::input::dialect::csv_options(dialect, Encoding::Utf8Lossy, header)
                .with_schema(Some(std::sync::Arc::new(as_text.clone())))
                .with_columns(Some(numeric.iter().map(|c| c.as_str().into()).collect()))
                .map_parse_options(|o| o.with_truncate_ragged_lines(true))
                .into_reader_with_file_handle(Cursor::new(part.as_slice()))
                .finish()
                .ok()
        });
        let Some(frame) = frame else { continue };
        for name in &numeric {
            if zeros.contains(name) {
                continue;
            }
            let found = frame
                .column(name.as_str())
                .ok()
                .and_then(|c| c.str().ok())
                .is_some_and(|c| c.iter().flatten().any(has_leading_zero));
            if found {
                zeros.push(name.clone());
            }
        }
    }
    for name in zeros {
        if let Some(dt) = schema.get_mut(name.as_str()) {
            *dt = DataType::String;
        }
        notes.insert(name, LEADING_ZEROS.to_string());
    }
    Inferred {
        schema,
        notes,
        null_tokens: BTreeMap::new(),
    }
}

/// How missing values are commonly written (R writes `NA`, Excel `#N/A`,
/// databases `NULL`, pandas `NaN`).
pub const NULL_TOKENS: [&str; 10] = [
    "NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "None", "#N/A", "-",
];

/// What a column's values read as so far, for the null-token rule.
#[derive(Debug, Clone, Default)]
struct NumberTally {
    /// Some value is not an integer.
    float: bool,
    /// Some value is a number at all.
    numbers: bool,
    /// Null spellings seen, with their counts.
    tokens: BTreeMap<String, usize>,
}

impl NumberTally {
    /// Count `values`; false once one is neither a number nor a null token
    /// (or a zero-padded integer, which stays text).
    fn add(&mut self, values: &StringChunked) -> bool {
        for v in values.iter().flatten() {
            if NULL_TOKENS.contains(&v) {
                *self.tokens.entry(v.to_string()).or_default() += 1;
            } else if v.parse::<i64>().is_ok() && !has_leading_zero(v) {
                self.numbers = true;
            } else if v.parse::<f64>().is_ok() && v.bytes().any(|b| b.is_ascii_digit()) {
                self.numbers = true;
                self.float = true;
            } else {
                return false;
            }
        }
        true
    }
}

/// Text columns whose values are numbers apart from common null spellings
/// (`NA`, `N/A`, `NULL`, `-`, …) are read as numbers, those spellings as
/// null: what R, pandas and Dask users expect of such files. The schema
/// view lists the spellings and how often the sample had them. `frame` is
/// the sample inference read; `rest` the sample parts it did not cover.
fn read_null_tokens(source: &Source, inferred: &mut Inferred, frame: &DataFrame, rest: &[Vec<u8>]) {
    let mut candidates: Vec<(String, NumberTally)> = inferred
        .schema
        .iter()
        .filter(|(n, dt)| **dt == DataType::String && !inferred.notes.contains_key(n.as_str()))
        .filter_map(|(n, _)| {
            let values = frame.column(n.as_str()).ok()?.str().ok()?;
            let mut tally = NumberTally::default();
            tally.add(values).then_some((n.to_string(), tally))
        })
        .filter(|(_, t)| t.numbers && !t.tokens.is_empty())
        .collect();
    if candidates.is_empty() {
        return;
    }
    if !narrow_by_spots(
        source,
        &inferred.schema,
        &mut candidates,
        rest,
        |values, tally| tally.add(values),
    ) {
        return;
    }
    for (name, tally) in candidates {
        let dtype = if tally.float {
            DataType::Float64
        } else {
            DataType::Int64
        };
        if let Some(slot) = inferred.schema.get_mut(name.as_str()) {
            *slot = dtype;
        }
        let seen: Vec<String> = tally
            .tokens
            .iter()
            .map(|(t, n)| format!("{t} ×{n}"))
            .collect();
        inferred
            .notes
            .insert(name.clone(), format!("null tokens: {}", seen.join(", ")));
        inferred
            .null_tokens
            .insert(name, tally.tokens.into_keys().collect());
    }
}

/// Whether every spot sample reads under `schema` as it stands: then
/// inference over all the samples would give `schema` too (a value that
/// does not fit a column's type is what widens it), and the spots need no
/// second inference pass, the slow part of opening a large file. Checked
/// with the fast reader, which declines anything it is unsure of (dates,
/// booleans, odd quoting...): inference over everything then decides.
fn spots_fit(source: &Source, schema: &Schema, spots: &[Vec<u8>]) -> bool {
    let Some(dialect) = &source.csv else {
        return false;
    };
    let req = crate::engine::input::fast_csv::Request {
        dialect,
        encoding: source.spec.encoding.after_decoding(),
        schema,
        columns: None,
        skip_header: false,
    };
    spots.iter().all(|spot| {
        crate::engine::input::fast_csv::try_parse(spot, &req)
            .is_some_and(|df| df.width() == schema.len())
    })
}

fn read_sample(source: &Source, sample: &[u8]) -> Result<DataFrame> {
    let d = source.csv.as_ref().expect("csv dialect");
    let opts = crate::engine::input::dialect::csv_options(d, Encoding::Utf8Lossy, d.has_header)
        .with_infer_schema_length(None)
        .with_raise_if_empty(false)
        // A ragged row is reported with its line when its partition is read.
        .map_parse_options(|o| o.with_truncate_ragged_lines(true));
    opts.into_reader_with_file_handle(Cursor::new(sample))
        .finish()
        .map_err(|e| QuarryError::Parse {
            path: source.files[0].path.clone(),
            detail: inference_error(&e.to_string()),
        })
}

/// polars' inference error without its advice for Python users, and the
/// likely cause in quarry's terms.
fn inference_error(raw: &str) -> String {
    let core = raw
        .split("\n\nThe current offset")
        .next()
        .unwrap_or(raw)
        .split("You might want to try")
        .next()
        .unwrap_or(raw)
        .trim();
    let core: String = core.chars().take(300).collect();
    let hint = if core.contains("could not parse") && core.contains('"') {
        "A quoted field seems never to close (an unbalanced \"): fix the quoting, or read quote characters as text with --no-quote."
    } else {
        "Check the delimiter (--delimiter) and whether the file has a header (--no-header)."
    };
    format!("cannot infer the schema: {core}\n{hint}")
}

/// Apply `--dtype COL=TYPE` overrides. Unknown columns are errors that list
/// the real ones.
pub fn apply_overrides(
    mut schema: Schema,
    dtypes: &BTreeMap<String, String>,
) -> Result<(Schema, Vec<String>)> {
    let mut changed = Vec::new();
    for (col, ty) in dtypes {
        let dt = parse_dtype(ty)?;
        match schema.get_mut(col.as_str()) {
            Some(slot) => *slot = dt,
            None => {
                let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
                return Err(QuarryError::Usage(format!(
                    "a dtype override names column `{col}`, which the source does not have.\nColumns: {}",
                    names.join(", ")
                )));
            }
        }
        changed.push(col.clone());
    }
    Ok((schema, changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::input::spec::SourceSpec;

    #[test]
    fn iso_dates_and_datetimes_are_recognised_and_nothing_else() {
        let dt = Some(DataType::Datetime(TimeUnit::Microseconds, None));
        assert_eq!(iso_temporal("2014-05-13"), Some(DataType::Date));
        assert_eq!(iso_temporal("2014-05-13T23:58:30.457"), dt);
        assert_eq!(iso_temporal("2014-05-13 23:58:30"), dt);
        assert_eq!(iso_temporal("2014-05-13T23:58"), dt);
        for v in [
            "2014-13-01",
            "2014-05-32",
            "05/13/2014",
            "13.05.2014",
            "20140513",
            "2014-05-13T23:58:30Z",
            "2014-05-13T23:58:30+02:00",
            "2014-05-13T",
            "2014-05-13 x",
            "",
        ] {
            assert_eq!(iso_temporal(v), None, "{v}");
        }
    }

    #[test]
    fn leading_zeros_mark_codes_not_quantities() {
        for v in ["08123", "007", "-007", "+01", "00"] {
            assert!(has_leading_zero(v), "{v}");
        }
        for v in ["0", "-0", "0.5", "10", "8123", "", "0x1", "0e5", "-"] {
            assert!(!has_leading_zero(v), "{v}");
        }
    }

    fn infer_csv(source: &Source, sample: &[u8]) -> Result<Schema> {
        Ok(read_sample(source, sample)?.schema().as_ref().clone())
    }

    /// The schema of `sample`, and whether every column had a value in it.
    fn infer_csv_with_coverage(source: &Source, sample: &[u8]) -> Result<(Schema, bool)> {
        let df = read_sample(source, sample)?;
        let complete = df.columns().iter().all(|c| c.null_count() < c.len());
        Ok((df.schema().as_ref().clone(), complete))
    }

    /// The schema inference over every sample gives: what `infer` must
    /// agree with whichever way it takes.
    fn joint(source: &Source) -> Schema {
        infer_csv(source, &join_samples(&sample(source).unwrap())).unwrap()
    }

    fn open(rows: impl Fn(usize) -> String) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("id,a,b,c\n");
        for i in 0..200_000 {
            text.push_str(&rows(i));
            text.push('\n');
        }
        assert!(text.len() as u64 > SMALL_TOTAL * 2);
        std::fs::write(&path, text).unwrap();
        let source = Source::open(SourceSpec::new(path.to_str().unwrap())).unwrap();
        (dir, source)
    }

    #[test]
    fn the_spots_confirm_the_head_schema_or_inference_reads_them_all() {
        let late = 120_000; // after the head sample, before the 75 % spot
        type Rows = Box<dyn Fn(usize) -> String>;
        let cases: Vec<(&str, Rows)> = vec![
            (
                "consistent",
                Box::new(|i| format!("{i},{},x{i},{}.5", i % 7, i % 3)),
            ),
            (
                "ints turn float",
                Box::new(move |i| {
                    let a = if i < late {
                        format!("{}", i % 7)
                    } else {
                        format!("{}.25", i % 7)
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "ints turn text",
                Box::new(move |i| {
                    let a = if i < late {
                        format!("{}", i % 7)
                    } else {
                        // Not a null spelling (`n/a` would make it one).
                        "unknown".into()
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "empty in the head",
                Box::new(move |i| {
                    let a = if i < late {
                        String::new()
                    } else {
                        format!("{i}")
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "quoted text",
                Box::new(|i| format!("{i},{},\"x, {i}\",\"\"\"q\"\"\"", i % 5)),
            ),
        ];
        for (name, rows) in cases {
            let (_dir, source) = open(rows);
            assert_eq!(infer(&source).unwrap(), joint(&source), "{name}");
        }
        // The cases do reach both ways.
        let (_dir, consistent) = open(|i| format!("{i},{},x,1.5", i % 7));
        let parts = sample(&consistent).unwrap();
        let (head, complete) = infer_csv_with_coverage(&consistent, &parts[0]).unwrap();
        assert!(complete && spots_fit(&consistent, &head, &parts[1..]));
        let (_dir, widened) = open(|i| format!("{i},{},x,1.5", if i < late { "1" } else { "1.5" }));
        let parts = sample(&widened).unwrap();
        let (head, _) = infer_csv_with_coverage(&widened, &parts[0]).unwrap();
        assert!(!spots_fit(&widened, &head, &parts[1..]));
        assert_eq!(infer(&widened).unwrap().get("a"), Some(&DataType::Float64));
    }
}
