//! The engine: sources, partitions, parsing and previews. Nothing below this
//! module knows about terminals.

pub mod agg;
pub mod apply;
pub mod describe;
pub mod discover;
pub mod distinct_eval;
pub mod error;
pub mod events;
pub mod exec;
pub mod expr;
pub mod extract;
pub mod fast_csv;
pub mod file;
pub mod graph;
pub mod job;
pub mod lower;
pub mod output;
pub mod parse;
pub mod persist;
pub mod preview;
pub mod projection;
pub mod recipe;
pub mod records;
pub mod safety;
pub mod schema;
pub mod segments;
pub mod sketch;
pub mod source;
pub mod spec;

pub use error::{QuarryError, Result};
pub use preview::Previewer;
pub use source::{Partition, PartitionKind, Source};
pub use spec::{Format, RecordSeparator, SourceSpec};
