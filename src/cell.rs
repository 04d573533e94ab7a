//! How one value reads as text, the same in the explorer's table, its
//! popups and printed output.

use polars::prelude::*;

/// Text of one cell: strings unquoted, nulls as `null`, structs and lists
/// as compact JSON (`{"count":3,"tags":["a","b"]}`), which reads whole in
/// the cell line and pastes into any JSON tool.
pub fn cell_text(v: &AnyValue) -> String {
    match v {
        AnyValue::Struct(..)
        | AnyValue::StructOwned(_)
        | AnyValue::List(_)
        | AnyValue::Array(..) => json_value(v).to_string(),
        AnyValue::Null => "null".into(),
        AnyValue::Float64(f) => float_text(*f),
        AnyValue::Float32(f) => float_text(f64::from(*f)),
        AnyValue::String(s) => (*s).to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// A value as JSON: structs as objects, lists as arrays, numbers as
/// numbers (non-finite floats as null, as JSON has no NaN), temporal values
/// and everything else as their text.
pub fn json_value(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String((*s).to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Int8(_)
        | AnyValue::Int16(_)
        | AnyValue::Int32(_)
        | AnyValue::Int64(_)
        | AnyValue::UInt8(_)
        | AnyValue::UInt16(_)
        | AnyValue::UInt32(_)
        | AnyValue::UInt64(_) => v
            .extract::<i64>()
            .map(Value::from)
            .or_else(|| v.extract::<u64>().map(Value::from))
            .unwrap_or(Value::Null),
        AnyValue::Float32(_) | AnyValue::Float64(_) => v
            .extract::<f64>()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        AnyValue::List(series) | AnyValue::Array(series, _) => {
            Value::Array(series.iter().map(|item| json_value(&item)).collect())
        }
        AnyValue::Struct(_, _, fields) => Value::Object(
            fields
                .iter()
                .zip(v._iter_struct_av())
                .map(|(f, item)| (f.name.to_string(), json_value(&item)))
                .collect(),
        ),
        AnyValue::StructOwned(payload) => Value::Object(
            payload
                .1
                .iter()
                .zip(payload.0.iter())
                .map(|(f, item)| (f.name.to_string(), json_value(item)))
                .collect(),
        ),
        other => Value::String(cell_text(other)),
    }
}

/// Plain decimals for everyday magnitudes (`1649000.0`, not `1.649e6`),
/// scientific notation only for very large or very small values.
fn float_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-5..1e16).contains(&a) {
        return format!("{f:e}");
    }
    let s = f.to_string();
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::{cell_text, float_text};
    use polars::prelude::*;

    #[test]
    fn nested_values_read_as_json() {
        let df = polars::df!("count" => [3i64], "name" => ["x"]).unwrap();
        let s = df.into_struct("stripe".into()).into_series();
        assert_eq!(cell_text(&s.get(0).unwrap()), r#"{"count":3,"name":"x"}"#);
        let list = Series::new("l".into(), [1.5f64, 2.0]);
        assert_eq!(cell_text(&AnyValue::List(list)), "[1.5,2.0]");
    }

    #[test]
    fn floats_read_as_decimals() {
        assert_eq!(float_text(1_649_000.0), "1649000.0");
        assert_eq!(float_text(0.25), "0.25");
        assert_eq!(float_text(-3.0), "-3.0");
        assert_eq!(float_text(1e20), "1e20");
        assert_eq!(float_text(0.0), "0.0");
    }
}
