//! `quarry run`: replay a recipe headless (local executor or Dask), with a
//! progress bar on a terminal, JSON events for scripts, and Ctrl-C that
//! cancels cleanly (exit 130, no partial output).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::args::{ExecArgs, OutputFormat, RunArgs};
use crate::cli::print::{emit, print_frame};
use crate::engine::error::QuarryError;
use crate::engine::input::source::Source;
use crate::engine::input::spec::format_bytes;
use crate::engine::recipe::{Recipe, Step};
use crate::engine::run::events::Event;
use crate::engine::run::exec::{CancelToken, EventSink, JobResult};
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::run::output::{OutputTarget, PartSink};
use crate::engine::steps::pivot;
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
    let mut recipe = recipe;
    let source = Job::open_source(&recipe, &base, &opts)?;
    pin_pivot_columns(&mut recipe, &base, &source, &opts, &a)?;
    let job = Arc::new(Job::prepare_on(recipe, &base, source, &opts)?);
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

/// A pivot whose `columns` the recipe leaves out gets them from a job of
/// its own first: the steps before it, then the distinct values of `on`
/// (a tree reduction), run on the same executor. They are then pinned in
/// the step, so the pivot is planned with a known schema.
fn pin_pivot_columns(
    recipe: &mut Recipe,
    base: &std::path::Path,
    source: &Arc<Source>,
    opts: &JobOptions,
    a: &RunArgs,
) -> Result<()> {
    let unpinned = |s: &Step| matches!(s, Step::Pivot { columns, .. } if columns.is_empty());
    while let Some(at) = recipe.steps.iter().position(unpinned) {
        let Step::Pivot { on, .. } = &recipe.steps[at] else {
            break;
        };
        let on = on.clone();
        // The pivot's own columns are checked before the pass.
        let checked = Recipe {
            source: recipe.source.clone(),
            steps: pivot::checkable_prefix(&recipe.steps, at),
        };
        Job::prepare_on(checked, base, Arc::clone(source), opts)?;
        let mut steps = recipe.steps[..at].to_vec();
        steps.extend(pivot::values_steps(&on));
        let values = Recipe {
            source: recipe.source.clone(),
            steps,
        };
        let pass_opts = JobOptions {
            writes_output: false,
            ..opts.clone()
        };
        let job = Arc::new(Job::prepare_on(
            values,
            base,
            Arc::clone(source),
            &pass_opts,
        )?);
        let result = execute(&job, None, &a.exec, a.json_events)?;
        let frame = result.frame.unwrap_or_default();
        let found = pivot::columns_from_values(&frame, &on)
            .map_err(|e| QuarryError::Usage(format!("pivot (step {}): {e}", at + 1)))?;
        eprintln!(
            "note: pivot (step {}): {} values of `{on}` found by a pass over the data in {:.2} s; name them in `columns` to skip the pass",
            at + 1,
            found.len(),
            result.elapsed_ms as f64 / 1000.0
        );
        if let Step::Pivot { columns, .. } = &mut recipe.steps[at] {
            *columns = found;
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
