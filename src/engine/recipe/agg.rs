//! Aggregations as users write them (`sum(x)`, `count(*)`, `avg(score)`,
//! `first(x) FILTER (WHERE kind = 'TAB')` as in SQL), and their decomposition into per-partition chunk, tree-combine and finalize
//! expressions, the way Dask's `groupby().agg()` splits work.

use polars::prelude::*;

use crate::engine::recipe::expr::{parse_expr, ExprError};

/// Polars' default explode: empty lists and nulls become null rows.
pub const EXPLODE: ExplodeOptions = ExplodeOptions {
    empty_as_null: true,
    keep_nulls: true,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    CountAll,
    Count,
    Sum,
    Min,
    Max,
    Mean,
    Var,
    Std,
    First,
    Last,
    NUnique,
    Median,
}

impl AggFn {
    /// Whether partial results can be merged without seeing all rows at once.
    pub fn decomposable(self) -> bool {
        !matches!(self, AggFn::Median)
    }
}

/// One output column of a group-by: `name = func(arg)`.
#[derive(Debug, Clone)]
pub struct AggSpec {
    pub name: String,
    pub func: AggFn,
    /// The argument as an expression (`None` for `count(*)`).
    pub arg: Option<Expr>,
    /// SQL's `FILTER (WHERE cond)`: only the rows where `cond` holds count
    /// (a pivot's conditional aggregations are these).
    pub filter: Option<Expr>,
    pub text: String,
}

/// `func(arg) FILTER (WHERE cond)` split into `func(arg)` and `cond`.
fn split_filter(t: &str) -> Option<(&str, &str)> {
    let lower = t.to_ascii_lowercase();
    let at = lower.rfind("filter")?;
    let (head, tail) = (t[..at].trim_end(), t[at + "filter".len()..].trim_start());
    let inner = tail.strip_prefix('(')?.strip_suffix(')')?.trim_start();
    let cond = inner
        .get(..5)
        .filter(|w| w.eq_ignore_ascii_case("where"))
        .map(|_| inner[5..].trim())?;
    (head.ends_with(')') && !cond.is_empty()).then_some((head, cond))
}

pub fn parse_agg(name: &str, text: &str) -> Result<AggSpec, ExprError> {
    let err = |position: Option<usize>, message: String| ExprError {
        text: text.to_string(),
        position,
        message,
    };
    let t = text.trim();
    let (t, filter) = match split_filter(t) {
        Some((head, cond)) => {
            let at = text.find(cond).unwrap_or(0);
            let cond = parse_expr(cond).map_err(|e| ExprError {
                text: text.to_string(),
                position: e.position.map(|p| p + at),
                message: e.message,
            })?;
            (head, Some(cond))
        }
        None => (t, None),
    };
    let open = t.find('(').ok_or_else(|| {
        err(
            None,
            "an aggregation looks like sum(x), count(*), avg(x), min(x), max(x), var(x), std(x), first(x), last(x), count(distinct x), median(x)".into(),
        )
    })?;
    if !t.ends_with(')') {
        return Err(err(Some(text.len()), "missing closing parenthesis".into()));
    }
    let func_name = t[..open].trim().to_ascii_lowercase();
    let mut inner = t[open + 1..t.len() - 1].trim().to_string();
    let mut distinct = false;
    if inner.len() > 9 && inner[..9].eq_ignore_ascii_case("distinct ") {
        distinct = true;
        inner = inner[9..].trim().to_string();
    }
    let func = match (func_name.as_str(), distinct) {
        ("count", true) | ("n_unique", false) | ("approx_count_distinct", false) => AggFn::NUnique,
        ("count" | "len", false) if inner == "*" || inner.is_empty() => AggFn::CountAll,
        ("count", false) => AggFn::Count,
        ("sum", false) => AggFn::Sum,
        ("min", false) => AggFn::Min,
        ("max", false) => AggFn::Max,
        ("avg" | "mean", false) => AggFn::Mean,
        ("var" | "variance" | "var_samp", false) => AggFn::Var,
        ("std" | "stddev" | "stddev_samp", false) => AggFn::Std,
        ("first", false) => AggFn::First,
        ("last", false) => AggFn::Last,
        ("median", false) => AggFn::Median,
        (f, _) => {
            return Err(err(
                Some(0),
                format!("unknown aggregation `{f}`; use count, sum, min, max, avg, var, std, first, last, count(distinct ..), median"),
            ))
        }
    };
    let arg = if func == AggFn::CountAll {
        None
    } else {
        Some(parse_expr(&inner).map_err(|e| ExprError {
            text: text.to_string(),
            position: e.position.map(|p| p + open + 1),
            message: e.message,
        })?)
    };
    Ok(AggSpec {
        name: name.to_string(),
        func,
        arg,
        filter,
        text: text.to_string(),
    })
}

