//! Asking the engine for what the screen shows of the pipeline at the
//! selected step: its preview rows and, in the Graph view, its task graph.
//! Each request is numbered; answers to older ones are dropped.

use super::{Effect, PreviewRequest};
use crate::app::state::{State, View};
use crate::engine::recipe::Recipe;

/// Preview the selected step (and re-plan the graph when it is shown).
pub fn request_preview(s: &mut State) -> Vec<Effect> {
    s.request += 1;
    s.preview.loading = true;
    let steps = s.steps_at();
    let base = s.result_base(&steps);
    let mut fx = vec![Effect::Preview(PreviewRequest {
        request: s.request,
        steps,
        rows: s.rows,
        take: s.take.then_some(s.seed),
        base,
    })];
    fx.extend(request_graph(s));
    fx
}

/// Plan the graph of the selected step when the Graph view shows it.
pub fn request_graph(s: &mut State) -> Vec<Effect> {
    if s.view != View::Graph {
        return vec![];
    }
    s.graph.request += 1;
    let steps = s.steps_at();
    let from_result = s.result_base(&steps);
    vec![Effect::PlanGraph {
        request: s.graph.request,
        recipe: Recipe {
            source: s.recipe.source.clone(),
            steps,
        },
        from_result,
    }]
}
