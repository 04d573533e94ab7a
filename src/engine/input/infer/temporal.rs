//! ISO-8601 dates and datetimes held as text are read as dates.

use polars::prelude::*;

use crate::engine::input::source::Source;

use super::csv::narrow_by_spots;
use super::Inferred;

pub(super) use crate::engine::input::iso::iso_dtype as iso_temporal;

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

/// Text columns whose every sampled value is an ISO-8601 date (or
/// datetime) are read as `date` (or `datetime`): what their author meant.
/// A column mixing both, or with any other value, stays text. `frame` is
/// the sample inference read; `rest` the sample parts it did not cover.
pub(super) fn read_iso_dates(
    source: &Source,
    inferred: &mut Inferred,
    frame: &DataFrame,
    rest: &[Vec<u8>],
) {
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
