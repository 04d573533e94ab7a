//! Running: a prepared `job` (what each task computes), executors (`exec`),
//! the `events` they report, kept partitions (`persist`), outputs written
//! atomically (`output`, `atomic`) and the explorer's previews (`preview`).

pub mod atomic;
pub mod events;
pub mod exec;
pub mod job;
pub mod output;
pub mod persist;
pub mod preview;
pub mod upload;
