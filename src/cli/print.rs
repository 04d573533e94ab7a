//! Headless output of DataFrames: an aligned text table, CSV, or a JSON array
//! of row objects, written to stdout so that a closed pipe ends quietly.

use std::io::Write;

use polars::prelude::*;

use crate::cell::cell_text;
use crate::cli::args::OutputFormat;
use crate::engine::input::spec::dtype_name;
use crate::engine::{QuarryError, Result};

/// Widest a table column gets before values are cut with an ellipsis.
const MAX_WIDTH: usize = 40;

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
    let mut flat = crate::engine::frames::nested_as_json_text(df.clone())
        .map_err(|e| PolarsError::ComputeError(e.to_string().into()))?;
    CsvWriter::new(w).include_header(true).finish(&mut flat)
}

pub fn write_json(df: &mut DataFrame, w: &mut dyn Write) -> PolarsResult<()> {
    JsonWriter::new(&mut *w)
        .with_json_format(JsonFormat::Json)
        .finish(df)?;
    writeln!(w).map_err(PolarsError::from)
}

/// Writes to stdout that end quietly when the reader goes away
/// (`quarry head big.csv | head -3`).
pub fn emit(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let r = f(&mut lock).and_then(|_| lock.flush());
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(QuarryError::Engine(format!("cannot write output: {e}"))),
    }
}

fn polars_io(e: polars::prelude::PolarsError) -> std::io::Error {
    match e {
        polars::prelude::PolarsError::IO { error, .. } => {
            std::io::Error::new(error.kind(), error.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

pub fn print_frame(mut df: polars::prelude::DataFrame, out: OutputFormat) -> Result<()> {
    emit(|w| match out {
        OutputFormat::Table => write_table(&df, w),
        OutputFormat::Csv => write_csv(&mut df, w).map_err(polars_io),
        OutputFormat::Json => write_json(&mut df, w).map_err(polars_io),
    })
}
