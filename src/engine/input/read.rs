//! Reading one partition of an opened source into a DataFrame: CSV through
//! the vectorised reader as bytes arrive, everything else (and what that
//! reader declines) through polars' readers.

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::parse;
use crate::engine::input::source::{Partition, PartitionKind, Source};
use crate::engine::input::spec::{Encoding, Format};

impl Source {
    /// Read one partition fully.
    pub fn read_partition(&self, index: usize) -> Result<DataFrame> {
        self.read_columns(index, None)
    }

    /// Read one partition, only `columns` when given (CSV parses only them).
    pub fn read_columns(&self, index: usize, columns: Option<&[String]>) -> Result<DataFrame> {
        let p = self.partitions.get(index).ok_or_else(|| {
            QuarryError::Usage(format!(
                "partition {index} does not exist (the source has {})",
                self.partitions.len()
            ))
        })?;
        let Some(drift) = self.drift_of(p.file).filter(|d| d.read_as.is_some()) else {
            return self.read_in_file_layout(p, columns);
        };
        // A file whose columns drifted: read what it has of the wanted
        // columns, then add the rest as nulls in the source's order.
        let wanted: Vec<String> = match columns {
            Some(c) => c.to_vec(),
            None => self.schema.iter_names().map(|n| n.to_string()).collect(),
        };
        let mut present: Vec<String> = wanted
            .iter()
            .filter(|c| drift.own.contains(c.as_str()))
            .cloned()
            .collect();
        // Reading no column would lose the row count: read one to keep it.
        if present.is_empty() {
            present.extend(drift.own.iter_names().next().map(|n| n.to_string()));
        }
        let df = self.read_in_file_layout(p, Some(&present))?;
        conform(df, &wanted, &self.schema)
    }