/// The argument, over the rows the filter keeps.
fn arg(a: &AggSpec) -> Expr {
    let x = a.arg.clone().unwrap_or_else(|| lit(1));
    match &a.filter {
        Some(cond) => x.filter(cond.clone()),
        None => x,
    }
}

/// `count(*)`: the group's rows, or those the filter keeps (a null
/// condition keeps none).
fn count_all(a: &AggSpec) -> Expr {
    match &a.filter {
        Some(cond) => cond
            .clone()
            .fill_null(lit(false))
            .cast(DataType::UInt64)
            .sum(),
        None => len().cast(DataType::UInt64),
    }
}

impl AggSpec {
    /// The single-shot expression (what polars computes on all rows at once).
    pub fn full(&self) -> Expr {
        let x = arg(self);
        let e = match self.func {
            AggFn::CountAll => count_all(self),
            AggFn::Count => x.count().cast(DataType::UInt64),
            AggFn::Sum => x.sum(),
            AggFn::Min => x.min(),
            AggFn::Max => x.max(),
            AggFn::Mean => x.mean(),
            AggFn::Var => x.var(1),
            AggFn::Std => x.std(1),
            AggFn::First => x.first(),
            AggFn::Last => x.last(),
            AggFn::NUnique => x.n_unique().cast(DataType::UInt64),
            AggFn::Median => x.median(),
        };
        e.alias(self.name.as_str())
    }

    fn part(&self, i: usize, k: &str) -> String {
        format!("__q{i}_{k}")
    }

    /// Per-partition partial expressions (`i` is this agg's index).
    pub fn chunk(&self, i: usize) -> Vec<Expr> {
        let x = arg(self);
        let p = |k: &str| self.part(i, k);
        match self.func {
            AggFn::CountAll => vec![count_all(self).alias(p("n"))],
            AggFn::Count => vec![x.count().cast(DataType::UInt64).alias(p("n"))],
            AggFn::Sum => vec![x.sum().alias(p("s"))],
            AggFn::Min => vec![x.min().alias(p("v"))],
            AggFn::Max => vec![x.max().alias(p("v"))],
            // With a filter a partition's group may keep no rows: its
            // partial first is then no value at all, not a null one, so
            // the count of kept rows goes along for the merge.
            AggFn::First | AggFn::Last if self.filter.is_some() => {
                let picked = if self.func == AggFn::First {
                    x.first()
                } else {
                    x.last()
                };
                vec![picked.alias(p("v")), count_all(self).alias(p("n"))]
            }
            AggFn::First => vec![x.first().alias(p("v"))],
            AggFn::Last => vec![x.last().alias(p("v"))],
            AggFn::Mean => vec![
                x.clone().cast(DataType::Float64).sum().alias(p("s")),
                x.count().cast(DataType::UInt64).alias(p("n")),
            ],
            AggFn::Var | AggFn::Std => {
                let xf = x.cast(DataType::Float64);
                vec![
                    xf.clone().count().cast(DataType::UInt64).alias(p("n")),
                    xf.clone().mean().alias(p("m")),
                    // Sum of squared deviations from the partition mean (M2):
                    // merged exactly with Chan's formula, no cancellation.
                    (xf.clone() - xf.mean()).pow(2).sum().alias(p("m2")),
                ]
            }
            AggFn::NUnique => vec![x.unique().implode(false).alias(p("u"))],
            AggFn::Median => vec![],
        }
    }

    /// Merge partial rows (several per group) into one partial row.
    pub fn combine(&self, i: usize) -> Vec<Expr> {
        let p = |k: &str| self.part(i, k);
        let c = |k: &str| col(p(k));
        match self.func {
            AggFn::CountAll | AggFn::Count => vec![c("n").sum().alias(p("n"))],
            AggFn::Sum => vec![c("s").sum().alias(p("s"))],
            AggFn::Min => vec![c("v").min().alias(p("v"))],
            AggFn::Max => vec![c("v").max().alias(p("v"))],
            AggFn::First | AggFn::Last if self.filter.is_some() => {
                let kept = c("v").filter(c("n").gt(lit(0)));
                let picked = if self.func == AggFn::First {
                    kept.first()
                } else {
                    kept.last()
                };
                vec![picked.alias(p("v")), c("n").sum().alias(p("n"))]
            }
            AggFn::First => vec![c("v").first().alias(p("v"))],
            AggFn::Last => vec![c("v").last().alias(p("v"))],
            AggFn::Mean => vec![c("s").sum().alias(p("s")), c("n").sum().alias(p("n"))],
            AggFn::Var | AggFn::Std => {
                let n = c("n").cast(DataType::Float64);
                let total = n.clone().sum();
                let mean = (n.clone() * c("m")).sum() / total.clone();
                let m2 = c("m2").sum() + (n.clone() * (c("m") - mean.clone()).pow(2)).sum();
                vec![
                    c("n").sum().alias(p("n")),
                    when(total.clone().gt(lit(0.0)))
                        .then(mean)
                        .otherwise(lit(NULL).cast(DataType::Float64))
                        .alias(p("m")),
                    m2.alias(p("m2")),
                ]
            }
            // An empty partition's set adds nothing (not a null value).
            AggFn::NUnique => vec![c("u")
                .explode(ExplodeOptions {
                    empty_as_null: false,
                    keep_nulls: true,
                })
                .unique()
                .implode(false)
                .alias(p("u"))],
            AggFn::Median => vec![],
        }
    }

