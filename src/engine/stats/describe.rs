//! `describe`: per-column statistics over the whole dataset in one pass.
//!
//! It is an aggregation like any other: each map task turns its partition
//! into one partial state per column ([`partial`]), combine tasks merge
//! states ([`merge`]), the finalize task renders the table ([`finish`]).
//! States travel as a two-column frame (`column`, `state` as bytes), so the
//! executors move them exactly like group-by partials. Exact statistics
//! (count, nulls, min, max, mean, std) merge exactly; distinct counts,
//! quantiles and top values use the sketches in [`crate::engine::stats::sketch`], whose
//! accuracy is stated there and in [`accuracy_note`].

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::stats::sketch::{
    hash_bytes, hash_f64, hash_i64, Distinct, Reader, TDigest, TopValues, Writer, HLL_STATED_ERROR,
    TDIGEST_STATED_RANK_ERROR,
};

/// Quantiles reported, as `(column name, q)`.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p1", 0.01),
    ("p25", 0.25),
    ("p50", 0.5),
    ("p75", 0.75),
    ("p99", 0.99),
];

/// How many top values the `top` column lists.
pub const TOP_SHOWN: usize = 5;

/// What is exact and what is estimated, for people reading the output.
pub fn accuracy_note() -> String {
    format!(
        "count, nulls, min, max, mean and std are exact; distinct is exact up to {} values, \
         then a HyperLogLog estimate (±{:.0}%); quantiles come from a t-digest (rank error ≤ {:.0}%); \
         top-value counts are exact unless marked ≈",
        crate::engine::stats::sketch::EXACT_DISTINCT,
        HLL_STATED_ERROR * 100.0,
        TDIGEST_STATED_RANK_ERROR * 100.0
    )
}

/// The describe table's schema: known without reading data.
pub fn output_schema() -> Schema {
    let mut fields = vec![
        Field::new("column".into(), DataType::String),
        Field::new("dtype".into(), DataType::String),
        Field::new("count".into(), DataType::UInt64),
        Field::new("nulls".into(), DataType::UInt64),
        Field::new("null_share".into(), DataType::Float64),
        Field::new("distinct".into(), DataType::UInt64),
        Field::new("distinct_exact".into(), DataType::Boolean),
        Field::new("min".into(), DataType::String),
        Field::new("max".into(), DataType::String),
        Field::new("mean".into(), DataType::Float64),
        Field::new("std".into(), DataType::Float64),
    ];
    for (name, _) in QUANTILES {
        fields.push(Field::new(name.into(), DataType::String));
    }
    fields.extend([
        Field::new("top".into(), DataType::String),
        Field::new("top_exact".into(), DataType::Boolean),
        Field::new("len_min".into(), DataType::UInt64),
        Field::new("len_mean".into(), DataType::Float64),
        Field::new("len_max".into(), DataType::UInt64),
        // Numeric min / max (temporal: physical units), for histogram bins.
        Field::new("min_num".into(), DataType::Float64),
        Field::new("max_num".into(), DataType::Float64),
    ]);
    fields.into_iter().collect()
}

/// How a column is summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
    /// Dates, datetimes, durations, times: on their integer physical value.
    Temporal,
    /// Lists, structs, binary: counts only.
    Other,
}

