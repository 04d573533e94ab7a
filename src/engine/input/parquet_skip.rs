//! Which Parquet row groups a job's filters exclude, from the min / max
//! statistics in the file's footer: a row group whose range of a column
//! cannot meet a bound holds no row that passes, so it need not be read.
//!
//! Statistics are trusted only where their order is the column's: signed
//! integers, floats and UTF-8 text (byte order, as polars compares
//! strings). Float statistics leave NaN out, and NaN compares above every
//! number, so `>` and `>=` never skip a float row group.

use polars::prelude::*;
use polars_parquet::parquet::statistics::Statistics;

use crate::engine::input::parse::parquet_metadata;
use crate::engine::input::source::{PartitionKind, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl Op {
    /// `v op column` read as `column flipped v`.
    pub fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::LtEq => Op::GtEq,
            Op::Gt => Op::Lt,
            Op::GtEq => Op::LtEq,
            same => same,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
}

/// `column op value`: every row that passes the filter satisfies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub column: String,
    pub op: Op,
    pub value: Literal,
}

/// Row groups the bounds skip, out of how many, and per partition whether
/// it reads nothing at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub row_groups: usize,
    pub of_row_groups: usize,
    pub partitions: Vec<bool>,
}

impl Skipped {
    pub fn partitions_skipped(&self) -> usize {
        self.partitions.iter().filter(|s| **s).count()
    }
}

/// What `bounds` skip in a Parquet source; `None` for other formats or no
/// bounds.
pub fn skipped_by_statistics(source: &Source, bounds: &[Bound]) -> Option<Skipped> {
    if bounds.is_empty() {
        return None;
    }
    let mut out = Skipped::default();
    // A row group read in slices belongs to several partitions: counted
    // once.
    let mut counted = std::collections::HashSet::new();
    for p in &source.partitions {
        let PartitionKind::RowGroups {
            row_offset, rows, ..
        } = p.kind
        else {
            return None;
        };
        let file = &source.files[p.file];
        // An unreadable footer skips nothing: the read reports it.
        let Ok(meta) = parquet_metadata(file) else {
            out.partitions.push(false);
            continue;
        };
        let mut first_row = 0usize;
        let mut all = true;
        for (index, rg) in meta.row_groups.iter().enumerate() {
            let end_row = first_row + rg.num_rows();
            let mine = first_row < row_offset + rows && end_row > row_offset;
            first_row = end_row;
            if !mine {
                continue;
            }
            let first_time = counted.insert((p.file, index));
            out.of_row_groups += usize::from(first_time);
            let excluded = bounds.iter().any(|b| {
                let dtype = source.schema.get(b.column.as_str());
                let stats = rg
                    .columns_under_root_iter(&b.column)
                    .and_then(|mut chunks| {
                        let chunk = chunks.next()?;
                        // A nested column has several chunks: no bound.
                        chunks.next().is_none().then_some(chunk)
                    })
                    .and_then(|chunk| chunk.statistics(&meta.footer_buf))
                    .and_then(|s| s.ok());
                match (dtype, stats) {
                    (Some(dtype), Some(stats)) => excludes(b, dtype, &stats),
                    _ => false,
                }
            });
            if excluded {
                out.row_groups += usize::from(first_time);
            } else {
                all = false;
            }
        }
        // A partition whose every row group is excluded reads nothing.
        out.partitions.push(all && rows > 0);
    }
    Some(out)
}

/// A column's range in a row group, comparable with a literal.
enum Range {
    Number(f64, f64),
    Text(Vec<u8>, Vec<u8>),
}

fn range_of(dtype: &DataType, stats: &Statistics) -> Option<Range> {
    let ints = matches!(
        dtype,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
    );
    let floats = matches!(dtype, DataType::Float32 | DataType::Float64);
    // i64 beyond 2^53 loses precision as f64: such a range is not used.
    let exact = |v: i64| (v.unsigned_abs() < (1u64 << 53)).then_some(v as f64);
    match stats {
        Statistics::Int32(s) if ints => Some(Range::Number(
            f64::from(s.min_value?),
            f64::from(s.max_value?),
        )),
        Statistics::Int64(s) if ints => {
            Some(Range::Number(exact(s.min_value?)?, exact(s.max_value?)?))
        }
        Statistics::Float(s) if floats => Some(Range::Number(
            f64::from(s.min_value?),
            f64::from(s.max_value?),
        )),
        Statistics::Double(s) if floats => Some(Range::Number(s.min_value?, s.max_value?)),
        Statistics::Binary(s) if *dtype == DataType::String => {
            Some(Range::Text(s.min_value.clone()?, s.max_value.clone()?))
        }
        _ => None,
    }
}

/// Whether no value in the row group's range can satisfy `b`.
fn excludes(b: &Bound, dtype: &DataType, stats: &Statistics) -> bool {
    let float = matches!(dtype, DataType::Float32 | DataType::Float64);
    match (range_of(dtype, stats), &b.value) {
        (Some(Range::Number(lo, hi)), Literal::Number(v)) => {
            if lo.is_nan() || hi.is_nan() {
                return false;
            }
            // NaN is above every number and the statistics leave it out.
            if float && matches!(b.op, Op::Gt | Op::GtEq | Op::NotEq) {
                return false;
            }
            outside(b.op, &lo, &hi, v)
        }
        (Some(Range::Text(lo, hi)), Literal::Text(v)) => {
            outside(b.op, &lo.as_slice(), &hi.as_slice(), &v.as_bytes())
        }
        _ => false,
    }
}

/// No x in `[lo, hi]` has `x op v`.
fn outside<T: PartialOrd>(op: Op, lo: &T, hi: &T, v: &T) -> bool {
    match op {
        Op::Eq => v < lo || v > hi,
        Op::NotEq => lo == v && hi == v,
        Op::Lt => lo >= v,
        Op::LtEq => lo > v,
        Op::Gt => hi <= v,
        Op::GtEq => hi < v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_outside_the_bound_is_excluded() {
        assert!(outside(Op::Gt, &1.0, &5.0, &5.0));
        assert!(!outside(Op::Gt, &1.0, &5.0, &4.9));
        assert!(outside(Op::GtEq, &1.0, &5.0, &5.1));
        assert!(outside(Op::Lt, &1.0, &5.0, &1.0));
        assert!(!outside(Op::LtEq, &1.0, &5.0, &1.0));
        assert!(outside(Op::Eq, &1.0, &5.0, &6.0));
        assert!(!outside(Op::Eq, &1.0, &5.0, &3.0));
        assert!(outside(Op::NotEq, &3.0, &3.0, &3.0));
        assert!(!outside(Op::NotEq, &3.0, &4.0, &3.0));
        assert!(outside(
            Op::Eq,
            &b"AB".as_slice(),
            &b"TAB".as_slice(),
            &b"ZZ".as_slice()
        ));
    }
}
