//! Headless output of DataFrames: an aligned text table, CSV, or a JSON array
//! of row objects.

use std::io::Write;

use polars::prelude::*;

use crate::engine::spec::dtype_name;

/// Widest a table column gets before values are cut with an ellipsis.
const MAX_WIDTH: usize = 40;

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

fn is_numeric(dt: &DataType) -> bool {
    dt.is_primitive_numeric()
}

fn clip(s: &str, width: usize) -> String {
    // Control characters would break the layout; show them escaped.
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\n' => '↵',
            '\t' | '\r' => ' ',
            c if c.is_control() => '�',
            c => c,
        })
        .collect();
    if clean.chars().count() <= width {
        clean
    } else {
        let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

pub fn write_table(df: &DataFrame, w: &mut dyn Write) -> std::io::Result<()> {
    let cols = df.columns();
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(cols.len());
    let mut widths = Vec::with_capacity(cols.len());
    let mut heads = Vec::with_capacity(cols.len());
    for c in cols {
        let name = c.name().to_string();
        let dt = dtype_name(c.dtype());
        let s = c.as_materialized_series();
        let vals: Vec<String> = (0..df.height())
            .map(|i| clip(&cell_text(&s.get(i).unwrap_or(AnyValue::Null)), MAX_WIDTH))
            .collect();
        let width = vals
            .iter()
            .map(|v| v.chars().count())
            .chain([name.chars().count().min(MAX_WIDTH), dt.chars().count()])
            .max()
            .unwrap_or(1);
        widths.push(width);
        heads.push((clip(&name, MAX_WIDTH), dt));
        cells.push(vals);
    }
    let line = |w: &mut dyn Write, parts: Vec<String>| -> std::io::Result<()> {
        writeln!(w, "{}", parts.join("  ").trim_end())
    };
    line(
        w,
        heads
            .iter()
            .zip(&widths)
            .map(|((n, _), &wd)| format!("{n:<wd$}"))
            .collect(),
    )?;
    line(
        w,
        heads
            .iter()
            .zip(&widths)
            .map(|((_, t), &wd)| format!("{t:<wd$}"))
            .collect(),
    )?;
    line(w, widths.iter().map(|&wd| "─".repeat(wd)).collect())?;
    for row in 0..df.height() {
        let parts = cells
            .iter()
            .zip(&widths)
            .zip(cols)
            .map(|((vals, &wd), c)| {
                if is_numeric(c.dtype()) {
                    format!("{:>wd$}", vals[row])
                } else {
                    format!("{:<wd$}", vals[row])
                }
            })
            .collect();
        line(w, parts)?;
    }
    Ok(())
}

pub fn write_csv(df: &mut DataFrame, w: &mut dyn Write) -> PolarsResult<()> {
    CsvWriter::new(w).include_header(true).finish(df)
}

pub fn write_json(df: &mut DataFrame, w: &mut dyn Write) -> PolarsResult<()> {
    JsonWriter::new(&mut *w)
        .with_json_format(JsonFormat::Json)
        .finish(df)?;
    writeln!(w).map_err(PolarsError::from)
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
