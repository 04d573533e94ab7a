//! `quarry exec-task DIR TASK`: one task of a Dask job, run by a worker.

use crate::cli::args::ExecTaskArgs;
use crate::cli::print::emit;
use crate::engine::Result;

/// `quarry exec-task DIR TASK`: the last stdout line is a JSON report (exit
/// 0) or a JSON failure (exit 1) that the Dask bridge reads.
pub fn run(a: &ExecTaskArgs) -> Result<()> {
    use crate::engine::run::exec::remote::{exec_task, TaskFailure};
    let store = crate::engine::input::storage::remote::options::StoreOptions {
        endpoint: a.endpoint.clone(),
        anonymous: a.anonymous,
    };
    match exec_task(&a.dir.to_string_lossy(), a.task, &store) {
        Ok(report) => {
            emit(|w| writeln!(w, "{}", serde_json::to_string(&report).unwrap_or_default()))
        }
        Err(e) => {
            let failure = serde_json::to_string(&TaskFailure::of(&e)).unwrap_or_default();
            let _ = emit(|w| writeln!(w, "{failure}"));
            Err(e)
        }
    }
}