fn kind_of(dt: &DataType) -> Kind {
    match dt {
        dt if dt.is_integer() => Kind::Int,
        dt if dt.is_float() || dt.is_decimal() => Kind::Float,
        DataType::Boolean => Kind::Bool,
        DataType::String | DataType::Categorical(..) | DataType::Enum(..) => Kind::Str,
        DataType::Date | DataType::Datetime(..) | DataType::Duration(..) | DataType::Time => {
            Kind::Temporal
        }
        _ => Kind::Other,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    I(i64),
    F(f64),
    S(String),
}

impl Scalar {
    fn less(&self, o: &Scalar) -> bool {
        match (self, o) {
            (Scalar::I(a), Scalar::I(b)) => a < b,
            (Scalar::F(a), Scalar::F(b)) => a < b,
            (Scalar::S(a), Scalar::S(b)) => a < b,
            _ => false,
        }
    }
}

/// One column's partial state.
#[derive(Debug, Clone, Default, PartialEq)]
struct ColumnState {
    rows: u64,
    nulls: u64,
    min: Option<Scalar>,
    max: Option<Scalar>,
    /// (n, mean, M2) over non-null values (Chan et al.'s parallel update).
    moments: Option<(f64, f64, f64)>,
    digest: TDigest,
    distinct: Distinct,
    top: TopValues,
    /// (min, max, sum) of string lengths in characters.
    len: Option<(u64, u64, u64)>,
}

impl ColumnState {
    fn merge(&mut self, o: ColumnState) {
        self.rows += o.rows;
        self.nulls += o.nulls;
        if let Some(m) = o.min {
            if self.min.as_ref().is_none_or(|cur| m.less(cur)) {
                self.min = Some(m);
            }
        }
        if let Some(m) = o.max {
            if self.max.as_ref().is_none_or(|cur| cur.less(&m)) {
                self.max = Some(m);
            }
        }
        self.moments = match (self.moments, o.moments) {
            (Some((na, ma, qa)), Some((nb, mb, qb))) => {
                let n = na + nb;
                let d = mb - ma;
                Some((n, ma + d * nb / n, qa + qb + d * d * na * nb / n))
            }
            (a, b) => a.or(b),
        };
        self.digest.merge(&o.digest);
        self.distinct.merge(o.distinct);
        self.top.merge(o.top);
        self.len = match (self.len, o.len) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1), a.2 + b.2)),
            (a, b) => a.or(b),
        };
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(self.rows);
        w.u64(self.nulls);
        for s in [&self.min, &self.max] {
            match s {
                None => w.u8(0),
                Some(Scalar::I(v)) => {
                    w.u8(1);
                    w.u64(*v as u64)
                }
                Some(Scalar::F(v)) => {
                    w.u8(2);
                    w.f64(*v)
                }
                Some(Scalar::S(v)) => {
                    w.u8(3);
                    w.str(v)
                }
            }
        }
        match self.moments {
            None => w.u8(0),
            Some((n, m, q)) => {
                w.u8(1);
                w.f64(n);
                w.f64(m);
                w.f64(q);
            }
        }
        w.digest(&self.digest);
        w.distinct(&self.distinct);
        w.top(&self.top);
        match self.len {
            None => w.u8(0),
            Some((a, b, c)) => {
                w.u8(1);
                w.u64(a);
                w.u64(b);
                w.u64(c);
            }
        }
        w.0
    }

    fn decode(bytes: &[u8]) -> Option<ColumnState> {
        let mut r = Reader(bytes);
        let rows = r.u64()?;
        let nulls = r.u64()?;
        let scalar = |r: &mut Reader| -> Option<Option<Scalar>> {
            Some(match r.u8()? {
                0 => None,
                1 => Some(Scalar::I(r.u64()? as i64)),
                2 => Some(Scalar::F(r.f64()?)),
                3 => Some(Scalar::S(r.str()?)),
                _ => return None,
            })
        };
        let min = scalar(&mut r)?;
        let max = scalar(&mut r)?;
        let moments = match r.u8()? {
            0 => None,
            _ => Some((r.f64()?, r.f64()?, r.f64()?)),
        };
        let digest = r.digest()?;
        let distinct = r.distinct()?;
        let top = r.top()?;
        let len = match r.u8()? {
            0 => None,
            _ => Some((r.u64()?, r.u64()?, r.u64()?)),
        };
        Some(ColumnState {
            rows,
            nulls,
            min,
            max,
            moments,
            digest,
            distinct,
            top,
            len,
        })
    }
}

