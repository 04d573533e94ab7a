//! Editing the pipeline: adding, removing, moving and toggling steps, undo
//! and redo, loading and saving recipes, and the preview answers. Every
//! change goes through [`edit_steps`] / [`adopt_steps`]: checked against
//! the schemas first, then made current (undoable) and previewed.

use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::DataFrame;

use super::navigation::clamp_cursor;
use super::requests::request_preview;
use super::{Effect, PreviewData};
use crate::app::action::Action;
use crate::app::state::{Prompt, State};
use crate::app::status::Status;
use crate::engine::recipe::{BoolOrMany, OneOrMany, Recipe, Step};
use crate::engine::steps::apply::{schemas_after_steps, JoinTables};

/// Step edits on the selected step, and undo / redo.
pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    let at = s.at_step;
    Some(match a {
        Action::SortAscending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: None,
        }),
        Action::SortDescending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: Some(BoolOrMany::One(true)),
        }),
        Action::DropColumn => with_column(s, |c| Step::Drop { columns: vec![c] }),
        Action::CastToDate => cast_to_date(s),
        Action::DeleteStep => edit_steps(s, |steps| {
            let i = at.checked_sub(1)?;
            steps.remove(i);
            Some(i)
        }),
        Action::MoveStepUp => edit_steps(s, |steps| {
            let i = at.checked_sub(1)?;
            let j = i.checked_sub(1)?;
            steps.swap(i, j);
            Some(j + 1)
        }),
        Action::MoveStepDown => edit_steps(s, |steps| {
            let i = at.checked_sub(1)?;
            let j = i + 1;
            (j < steps.len()).then(|| steps.swap(i, j))?;
            Some(j + 1)
        }),
        Action::ToggleStep => edit_steps(s, |steps| {
            let i = at.checked_sub(1)?;
            steps[i] = match steps[i].clone() {
                Step::Disabled { step } => *step,
                other => Step::Disabled {
                    step: Box::new(other),
                },
            };
            Some(at)
        }),
        Action::Persist => {
            let removing = at > 0 && matches!(s.recipe.steps[at - 1], Step::Persist {});
            let fx = edit_steps(s, |steps| {
                if removing {
                    steps.remove(at - 1);
                    Some(at - 1)
                } else {
                    steps.insert(at, Step::Persist {});
                    Some(at + 1)
                }
            });
            if !removing {
                s.status = Some(Status::info(
                    "persist: the next compute keeps these partitions (in the cache dir); later runs start from them",
                ));
            }
            fx
        }
        Action::Undo => step_history(s, Direction::Back),
        Action::Redo => step_history(s, Direction::Forward),
        Action::ToggleTake => {
            s.take = !s.take;
            s.seed = s.seed.wrapping_add(1);
            s.status = Some(Status::info(if s.take {
                "random take from a few partitions"
            } else {
                "head: the first rows"
            }));
            request_preview(s)
        }
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Direction {
    Back,
    Forward,
}

/// Undo (back) or redo (forward): the same move between the two stacks.
fn step_history(s: &mut State, direction: Direction) -> Vec<Effect> {
    let h = &mut s.history;
    let (from, to, what) = match direction {
        Direction::Back => (&mut h.undo, &mut h.redo, "undo"),
        Direction::Forward => (&mut h.redo, &mut h.undo, "redo"),
    };
    let Some(steps) = from.pop() else {
        s.status = Some(Status::info(format!("nothing to {what}")));
        return vec![];
    };
    to.push(std::mem::replace(&mut s.recipe.steps, steps));
    s.at_step = s.recipe.steps.len();
    refresh_schemas(s);
    request_preview(s)
}

/// Insert a step made from the current column after the selected step.
fn with_column(s: &mut State, make: impl FnOnce(String) -> Step) -> Vec<Effect> {
    let Some(c) = s.current_column() else {
        return vec![];
    };
    insert_step(s, make(c), None)
}

/// Insert `step` after the selected step and select it.
pub fn insert_step(s: &mut State, step: Step, from_prompt: Option<Prompt>) -> Vec<Effect> {
    let at = s.at_step.min(s.recipe.steps.len());
    let mut steps = s.recipe.steps.clone();
    steps.insert(at, step);
    adopt_steps(s, steps, at + 1, from_prompt)
}

/// Change a copy of the steps with `edit`, which returns the step to select
/// afterwards (`None`: nothing to do), and adopt it.
pub fn edit_steps(
    s: &mut State,
    edit: impl FnOnce(&mut Vec<Step>) -> Option<usize>,
) -> Vec<Effect> {
    let mut steps = s.recipe.steps.clone();
    match edit(&mut steps) {
        Some(at) => adopt_steps(s, steps, at, None),
        None => vec![],
    }
}

/// Check a new pipeline; on success make it current (undoable) and preview
/// it at `at`. An error goes to the prompt when one is open, else the status.
pub fn adopt_steps(
    s: &mut State,
    steps: Vec<Step>,
    at: usize,
    from_prompt: Option<Prompt>,
) -> Vec<Effect> {
    match schemas_after_steps(&s.source_schema, &steps, &s.joins) {
        Ok(schemas) => {
            let old = std::mem::replace(&mut s.recipe.steps, steps);
            s.history.undo.push(old);
            s.history.redo.clear();
            s.step_schemas = schemas;
            s.at_step = at;
            s.prompt = None;
            s.status = None;
            request_preview(s)
        }
        Err(e) => {
            let msg = e.to_string();
            match from_prompt {
                Some(mut p) => {
                    p.error = Some(msg);
                    s.prompt = Some(p);
                }
                None => s.status = Some(Status::error(msg)),
            }
            vec![]
        }
    }
}

