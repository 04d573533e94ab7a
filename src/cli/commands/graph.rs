//! `quarry graph`: the task graph a recipe lowers to, as text, DOT or JSON.

use crate::cli::args::GraphArgs;
use crate::cli::print::emit;
use crate::engine::recipe::Recipe;
use crate::engine::run::job::{Job, JobOptions};
use crate::engine::Result;

pub fn run(a: GraphArgs) -> Result<()> {
    let (recipe, base) = Recipe::load(&a.recipe)?;
    let opts = JobOptions {
        split_every: a.split_every,
        blocksize: a.blocksize,
        writes_output: false,
    };
    let job = Job::prepare(recipe, &base, &opts)?;
    let text = if a.dot {
        job.graph.to_dot()
    } else if a.json {
        serde_json::to_string_pretty(&job.graph).unwrap_or_default() + "\n"
    } else {
        job.graph.to_text()
    };
    emit(|w| w.write_all(text.as_bytes()))
}
