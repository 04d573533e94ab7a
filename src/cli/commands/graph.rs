//! `quarry graph`: the task graph a recipe lowers to, as text, DOT or JSON.

use crate::cli::args::GraphArgs;
use crate::cli::print::emit;
use crate::engine::recipe::{Recipe, Step};
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::steps::pivot;
use crate::engine::Result;

pub fn run(a: GraphArgs) -> Result<()> {
    let (recipe, base) = Recipe::load(&a.recipe)?;
    let opts = JobOptions {
        split_every: a.split_every,
        blocksize: a.blocksize,
        writes_output: false,
    };
    // A pivot whose columns are left out runs a pass that finds them
    // first: that pass is the graph that runs first, so it is the one shown.
    let unpinned = recipe
        .steps
        .iter()
        .position(|s| matches!(s, Step::Pivot { columns, .. } if columns.is_empty()));
    let (recipe, heading) = match unpinned {
        Some(at) => {
            let Step::Pivot { on, .. } = &recipe.steps[at] else {
                unreachable!("position matched a pivot")
            };
            let heading = format!(
                "pivot (step {}) first finds the values of `{on}` with this job; the pivot itself then runs as a group-by over them\n",
                at + 1
            );
            // The pivot's own columns are checked before its pass is shown.
            let checked = Recipe {
                source: recipe.source.clone(),
                steps: pivot::checkable_prefix(&recipe.steps, at),
            };
            Job::prepare(checked, &base, &opts)?;
            let mut steps = recipe.steps[..at].to_vec();
            steps.extend(pivot::values_steps(on));
            (
                Recipe {
                    source: recipe.source.clone(),
                    steps,
                },
                Some(heading),
            )
        }
        None => (recipe, None),
    };
    let job = Job::prepare(recipe, &base, &opts)?;
    let text = if a.dot {
        job.graph.to_dot()
    } else if a.json {
        serde_json::to_string_pretty(&job.graph).unwrap_or_default() + "\n"
    } else {
        heading.unwrap_or_default() + &job.graph.to_text()
    };
    emit(|w| w.write_all(text.as_bytes()))
}
