//! Files of one glob whose columns drift: a column added later, one
//! missing, another order, or a type that differs between files. They read
//! as one table: the union of the columns in order of first appearance,
//! missing ones null, types widened (int + float → float; number + text →
//! text), and the files that differ are listed with how (`FileDrift`).

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use crate::engine::error::Result;
use crate::engine::input::file::head_bytes;
use crate::engine::input::source::{FileDrift, Source};

use super::Inferred;

/// The type both `a` and `b` read as without loss.
pub fn widen(a: &DataType, b: &DataType) -> DataType {
    use DataType::*;
    match (a, b) {
        _ if a == b => a.clone(),
        (Null, x) | (x, Null) => x.clone(),
        _ if a.is_integer() && b.is_integer() => Int64,
        _ if a.is_primitive_numeric() && b.is_primitive_numeric() => Float64,
        (Date, Datetime(unit, None)) | (Datetime(unit, None), Date) => Datetime(*unit, None),
        _ => String,
    }
}

/// Per file, its CSV header's column names (read from the file's start).
pub(super) fn csv_headers(source: &Source) -> Result<Vec<Vec<String>>> {
    let Some(dialect) = source.csv.as_ref().filter(|d| d.has_header) else {
        return Ok(Vec::new());
    };
    let mut headers = Vec::with_capacity(source.files.len());
    for file in &source.files {
        let mut limit = 16 * 1024;
        let names = loop {
            let (head, complete) = head_bytes(file, limit)?;
            let head = source.spec.encoding.decode(&head);
            let has_record_end = head.contains(&b'\n');
            if has_record_end || complete {
                let names = crate::engine::input::dialect::csv_options(
                    dialect,
                    crate::engine::input::spec::Encoding::Utf8Lossy,
                    true,
                )
                .with_n_rows(Some(0))
                .with_raise_if_empty(false)
                .into_reader_with_file_handle(Cursor::new(head.as_ref()))
                .finish()
                .ok()
                .map(|df| {
                    df.get_column_names()
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                });
                if let Some(names) = names.filter(|_| has_record_end || complete) {
                    break names;
                }
            }
            if complete || limit >= 16 << 20 {
                break Vec::new(); // an empty file, or no header found: no claim
            }
            limit *= 4;
        };
        headers.push(names);
    }
    Ok(headers)
}

/// Files grouped by their list of columns, groups in order of their first
/// file. Files whose columns could not be read join the first group.
pub(super) fn group_by_columns(columns: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for (file, names) in columns.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|(n, _)| n == names || names.is_empty())
        {
            Some((_, files)) => files.push(file),
            None => groups.push((names.clone(), vec![file])),
        }
    }
    groups.into_iter().map(|(_, files)| files).collect()
}

/// A source of only `files` (a group of a drifting glob), for inference.
pub(super) fn subset(source: &Source, files: &[usize]) -> Source {
    Source::unread(
        source.spec.clone(),
        source.format,
        files.iter().map(|&f| source.files[f].share()).collect(),
        source.csv.clone(),
    )
}

/// One table from the inferences of groups of files (`(files, inferred)`):
/// the union of their columns, types widened, and the files whose own
/// columns differ from the union.
pub(super) fn union(groups: Vec<(Vec<usize>, Inferred)>) -> Inferred {
    let mut schema = Schema::default();
    let mut notes: BTreeMap<String, String> = BTreeMap::new();
    let mut tokens: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut read_as: Option<Schema> = None;
    for (_, g) in &groups {
        widen_into(&mut schema, &g.schema);
        for (c, n) in &g.notes {
            let entry = notes.entry(c.clone()).or_default();
            if !entry.contains(n.as_str()) {
                if !entry.is_empty() {
                    entry.push_str("; ");
                }
                entry.push_str(n);
            }
        }
        for (c, t) in &g.null_tokens {
            let entry = tokens.entry(c.clone()).or_default();
            for t in t {
                if !entry.contains(t) {
                    entry.push(t.clone());
                }
            }
        }
        if let Some(r) = &g.read_as {
            widen_into(read_as.get_or_insert_with(Schema::default), r);
        }
    }
    // Spellings are null only where the column ended up a number column.
    tokens.retain(|c, _| {
        schema
            .get(c.as_str())
            .is_some_and(|dt| dt.is_primitive_numeric())
    });
    let mut drift: Vec<FileDrift> = groups
        .iter()
        .filter(|(_, g)| !same_layout(&g.schema, &schema))
        .flat_map(|(files, g)| {
            files.iter().map(|&file| FileDrift {
                file,
                own: g.schema.clone(),
                read_as: None,
            })
        })
        .collect();
    drift.sort_by_key(|d| d.file);
    // A layout offered in one group holds for the union only when every
    // group read the column alike.
    let date_layouts = groups
        .iter()
        .flat_map(|(_, g)| g.date_layouts.clone())
        .filter(|(c, _)| {
            groups.iter().all(|(_, g)| {
                g.schema
                    .get(c.as_str())
                    .is_none_or(|dt| Some(dt) == schema.get(c.as_str()))
            })
        })
        .collect();
    Inferred {
        schema,
        notes,
        null_tokens: tokens,
        read_as,
        drift,
        date_layouts,
    }
}

