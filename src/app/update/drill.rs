//! Drill-down: on a row of a group-by, frequency or unique preview (or its
//! computed result), or on a value of the frequency sheet, open the rows
//! behind it: the pipeline with a filter on the row's key values inserted
//! just before the grouping step, previewed as usual. Back returns to where
//! you were; keep makes the filter a step of the recipe.

use polars::prelude::AnyValue;

use super::prompts::equals_text;
use super::record;
use super::requests::request_preview;
use super::Effect;
use crate::app::action::Action;
use crate::app::insight::Insight;
use crate::app::state::{Drill, State, TableCursor, View};
use crate::app::status::Status;
use crate::engine::recipe::Step;

pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    Some(match a {
        Action::OpenRow if s.record_open => record::on_action(s, Action::ViewRecord)?,
        Action::OpenRow if s.view == View::Frequency => drill_frequency(s),
        Action::OpenRow => match grouped_by(s) {
            Some((at, keys)) => drill(s, at, &keys),
            None => record::on_action(s, Action::ViewRecord)?,
        },
        Action::DrillBack if s.drill.is_some() => back(s),
        Action::KeepDrill => keep(s),
        _ => return None,
    })
}

/// The steps whose rows the view shows: the result's in the Result view,
/// else the selected prefix (what the frequency sheet was computed on).
fn shown_steps(s: &State) -> Vec<Step> {
    match (&s.view, &s.jobs.result) {
        (View::Result, Some(r)) => r.steps.clone(),
        _ => s.steps_at(),
    }
}

/// Where the rows on screen are groups: the index of the grouping step
/// and its key columns. Steps after it may only order, cut or filter the
/// groups (the key columns are still the grouping's).
fn grouped_by(s: &State) -> Option<(usize, Vec<String>)> {
    if !matches!(s.view, View::Table | View::Result) {
        return None;
    }
    let steps = shown_steps(s);
    for (i, step) in steps.iter().enumerate().rev() {
        let keys = match step {
            Step::GroupBy { keys, .. } if !keys.is_empty() => keys.clone(),
            Step::ValueCounts { column } => vec![column.clone()],
            Step::Unique {
                columns: Some(columns),
            } => columns.clone(),
            Step::Unique { columns: None } => s
                .table_frame()?
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            Step::Sort { .. } | Step::Head { .. } | Step::Filter { .. } => continue,
            _ => return None,
        };
        return Some((i, keys));
    }
    None
}

/// The condition that selects the current row's group.
fn condition(s: &State, keys: &[String]) -> Option<String> {
    let df = s.table_frame()?;
    let row = s.table.row;
    let parts: Option<Vec<String>> = keys
        .iter()
        .map(|k| {
            let v: AnyValue = df.column(k).ok()?.get(row).ok()?.into_static();
            Some(equals_text(k, &v))
        })
        .collect();
    Some(parts?.join(" AND "))
}

/// Enter on a value of the frequency sheet: the rows holding it, at the
/// step the sheet was computed for.
fn drill_frequency(s: &mut State) -> Vec<Effect> {
    let Some(Insight::Frequency { column }) = s.insight.wanted.clone() else {
        return vec![];
    };
    let frame = s
        .insight_result(&Insight::Frequency {
            column: column.clone(),
        })
        .map(|r| r.frame.clone())
        .or_else(|| s.insight.preview.as_ref().map(|(_, f)| f.clone()));
    let value = frame.and_then(|f| {
        let v: AnyValue = f
            .columns()
            .first()?
            .get(s.insight.cursor)
            .ok()?
            .into_static();
        Some(v)
    });
    let Some(value) = value else {
        return vec![];
    };
    let expr = equals_text(&column, &value);
    let at = s.at_step;
    open_drill(s, at, expr)
}

fn drill(s: &mut State, at: usize, keys: &[String]) -> Vec<Effect> {
    if s.frame_height() == 0 {
        return vec![];
    }
    let Some(expr) = condition(s, keys) else {
        return vec![];
    };
    open_drill(s, at, expr)
}

/// Show the shown steps with `expr` filtering before step `at`.
fn open_drill(s: &mut State, at: usize, expr: String) -> Vec<Effect> {
    let steps = shown_steps(s);
    let mut drilled = steps[..at].to_vec();
    drilled.push(Step::Filter { expr: expr.clone() });
    let at_step = drilled.len();
    // Steps after the shown ones stay, after the drilled view.
    drilled.extend(steps[at..].iter().cloned());
    drilled.extend(s.recipe.steps.iter().skip(steps.len()).cloned());
    let back_to = Drill {
        steps: s.recipe.steps.clone(),
        at_step: s.at_step,
        view: s.view,
        table: s.table.clone(),
        condition: expr.clone(),
    };
    // Drilling again from a drilled view returns to the first place.
    let back_to = s.drill.take().unwrap_or(back_to);
    s.recipe.steps = drilled;
    super::pipeline::refresh_schemas(s);
    s.at_step = at_step;
    s.view = View::Table;
    s.table = TableCursor {
        page: s.table.page,
        ..TableCursor::default()
    };
    s.drill = Some(back_to);
    s.status = Some(
        Status::info(format!("the rows where {expr} ("))
            .key(Action::DrillBack)
            .then(" back, ")
            .key(Action::KeepDrill)
            .then(" keeps the filter as a step)"),
    );
    request_preview(s)
}

fn back(s: &mut State) -> Vec<Effect> {
    let Some(d) = s.drill.take() else {
        return vec![];
    };
    s.recipe.steps = d.steps;
    super::pipeline::refresh_schemas(s);
    s.at_step = d.at_step;
    s.view = d.view;
    s.table = d.table;
    s.status = None;
    request_preview(s)
}

fn keep(s: &mut State) -> Vec<Effect> {
    let Some(d) = s.drill.take() else {
        s.status = Some(
            Status::info("nothing to keep: ")
                .key(Action::OpenRow)
                .then(" on a group's row opens its rows"),
        );
        return vec![];
    };
    s.history.undo.push(d.steps);
    s.history.redo.clear();
    s.status = Some(Status::info(format!(
        "kept: filter {} (undo removes it)",
        d.condition
    )));
    vec![]
}
