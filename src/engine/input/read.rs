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
        let file = &self.files[p.file];
        match &p.kind {
            PartitionKind::Block { .. } => {
                let (start, end) = self.byte_range(p)?;
                // Bytes in a legacy encoding are decoded before any parsing:
                // they take the whole-buffer path.
                let csv = matches!(self.format, Format::Csv | Format::Tsv)
                    && !matches!(self.spec.encoding, Encoding::Legacy(_))
                    && self.null_tokens.is_empty();
                if csv {
                    if let Some(df) = self.read_csv_in_chunks(p, start, end, columns)? {
                        return Ok(df);
                    }
                }
                // One reused buffer per thread: no page faults per partition.
                thread_local! {
                    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                BUF.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    file.read_range_into(start, end, &mut buf)?;
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
            } => parse::read_parquet(self, p, *row_offset, *rows, columns),
        }
    }

    /// Parse a CSV byte range with the vectorised reader as it is read, a
    /// chunk at a time (`Ok(None)`: it declined; read it whole instead).
    fn read_csv_in_chunks(
        &self,
        p: &Partition,
        start: u64,
        end: u64,
        columns: Option<&[String]>,
    ) -> Result<Option<DataFrame>> {
        let file = &self.files[p.file];
        let req = parse::fast_request(self, columns, start == 0);
        let mut at = start;
        let read_more = |buf: &mut Vec<u8>| {
            let next = (at + crate::engine::input::fast_csv::CHUNK as u64).min(end);
            file.append_range(at, next, buf)?;
            at = next;
            let last = at >= end;
            if last && end >= file.size {
                self.terminate_last_record(buf);
            }
            Ok(last)
        };
        crate::engine::input::fast_csv::try_parse_chunks(read_more, (end - start) as usize, &req)
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