fn engine(e: impl std::fmt::Display) -> QuarryError {
    QuarryError::Engine(format!("describe: {e}"))
}

/// The columns to describe: `columns` if given (in that order), else all.
fn chosen<'a>(df: &'a DataFrame, columns: Option<&'a [String]>) -> Vec<&'a str> {
    match columns {
        Some(c) => c.iter().map(String::as_str).collect(),
        None => df
            .get_column_names()
            .into_iter()
            .map(|n| n.as_str())
            .collect(),
    }
}

/// One partition's partial states: a frame of (`column`, `state`).
pub fn partial(df: &DataFrame, columns: Option<&[String]>) -> Result<DataFrame> {
    let names = chosen(df, columns);
    let mut states = Vec::with_capacity(names.len());
    for name in &names {
        let c = df.column(name).map_err(engine)?;
        states.push(column_state(c.as_materialized_series())?.encode());
    }
    state_frame(&names, states)
}

fn state_frame(names: &[&str], states: Vec<Vec<u8>>) -> Result<DataFrame> {
    let names = Series::new("column".into(), names);
    let states = Series::new("state".into(), states);
    DataFrame::new_infer_height(vec![names.into_column(), states.into_column()]).map_err(engine)
}

/// `(value, count)` pairs of the non-null values of `s`, any order.
/// The distinct non-null strings of `s` (in order of first appearance) and
/// how often each occurs. One hash table of borrowed strings: polars'
/// group-by keeps a group per value, which for a column of mostly distinct
/// identifiers costs more than the counting.
fn value_counts(s: &Series) -> Result<(Series, UInt64Chunked)> {
    let ca = s.str().map_err(engine)?;
    let mut index: PlHashMap<&str, usize> = PlHashMap::default();
    let mut values: Vec<&str> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for v in ca.iter().flatten() {
        let next = values.len();
        let at = *index.entry(v).or_insert(next);
        if at == next {
            values.push(v);
            counts.push(1);
        } else {
            counts[at] += 1;
        }
    }
    Ok((
        Series::new("v".into(), values),
        UInt64Chunked::from_vec("n".into(), counts),
    ))
}

/// Row indices of the `k` heaviest values of a value-count frame (heaviest
/// first), and the count of the heaviest one left out (0 when none was).
/// A selection, not a sort of all distinct values.
fn heaviest(counts: &UInt64Chunked, k: usize) -> (Vec<IdxSize>, u64) {
    let mut all: Vec<(u64, IdxSize)> = counts
        .into_no_null_iter()
        .enumerate()
        .map(|(i, c)| (c, i as IdxSize))
        .collect();
    let by_weight = |a: &(u64, IdxSize), b: &(u64, IdxSize)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
    let cut = if all.len() > k {
        all.select_nth_unstable_by(k, by_weight);
        let cut = all[k].0;
        all.truncate(k);
        cut
    } else {
        0
    };
    all.sort_unstable_by(by_weight);
    (all.into_iter().map(|(_, i)| i).collect(), cut)
}

