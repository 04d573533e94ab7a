//! The sample inference reads: the start of the data and complete records
//! from spots spread through the files (start, middle, end), so a column
//! that turns non-numeric late is caught before compute, not in partition 97.

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::file::head_bytes;
use crate::engine::input::file::SourceFile;
use crate::engine::input::records::Grammar;
use crate::engine::input::source::Source;
use crate::engine::input::spec::{Encoding, Format};

/// Bytes read from the start of the first file.
pub(super) const HEAD_SAMPLE: usize = 256 * 1024;
/// Bytes read at each spot further into the data.
pub(super) const SPOT_SAMPLE: u64 = 64 * 1024;
/// Spots (fractions of the total size) sampled after the start.
pub(super) const SPOTS: [f64; 4] = [0.25, 0.5, 0.75, 1.0];
/// The spots for remote sources, where each spot is a request: the middle
/// and the end keep the first rows within four requests (the size, the
/// head, two spots).
pub(super) const REMOTE_SPOTS: [f64; 2] = [0.5, 1.0];
/// Below this total size the whole data is the sample: inference is exact.
pub(super) const SMALL_TOTAL: u64 = 1024 * 1024;

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
pub(super) fn sample(source: &Source) -> Result<Vec<Vec<u8>>> {
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
    let spots: &[f64] = if source.files.iter().any(|f| f.is_remote()) {
        &REMOTE_SPOTS
    } else {
        &SPOTS
    };
    for &frac in spots {
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

pub(super) fn join_samples(parts: &[Vec<u8>]) -> Vec<u8> {
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
