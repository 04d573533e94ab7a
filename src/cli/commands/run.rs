//! `quarry run`: replay a recipe headless (local executor or Dask), with a
//! progress bar on a terminal, JSON events for scripts, and Ctrl-C that
//! cancels cleanly (exit 130, no partial output).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::args::{ExecArgs, OutputFormat, RunArgs};
use crate::cli::print::{emit, print_frame};
use crate::engine::input::spec::format_bytes;
use crate::engine::recipe::Recipe;
use crate::engine::run::events::Event;
use crate::engine::run::exec::{CancelToken, EventSink, JobResult};
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::run::output::{OutputTarget, PartSink};
use crate::engine::Result;

pub fn run(a: RunArgs) -> Result<()> {
    let (recipe, base) = Recipe::load(&a.recipe)?;
    if a.safe {
        crate::engine::recipe::safety::check(&recipe, &base)?;
    }
    let target = a.output.as_deref().map(OutputTarget::parse).transpose()?;
    let opts = JobOptions {
        split_every: a.split_every,
        blocksize: a.blocksize,
        writes_output: target.is_some(),
    };
    let job = Arc::new(Job::prepare(recipe, &base, &opts)?);
    let sink = match &target {
        Some(t) => {
            // A remote output reaches its store as the source does; Ctrl-C
            // during its upload aborts it.
            let t = t.clone().with_store(&job.source.spec.store);
            let stop = crate::signals::termination_flag();
            Some(
                PartSink::create(&t, job.output_part_bytes())?
                    .cancel_with(move || stop.load(std::sync::atomic::Ordering::SeqCst)),
            )
        }
        None => None,
    };
    let result = execute(&job, sink, &a.exec, a.json_events)?;
    let partitions = job.source.partitions.len();
    let secs = result.elapsed_ms as f64 / 1000.0;
    let input = job.source.total_bytes();
    eprintln!(
        "done: {} rows in {secs:.2} s · {} partitions · {} read ({}/s){}",
        result.rows_out,
        partitions,
        format_bytes(input),
        format_bytes((input as f64 / secs.max(1e-3)) as u64),
        target
            .as_ref()
            .map(|t| format!(" · wrote {}", t.path.display()))
            .unwrap_or_default()
    );
    if target.is_none() {
        if let Some(df) = result.frame {
            let total = df.height();
            print_frame(df.head(Some(a.show)), OutputFormat::Table)?;
            if total > a.show {
                emit(|w| {
                    writeln!(
                        w,
                        "… {} more rows (write them all with -o FILE, or show more with --show N)",
                        total - a.show
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Run `job` on the chosen executor with a progress bar on a terminal (or
/// JSON events on stderr); Ctrl-C cancels it.
pub fn execute(
    job: &Arc<Job>,
    sink: Option<PartSink>,
    exec: &ExecArgs,
    json: bool,
) -> Result<JobResult> {
    let executor = exec.executor()?;

    let cancel = CancelToken::new();
    watch_ctrl_c(cancel.clone());

    let partitions = job.source.partitions.len() as u64;
    let bar = if std::io::stderr().is_terminal() && !json {
        let b = ProgressBar::with_draw_target(Some(partitions), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} partitions  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let bar_for_events = bar.clone();
    let stderr_lock = Arc::new(Mutex::new(()));
    let events: EventSink = Arc::new(move |e: Event| {
        if json {
            let _g = stderr_lock.lock();
            if let Ok(line) = serde_json::to_string(&e) {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
        if let (Some(b), Event::Progress(p)) = (&bar_for_events, &e) {
            b.set_position(p.partitions_done as u64);
            let eta = p
                .eta_s
                .map(|s| format!("  ETA {s:.0}s"))
                .unwrap_or_default();
            let fetched = if p.bytes_fetched > 0 {
                format!("  {} fetched", format_bytes(p.bytes_fetched))
            } else {
                String::new()
            };
            b.set_message(format!(
                "{:.0} rows/s  {}/s{fetched}{eta}",
                p.rows_per_s,
                format_bytes(p.bytes_per_s as u64)
            ));
        }
        if let Event::ReadAgain { reason } = &e {
            if !json {
                eprintln!("note: {reason}");
            }
        }
    });

    let result = executor.execute(Arc::clone(job), sink, events, cancel);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    result
}

/// Ctrl-C (or SIGTERM, SIGHUP) cancels the job; the executor then stops at
/// a partition boundary and removes partial output.
fn watch_ctrl_c(cancel: CancelToken) {
    crate::signals::on_termination(move || cancel.cancel());
}
