//! `quarry run`: replay a recipe headless (local executor or Dask), with a
//! progress bar on a terminal, JSON events for scripts, and Ctrl-C that
//! cancels cleanly (exit 130, no partial output).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{emit, print_frame, split_format, DescribeArgs, ExecArgs, OutputFormat, RunArgs};
use crate::engine::events::Event;
use crate::engine::exec::{CancelToken, EventSink, JobResult};
use crate::engine::job::{Job, JobOptions};
use crate::engine::output::{OutputTarget, PartSink};
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::spec::format_bytes;
use crate::engine::{QuarryError, Result};

pub fn run(a: RunArgs) -> Result<()> {
    let (recipe, base) = Recipe::load(&a.recipe)?;
    if a.safe {
        crate::engine::safety::check(&recipe, &base)?;
    }
    let target = a.output.as_deref().map(OutputTarget::parse).transpose()?;
    let opts = JobOptions {
        split_every: a.split_every,
        blocksize: a.blocksize,
        writes_output: target.is_some(),
    };
    let job = Arc::new(Job::prepare(recipe, &base, &opts)?);
    let sink = match &target {
        Some(t) => Some(PartSink::create(t, job.output_part_bytes())?),
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
            b.set_message(format!(
                "{:.0} rows/s  {}/s{eta}",
                p.rows_per_s,
                format_bytes(p.bytes_per_s as u64)
            ));
        }
    });

    let result = executor.execute(Arc::clone(job), sink, events, cancel);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    result
}

/// `quarry describe`: the recipe (or just the source) plus a describe step,
/// run like any other job.
pub fn describe(a: DescribeArgs) -> Result<()> {
    let (out, format_flag) = split_format(
        a.format.as_deref(),
        &[OutputFormat::Table, OutputFormat::Json],
    )?;
    let (mut recipe, base) = match (&a.recipe, &a.path) {
        (Some(r), path) => {
            let (mut recipe, base) = Recipe::load(r)?;
            if a.safe {
                crate::engine::safety::check(&recipe, &base)?;
            }
            if let Some(k) = a.step {
                if k > recipe.steps.len() {
                    return Err(QuarryError::Usage(format!(
                        "--step {k}: the recipe has {} steps (0 describes its source)",
                        recipe.steps.len()
                    )));
                }
                recipe.steps.truncate(k);
            }
            match path {
                Some(p) => {
                    let spec = a.source_args(p.clone()).to_spec(format_flag)?;
                    recipe.source = SourceConfig::from_spec(&spec);
                    (recipe, std::env::current_dir().unwrap_or_default())
                }
                None => (recipe, base),
            }
        }
        (None, Some(p)) => {
            let spec = a.source_args(p.clone()).to_spec(format_flag)?;
            (
                Recipe::new(SourceConfig::from_spec(&spec)),
                std::env::current_dir().unwrap_or_default(),
            )
        }
        (None, None) => {
            return Err(QuarryError::Usage(
                "name a file to describe (quarry describe data.csv), or give --recipe R".into(),
            ))
        }
    };
    recipe.steps.push(Step::Describe {
        columns: (!a.columns.is_empty()).then(|| a.columns.clone()),
    });
    let opts = JobOptions {
        split_every: a.split_every,
        blocksize: a.blocksize,
        writes_output: false,
    };
    let job = Arc::new(Job::prepare(recipe, &base, &opts)?);
    let result = execute(&job, None, &a.exec, a.json_events)?;
    let table = result
        .frame
        .ok_or_else(|| QuarryError::Engine("describe produced no table".into()))?;
    match out {
        OutputFormat::Json => print_frame(table, OutputFormat::Json),
        _ => {
            let rows = table
                .column("count")
                .ok()
                .and_then(|c| c.u64().ok().and_then(|c| c.get(0)))
                .map(|n| {
                    let nulls = table
                        .column("nulls")
                        .ok()
                        .and_then(|c| c.u64().ok().and_then(|c| c.get(0)))
                        .unwrap_or(0);
                    n + nulls
                })
                .unwrap_or(0);
            eprintln!(
                "{rows} rows · {} columns · {} partitions · {:.2} s",
                table.height(),
                job.source.partitions.len(),
                result.elapsed_ms as f64 / 1000.0
            );
            print_frame(
                crate::engine::describe::display_frame(&table)?,
                OutputFormat::Table,
            )?;
            eprintln!("{}", crate::engine::describe::accuracy_note());
            Ok(())
        }
    }
}

/// Ctrl-C (or SIGTERM, SIGHUP) cancels the job; the executor then stops at
/// a partition boundary and removes partial output.
fn watch_ctrl_c(cancel: CancelToken) {
    crate::signals::on_termination(move || cancel.cancel());
}
