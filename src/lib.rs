//! quarry: a terminal explorer for data files too big to open.
//!
//! `engine` is the partitioned data layer (no terminal code below it);
//! `cli` the headless commands; `demo` the deterministic demo data.

pub mod allocator;
pub mod app;
pub mod cell;
pub mod checks;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod signals;
pub mod tui;
pub mod ui;
