//! `pivot`: long to wide. One row per distinct `index`, one column per
//! value of `on` named in `columns`, holding `agg` of `values` over the
//! rows with that value (null where there are none, as polars' pivot),
//! rows sorted by the index.
//!
//! It is a group-by in disguise, so it scales like one: per pivoted value a
//! conditional aggregation (`sum(values) FILTER (WHERE on = v)`, so `first`
//! is the first row with that value) and a count of its rows, merged in the usual tree, plus a count of rows whose
//! `on` value is not among `columns`, which must be zero: a pivot never
//! drops rows silently. The columns are named in the step so its output
//! schema is known before any data is read; a recipe may leave them out,
//! and then a job of their own finds them first (the steps before the
//! pivot, then the distinct values of `on`: [`values_steps`], a tree
//! reduction like any `unique`), and they are pinned in the step
//! ([`columns_from_values`]) before the pivot is planned.

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
            "the values of `{on}` that become columns are not known yet: name them (columns = [\"a\", \"b\"]), or replay the recipe with `quarry run`, which finds them with a pass over the data first"
        ));
    }
    check_column_count(columns.len(), on)?;
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
        aggs.insert(c.clone(), format!("{agg}({v}) FILTER (WHERE {when})"));
    }
    for (k, c) in columns.iter().enumerate() {
        let when = equals(on, c);
        aggs.insert(rows_of(k), format!("count(*) FILTER (WHERE {when})"));
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

fn check_column_count(n: usize, on: &str) -> Result<(), String> {
    if n > MAX_COLUMNS {
        return Err(format!(
            "{n} columns: more than {MAX_COLUMNS} are refused; pivot fewer values (filter `{on}` first) or group by it instead"
        ));
    }
    Ok(())
}

/// `steps` up to a pivot whose columns are not known yet, with that pivot
/// given one stand-in column: checking these against the schema finds a
/// missing index, `on` or `values` column (or a bad agg) before a pass
/// over the data is spent finding the values.
pub fn checkable_prefix(steps: &[Step], at: usize) -> Vec<Step> {
    let mut out = steps[..at.min(steps.len())].to_vec();
    if let Some(Step::Pivot {
        index,
        on,
        values,
        agg,
        ..
    }) = steps.get(at)
    {
        out.push(Step::Pivot {
            index: index.clone(),
            on: on.clone(),
            values: values.clone(),
            agg: agg.clone(),
            columns: vec![format!("{on} (a stand-in)")],
        });
    }
    out
}

/// The steps, appended to those before the pivot, whose result is the
/// distinct values of `on`: one column, reduced in the tree.
pub fn values_steps(on: &str) -> Vec<Step> {
    vec![
        Step::Select {
            columns: vec![on.to_string()],
        },
        Step::Unique { columns: None },
    ]
}

/// The pivot's columns from the distinct values of `on` (the result of
/// [`values_steps`]): in the column's own order (numbers by value, dates by
/// time), named by their text as the pivot compares them. A null value, or
/// more than [`MAX_COLUMNS`] of them, is an error naming the fix.
pub fn columns_from_values(values: &DataFrame, on: &str) -> Result<Vec<String>, String> {
    let column = values
        .column(on)
        .map_err(|_| format!("the values pass did not return `{on}`"))?
        .as_materialized_series()
        .clone();
    if column.null_count() > 0 {
        return Err(format!(
            "`{on}` has null values, which cannot name a column: filter them out (`{on} IS NOT NULL`) or fill them before the pivot"
        ));
    }
    check_column_count(column.len(), on)?;
    let sorted = column
        .sort(SortOptions::default())
        .and_then(|s| s.cast(&DataType::String))
        .map_err(|e| format!("the values of `{on}`: {e}"))?;
    let text = sorted.str().map_err(|e| e.to_string())?;
    let mut columns: Vec<String> = text.iter().flatten().map(str::to_string).collect();
    // Two values with one text (1.0 and 1 as a float) name one column.
    columns.dedup();
    if columns.is_empty() {
        return Err(format!(
            "`{on}` has no values to pivot on (the steps before the pivot leave no rows)"
        ));
    }
    Ok(columns)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_columns_in_the_columns_own_order() {
        let years = df!("year" => [2021i64, 2019, 2020]).unwrap();
        assert_eq!(
            columns_from_values(&years, "year").unwrap(),
            ["2019", "2020", "2021"],
            "numbers by value, named by their text"
        );
        let ten = df!("n" => [10i64, 9]).unwrap();
        assert_eq!(columns_from_values(&ten, "n").unwrap(), ["9", "10"]);
        let dates = df!("d" => ["2024-03-01", "2023-12-31"])
            .unwrap()
            .lazy()
            .with_column(col("d").cast(DataType::Date))
            .collect()
            .unwrap();
        assert_eq!(
            columns_from_values(&dates, "d").unwrap(),
            ["2023-12-31", "2024-03-01"]
        );
    }

    #[test]
    fn nulls_too_many_or_no_values_are_errors_with_the_fix() {
        let nulls = df!("k" => [Some("a"), None]).unwrap();
        let e = columns_from_values(&nulls, "k").unwrap_err();
        assert!(
            e.contains("`k` has null values") && e.contains("IS NOT NULL"),
            "{e}"
        );
        let many: Vec<i64> = (0..1001).collect();
        let e = columns_from_values(&df!("k" => many).unwrap(), "k").unwrap_err();
        assert!(
            e.contains("1001 columns: more than 1000 are refused"),
            "{e}"
        );
        let none = df!("k" => Vec::<String>::new()).unwrap();
        let e = columns_from_values(&none, "k").unwrap_err();
        assert!(e.contains("no values to pivot on"), "{e}");
        let e = as_group_by(&["id".into()], "k", "v", "sum", &[]).unwrap_err();
        assert!(e.contains("quarry run"), "{e}");
    }
}
