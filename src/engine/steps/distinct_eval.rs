//! Row-wise expressions over one low-cardinality column, evaluated once per
//! distinct value.
//!
//! `year = date_part('year', strptime(lpad(CAST(d AS VARCHAR), 8, '0'),
//! '%m%d%Y'))` costs a string conversion, a pad and a date parse per row —
//! about a third of the ARCOS group-by's CPU — yet a partition of 680,000
//! rows holds ~3,300 distinct dates. Such an expression is evaluated on the
//! column's distinct values and gathered back by each row's code. That is
//! the same as evaluating every row only for expressions built from pieces
//! that are elementwise and deterministic, so only those listed here are
//! rewritten; and only when they read exactly one column and call a string
//! or date function or cast to text (plain arithmetic gains nothing). A
//! column whose distinct values pass an eighth of its rows is evaluated row
//! by row after all.

use polars::prelude::*;

/// Below this many rows the codes cost more than they save.
const MIN_ROWS: usize = 4096;

/// Rows after which a column still half distinct is given up on (the
/// ARCOS dates: ~3,300 values, so ~2,300 of them in the first 4,096 rows).
const EARLY_LOOK: usize = 16 * 1024;

/// `expr` (of output type `dtype`) evaluated per distinct value of the one
/// column it reads, when that is known to give the same values; else
/// `expr` as it is.
pub fn per_distinct(expr: Expr, dtype: &DataType) -> Expr {
    let leaves = columns_read(&expr);
    if leaves.len() != 1 || !elementwise(&expr) || !costly(&expr) {
        return expr;
    }
    let column = leaves.into_iter().next().expect("one column");
    let inner = expr;
    let out = dtype.clone();
    col(column).map(
        move |c| evaluate(&c, &inner),
        move |_, f| Ok(Field::new(f.name().clone(), out.clone())),
    )
}

/// `expr` over `c` (the column it reads), through the distinct values when
/// there are few enough.
fn evaluate(c: &Column, expr: &Expr) -> PolarsResult<Column> {
    let encoded = if c.len() >= MIN_ROWS {
        encode(c, c.len() / 8)?
    } else {
        None
    };
    let Some((uniques, codes)) = encoded else {
        return eval_on(c.clone(), expr);
    };
    // A refusal is reported as row by row gives it: polars' message counts
    // the failing values among the rows, not among the distinct values.
    let Ok(values) = eval_on(uniques, expr) else {
        return eval_on(c.clone(), expr);
    };
    values.take(&IdxCa::from_vec(PlSmallStr::EMPTY, codes))
}

fn eval_on(c: Column, expr: &Expr) -> PolarsResult<Column> {
    let name = c.name().clone();
    let height = c.len();
    let df = DataFrame::new(height, vec![c])?;
    // In memory: this runs inside another query's expression.
    let out = df
        .lazy()
        .select([expr.clone()])
        .collect_with_engine(Engine::InMemory)?
        .unwrap_single();
    let mut col = out
        .columns()
        .first()
        .cloned()
        .ok_or_else(|| polars_err!(ComputeError: "the expression gave no column"))?;
    if col.len() != height {
        polars_bail!(ComputeError: "the expression is not row-wise");
    }
    col.rename(name);
    Ok(col)
}

/// The distinct values of `c` (first-seen order) and each row's index into
/// them; `None` for a dtype not handled here or more than `max` values.
fn encode(c: &Column, max: usize) -> PolarsResult<Option<(Column, Vec<IdxSize>)>> {
    let name = c.name().clone();
    Ok(match c.dtype() {
        DataType::Int64 => codes(c.i64()?.iter(), c.len(), max)
            .map(|(u, k)| (Series::new(name, &u).into_column(), k)),
        DataType::Int32 => codes(c.i32()?.iter(), c.len(), max)
            .map(|(u, k)| (Series::new(name, &u).into_column(), k)),
        DataType::String => codes(c.str()?.iter(), c.len(), max)
            .map(|(u, k)| (Series::new(name, &u).into_column(), k)),
        _ => None,
    })
}