fn column_state(s: &Series) -> Result<ColumnState> {
    let kind = kind_of(s.dtype());
    let mut st = ColumnState {
        rows: s.len() as u64,
        nulls: s.null_count() as u64,
        ..ColumnState::default()
    };
    if kind == Kind::Other || st.rows == st.nulls {
        return Ok(st);
    }
    // One canonical series per kind: i64 (ints, bools, temporal physical),
    // f64, or str.
    let canon = match kind {
        Kind::Int | Kind::Bool | Kind::Temporal => s
            .to_physical_repr()
            .cast(&DataType::Int64)
            .or_else(|_| s.cast(&DataType::Float64))
            .map_err(engine)?,
        Kind::Float => s.cast(&DataType::Float64).map_err(engine)?,
        _ => s.cast(&DataType::String).map_err(engine)?,
    };
    let (values, counts) = match canon.dtype() {
        DataType::Int64 => {
            let mut v: Vec<i64> = canon.i64().map_err(engine)?.iter().flatten().collect();
            v.sort_unstable();
            let (vals, counts) = run_lengths(v, |a, b| a == b);
            (Series::new("v".into(), vals), counts)
        }
        DataType::Float64 => {
            // One NaN and one zero, as the distinct hash sees them.
            let mut v: Vec<f64> = canon
                .f64()
                .map_err(engine)?
                .iter()
                .flatten()
                .map(|x| {
                    if x.is_nan() {
                        f64::NAN
                    } else if x == 0.0 {
                        0.0
                    } else {
                        x
                    }
                })
                .collect();
            v.sort_unstable_by(f64::total_cmp);
            let (vals, counts) = run_lengths(v, |a, b| a.to_bits() == b.to_bits());
            (Series::new("v".into(), vals), counts)
        }
        _ => {
            let (values, counts) = value_counts(&canon)?;
            (values, counts)
        }
    };
    st.distinct.reserve(values.len());
    let (top_rows, cut) = heaviest(&counts, crate::engine::stats::sketch::TOP_KEEP);
    let top_rows = IdxCa::from_vec("i".into(), top_rows);
    let top_values = values.take(&top_rows).map_err(engine)?;
    let top_counts = counts.take(&top_rows).map_err(engine)?;
    let rendered = render_values(&top_values, s.dtype(), kind)?;
    st.top = TopValues {
        values: rendered
            .into_iter()
            .zip(top_counts.into_no_null_iter())
            .map(|(v, c)| (v, c, 0))
            .collect(),
        threshold: cut,
    };
    st.top
        .values
        .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    match values.dtype() {
        DataType::Int64 => {
            let ca = values.i64().map_err(engine)?;
            for v in ca.into_no_null_iter() {
                st.distinct.insert(hash_i64(v));
            }
            st.min = ca.min().map(Scalar::I);
            st.max = ca.max().map(Scalar::I);
            st.digest = digest_of(ca.into_no_null_iter().map(|v| v as f64), &counts);
        }
        DataType::Float64 => {
            let ca = values.f64().map_err(engine)?;
            for v in ca.into_no_null_iter() {
                st.distinct.insert(hash_f64(v));
            }
            let finite = || ca.into_no_null_iter().filter(|v| !v.is_nan());
            st.min = finite().reduce(f64::min).map(Scalar::F);
            st.max = finite().reduce(f64::max).map(Scalar::F);
            st.digest = digest_of(ca.into_no_null_iter(), &counts);
        }
        _ => {
            let ca = values.str().map_err(engine)?;
            let mut lo: Option<&str> = None;
            let mut hi: Option<&str> = None;
            for v in ca.iter().flatten() {
                st.distinct.insert(hash_bytes(v.as_bytes()));
                if lo.is_none_or(|l| v < l) {
                    lo = Some(v);
                }
                if hi.is_none_or(|h| v > h) {
                    hi = Some(v);
                }
            }
            st.min = lo.map(|v| Scalar::S(v.into()));
            st.max = hi.map(|v| Scalar::S(v.into()));
            let lens = canon.str().map_err(engine)?.str_len_chars();
            st.len = match (lens.min(), lens.max()) {
                (Some(a), Some(b)) => Some((a as u64, b as u64, lens.sum().unwrap_or(0) as u64)),
                _ => None,
            };
        }
    }
    if matches!(kind, Kind::Int | Kind::Float) {
        let f = canon.cast(&DataType::Float64).map_err(engine)?;
        let ca = f.f64().map_err(engine)?;
        let n = (st.rows - st.nulls) as f64;
        if let Some(mean) = ca.mean() {
            let var = if n > 1.0 {
                ca.var(1).unwrap_or(0.0)
            } else {
                0.0
            };
            st.moments = Some((n, mean, var * (n - 1.0)));
        }
    }
    if kind == Kind::Bool {
        // Quantiles of true/false say nothing the top values do not.
        st.digest = TDigest::default();
    }
    Ok(st)
}

