//! One module per subcommand; `explore` starts the terminal explorer.

pub mod demo;
pub mod describe;
pub mod exec_task;
pub mod explore;
pub mod graph;
pub mod rows;
pub mod run;
pub mod schema;