/// Add `other`'s columns to `union` (new ones at the end), widening the
/// type of those it has already.
fn widen_into(union: &mut Schema, other: &Schema) {
    for (name, dt) in other.iter() {
        let wide = match union.get(name.as_str()) {
            Some(seen) => widen(seen, dt),
            None => dt.clone(),
        };
        union.with_column(name.clone(), wide);
    }
}

/// Whether a file's columns are exactly the union's, in its order and types.
fn same_layout(own: &Schema, union: &Schema) -> bool {
    own.len() == union.len() && own.iter().zip(union.iter()).all(|(a, b)| a == b)
}

impl Source {
    /// Per file that differs from the source (path, how), for `quarry
    /// schema` and the schema view. NDJSON files are judged by the records
    /// sampled at their start, and say so.
    pub fn drift_report(&self) -> Vec<(String, String)> {
        let sampled = matches!(self.format, crate::engine::input::spec::Format::Ndjson);
        self.drift
            .iter()
            .map(|d| {
                let how = describe_drift(&d.own, &self.native_schema);
                let how = if sampled {
                    format!("{how} (in its first records)")
                } else {
                    how
                };
                (self.files[d.file].path.display().to_string(), how)
            })
            .collect()
    }
}

/// How a file's columns differ from the source's, in a few words:
/// `lacks c, d; a is i64 here (read as f64); other column order`.
pub fn describe_drift(own: &Schema, union: &Schema) -> String {
    use crate::engine::input::spec::dtype_name;
    let mut parts = Vec::new();
    let missing: Vec<&str> = union
        .iter_names()
        .filter(|n| !own.contains(n.as_str()))
        .map(|n| n.as_str())
        .collect();
    if !missing.is_empty() {
        parts.push(format!("lacks {}", missing.join(", ")));
    }
    for (name, dt) in own.iter() {
        if let Some(wide) = union.get(name.as_str()).filter(|w| *w != dt) {
            parts.push(format!(
                "{name} is {} here (read as {})",
                dtype_name(dt),
                dtype_name(wide)
            ));
        }
    }
    let order: Vec<&PlSmallStr> = union
        .iter_names()
        .filter(|n| own.contains(n.as_str()))
        .collect();
    if !own.iter_names().eq(order) {
        parts.push("other column order".into());
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_loses_nothing() {
        use DataType::*;
        assert_eq!(widen(&Int64, &Float64), Float64);
        assert_eq!(widen(&Int32, &Int64), Int64);
        assert_eq!(widen(&Int64, &String), String);
        assert_eq!(widen(&Null, &Boolean), Boolean);
        assert_eq!(widen(&Boolean, &Int64), String);
        assert_eq!(
            widen(&Date, &Datetime(TimeUnit::Microseconds, None)),
            Datetime(TimeUnit::Microseconds, None)
        );
    }

    #[test]
    fn drift_is_described_in_the_source_terms() {
        let union = Schema::from_iter([
            Field::new("a".into(), DataType::Float64),
            Field::new("b".into(), DataType::String),
            Field::new("c".into(), DataType::Int64),
        ]);
        let own = Schema::from_iter([
            Field::new("b".into(), DataType::String),
            Field::new("a".into(), DataType::Int64),
        ]);
        assert_eq!(
            describe_drift(&own, &union),
            "lacks c; a is i64 here (read as f64); other column order"
        );
    }
}
