//! The engine: no terminal code below this module. Data moves through its
//! folders from left to right:
//!
//! ```text
//! input ──► recipe ──► steps ──► plan ──► run
//! bytes,    TOML,      what a    task     jobs, executors,
//! formats,  SQL exprs, step does graph,   events, outputs,
//! schema,   aggs       to a      blocking previews
//! partitions           frame     operators
//!                  stats (describe's sketches) serves steps and plan
//! ```
//!
//! `input` opens a source (discovery, byte access, dialect, schema) and
//! reads one partition into a DataFrame; `recipe` is what the user wrote;
//! `steps` gives each step its meaning on a LazyFrame; `plan` lowers a
//! recipe over a source into a task graph whose blocking steps are
//! operators with chunk / combine / finalize; `run` executes graphs (local
//! pool or Dask), streams events and writes outputs atomically.

pub mod error;
pub mod frames;
pub mod input;
pub mod plan;
pub mod recipe;
pub mod run;
pub mod stats;
pub mod steps;

pub use error::{QuarryError, Result};
pub use input::source::{Partition, PartitionKind, Source};
pub use input::spec::{Format, RecordSeparator, SourceSpec};
pub use run::preview::Previewer;
