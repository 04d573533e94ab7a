//! Leading zeros: integer-looking codes (`08123`) stay text.

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use crate::engine::input::source::Source;
use crate::engine::input::spec::Encoding;

use super::{Inferred, LEADING_ZEROS};

/// An integer written with a leading zero (`08123`, `-007`, `00`; not `0`,
/// `-0` or `0.5`): a code, not a quantity.
pub fn has_leading_zero(value: &str) -> bool {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
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
pub(super) fn keep_leading_zeros(
    source: &Source,
    mut schema: Schema,
    parts: &[Vec<u8>],
) -> Inferred {
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
        return Inferred::plain(schema);
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
        notes,
        ..Inferred::plain(schema)
    }
}
