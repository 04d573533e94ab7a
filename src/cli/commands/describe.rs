//! `quarry describe`: per-column statistics of a file or a recipe's step.

use std::sync::Arc;

use crate::cli::args::{split_format, DescribeArgs, OutputFormat};
use crate::cli::print::print_frame;
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::{QuarryError, Result};

use super::run::execute;

/// `quarry describe`: the recipe (or just the source) plus a describe step,
/// run like any other job.
pub fn run(a: DescribeArgs) -> Result<()> {
    let (out, format_flag) = split_format(
        a.format.as_deref(),
        &[OutputFormat::Table, OutputFormat::Json],
    )?;
    // Piped input (`-`) is spooled to the cache for the command's length.
    let mut _stdin = None;
    let (mut recipe, base) = match (&a.recipe, &a.path) {
        (Some(r), path) => {
            let (mut recipe, base) = Recipe::load(r)?;
            if a.safe {
                crate::engine::recipe::safety::check(&recipe, &base)?;
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
                    let (spec, spool) = a.source_args(p.clone()).to_spec(format_flag)?;
                    _stdin = spool;
                    recipe.source = SourceConfig::from_spec(&spec);
                    (recipe, std::env::current_dir().unwrap_or_default())
                }
                None => (recipe, base),
            }
        }
        (None, Some(p)) => {
            let (spec, spool) = a.source_args(p.clone()).to_spec(format_flag)?;
            _stdin = spool;
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
                crate::engine::stats::describe::display_frame(&table)?,
                OutputFormat::Table,
            )?;
            eprintln!("{}", crate::engine::stats::describe::accuracy_note());
            Ok(())
        }
    }
}
