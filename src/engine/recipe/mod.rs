//! What the user wrote: the recipe document (TOML: source and steps), SQL
//! expressions (`expr`), aggregations and their decomposition (`agg`), and
//! the checks that keep a shared recipe from running commands (`safety`).

pub mod agg;
mod document;
pub mod expr;
pub mod safety;

pub use document::*;