fn codes<T: std::hash::Hash + Eq + Copy>(
    values: impl Iterator<Item = Option<T>>,
    len: usize,
    max: usize,
) -> Option<(Vec<Option<T>>, Vec<IdxSize>)> {
    let mut index: PlHashMap<Option<T>, IdxSize> = PlHashMap::default();
    let mut uniques = Vec::new();
    let mut codes = Vec::with_capacity(len);
    for (row, v) in values.enumerate() {
        let next = uniques.len() as IdxSize;
        let code = *index.entry(v).or_insert_with(|| {
            uniques.push(v);
            next
        });
        // Give up early on a column of mostly distinct values.
        if uniques.len() > max || (row == EARLY_LOOK && uniques.len() > EARLY_LOOK / 2) {
            return None;
        }
        codes.push(code);
    }
    Some((uniques, codes))
}

/// Whether `e` is built only from pieces that map each row to a value
/// depending on that row alone, deterministically.
pub fn elementwise(e: &Expr) -> bool {
    match e {
        Expr::Column(_) => true,
        Expr::Literal(l) => matches!(l, LiteralValue::Scalar(_) | LiteralValue::Dyn(_)),
        Expr::Alias(inner, _) | Expr::KeepName(inner) => elementwise(inner),
        Expr::Cast { expr, dtype, .. } => {
            matches!(dtype, DataTypeExpr::Literal(_)) && elementwise(expr)
        }
        Expr::BinaryExpr { left, right, .. } => elementwise(left) && elementwise(right),
        Expr::Ternary {
            predicate,
            truthy,
            falsy,
        } => elementwise(predicate) && elementwise(truthy) && elementwise(falsy),
        Expr::Function { input, function } => {
            known_function(function) && input.iter().all(elementwise)
        }
        _ => false,
    }
}

fn known_function(f: &FunctionExpr) -> bool {
    use StringFunction as S;
    use TemporalFunction as T;
    match f {
        FunctionExpr::StringExpr(s) => matches!(
            s,
            S::Contains { .. }
                | S::EndsWith
                | S::StartsWith
                | S::Extract(_)
                | S::LenBytes
                | S::LenChars
                | S::Lowercase
                | S::Uppercase
                | S::Replace { .. }
                | S::PadStart { .. }
                | S::PadEnd { .. }
                | S::Slice
                | S::Head
                | S::Tail
                | S::StripChars
                | S::StripCharsStart
                | S::StripCharsEnd
                | S::StripPrefix
                | S::StripSuffix
                | S::Strptime(..)
                | S::ZFill
        ),
        FunctionExpr::TemporalExpr(t) => matches!(
            t,
            T::Millennium
                | T::Century
                | T::Year
                | T::IsLeapYear
                | T::IsoYear
                | T::Quarter
                | T::Month
                | T::DaysInMonth
                | T::Week
                | T::WeekDay
                | T::Day
                | T::OrdinalDay
                | T::Hour
                | T::Minute
                | T::Second
                | T::Millisecond
                | T::Microsecond
                | T::Nanosecond
                | T::Date
                | T::Time
                | T::ToString(_)
        ),
        _ => false,
    }
}

/// The distinct columns `e` reads.
fn columns_read(e: &Expr) -> std::collections::BTreeSet<PlSmallStr> {
    let mut names = std::collections::BTreeSet::new();
    for x in e {
        if let Expr::Column(name) = x {
            names.insert(name.clone());
        }
    }
    names
}

