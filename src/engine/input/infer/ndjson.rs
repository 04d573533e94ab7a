//! NDJSON inference: polars' inference over the sample (which unions the
//! keys and widens their types), then the text rules: ISO dates and
//! numbers written with null spellings, as in CSV. JSON has no leading-zero
//! numbers, and a key's strings are text by their author's choice.

use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::source::Source;

use super::null_tokens::read_null_tokens;
use super::sample::join_samples;
use super::temporal::read_iso_dates;
use super::Inferred;

pub(super) fn infer_ndjson(source: &Source, parts: &[Vec<u8>]) -> Result<Inferred> {
    let buf = join_samples(parts);
    let not_ndjson = |e: PolarsError| QuarryError::Parse {
        path: source.files[0].path.clone(),
        detail: format!("not valid NDJSON (one JSON object per line): {e}"),
    };
    let schema =
        polars::io::ndjson::infer_schema(&mut Cursor::new(&buf), None).map_err(not_ndjson)?;
    let has_text = schema.iter_values().any(|dt| *dt == DataType::String);
    let mut inferred = Inferred::plain(schema.clone());
    if !has_text {
        return Ok(inferred);
    }
    // The whole sample read as inferred: the text rules see every value
    // the sample holds, so no spots are left to check.
    let frame =
        polars::io::ndjson::core::parse_ndjson(&buf, None, &schema, false).map_err(not_ndjson)?;
    read_iso_dates(source, &mut inferred, &frame, &[]);
    if source.spec.null_tokens {
        read_null_tokens(source, &mut inferred, &frame, &[]);
    }
    if inferred.schema != schema {
        inferred.read_as = Some(schema);
    }
    Ok(inferred)
}
