//! CSV inference: polars' inference over the sample, sparing the spots a
//! second pass when they read under the head's schema.

use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::source::Source;
use crate::engine::input::spec::Encoding;

use super::sample::join_samples;

/// The CSV schema of the sample: the head's, when every spot reads under
/// it, else inference over all the samples.
/// The CSV schema of the sample, with the frame it was read into and how
/// many of the parts that frame covers (the head alone, or all of them).
pub(super) fn infer_csv_parts(
    source: &Source,
    parts: &[Vec<u8>],
) -> Result<(Schema, DataFrame, usize)> {
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

/// Check candidate columns against the sample parts inference did not
/// read: `keep` sees each part's values of a column as text and says
/// whether the column is still a candidate. False when a part could not be
/// read this way (odd quoting or the like): then no column should change.
pub(super) fn narrow_by_spots<T>(
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

/// Whether every spot sample reads under `schema` as it stands: then
/// inference over all the samples would give `schema` too (a value that
/// does not fit a column's type is what widens it), and the spots need no
/// second inference pass, the slow part of opening a large file. Checked
/// with the fast reader, which declines anything it is unsure of (dates,
/// booleans, odd quoting...): inference over everything then decides.
pub(super) fn spots_fit(source: &Source, schema: &Schema, spots: &[Vec<u8>]) -> bool {
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

pub(super) fn read_sample(source: &Source, sample: &[u8]) -> Result<DataFrame> {
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