/// Whether `e` does per-row work worth replacing: a string or date
/// function, or a cast to text.
fn costly(e: &Expr) -> bool {
    let mut found = false;
    for x in e {
        found |= match x {
            Expr::Function { .. } => true,
            Expr::Cast { dtype, .. } => {
                matches!(dtype, DataTypeExpr::Literal(DataType::String))
            }
            _ => false,
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::recipe::expr::parse_expr;
    use proptest::prelude::*;

    const ARCOS_YEAR: &str =
        "date_part('year', strptime(lpad(CAST(d AS VARCHAR), 8, '0'), '%m%d%Y'))";

    fn rewritten(text: &str, schema: &Schema) -> (Expr, Expr) {
        let e = parse_expr(text).unwrap();
        let dt = crate::engine::recipe::expr::check_against(text, &e, schema).unwrap();
        (e.clone(), per_distinct(e, &dt))
    }

    fn is_rewritten(e: &Expr) -> bool {
        format!("{e:?}").contains("map")
    }

    #[test]
    fn which_expressions_are_rewritten() {
        let schema = Schema::from_iter([
            Field::new("d".into(), DataType::Int64),
            Field::new("s".into(), DataType::String),
            Field::new("x".into(), DataType::Float64),
        ]);
        for text in [
            ARCOS_YEAR,
            "upper(s)",
            "length(s) + 1",
            "CAST(d AS VARCHAR)",
        ] {
            let (before, after) = rewritten(text, &schema);
            assert!(
                !is_rewritten(&before) && is_rewritten(&after),
                "{text}: {after:?}"
            );
        }
        // Two columns, plain arithmetic, or a piece that is not row-wise.
        for text in ["s || CAST(d AS VARCHAR)", "x * 2", "d - min(d)", "d + 1"] {
            let (_, after) = rewritten(text, &schema);
            assert!(!is_rewritten(&after), "{text}: {after:?}");
        }
    }

    fn eval(e: Expr, df: &DataFrame) -> PolarsResult<DataFrame> {
        df.clone().lazy().select([e.alias("out")]).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Through the distinct values or row by row, the same column —
        /// or the same refusal.
        #[test]
        fn values_equal_row_by_row(
            dates in proptest::collection::vec(
                proptest::option::of(proptest::sample::select(vec![
                    1012019i64, 12312020, 2292020, 7041999, 11302022,
                ])),
                MIN_ROWS..MIN_ROWS * 3,
            ),
            invalid_at in proptest::option::of(0usize..MIN_ROWS),
            words in proptest::sample::select(vec![3usize, 40, 5000]),
            case in 0usize..4,
        ) {
            let mut dates = dates;
            if let Some(i) = invalid_at {
                dates[i] = Some(2292021); // no 29 February in 2021: strptime refuses
            }
            let n = dates.len();
            let s: Vec<Option<String>> = (0..n)
                .map(|i| (i % 11 != 0).then(|| format!("w{}é", (i * 7919) % words)))
                .collect();
            let df = DataFrame::new(n, vec![
                Column::new("d".into(), &dates),
                Column::new("s".into(), &s),
            ]).unwrap();
            let schema = df.schema().as_ref().clone();
            let text = ["upper(s) || '!'", "length(s)", ARCOS_YEAR, "upper(s) LIKE 'W1%'"][case];
            let (before, after) = rewritten(text, &schema);
            prop_assert!(is_rewritten(&after));
            let (a, b) = if case == 3 {
                // As a filter step runs it: the rows kept.
                let keep = |e: Expr| df.clone().lazy().filter(e).collect();
                (keep(before), keep(after))
            } else {
                (eval(before, &df), eval(after, &df))
            };
            match (a, b) {
                (Ok(a), Ok(b)) => prop_assert!(a.equals_missing(&b), "{text}\n{a:?}\n{b:?}"),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "{text}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn the_arcos_year_is_evaluated_per_distinct_date() {
        let dates: Vec<i64> = (0..20_000)
            .map(|i| [1012019, 12312020, 7041999][i % 3])
            .collect();
        let df = DataFrame::new(dates.len(), vec![Column::new("d".into(), &dates)]).unwrap();
        let schema = df.schema().as_ref().clone();
        let (before, after) = rewritten(ARCOS_YEAR, &schema);
        let a = eval(before, &df).unwrap();
        let b = eval(after, &df).unwrap();
        assert!(a.equals_missing(&b));
        let c = df.column("d").unwrap();
        let (uniques, codes) = encode(c, c.len() / 8).unwrap().unwrap();
        assert_eq!((uniques.len(), codes.len()), (3, 20_000));
        // ~3,300 dates spread through 100,000 rows (the ARCOS shape: most
        // of them already seen in the first few thousand rows) are encoded.
        let spread: Vec<i64> = (0..100_000i64).map(|i| (i * 7919) % 3300).collect();
        let spread = Column::new("d".into(), &spread);
        let (uniques, _) = encode(&spread, spread.len() / 8).unwrap().unwrap();
        assert_eq!(uniques.len(), 3300);
        // A column of distinct values is not encoded.
        let ids: Vec<i64> = (0..20_000).collect();
        let ids = Column::new("d".into(), &ids);
        assert!(encode(&ids, ids.len() / 8).unwrap().is_none());
    }
}
