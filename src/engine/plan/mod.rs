//! Recipe -> plan -> task graph. `lower` splits the steps into row-local map
//! steps, one blocking operator (`operators`) and post steps, and lays them
//! out as tasks (`graph`); `projection` finds the source columns a plan reads.

pub mod graph;
pub mod lower;
pub mod operators;
pub mod projection;
pub mod pushdown;
