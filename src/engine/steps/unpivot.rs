//! `unpivot` (melt): wide to long, row by row. Each input row becomes one
//! row per `on` column, in the order the columns are named: the `index`
//! columns as they were, the column's name in `variable`, its value in
//! `value` (every `on` column cast to their common type: theirs, a number
//! type wide enough for all, or text).
//!
//! Row by row, not column by column as polars' own unpivot orders its
//! output: that keeps the step row-local, so a partitioned run produces the
//! same rows in the same order as one pass over the whole file.

use polars::prelude::*;

/// Default names of the two new columns (polars' names).
pub const VARIABLE: &str = "variable";
pub const VALUE: &str = "value";

const ROW: &str = "__quarry_unpivot";

/// The type the `on` columns are unpivoted into: theirs when they agree;
/// a float when they are numbers and one is a float, else an integer;
/// text when they are of different kinds (every value still reads as it
/// did).
fn common_type(types: &[DataType]) -> DataType {
    if types.windows(2).all(|w| w[0] == w[1]) {
        return types[0].clone();
    }
    if types.iter().all(|t| t.is_primitive_numeric()) {
        if types.iter().any(|t| t.is_float()) {
            DataType::Float64
        } else {
            DataType::Int64
        }
    } else {
        DataType::String
    }
}

/// `lf` unpivoted. `Err`: the reason, for the step's error.
pub fn unpivot(
    lf: LazyFrame,
    schema: &Schema,
    index: &[String],
    on: &[String],
    variable: &str,
    value: &str,
) -> Result<LazyFrame, String> {
    if on.is_empty() {
        return Err("name the columns to unpivot (on = [\"jan\", \"feb\"])".into());
    }
    if variable == value {
        return Err(format!(
            "the variable and value columns are both named `{value}`"
        ));
    }
    if let Some(clash) = index.iter().find(|c| *c == variable || *c == value) {
        return Err(format!(
            "index column `{clash}` has the name of a new column; set variable_name or value_name"
        ));
    }
    if let Some(both) = on.iter().find(|c| index.contains(c)) {
        return Err(format!("`{both}` is both an index column and unpivoted"));
    }
    let dtype = |c: &str| {
        schema
            .get(c)
            .cloned()
            .ok_or_else(|| format!("unknown column `{c}`"))
    };
    let types: Vec<DataType> = on.iter().map(|c| dtype(c)).collect::<Result<_, _>>()?;
    let common = common_type(&types);
    for c in index {
        dtype(c)?;
    }
    let pairs: Vec<Expr> = on
        .iter()
        .map(|c| {
            as_struct(vec![
                lit(c.as_str()).alias(variable),
                col(c.as_str()).cast(common.clone()).alias(value),
            ])
        })
        .collect();
    let list = concat_list(pairs).map_err(|e| e.to_string())?;
    let mut keep: Vec<Expr> = index.iter().map(|c| col(c.as_str())).collect();
    keep.push(list.alias(ROW));
    let exploded = lf.select(keep).explode(
        Selector::ByName {
            names: std::sync::Arc::from([PlSmallStr::from(ROW)]),
            strict: true,
        },
        crate::engine::recipe::agg::EXPLODE,
    );
    let mut out: Vec<Expr> = index.iter().map(|c| col(c.as_str())).collect();
    out.push(col(ROW).struct_().field_by_name(variable).alias(variable));
    out.push(col(ROW).struct_().field_by_name(value).alias(value));
    Ok(exploded.select(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(df: &DataFrame, index: &[&str], on: &[&str]) -> Result<DataFrame, String> {
        let index: Vec<String> = index.iter().map(|s| s.to_string()).collect();
        let on: Vec<String> = on.iter().map(|s| s.to_string()).collect();
        let lf = unpivot(df.clone().lazy(), df.schema(), &index, &on, VARIABLE, VALUE)?;
        lf.collect().map_err(|e| e.to_string())
    }

    /// The oracle: the long rows written out one by one.
    fn by_hand(
        df: &DataFrame,
        index: &str,
        on: &[&str],
    ) -> Vec<(Option<i64>, String, Option<f64>)> {
        let mut out = Vec::new();
        for r in 0..df.height() {
            let id = df.column(index).unwrap().get(r).unwrap().extract::<i64>();
            for c in on {
                let v = df.column(c).unwrap().get(r).unwrap().extract::<f64>();
                out.push((id, c.to_string(), v));
            }
        }
        out
    }

    fn rows(df: &DataFrame, index: &str) -> Vec<(Option<i64>, String, Option<f64>)> {
        (0..df.height())
            .map(|r| {
                (
                    df.column(index).unwrap().get(r).unwrap().extract::<i64>(),
                    df.column(VARIABLE)
                        .unwrap()
                        .str()
                        .unwrap()
                        .get(r)
                        .unwrap()
                        .to_string(),
                    df.column(VALUE).unwrap().get(r).unwrap().extract::<f64>(),
                )
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn equals_the_long_rows_written_by_hand(
            values in proptest::collection::vec(
                (proptest::option::of(-50i64..50), proptest::option::of(-1e3f64..1e3), proptest::option::of(-9i32..9)),
                0..40,
            )
        ) {
            let df = df!(
                "id" => values.iter().map(|v| v.0).collect::<Vec<_>>(),
                "a" => values.iter().map(|v| v.1).collect::<Vec<_>>(),
                "b" => values.iter().map(|v| v.2).collect::<Vec<_>>()
            ).unwrap();
            let out = run(&df, &["id"], &["a", "b"]).unwrap();
            proptest::prop_assert_eq!(out.get_column_names(), ["id", VARIABLE, VALUE]);
            proptest::prop_assert_eq!(out.column(VALUE).unwrap().dtype(), &DataType::Float64);
            proptest::prop_assert_eq!(rows(&out, "id"), by_hand(&df, "id", &["a", "b"]));
            // Cut anywhere, the two parts unpivoted and stacked are the whole.
            let cut = values.len() / 3;
            let mut parts = run(&df.slice(0, cut), &["id"], &["a", "b"]).unwrap();
            parts.vstack_mut(&run(&df.slice(cut as i64, values.len()), &["id"], &["a", "b"]).unwrap()).unwrap();
            proptest::prop_assert!(parts.equals_missing(&out));
        }
    }

    #[test]
    fn refuses_what_it_cannot_unpivot() {
        let df = df!("id" => [1i64], "a" => [1.0], "s" => ["x"], "value" => [2i64]).unwrap();
        assert!(run(&df, &["id"], &[])
            .unwrap_err()
            .contains("name the columns"));
        assert!(run(&df, &["id"], &["a", "nosuch"])
            .unwrap_err()
            .contains("unknown column `nosuch`"));
        assert!(run(&df, &["value"], &["a"])
            .unwrap_err()
            .contains("set variable_name"));
        assert!(run(&df, &["id"], &["id"])
            .unwrap_err()
            .contains("both an index"));
        let err = run(&df, &["id"], &["a", "s"]);
        // A number and text meet in text.
        assert_eq!(
            err.unwrap().column(VALUE).unwrap().dtype(),
            &DataType::String
        );
    }
}
