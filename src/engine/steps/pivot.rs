//! `pivot`: long to wide. One row per distinct `index`, one column per
//! value of `on` named in `columns`, holding `agg` of `values` over the
//! rows with that value (null where there are none, as polars' pivot),
//! rows sorted by the index.
//!
//! It is a group-by in disguise, so it scales like one: per pivoted value a
//! conditional aggregation (`sum(CASE WHEN on = v THEN values END)`) and a
//! count of its rows, merged in the usual tree, plus a count of rows whose
//! `on` value is not among `columns`, which must be zero: a pivot never
//! drops rows silently. The columns are named in the step so its output
//! schema is known before any data is read.

use indexmap::IndexMap;
use polars::prelude::*;

use crate::engine::recipe::Step;

/// More pivoted columns than this are refused.
pub const MAX_COLUMNS: usize = 1_000;
/// The aggregations a pivot may use (each merges from partial results).
pub const AGGS: &[&str] = &["sum", "mean", "min", "max", "count", "first", "last"];

const OTHER: &str = "__quarry_pivot_other";

fn rows_of(k: usize) -> String {
    format!("__quarry_pivot_rows_{k}")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `on = v` as SQL, compared as text: the columns are named by the
/// values' text, so a number, a date or a string matches alike.
fn equals(on: &str, v: &str) -> String {
    format!(
        "CAST({} AS VARCHAR) = '{}'",
        quote_ident(on),
        v.replace('\'', "''")
    )
}

/// The group-by a pivot computes: its output columns, then per column the
/// count of its rows, then the count of rows of no column.
pub fn as_group_by(
    index: &[String],
    on: &str,
    values: &str,
    agg: &str,
    columns: &[String],
) -> Result<Step, String> {
    if columns.is_empty() {
        return Err(format!(
            "name the values of `{on}` that become columns (columns = [\"a\", \"b\"]); `:count {on}` lists them"
        ));
    }
    if columns.len() > MAX_COLUMNS {
        return Err(format!(
            "{} columns: more than {MAX_COLUMNS} are refused; pivot fewer values (filter `{on}` first) or group by it instead",
            columns.len()
        ));
    }
    if !AGGS.contains(&agg) {
        return Err(format!(
            "agg `{agg}`: one of {} (each merges from partial results)",
            AGGS.join(", ")
        ));
    }
    if let Some(clash) = columns.iter().find(|c| index.contains(c)) {
        return Err(format!(
            "pivoted column `{clash}` has the name of an index column"
        ));
    }
    let mut aggs = IndexMap::new();
    let v = quote_ident(values);
    for c in columns {
        let when = equals(on, c);
        aggs.insert(c.clone(), format!("{agg}(CASE WHEN {when} THEN {v} END)"));
    }
    for (k, c) in columns.iter().enumerate() {
        let when = equals(on, c);
        aggs.insert(rows_of(k), format!("count(CASE WHEN {when} THEN 1 END)"));
    }
    let listed: Vec<String> = columns.iter().map(|c| equals(on, c)).collect();
    aggs.insert(
        OTHER.to_string(),
        format!(
            "count(CASE WHEN {} IS NULL OR NOT ({}) THEN 1 END)",
            quote_ident(on),
            listed.join(" OR ")
        ),
    );
    Ok(Step::GroupBy {
        keys: index.to_vec(),
        aggs,
    })
}

/// From the group-by's rows to the pivot's: a column with no rows in a
/// group is null there; the helper columns go; rows sorted by the index.
pub fn finish(lf: LazyFrame, index: &[String], columns: &[String]) -> LazyFrame {
    let nulled: Vec<Expr> = columns
        .iter()
        .enumerate()
        .map(|(k, c)| {
            when(col(rows_of(k).as_str()).eq(lit(0)))
                .then(lit(NULL))
                .otherwise(col(c.as_str()))
                .alias(c.as_str())
        })
        .collect();
    let keep: Vec<Expr> = index
        .iter()
        .chain(columns)
        .map(|c| col(c.as_str()))
        .collect();
    let wide = lf.with_columns(nulled).select(keep);
    // Groups come out in no set order: sorted by the index, a pivot reads
    // the same on every run (as a table of it should).
    if index.is_empty() {
        wide
    } else {
        let by: Vec<Expr> = index.iter().map(|c| col(c.as_str())).collect();
        wide.sort_by_exprs(by, SortMultipleOptions::default().with_nulls_last(true))
    }
}

/// The rows whose `on` value is not among the pivot's columns (the group-by
/// result's helper column); an error naming the fix when there are any.
pub fn check_no_other(grouped: &DataFrame, on: &str) -> Result<(), String> {
    let other: u64 = grouped
        .column(OTHER)
        .ok()
        .and_then(|c| c.as_materialized_series().sum::<u64>().ok())
        .unwrap_or(0);
    if other > 0 {
        return Err(format!(
            "{other} rows have a value of `{on}` that is not among the pivot's columns (or null); add it to `columns`, or filter those rows out before the pivot"
        ));
    }
    Ok(())
}
