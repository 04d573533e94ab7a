//! Nested values made flat: `unnest` turns a struct column's fields into
//! columns, and `json_decode` turns JSON objects held as text into typed
//! columns the same way. Both name the new columns `prefix + field`, the
//! prefix being the column's name and `_` unless the step sets another.

use indexmap::IndexMap;
use polars::prelude::*;

use crate::engine::input::spec::{dtype_name, parse_dtype};

/// The names the fields of `column` get: `stripe` + `count` →
/// `stripe_count`, or `prefix + count` when a prefix is given (`""` keeps
/// the bare field names).
pub fn field_column(column: &str, prefix: Option<&str>, field: &str) -> String {
    match prefix {
        Some(p) => format!("{p}{field}"),
        None => format!("{column}_{field}"),
    }
}

/// `lf` with struct column `column` replaced, where it stood, by one
/// column per field. `Err`: the reason, for the step's error.
pub fn unnest(
    lf: LazyFrame,
    schema: &Schema,
    column: &str,
    prefix: Option<&str>,
) -> Result<LazyFrame, String> {
    let fields = match schema.get(column) {
        Some(DataType::Struct(fields)) => fields.clone(),
        Some(other) => {
            return Err(format!(
                "`{column}` is {}, not a struct; for JSON held as text use json_decode",
                dtype_name(other)
            ))
        }
        None => return Err(format!("unknown column `{column}`")),
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let exprs = spread_fields(schema, column, column, &names, prefix)?;
    Ok(lf.select(exprs))
}

/// The select list that puts the fields of struct column `from` where
/// `column` stood, each named by [`field_column`]; refused when a new name
/// would replace a column the frame keeps.
fn spread_fields(
    schema: &Schema,
    column: &str,
    from: &str,
    fields: &[&str],
    prefix: Option<&str>,
) -> Result<Vec<Expr>, String> {
    let names: Vec<String> = fields
        .iter()
        .map(|f| field_column(column, prefix, f))
        .collect();
    if let Some(clash) = names
        .iter()
        .find(|n| n.as_str() != column && schema.contains(n.as_str()))
    {
        return Err(format!(
            "field column `{clash}` would replace an existing column; choose another prefix (prefix = \"{column}.\")"
        ));
    }
    Ok(schema
        .iter_names()
        .flat_map(|n| {
            if n.as_str() == column {
                fields
                    .iter()
                    .zip(&names)
                    .map(|(f, name)| col(from).struct_().field_by_name(f).alias(name.as_str()))
                    .collect::<Vec<_>>()
            } else {
                vec![col(n.clone())]
            }
        })
        .collect())
}

/// `lf` with the JSON objects in text column `column` decoded into one
/// column per field of `fields` (name → dtype), where the column stood.
pub fn json_decode(
    lf: LazyFrame,
    schema: &Schema,
    column: &str,
    fields: &IndexMap<String, String>,
    prefix: Option<&str>,
) -> Result<LazyFrame, String> {
    match schema.get(column) {
        Some(DataType::String) => {}
        Some(other) => {
            return Err(format!(
                "`{column}` is {}, not text holding JSON",
                dtype_name(other)
            ))
        }
        None => return Err(format!("unknown column `{column}`")),
    }
    if fields.is_empty() {
        return Err(
            "no fields to decode: list them, e.g. fields = { count = \"i64\", name = \"str\" } (the explorer's json_decode fills them from the preview)"
                .into(),
        );
    }
    let mut typed: Vec<Field> = Vec::with_capacity(fields.len());
    for (name, ty) in fields {
        typed.push(Field::new(
            name.as_str().into(),
            parse_dtype(ty).map_err(|e| e.to_string())?,
        ));
    }
    let struct_type = DataType::Struct(typed.clone());
    let decoded = col(column).map(
        move |c| decode_column(&c, &typed),
        move |_, f| Ok(Field::new(f.name().clone(), struct_type.clone())),
    );
    let tmp = "__quarry_json";
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    let exprs = spread_fields(schema, column, tmp, &names, prefix)?;
    Ok(lf.with_column(decoded.alias(tmp)).select(exprs))
}

/// Decode one column of JSON text into a struct column of `fields`. Null
/// and empty text decode to null fields; text that is not a JSON object,
/// or a value that does not fit its field's type, fails with the value.
fn decode_column(c: &Column, fields: &[Field]) -> PolarsResult<Column> {
    let text = c.str()?;
    let mut columns: Vec<Vec<AnyValue<'static>>> =
        vec![Vec::with_capacity(text.len()); fields.len()];
    for v in text.iter() {
        let object = match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => match serde_json::from_str::<serde_json::Value>(v) {
                Ok(serde_json::Value::Object(o)) => Some(o),
                Ok(serde_json::Value::Null) => None,
                _ => polars_bail!(ComputeError: "json_decode: {} is not a JSON object", short(v)),
            },
        };
        for (f, out) in fields.iter().zip(columns.iter_mut()) {
            let value = object.as_ref().and_then(|o| o.get(f.name.as_str()));
            out.push(json_to_any(value, &f.dtype).ok_or_else(|| {
                polars_err!(ComputeError:
                    "json_decode: field `{}` holds {}, not {}; set its type to str in the step's fields",
                    f.name, short(&value.map(|v| v.to_string()).unwrap_or_default()), dtype_name(&f.dtype))
            })?);
        }
    }
    let series: Vec<Series> = fields
        .iter()
        .zip(columns)
        .map(|(f, values)| {
            Series::from_any_values_and_dtype(f.name.clone(), &values, &f.dtype, true)
        })
        .collect::<PolarsResult<_>>()?;
    Ok(
        StructChunked::from_series(c.name().clone(), text.len(), series.iter())?
            .into_series()
            .into_column(),
    )
}