pub fn refresh_schemas(s: &mut State) {
    match schemas_after_steps(&s.source_schema, &s.recipe.steps, &s.joins) {
        Ok(v) => s.step_schemas = v,
        Err(e) => {
            s.step_schemas.clear();
            s.status = Some(Status::error(e.to_string()));
        }
    }
}

pub fn preview_done(
    s: &mut State,
    request: u64,
    result: Result<PreviewData, String>,
) -> Vec<Effect> {
    if request != s.request {
        return vec![]; // stale: a newer request is on its way
    }
    s.preview.loading = false;
    match result {
        Ok(d) => {
            s.preview.error = None;
            s.preview.partial = d.partial;
            s.preview.partitions_read = d.partitions_read;
            s.preview.from_result = d.from_result;
            s.preview.elapsed_ms = d.elapsed_ms;
            s.preview.frame = Some(d.frame);
            clamp_cursor(s);
            return super::chart::refresh(s);
        }
        Err(e) => {
            s.preview.error = Some(e.clone());
            s.status = Some(Status::error(e));
        }
    }
    vec![]
}

pub fn loaded(
    s: &mut State,
    result: Result<(Recipe, PathBuf, Arc<JoinTables>), String>,
) -> Vec<Effect> {
    let (recipe, base, joins) = match result {
        Ok(r) => r,
        Err(e) => {
            s.status = Some(Status::error(e));
            return vec![];
        }
    };
    let old = std::mem::replace(&mut s.recipe, recipe);
    s.base = base;
    s.joins = joins;
    s.history.saved = s.recipe.steps.clone();
    s.history.saved_source = s.recipe.source.clone();
    s.history.undo.push(old.steps);
    s.history.redo.clear();
    s.at_step = s.recipe.steps.len();
    refresh_schemas(s);
    s.status = Some(Status::info("recipe loaded"));
    request_preview(s)
}

/// The right side of a join arrived: keep its table and insert the step.
pub fn join_loaded(
    s: &mut State,
    step: Step,
    at: usize,
    result: Result<(String, Arc<DataFrame>), String>,
) -> Vec<Effect> {
    match result {
        Ok((key, table)) => {
            let mut joins = (*s.joins).clone();
            joins.insert(key, table);
            s.joins = Arc::new(joins);
            edit_steps(s, |steps| {
                let at = at.min(steps.len());
                steps.insert(at, step);
                Some(at + 1)
            })
        }
        Err(e) => {
            s.status = Some(Status::error(e));
            vec![]
        }
    }
}

pub fn saved(s: &mut State, result: Result<PathBuf, String>) -> Vec<Effect> {
    match result {
        Ok(path) => {
            s.history.saved = s.recipe.steps.clone();
            s.history.saved_source = s.recipe.source.clone();
            s.status = Some(Status::info(format!("saved {}", path.display())));
        }
        Err(e) => s.status = Some(Status::error(e)),
    }
    vec![]
}

/// The recipe as TOML, with the source path made absolute so the file works
/// wherever it is saved, and the source's column types pinned in
/// `[source.dtypes]`: replayed later, on data that has grown, it reads the
/// types it was built on (a column that gained a stray word fails with that
/// word and its line instead of silently turning to text).
pub fn recipe_text(s: &State) -> String {
    let mut r = s.recipe.clone();
    let p = PathBuf::from(&r.source.path);
    if p.is_relative() {
        r.source.path = s.base.join(p).to_string_lossy().into_owned();
    }
    pin_dtypes(&mut r.source.dtypes, &s.source_schema);
    r.to_toml()
}

/// Add every column of `schema` whose type a recipe can name (nested types
/// cannot) to `dtypes`, keeping the ones already set.
pub fn pin_dtypes(
    dtypes: &mut std::collections::BTreeMap<String, String>,
    schema: &polars::prelude::Schema,
) {
    use crate::engine::input::spec::{dtype_name, parse_dtype};
    for (name, dt) in schema.iter() {
        let named = dtype_name(dt);
        if parse_dtype(&named).is_ok_and(|back| &back == dt) {
            dtypes.entry(name.to_string()).or_insert(named);
        }
    }
}

/// Read the current column as a date when inference found it written in
/// another date layout: a derived column replacing it, in the layout found.
fn cast_to_date(s: &mut State) -> Vec<Effect> {
    let Some(column) = s.current_column() else {
        return vec![];
    };
    let Some(layout) = s.source_date_layouts.get(column.as_str()).cloned() else {
        s.status = Some(Status::error(format!(
            "`{column}` is not in a date layout quarry recognises (05/13/2014, 13.05.2014, 20140513); derive one with DATE(column, 'format')"
        )));
        return vec![];
    };
    let step = Step::WithColumns {
        columns: [(column.clone(), layout.cast_expr(&column))]
            .into_iter()
            .collect(),
    };
    insert_step(s, step, None)
}
