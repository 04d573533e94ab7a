//! Column insight in the explorer: describe, frequencies and histograms.
//! Each is a job on the pipeline at the selected step plus a few steps of
//! its own, so it runs partition-parallel with progress like any compute;
//! until it is done the views show the same figures on the preview rows,
//! labelled provisional.

use polars::prelude::*;

use crate::engine::recipe::Step;

/// Bars in a histogram.
pub const HISTOGRAM_BINS: usize = 40;
/// Internal column names of the histogram steps.
const BIN: &str = "__quarry_bin";
const RAW: &str = "__quarry_raw";

#[derive(Debug, Clone, PartialEq)]
pub enum Insight {
    Describe,
    Frequency {
        column: String,
    },
    /// Counts per equal-width bin of `column` (of its natural log when
    /// `log`) between `lo` and `hi`.
    Histogram {
        column: String,
        log: bool,
        lo: f64,
        hi: f64,
        /// Temporal columns are binned on their physical integer value.
        temporal: bool,
    },
}

impl Insight {
    pub fn label(&self) -> String {
        match self {
            Insight::Describe => "describe".into(),
            Insight::Frequency { column } => format!("frequencies of {column}"),
            Insight::Histogram { column, log, .. } => {
                format!(
                    "histogram of {column}{}",
                    if *log { " (log scale)" } else { "" }
                )
            }
        }
    }

    /// The steps appended to the pipeline to compute it.
    pub fn steps(&self) -> Vec<Step> {
        match self {
            Insight::Describe => vec![Step::Describe { columns: None }],
            Insight::Frequency { column } => vec![Step::ValueCounts {
                column: column.clone(),
            }],
            Insight::Histogram {
                column,
                log,
                lo,
                hi,
                temporal,
            } => {
                let q = quote(column);
                let x = if *temporal {
                    format!("CAST(CAST({q} AS BIGINT) AS DOUBLE)")
                } else {
                    format!("CAST({q} AS DOUBLE)")
                };
                let (x, lo, hi, keep) = if *log {
                    (
                        format!("LN({x})"),
                        lo.max(f64::MIN_POSITIVE).ln(),
                        hi.max(f64::MIN_POSITIVE).ln(),
                        format!("{q} IS NOT NULL AND {x} > 0"),
                    )
                } else {
                    (x, *lo, *hi, format!("{q} IS NOT NULL"))
                };
                let width = ((hi - lo) / HISTOGRAM_BINS as f64).max(f64::MIN_POSITIVE);
                let last = HISTOGRAM_BINS - 1;
                vec![
                    Step::Filter { expr: keep },
                    Step::WithColumns {
                        columns: [
                            (RAW.to_string(), format!("FLOOR(({x} - ({lo})) / {width})")),
                            (
                                BIN.to_string(),
                                format!(
                                    "CAST(CASE WHEN {RAW} > {last} THEN {last} WHEN {RAW} < 0 THEN 0 ELSE {RAW} END AS BIGINT)"
                                ),
                            ),
                        ]
                        .into_iter()
                        .collect(),
                    },
                    Step::GroupBy {
                        keys: vec![BIN.into()],
                        aggs: [("n".to_string(), "count(*)".to_string())].into_iter().collect(),
                    },
                ]
            }
        }
    }

    /// Bin `i`'s lower edge, in the column's units (before any log).
    pub fn edge(&self, i: usize) -> f64 {
        match self {
            Insight::Histogram { log, lo, hi, .. } => {
                let t = i as f64 / HISTOGRAM_BINS as f64;
                if *log {
                    let (a, b) = (
                        lo.max(f64::MIN_POSITIVE).ln(),
                        hi.max(f64::MIN_POSITIVE).ln(),
                    );
                    (a + t * (b - a)).exp()
                } else {
                    lo + t * (hi - lo)
                }
            }
            _ => 0.0,
        }
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A finished insight job.
#[derive(Debug, Clone)]
pub struct InsightResult {
    pub insight: Insight,
    /// The pipeline it describes (without the insight's own steps).
    pub steps: Vec<Step>,
    pub frame: DataFrame,
    pub elapsed_ms: u64,
}

/// One bar of the frequency view.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyRow {
    pub value: String,
    pub count: u64,
    pub share: f64,
    pub cumulative: f64,
}

/// Rows of a value-counts frame (value column first, then `count`), in
/// frame order, with shares of the total.
pub fn frequency_rows(frame: &DataFrame) -> Vec<FrequencyRow> {
    let (Some(values), Some(counts)) = (frame.columns().first(), frame.column("count").ok()) else {
        return Vec::new();
    };
    let counts: Vec<u64> = (0..counts.len())
        .map(|i| match counts.get(i) {
            Ok(v) => v.extract::<u64>().unwrap_or(0),
            Err(_) => 0,
        })
        .collect();
    let total: u64 = counts.iter().sum::<u64>().max(1);
    let mut cum = 0u64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            cum += c;
            FrequencyRow {
                value: values
                    .get(i)
                    .map(|v| crate::cell::cell_text(&v))
                    .unwrap_or_default(),
                count: c,
                share: c as f64 / total as f64,
                cumulative: cum as f64 / total as f64,
            }
        })
        .collect()
}

/// Value counts of `column` in a preview frame, heaviest first: what the
/// frequency view shows until the full pass is done.
pub fn preview_frequencies(frame: &DataFrame, column: &str) -> Option<DataFrame> {
    let s = frame.column(column).ok()?.as_materialized_series().clone();
    s.value_counts(true, false, "count".into(), false).ok()
}

/// Counts per bin from the histogram job's output (missing bins are 0).
pub fn histogram_counts(frame: &DataFrame) -> Vec<u64> {
    let mut out = vec![0u64; HISTOGRAM_BINS];
    let (Ok(bins), Ok(n)) = (frame.column(BIN), frame.column("n")) else {
        return out;
    };
    for i in 0..frame.height() {
        let b = bins.get(i).ok().and_then(|v| v.extract::<i64>());
        let c = n.get(i).ok().and_then(|v| v.extract::<u64>());
        if let (Some(b), Some(c)) = (b, c) {
            if (0..HISTOGRAM_BINS as i64).contains(&b) {
                out[b as usize] += c;
            }
        }
    }
    out
}

/// Whether a dtype gets a histogram, and whether it is binned as temporal.
pub fn histogram_kind(dtype: &DataType) -> Option<bool> {
    match dtype {
        d if d.is_primitive_numeric() => Some(false),
        DataType::Date | DataType::Datetime(..) | DataType::Duration(..) | DataType::Time => {
            Some(true)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_rows_have_shares_and_cumulative_shares() {
        let df = df!("city" => ["a", "b", "c"], "count" => [6u64, 3, 1]).unwrap();
        let rows = frequency_rows(&df);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].value, "a");
        assert!((rows[0].share - 0.6).abs() < 1e-12);
        assert!((rows[1].cumulative - 0.9).abs() < 1e-12);
        assert!((rows[2].cumulative - 1.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_edges_are_linear_or_logarithmic() {
        let h = Insight::Histogram {
            column: "x".into(),
            log: false,
            lo: 0.0,
            hi: 40.0,
            temporal: false,
        };
        assert_eq!(h.edge(0), 0.0);
        assert_eq!(h.edge(10), 10.0);
        let l = Insight::Histogram {
            column: "x".into(),
            log: true,
            lo: 1.0,
            hi: 1e4,
            temporal: false,
        };
        assert!((l.edge(HISTOGRAM_BINS / 2) - 100.0).abs() < 1e-9);
    }
}
