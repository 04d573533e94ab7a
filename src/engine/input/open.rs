//! Opening a source: discover its files, sniff the dialect, infer the
//! schema from a spread sample and plan partitions.

use std::sync::Arc;

use polars::prelude::*;

use crate::engine::error::Result;
use crate::engine::input::dialect::sniff_dialect;
use crate::engine::input::discover::{discover, resolve_format};
use crate::engine::input::file::SourceFile;
use crate::engine::input::infer;
use crate::engine::input::parse;
use crate::engine::input::source::{Partition, PartitionKind, Source};
use crate::engine::input::spec::{Format, SourceSpec};
use crate::engine::input::storage::{storage_for, Storage};

impl Source {
    /// Discover files, sniff the dialect, infer the schema from a spread
    /// sample and plan partitions. Reads only samples, never whole files.
    pub fn open(spec: SourceSpec) -> Result<Source> {
        let storage = storage_for(&spec.path, &spec.store)?;
        Source::open_in(storage.as_ref(), spec)
    }

    /// Like [`Source::open`], reading through `storage`.
    pub fn open_in(storage: &dyn Storage, spec: SourceSpec) -> Result<Source> {
        let paths = discover(storage, &spec.path, spec.format)?;
        let format = resolve_format(&paths, spec.format)?;
        let mut files = Vec::with_capacity(paths.len());
        for p in &paths {
            files.push(SourceFile::open(storage, p)?);
        }
        let csv = match format {
            Format::Csv | Format::Tsv => Some(sniff_dialect(&spec, format, &files[0])?),
            _ => None,
        };
        let mut source = Source::unread(spec, format, files, csv);
        let inferred = infer::infer_with_notes(&source)?;
        // Null spellings found in numeric columns are read as null there.
        source.null_tokens = inferred.null_tokens.clone();
        source.native_schema = Arc::new(
            inferred
                .read_as
                .clone()
                .unwrap_or_else(|| inferred.schema.clone()),
        );
        let by_key = source.format == Format::Ndjson;
        let inferred_types = inferred.schema.clone();
        let (schema, overridden) =
            infer::apply_overrides(inferred.schema, &source.spec.dtypes, by_key)?;
        if by_key {
            // Keys added by an override are read as their dtype directly.
            let mut native = (*source.native_schema).clone();
            for col in &overridden {
                if !native.contains(col.as_str()) {
                    native.with_column(
                        col.as_str().into(),
                        schema.get(col.as_str()).unwrap().clone(),
                    );
                }
            }
            source.native_schema = Arc::new(native);
        }
        source.date_layouts = inferred
            .date_layouts
            .into_iter()
            .filter(|(c, _)| schema.get(c.as_str()) == inferred_types.get(c.as_str()))
            .collect();
        // A dtype the user changed needs no explanation of what inference
        // chose; one that pins what inference chose (a saved recipe) keeps it.
        source.inference_notes = inferred
            .notes
            .into_iter()
            .filter(|(c, _)| {
                !overridden.contains(c) || schema.get(c.as_str()) == inferred_types.get(c.as_str())
            })
            .collect();
        // Files that drifted are read by position (CSV) or by their own
        // schema (Parquet, IPC) with the source's dtypes.
        let by_position = !matches!(source.format, Format::Ndjson | Format::Text);
        source.drift = inferred
            .drift
            .into_iter()
            .map(|mut d| {
                if by_position {
                    let read_as: Schema = d
                        .own
                        .iter_names()
                        .map(|n| {
                            let dt = schema.get(n.as_str()).cloned().unwrap_or(DataType::String);
                            Field::new(n.clone(), dt)
                        })
                        .collect();
                    d.read_as = Some(Arc::new(read_as));
                }
                d
            })
            .collect();
        source.schema = Arc::new(schema);
        // A pin that restates what inference chose is not an override.
        source.overridden = overridden
            .into_iter()
            .filter(|c| source.schema.get(c.as_str()) != inferred_types.get(c.as_str()))
            .collect();
        source.partitions = plan_partitions(&source)?;
        Ok(source)
    }
}

fn plan_partitions(source: &Source) -> Result<Vec<Partition>> {
    let mut parts = Vec::new();
    let mut push = |file: usize, kind: PartitionKind| {
        let index = parts.len();
        parts.push(Partition { index, file, kind });
    };
    for (fi, f) in source.files.iter().enumerate() {
        match source.format {
            Format::Parquet => {
                // Compressed columnar bytes decode to several times their
                // size: runs of a quarter of the blocksize keep a task's
                // frame near a text partition's (one ARCOS row group each,
                // 21 tasks that balance on two cores, a third of the memory).
                for (start, end, row_offset, rows) in
                    parse::parquet_row_group_runs(f, (source.spec.blocksize / 4).max(1))?
                {
                    push(
                        fi,
                        PartitionKind::RowGroups {
                            start,
                            end,
                            row_offset,
                            rows,
                        },
                    );
                }
            }
            Format::Ipc => push(fi, PartitionKind::Whole),
            _ if f.is_compressed() => push(fi, PartitionKind::Whole),
            _ => {
                let n = f.block_count(source.spec.blocksize);
                for block in 0..n {
                    push(
                        fi,
                        PartitionKind::Block {
                            block,
                            last: block + 1 == n,
                        },
                    );
                }
            }
        }
    }
    Ok(parts)
}
