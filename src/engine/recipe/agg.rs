//! Aggregations as users write them (`sum(x)`, `count(*)`, `avg(score)`), and
//! their decomposition into per-partition chunk, tree-combine and finalize
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
    pub text: String,
}

pub fn parse_agg(name: &str, text: &str) -> Result<AggSpec, ExprError> {
    let err = |position: Option<usize>, message: String| ExprError {
        text: text.to_string(),
        position,
        message,
    };
    let t = text.trim();
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
        text: text.to_string(),
    })
}

fn arg(a: &AggSpec) -> Expr {
    a.arg.clone().unwrap_or_else(|| lit(1))
}

impl AggSpec {
    /// The single-shot expression (what polars computes on all rows at once).
    pub fn full(&self) -> Expr {
        let x = arg(self);
        let e = match self.func {
            AggFn::CountAll => len().cast(DataType::UInt64),
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
            AggFn::CountAll => vec![len().cast(DataType::UInt64).alias(p("n"))],
            AggFn::Count => vec![x.count().cast(DataType::UInt64).alias(p("n"))],
            AggFn::Sum => vec![x.sum().alias(p("s"))],
            AggFn::Min => vec![x.min().alias(p("v"))],
            AggFn::Max => vec![x.max().alias(p("v"))],
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
