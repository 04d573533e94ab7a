//! The command line: parse arguments (`args`) and dispatch to one module
//! per subcommand (`commands`); `print` formats frames for stdout. Every
//! error becomes one paragraph on stderr and exit code 1; nothing panics on
//! bad input. Nothing below this module imports it.

pub mod args;
pub mod commands;
pub mod print;

use clap::Parser;

use crate::engine::QuarryError;
use crate::engine::Result;
use args::{Cli, Command};

/// Parse arguments and run; returns the process exit code.
pub fn main() -> i32 {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(QuarryError::Cancelled) => {
            eprintln!("cancelled: no output was written.");
            130
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// A panic is a bug: after the default report (message and place), say so
/// and how to report it. Panics inside tasks are caught by the executor and
/// reported as task failures, so they stay quiet here.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if crate::engine::run::exec::local::in_task() {
            return;
        }
        default(info);
        eprintln!(
            "quarry {} hit a bug: the lines above say where. Please report it with them and the command you ran; your input files were not changed.",
            env!("CARGO_PKG_VERSION")
        );
    }));
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let Some(command) = cli.command else {
        return commands::explore::run(cli.tui);
    };
    match command {
        Command::Head(a) => commands::rows::head(a),
        Command::Take(a) => commands::rows::take(a),
        Command::Schema(a) => commands::schema::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::ExecTask(a) => commands::exec_task::run(&a),
        Command::Describe(a) => commands::describe::run(a),
        Command::Graph(a) => commands::graph::run(a),
        Command::Demo(a) => commands::demo::run(a),
    }
}
