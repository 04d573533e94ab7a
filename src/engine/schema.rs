//! Dialect sniffing and schema inference from a sample spread through the
//! files (start, middle, end), so a column that turns non-numeric late is
//! caught before compute, not in partition 97.

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use super::error::{QuarryError, Result};
use super::file::SourceFile;
use super::records::Grammar;
use super::source::{CsvDialect, Source};
use super::spec::{parse_dtype, Encoding, Format, SourceSpec};

/// Bytes read from the start of the first file.
const HEAD_SAMPLE: usize = 256 * 1024;
/// Bytes read at each spot further into the data.
const SPOT_SAMPLE: u64 = 64 * 1024;
/// Spots (fractions of the total size) sampled after the start.
const SPOTS: [f64; 4] = [0.25, 0.5, 0.75, 1.0];
/// Below this total size the whole data is the sample: inference is exact.
const SMALL_TOTAL: u64 = 1024 * 1024;

pub fn sniff_dialect(spec: &SourceSpec, format: Format, file: &SourceFile) -> Result<CsvDialect> {
    let delimiter = match (spec.delimiter, format) {
        (Some(d), _) => d,
        (None, Format::Tsv) => b'\t',
        (None, _) => {
            let (head, _) = head_bytes(file, 64 * 1024)?;
            sniff_delimiter(&head, spec.quote)
        }
    };
    Ok(CsvDialect {
        delimiter,
        quote: spec.quote,
        has_header: spec.has_header,
        null_values: spec.null_values.clone(),
    })
}

/// Pick the candidate delimiter that appears the same non-zero number of
/// times (outside quotes) on the most leading lines.
fn sniff_delimiter(head: &[u8], quote: Option<u8>) -> u8 {
    let grammar = Grammar::Csv { quote };
    let records: Vec<&[u8]> = grammar
        .records(head)
        .into_iter()
        .take(20)
        .map(|(s, e)| &head[s..e])
        .collect();
    // Drop a possibly cut last record when the sample is full.
    let lines = if records.len() > 1 {
        &records[..records.len() - 1]
    } else {
        &records[..]
    };
    let mut best = (b',', 0usize, 0usize); // (delimiter, consistent lines, count)
    for cand in [b',', b'\t', b';', b'|'] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| count_outside_quotes(l, cand, quote))
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if (consistent, first) > (best.1, best.2) {
            best = (cand, consistent, first);
        }
    }
    best.0
}

pub fn count_outside_quotes(line: &[u8], needle: u8, quote: Option<u8>) -> usize {
    let mut in_q = false;
    let mut n = 0;
    for &b in line {
        if Some(b) == quote {
            in_q = !in_q;
        } else if b == needle && !in_q {
            n += 1;
        }
    }
    n
}

/// Up to `limit` bytes from the start of a file (decompressing if needed),
/// and whether that is the whole content.
pub fn head_bytes(file: &SourceFile, limit: usize) -> Result<(Vec<u8>, bool)> {
    if file.is_compressed() {
        file.decompress_prefix(limit)
    } else {
        let data = file.read_range(0, limit as u64)?;
        let complete = data.len() as u64 >= file.size;
        Ok((data, complete))
    }
}

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

/// Infer the schema of a source (before dtype overrides).
pub fn infer(source: &Source) -> Result<Schema> {
    match source.format {
        Format::Csv | Format::Tsv => {
            let parts = sample(source)?;
            match infer_csv(source, &join_samples(&parts)) {
                Ok(s) => Ok(s),
                // A spot cut inside a quoted field can garble the sample;
                // fall back to the start of the file, which is exact.
                Err(_) if parts.len() > 1 => infer_csv(source, &join_samples(&parts[..1])),
                Err(e) => Err(e),
            }
        }
        Format::Ndjson => {
            let parts = sample(source)?;
            let buf = join_samples(&parts);
            let mut cursor = Cursor::new(buf);
            polars::io::ndjson::infer_schema(&mut cursor, None).map_err(|e| QuarryError::Parse {
                path: source.files[0].path.clone(),
                detail: format!("not valid NDJSON (one JSON object per line): {e}"),
            })
        }
        Format::Text => Ok(Schema::from_iter([Field::new(
            "text".into(),
            DataType::String,
        )])),
        Format::Parquet => super::parse::parquet_schema(&source.files[0]),
        Format::Ipc => super::parse::ipc_schema(&source.files[0]),
    }
}

fn infer_csv(source: &Source, sample: &[u8]) -> Result<Schema> {
    let d = source.csv.as_ref().expect("csv dialect");
    let opts = super::parse::csv_options(d, Encoding::Utf8Lossy, d.has_header)
        .with_infer_schema_length(None)
        .with_raise_if_empty(false)
        // A ragged row is reported with its line when its partition is read.
        .map_parse_options(|o| o.with_truncate_ragged_lines(true));
    let df = opts
        .into_reader_with_file_handle(Cursor::new(sample))
        .finish()
        .map_err(|e| QuarryError::Parse {
            path: source.files[0].path.clone(),
            detail: inference_error(&e.to_string()),
        })?;
    Ok(df.schema().as_ref().clone())
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
