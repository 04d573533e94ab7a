//! Per-column statistics that merge across partitions: `describe` and the
//! mergeable sketches it is built on.

pub mod describe;
pub mod sketch;
