//! The CSV dialect: delimiter sniffing, quoting, and the polars reader
//! options that follow from it.

use polars::prelude::*;

use crate::engine::error::Result;
use crate::engine::input::file::{head_bytes, SourceFile};
use crate::engine::input::records::Grammar;
use crate::engine::input::spec::{Encoding, Format, SourceSpec};

/// The CSV dialect after sniffing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub has_header: bool,
    /// Spellings read as null in every column (the user's `--null`).
    pub null_values: Vec<String>,
}

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

pub fn csv_options(d: &CsvDialect, encoding: Encoding, has_header: bool) -> CsvReadOptions {
    let nulls = if d.null_values.is_empty() {
        None
    } else {
        Some(NullValues::AllColumns(
            d.null_values.iter().map(|s| s.as_str().into()).collect(),
        ))
    };
    let enc = match encoding {
        // Legacy encodings are decoded to UTF-8 before polars sees the bytes.
        Encoding::Utf8 | Encoding::Legacy(_) => CsvEncoding::Utf8,
        Encoding::Utf8Lossy => CsvEncoding::LossyUtf8,
    };
    CsvReadOptions::default()
        .with_has_header(has_header)
        .with_rechunk(false)
        .map_parse_options(|o| {
            o.with_separator(d.delimiter)
                .with_quote_char(d.quote)
                .with_null_values(nulls.clone())
                .with_encoding(enc)
        })
}
