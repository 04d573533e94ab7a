//! Null spellings (`NA`, `NULL`, `-`, …) among numbers: the column is a
//! number column and those spellings are null.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::engine::input::source::Source;

use super::csv::narrow_by_spots;
use super::leading_zeros::has_leading_zero;
use super::Inferred;

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
    fn add(&mut self, values: &StringChunked, spellings: &[&str]) -> bool {
        for v in values.iter().flatten() {
            if spellings.contains(&v) {
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
pub(super) fn read_null_tokens(
    source: &Source,
    inferred: &mut Inferred,
    frame: &DataFrame,
    rest: &[Vec<u8>],
    spellings: &[&str],
) {
    let mut candidates: Vec<(String, NumberTally)> = inferred
        .schema
        .iter()
        .filter(|(n, dt)| **dt == DataType::String && !inferred.notes.contains_key(n.as_str()))
        .filter_map(|(n, _)| {
            let values = frame.column(n.as_str()).ok()?.str().ok()?;
            let mut tally = NumberTally::default();
            tally
                .add(values, spellings)
                .then_some((n.to_string(), tally))
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
        |values, tally| tally.add(values, spellings),
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