    /// The final value from one merged partial row.
    pub fn finalize(&self, i: usize) -> Expr {
        let p = |k: &str| self.part(i, k);
        let c = |k: &str| col(p(k));
        let e = match self.func {
            AggFn::CountAll | AggFn::Count => c("n"),
            AggFn::Sum => c("s"),
            AggFn::Min | AggFn::Max | AggFn::First | AggFn::Last => c("v"),
            AggFn::Mean => when(c("n").gt(lit(0)))
                .then(c("s") / c("n").cast(DataType::Float64))
                .otherwise(lit(NULL).cast(DataType::Float64)),
            AggFn::Var | AggFn::Std => {
                let n = c("n").cast(DataType::Float64);
                let var = when(n.clone().gt(lit(1.0)))
                    .then(c("m2") / (n - lit(1.0)))
                    .otherwise(lit(NULL).cast(DataType::Float64));
                if self.func == AggFn::Std {
                    var.sqrt()
                } else {
                    var
                }
            }
            AggFn::NUnique => c("u").list().len().cast(DataType::UInt64),
            AggFn::Median => lit(NULL),
        };
        e.alias(self.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(aggs: &[(&str, &str)], df: &DataFrame) -> DataFrame {
        let specs: Vec<AggSpec> = aggs.iter().map(|(n, t)| parse_agg(n, t).unwrap()).collect();
        df.clone()
            .lazy()
            .group_by([col("g")])
            .agg(specs.iter().map(AggSpec::full).collect::<Vec<_>>())
            .sort(["g"], SortMultipleOptions::default())
            .collect()
            .unwrap()
    }

    #[test]
    fn filter_where_keeps_only_the_rows_its_condition_holds_for() {
        let df = df!(
            "g" => [1, 1, 1, 2, 2],
            "k" => ["a", "b", "a", "b", "b"],
            "x" => [Some(10), Some(20), None, Some(40), Some(50)],
        )
        .unwrap();
        let out = grouped(
            &[
                ("s", "sum(x) FILTER (WHERE k = 'a')"),
                ("f", "first(x) filter (where k = 'b')"),
                ("l", "last(x) FILTER(WHERE k = 'a')"),
                ("n", "count(*) FILTER (WHERE k = 'b')"),
                ("plain", "count(*)"),
            ],
            &df,
        );
        let get = |c: &str, r: usize| out.column(c).unwrap().get(r).unwrap().extract::<i64>();
        assert_eq!((get("s", 0), get("s", 1)), (Some(10), Some(0)));
        assert_eq!((get("f", 0), get("f", 1)), (Some(20), Some(40)));
        // The last kept row of group 1 has a null x: null, not 10.
        assert_eq!((get("l", 0), get("l", 1)), (None, None));
        assert_eq!((get("n", 0), get("n", 1)), (Some(1), Some(2)));
        assert_eq!(get("plain", 0), Some(3));
    }

    #[test]
    fn a_filtered_first_merges_past_partitions_that_kept_no_rows() {
        let spec = parse_agg("f", "first(x) FILTER (WHERE k = 'b')").unwrap();
        let part = |k: [&str; 2], x: [i64; 2]| {
            df!("g" => [1, 1], "k" => k, "x" => x)
                .unwrap()
                .lazy()
                .group_by([col("g")])
                .agg(spec.chunk(0))
                .collect()
                .unwrap()
        };
        // The first partition has no `b` row: its partial is skipped.
        let partials = concat(
            [
                part(["a", "a"], [1, 2]).lazy(),
                part(["b", "b"], [7, 8]).lazy(),
            ],
            UnionArgs::default(),
        )
        .unwrap();
        let merged = partials
            .group_by([col("g")])
            .agg(spec.combine(0))
            .select([spec.finalize(0)])
            .collect()
            .unwrap();
        assert_eq!(
            merged.column("f").unwrap().get(0).unwrap().extract::<i64>(),
            Some(7)
        );
    }

    #[test]
    fn a_column_named_filter_is_still_an_argument() {
        let spec = parse_agg("s", "sum(filter)").unwrap();
        assert!(spec.filter.is_none());
        assert!(parse_agg("s", "sum(x) FILTER (WHERE nope ==)").is_err());
    }
}
