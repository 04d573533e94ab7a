//! `quarry schema`: the inferred schema, as a table or JSON.

use crate::cli::args::{split_format, OutputFormat, SchemaArgs};
use crate::cli::print::emit;
use crate::engine::input::infer::LEADING_ZEROS;
use crate::engine::input::spec::dtype_name;
use crate::engine::{Result, Source};

pub fn run(a: SchemaArgs) -> Result<()> {
    let (out, input) = split_format(
        a.format.as_deref(),
        &[OutputFormat::Table, OutputFormat::Json],
    )?;
    let (spec, _stdin) = a.source.to_spec(input)?;
    let source = Source::open(spec)?;
    print_schema(&source, out)
}

fn print_schema(source: &Source, out: OutputFormat) -> Result<()> {
    match out {
        OutputFormat::Json => {
            let columns: Vec<serde_json::Value> = source
                .schema
                .iter()
                .map(|(n, dt)| {
                    let mut column = serde_json::json!({
                        "name": n.as_str(),
                        "dtype": dtype_name(dt),
                        "overridden": source.overridden.iter().any(|o| o == n.as_str()),
                    });
                    // Why inference read it so, when that is not the obvious reading.
                    if let Some(note) = source.inference_notes.get(n.as_str()) {
                        column["note"] = note.as_str().into();
                    }
                    column
                })
                .collect();
            let doc = serde_json::json!({
                "path": source.spec.path,
                "format": source.format.name(),
                "files": source.files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>(),
                "file_count": source.files.len(),
                "total_bytes": source.total_bytes(),
                "blocksize": source.spec.blocksize,
                "partitions": source.partitions.len(),
                "columns": columns,
                "files_that_differ": source.drift_report().into_iter().map(|(file, how)| {
                    serde_json::json!({"file": file, "differs": how})
                }).collect::<Vec<_>>(),
            });
            emit(|w| {
                writeln!(
                    w,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                )
            })
        }
        _ => emit(|w| {
            writeln!(w, "{}", source.describe())?;
            writeln!(
                w,
                "files: {}  bytes: {}  partitions: {}",
                source.files.len(),
                source.total_bytes(),
                source.partitions.len()
            )?;
            writeln!(w)?;
            let width = source
                .schema
                .iter_names()
                .map(|n| n.chars().count())
                .max()
                .unwrap_or(6)
                .max(6);
            writeln!(w, "{:>3}  {:<width$}  dtype", "#", "column")?;
            for (i, (n, dt)) in source.schema.iter().enumerate() {
                let mark = if source.overridden.iter().any(|o| o == n.as_str()) {
                    "  (set by --dtype)".to_string()
                } else if let Some(note) = source.inference_notes.get(n.as_str()) {
                    if note == LEADING_ZEROS {
                        format!("  ({note}; --dtype {n}=i64 reads numbers)")
                    } else if let Some(layout) = source.date_layouts.get(n.as_str()) {
                        format!(
                            "  (dates written {}; to read them as dates, add a with_columns step: {n} = \"{}\")",
                            layout.label,
                            layout.cast_expr(n).replace('"', "\\\"")
                        )
                    } else {
                        format!("  ({note})")
                    }
                } else {
                    String::new()
                };
                writeln!(
                    w,
                    "{:>3}  {:<width$}  {}{mark}",
                    i + 1,
                    n.as_str(),
                    dtype_name(dt)
                )?;
            }
            let drift = source.drift_report();
            if !drift.is_empty() {
                writeln!(w)?;
                writeln!(
                    w,
                    "files that differ: {} of {} (read as one table: columns a file lacks are null, types widened)",
                    drift.len(),
                    source.files.len()
                )?;
                for (file, how) in drift {
                    writeln!(w, "  {file}: {how}")?;
                }
            }
            Ok(())
        }),
    }
}
