//! Opening a source and reading its partitions: which files (`discover`),
//! their bytes (`file`), where records start (`records`), the CSV dialect
//! (`dialect`), the schema (`infer`, with `iso` for ISO-8601 text), and
//! bytes -> DataFrame (`fast_csv` for CSV, `fast_ndjson` for NDJSON's
//! wanted keys over the positions `json_structure` lists, both built on
//! `bitmask`'s block tricks and `numbers`' columns; `parse` for polars' readers and error
//! diagnosis; `json_keys` finds NDJSON keys no sample saw). `source` holds what was opened; `open`
//! builds it and `read` reads one partition.

pub mod bitmask;
pub mod dialect;
pub mod discover;
pub mod fast_csv;
pub mod fast_ndjson;
pub mod file;
pub mod infer;
pub mod iso;
pub mod json_keys;
pub mod json_structure;
pub mod numbers;
pub mod open;
pub mod parquet_skip;
pub mod parse;
pub mod read;
pub mod records;
pub mod source;
pub mod spec;
pub mod spool;
pub mod storage;