    /// Read one partition as its file lays its columns out.
    fn read_in_file_layout(&self, p: &Partition, columns: Option<&[String]>) -> Result<DataFrame> {
        let file = &self.files[p.file];
        match &p.kind {
            PartitionKind::Block { .. } => {
                let (start, end) = self.byte_range(p)?;
                let PartitionKind::Block { block, .. } = p.kind else {
                    unreachable!("matched a block partition above")
                };
                // While cuts are guesses, report the quote parity of the
                // bytes read: the check of the guesses needs nothing else.
                let count_quotes = file.is_guessing();
                let grammar = self.grammar();
                let note = |odd: bool| file.note_segment_parity(block, start, end, odd);
                // Bytes in a legacy encoding are decoded before any parsing:
                // they take the whole-buffer path.
                let csv = matches!(self.format, Format::Csv | Format::Tsv)
                    && !matches!(self.spec.encoding, Encoding::Legacy(_))
                    && self.null_tokens.is_empty();
                if csv {
                    let odd = std::cell::Cell::new(false);
                    let counted = |bytes: &[u8]| {
                        if count_quotes {
                            odd.set(odd.get() ^ (grammar.quote_count(bytes) % 2 == 1));
                        }
                    };
                    if let Some(df) = self.read_csv_in_chunks(p, start, end, columns, counted)? {
                        if count_quotes {
                            note(odd.get());
                        }
                        return Ok(df);
                    }
                }
                // A remote partition stays one request: in pieces, each
                // would wait a round trip before its bytes are parsed.
                let ndjson = self.format == Format::Ndjson
                    && !matches!(self.spec.encoding, Encoding::Legacy(_))
                    && !file.is_remote();
                if ndjson {
                    if let Some(df) = self.read_ndjson_in_chunks(p, start, end, columns)? {
                        if count_quotes {
                            // Lines have no quoting grammar: no quote counts.
                            note(false);
                        }
                        return Ok(df);
                    }
                }
                // One reused buffer per thread: no page faults per partition.
                thread_local! {
                    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                BUF.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    file.read_partition_range(start, end, &mut buf)?;
                    if count_quotes {
                        note(grammar.quote_count(&buf) % 2 == 1);
                    }
                    if end == file.size {
                        self.terminate_last_record(&mut buf);
                    }
                    if csv {
                        // The vectorised reader declined these bytes above.
                        parse::parse_csv_with_polars(self, p, &buf, start, start == 0, columns)
                    } else {
                        parse::parse_bytes(self, p, &buf, start, start == 0, columns)
                    }
                })
            }
            PartitionKind::Whole if file.is_compressed() => {
                let mut bytes = file.decompress_all()?;
                self.terminate_last_record(&mut bytes);
                parse::parse_bytes(self, p, &bytes, 0, true, columns)
            }
            PartitionKind::Whole => parse::read_ipc(self, p, columns),
            PartitionKind::RowGroups {
                row_offset, rows, ..
            } => {
                // Partitions run in parallel already: one thread per task.
                let cores = parse::ParquetCores::One;
                parse::read_parquet(self, p, *row_offset, *rows, columns, cores)
            }
        }
    }

    /// Parse a CSV byte range with the vectorised reader as it is read, a
    /// chunk at a time (`Ok(None)`: it declined; read it whole instead).
    /// `saw` sees each chunk's new bytes as they arrive.
    fn read_csv_in_chunks(
        &self,
        p: &Partition,
        start: u64,
        end: u64,
        columns: Option<&[String]>,
        saw: impl Fn(&[u8]),
    ) -> Result<Option<DataFrame>> {
        let file = &self.files[p.file];
        let req = parse::fast_request(self, p.file, columns, start == 0);
        let mut at = start;
        let piece = file.partition_piece(crate::engine::input::fast_csv::CHUNK) as u64;
        let read_more = |buf: &mut Vec<u8>| {
            let next = (at + piece).min(end);
            let before = buf.len();
            file.append_partition_range(at, next, buf)?;
            saw(&buf[before..]);
            at = next;
            let last = at >= end;
            if last && end >= file.size {
                self.terminate_last_record(buf);
            }
            Ok(last)
        };
        crate::engine::input::fast_csv::try_parse_chunks(read_more, (end - start) as usize, &req)
    }

    /// Parse a local NDJSON byte range with the fast reader as it is read, a
    /// chunk at a time, so each chunk is parsed while it is in cache
    /// (`Ok(None)`: declined or in error; read it whole instead).
    fn read_ndjson_in_chunks(
        &self,
        p: &Partition,
        start: u64,
        end: u64,
        columns: Option<&[String]>,
    ) -> Result<Option<DataFrame>> {
        let file = &self.files[p.file];
        let piece = crate::engine::input::fast_ndjson::CHUNK as u64;
        let mut at = start;
        let read_more = |buf: &mut Vec<u8>| {
            let next = (at + piece).min(end);
            file.append_partition_range(at, next, buf)?;
            at = next;
            Ok(at >= end)
        };
        parse::parse_ndjson_in_chunks(self, columns, read_more, (end - start) as usize)
    }

    /// A CSV file's last record without its newline reads as if it had one.
    /// (polars alone treats an unterminated last line differently depending
    /// on what precedes it in the same buffer — a trailing delimiter is
    /// dropped in a long buffer and an error in a short one — so the file's
    /// meaning would depend on where the partitions were cut.)
    fn terminate_last_record(&self, buf: &mut Vec<u8>) {
        if matches!(self.format, Format::Csv | Format::Tsv)
            && buf.last().is_some_and(|b| *b != b'\n')
        {
            buf.push(b'\n');
        }
    }
}

/// `df` with exactly `wanted` columns, in that order, as `schema` types
/// them: columns it lacks are added as nulls, others cast (a drifted file's
/// `i64` read into the source's `f64`).
fn conform(df: DataFrame, wanted: &[String], schema: &Schema) -> Result<DataFrame> {
    let height = df.height();
    let mut out = Vec::with_capacity(wanted.len());
    for name in wanted {
        let dtype = schema.get(name.as_str()).cloned().unwrap_or(DataType::Null);
        let column = match df.column(name.as_str()) {
            Ok(c) if c.dtype() == &dtype => c.clone(),
            Ok(c) => c.cast(&dtype)?,
            Err(_) => Column::full_null(name.as_str().into(), height, &dtype),
        };
        out.push(column);
    }
    Ok(DataFrame::new(height, out)?)
}