/// Distinct values and their counts from sorted values: one pass, and the
/// values stay sorted (the t-digest wants them so).
fn run_lengths<T: Copy>(sorted: Vec<T>, same: impl Fn(&T, &T) -> bool) -> (Vec<T>, UInt64Chunked) {
    let mut vals: Vec<T> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for x in sorted {
        match (vals.last(), counts.last_mut()) {
            (Some(last), Some(c)) if same(last, &x) => *c += 1,
            _ => {
                vals.push(x);
                counts.push(1);
            }
        }
    }
    (vals, UInt64Chunked::from_vec("n".into(), counts))
}

/// A t-digest from distinct values and their counts (sorted here).
fn digest_of(values: impl Iterator<Item = f64>, counts: &UInt64Chunked) -> TDigest {
    let mut pts: Vec<(f64, f64)> = values
        .zip(counts.into_no_null_iter())
        .map(|(v, c)| (v, c as f64))
        .collect();
    pts.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    TDigest::from_sorted(&pts)
}

/// Values of the canonical series as people read them in the column's own
/// dtype (dates as dates, bools as true/false).
fn render_values(values: &Series, dtype: &DataType, kind: Kind) -> Result<Vec<String>> {
    let shown = match kind {
        Kind::Temporal | Kind::Bool => values.cast(dtype).map_err(engine)?,
        _ => values.clone(),
    };
    Ok((0..shown.len())
        .map(|i| match shown.get(i) {
            Ok(AnyValue::Float64(f)) => format_float(f),
            Ok(AnyValue::String(s)) => s.to_string(),
            Ok(AnyValue::StringOwned(s)) => s.to_string(),
            Ok(v) => v.to_string(),
            Err(_) => String::new(),
        })
        .collect())
}

/// Render one physical value (or an interpolated quantile) in `dtype`.
fn render_num(v: f64, dtype: &DataType, kind: Kind) -> Option<String> {
    match kind {
        Kind::Temporal => {
            let s = Series::new("".into(), [v.round() as i64]);
            render_values(&s, dtype, kind).ok()?.into_iter().next()
        }
        // Quantiles of integers are integers (the nearest rank's value).
        Kind::Int => Some(format_float(v.round())),
        Kind::Float => Some(format_float(v)),
        _ => None,
    }
}

fn format_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Merge state frames (in any grouping) into one state per column, in the
/// order columns first appear.
pub fn merge(states: &DataFrame) -> Result<DataFrame> {
    let merged = merged_states(states)?;
    let names: Vec<&str> = merged.iter().map(|(n, _)| n.as_str()).collect();
    let bytes = merged.iter().map(|(_, s)| s.encode()).collect();
    state_frame(&names, bytes)
}

fn merged_states(states: &DataFrame) -> Result<Vec<(String, ColumnState)>> {
    let names = states
        .column("column")
        .map_err(engine)?
        .str()
        .map_err(engine)?;
    let blobs = states
        .column("state")
        .map_err(engine)?
        .binary()
        .map_err(engine)?;
    let mut out: Vec<(String, ColumnState)> = Vec::new();
    for (name, blob) in names.iter().zip(blobs.iter()) {
        let (Some(name), Some(blob)) = (name, blob) else {
            return Err(engine("a partial state is missing"));
        };
        let st = ColumnState::decode(blob)
            .ok_or_else(|| engine(format!("the partial state of `{name}` is damaged")))?;
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, cur)) => cur.merge(st),
            None => out.push((name.to_string(), st)),
        }
    }
    Ok(out)
}

