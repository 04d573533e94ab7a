//! How one value reads as text, the same in the explorer's table, its
//! popups and printed output.

use polars::prelude::*;

/// Text of one cell: strings unquoted, nulls as `null`.
pub fn cell_text(v: &AnyValue) -> String {
    match v {
        AnyValue::Null => "null".into(),
        AnyValue::Float64(f) => float_text(*f),
        AnyValue::Float32(f) => float_text(f64::from(*f)),
        AnyValue::String(s) => (*s).to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
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
    use super::float_text;

    #[test]
    fn floats_read_as_decimals() {
        assert_eq!(float_text(1_649_000.0), "1649000.0");
        assert_eq!(float_text(0.25), "0.25");
        assert_eq!(float_text(-3.0), "-3.0");
        assert_eq!(float_text(1e20), "1e20");
        assert_eq!(float_text(0.0), "0.0");
    }
}