/// One JSON value as `dtype` (`None`: it does not fit). Text fields take
/// strings as they are and any other value as its JSON text.
fn json_to_any(value: Option<&serde_json::Value>, dtype: &DataType) -> Option<AnyValue<'static>> {
    use serde_json::Value;
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Some(AnyValue::Null);
    };
    Some(match (dtype, value) {
        (DataType::String, Value::String(s)) => AnyValue::StringOwned(s.as_str().into()),
        (DataType::String, other) => AnyValue::StringOwned(other.to_string().into()),
        (DataType::Boolean, Value::Bool(b)) => AnyValue::Boolean(*b),
        (DataType::Int64, Value::Number(n)) => AnyValue::Int64(n.as_i64()?),
        (DataType::Float64, Value::Number(n)) => AnyValue::Float64(n.as_f64()?),
        _ => return None,
    })
}

fn short(v: &str) -> String {
    let cut: String = v.chars().take(60).collect();
    if cut.len() < v.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// The fields a json_decode step reads, inferred from sample values: per
/// key in order of first appearance, `i64` when every value is an integer,
/// `f64` when numbers, `bool`, else `str`.
pub fn infer_json_fields(values: &StringChunked) -> IndexMap<String, String> {
    use serde_json::Value;
    let mut kinds: IndexMap<String, DataType> = IndexMap::new();
    for v in values.iter().flatten() {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(v) else {
            continue;
        };
        for (k, v) in o {
            let kind = match &v {
                Value::Null => DataType::Null,
                Value::Bool(_) => DataType::Boolean,
                Value::Number(n) if n.is_i64() => DataType::Int64,
                Value::Number(_) => DataType::Float64,
                _ => DataType::String,
            };
            let slot = kinds.entry(k).or_insert(DataType::Null);
            *slot = crate::engine::input::infer::drift::widen(slot, &kind);
        }
    }
    kinds
        .into_iter()
        .map(|(k, dt)| {
            let dt = if dt == DataType::Null {
                DataType::String
            } else {
                dt
            };
            (k, dtype_name(&dt))
        })
        .collect()
}