/// Merge state frames and render the describe table; `schema` is the
/// described frame's (for dtypes and how to show values).
pub fn finish(states: &DataFrame, schema: &Schema) -> Result<DataFrame> {
    let merged = merged_states(states)?;
    let mut rows: Vec<Vec<AnyValue<'static>>> = Vec::with_capacity(merged.len());
    for (name, st) in merged {
        let dtype = schema.get(name.as_str()).cloned().unwrap_or(DataType::Null);
        rows.push(render_row(&name, &dtype, st));
    }
    let schema = output_schema();
    let columns: Vec<Column> = schema
        .iter()
        .enumerate()
        .map(|(i, (name, dt))| {
            let vals: Vec<AnyValue> = rows.iter().map(|r| r[i].clone()).collect();
            Series::from_any_values_and_dtype(name.clone(), &vals, dt, true)
                .map(|s| s.into_column())
        })
        .collect::<PolarsResult<_>>()
        .map_err(engine)?;
    DataFrame::new_infer_height(columns).map_err(engine)
}

fn render_row(name: &str, dtype: &DataType, st: ColumnState) -> Vec<AnyValue<'static>> {
    let kind = kind_of(dtype);
    let count = st.rows - st.nulls;
    let (distinct, exact) = if kind == Kind::Other || count == 0 {
        (None, true)
    } else {
        let (d, e) = st.distinct.estimate();
        (Some(d), e)
    };
    let show = |s: &Option<Scalar>| -> Option<String> {
        match s.as_ref()? {
            Scalar::S(v) => Some(v.clone()),
            Scalar::F(v) => Some(format_float(*v)),
            Scalar::I(v) => match kind {
                Kind::Temporal | Kind::Bool => {
                    let s = Series::new("".into(), [*v]);
                    render_values(&s, dtype, kind).ok()?.into_iter().next()
                }
                _ => Some(v.to_string()),
            },
        }
    };
    let num = |s: &Option<Scalar>| -> Option<f64> {
        match s.as_ref()? {
            Scalar::I(v) if kind != Kind::Bool => Some(*v as f64),
            Scalar::F(v) => Some(*v),
            _ => None,
        }
    };
    let (mean, std) = match st.moments {
        Some((n, m, q)) => (
            Some(m),
            Some(if n > 1.0 { (q / (n - 1.0)).sqrt() } else { 0.0 }),
        ),
        None => (None, None),
    };
    let shown = &st.top.values[..st.top.values.len().min(TOP_SHOWN)];
    let top_exact = shown.iter().all(|(_, _, e)| *e == 0);
    let top = (!shown.is_empty()).then(|| {
        shown
            .iter()
            .map(|(v, c, e)| {
                if *e == 0 {
                    format!("{v} ({c})")
                } else {
                    format!("{v} (≈{c})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let null_share = if st.rows > 0 {
        st.nulls as f64 / st.rows as f64
    } else {
        0.0
    };
    let opt_str = |v: Option<String>| {
        v.map(|s| AnyValue::StringOwned(s.into()))
            .unwrap_or(AnyValue::Null)
    };
    let opt_f = |v: Option<f64>| v.map(AnyValue::Float64).unwrap_or(AnyValue::Null);
    let opt_u = |v: Option<u64>| v.map(AnyValue::UInt64).unwrap_or(AnyValue::Null);
    let mut row = vec![
        AnyValue::StringOwned(name.into()),
        AnyValue::StringOwned(format!("{dtype}").into()),
        AnyValue::UInt64(count),
        AnyValue::UInt64(st.nulls),
        AnyValue::Float64(null_share),
        opt_u(distinct),
        AnyValue::Boolean(exact),
        opt_str(show(&st.min)),
        opt_str(show(&st.max)),
        opt_f(mean),
        opt_f(std),
    ];
    for (_, q) in QUANTILES {
        let v = st
            .digest
            .quantile(q)
            .and_then(|v| render_num(v, dtype, kind));
        row.push(opt_str(v));
    }
    row.push(opt_str(top));
    row.push(AnyValue::Boolean(top_exact));
    let (lmin, lmean, lmax) = match st.len {
        Some((a, b, sum)) if count > 0 => (Some(a), Some(sum as f64 / count as f64), Some(b)),
        _ => (None, None, None),
    };
    row.push(opt_u(lmin));
    row.push(opt_f(lmean));
    row.push(opt_u(lmax));
    row.push(opt_f(num(&st.min)));
    row.push(opt_f(num(&st.max)));
    row
}

/// Describe a frame in one go (previews, the single-shot oracle).
pub fn describe_frame(df: &DataFrame, columns: Option<&[String]>) -> Result<DataFrame> {
    let schema = df.schema();
    finish(&partial(df, columns)?, schema)
}

/// The describe table as people read it: one row per column, numbers
/// rounded to 6 significant digits, estimates marked `≈`, null share in %.
/// `quarry describe` prints it; the explorer's Describe view shows it.
pub fn display_frame(table: &DataFrame) -> Result<DataFrame> {
    let n = table.height();
    let get = |name: &str| -> Result<&Column> { table.column(name).map_err(engine) };
    let text = |name: &str, i: usize| -> Result<Option<String>> {
        Ok(match get(name)?.get(i).map_err(engine)? {
            AnyValue::Null => None,
            AnyValue::String(s) => Some(s.to_string()),
            AnyValue::StringOwned(s) => Some(s.to_string()),
            AnyValue::Float64(f) => Some(short_float(f)),
            AnyValue::Boolean(b) => Some(b.to_string()),
            v => Some(v.to_string()),
        })
    };
    let headers: Vec<&str> = [
        "column", "dtype", "count", "null%", "distinct", "min", "max", "mean", "std",
    ]
    .into_iter()
    .chain(QUANTILES.iter().map(|(q, _)| *q))
    .chain(["top", "len"])
    .collect();
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(n); headers.len()];
    for i in 0..n {
        let mut row = vec![text("column", i)?, text("dtype", i)?, text("count", i)?];
        let share = get("null_share")?
            .f64()
            .map_err(engine)?
            .get(i)
            .unwrap_or(0.0);
        row.push(Some(format!("{:.1}", share * 100.0)));
        let exact = get("distinct_exact")?
            .bool()
            .map_err(engine)?
            .get(i)
            .unwrap_or(true);
        row.push(text("distinct", i)?.map(|d| if exact { d } else { format!("≈{d}") }));
        // Floats read better rounded (JSON output keeps every digit); a
        // string column's "00501" must stay as it is.
        let float = matches!(text("dtype", i)?.as_deref(), Some("f64" | "f32"));
        for name in ["min", "max"] {
            row.push(text(name, i)?.map(|v| match v.parse::<f64>() {
                Ok(f) if float => short_float(f),
                _ => v,
            }));
        }
        for name in ["mean", "std"] {
            row.push(text(name, i)?);
        }
        for (q, _) in QUANTILES {
            row.push(text(q, i)?.map(|v| match v.parse::<f64>() {
                Ok(f) => short_float(f),
                Err(_) => v,
            }));
        }
        row.push(text("top", i)?);
        let len = match (
            text("len_min", i)?,
            get("len_mean")?.f64().map_err(engine)?.get(i),
            text("len_max", i)?,
        ) {
            (Some(a), Some(m), Some(b)) => Some(format!("{a}/{m:.1}/{b}")),
            _ => None,
        };
        row.push(len);
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let columns = headers
        .iter()
        .zip(cols)
        .map(|(h, v)| Series::new((*h).into(), v).into_column())
        .collect();
    DataFrame::new_infer_height(columns).map_err(engine)
}

/// Six significant digits, no trailing zeros; scientific when very large
/// or small.
pub fn short_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e12).contains(&a) {
        return format!("{f:.4e}");
    }
    let digits = if a == 0.0 {
        0
    } else {
        a.log10().floor() as i32 + 1
    };
    let decimals = (6 - digits).clamp(0, 6) as usize;
    let s = format!("{f:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
