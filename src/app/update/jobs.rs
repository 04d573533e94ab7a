//! Jobs over all rows: compute, write, the insights (describe, frequencies,
//! histograms), the question asked when one is already running, the fix
//! offered when one fails, and the answers that come back.

use std::sync::Arc;

use polars::prelude::DataFrame;

use super::requests::request_preview;
use super::{Effect, JobOutcome, SourceInfo};
use crate::app::action::Action;
use crate::app::compute::{JobKind, JobView, Phase};
use crate::app::insight::{histogram_kind, preview_frequencies, Insight, InsightResult};
use crate::app::state::{ComputedResult, Confirm, Focus, State, TableCursor, View};
use crate::app::status::Status;
use crate::engine::error::Fix;
use crate::engine::plan::graph::TaskGraph;
use crate::engine::recipe::{Recipe, Step};
use crate::engine::run::events::Event;

/// The confirm question: queue the new job, replace the running one, or
/// neither.
pub fn on_confirm(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    let Some(Confirm::Busy { kind }) = s.confirm.take() else {
        return Some(vec![]);
    };
    Some(match a {
        Action::QueueJob => {
            s.jobs.queued = Some(kind);
            s.status = Some(Status::info("queued: it starts when the running job ends"));
            vec![]
        }
        Action::ReplaceJob => {
            s.jobs.queued = Some(kind);
            s.status = Some(Status::info(
                "cancelling the running job; the new one follows",
            ));
            vec![Effect::CancelJob]
        }
        Action::CancelPrompt | Action::Cancel => vec![],
        _ => {
            s.confirm = Some(Confirm::Busy { kind });
            vec![]
        }
    })
}

/// In the Describe view, the frequencies or histogram of the selected
/// row's column; in the Histogram view, its scale.
pub fn on_view_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    match (s.view, a) {
        (View::Describe, Action::Frequency) => Some(match describe_row_column(s) {
            Some(column) => start_insight(s, Insight::Frequency { column }),
            None => vec![],
        }),
        (View::Describe, Action::Histogram) => Some(match describe_row_column(s) {
            Some(column) => histogram(s, &column, false),
            None => vec![],
        }),
        (View::Table, Action::Frequency) if s.focus == Focus::Table => {
            Some(match s.current_column() {
                Some(column) => frequency_sheet(s, column),
                None => vec![],
            })
        }
        _ => None,
    }
}

/// Distinct numbers in the preview beyond which a column's frequencies are
/// mostly ones, and its histogram says more.
const MANY_NUMBERS: usize = 50;

/// `F` on a column: its frequency sheet (value, count, share, cumulative
/// share, a bar), from the preview at once and over all rows when the job
/// is done. A numeric column with many values gets the histogram offered.
fn frequency_sheet(s: &mut State, column: String) -> Vec<Effect> {
    let many_numbers = s
        .preview
        .frame
        .as_ref()
        .and_then(|f| f.column(&column).ok())
        .filter(|c| c.dtype().is_primitive_numeric())
        .and_then(|c| c.n_unique().ok())
        .is_some_and(|n| n > MANY_NUMBERS);
    let fx = start_insight(s, Insight::Frequency { column });
    if many_numbers && s.confirm.is_none() {
        s.status = Some(
            Status::info("many distinct numbers: ")
                .key(Action::Histogram)
                .then(" bins them (a histogram)"),
        );
    }
    fx
}

/// Compute, write, cancel, the insights, and the fix of a failed job.
pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    Some(match a {
        Action::Compute => ask_or_start(s, JobKind::Compute),
        Action::Cancel => {
            if s.job_running() {
                s.status = Some(
                    Status::info("cancelling… (")
                        .key(Action::Cancel)
                        .then(" again or ")
                        .key(Action::Quit)
                        .then(" quits)"),
                );
                vec![Effect::CancelJob]
            } else {
                super::navigation::quit(s)
            }
        }
        Action::Describe => start_insight(s, Insight::Describe),
        Action::Histogram => match s.current_column() {
            Some(column) => histogram(s, &column, false),
            None => vec![],
        },
        Action::ToggleLogScale => match s.insight.wanted.clone() {
            Some(Insight::Histogram { column, log, .. }) => histogram(s, &column, !log),
            _ => {
                s.status = Some(
                    Status::info("the log scale is for histograms (")
                        .key(Action::Histogram)
                        .then(" on a numeric column)"),
                );
                vec![]
            }
        },
        Action::ApplyFix => apply_fix(s),
        _ => return None,
    })
}

fn apply_fix(s: &mut State) -> Vec<Effect> {
    let fix = s.jobs.current.as_ref().and_then(|j| j.fix().cloned());
    let Some(Fix::SetDtype { column, dtype }) = fix else {
        s.status = Some(Status::info("no fix to apply"));
        return vec![];
    };
    s.recipe.source.dtypes.insert(column.clone(), dtype.clone());
    s.jobs.rerun_after_reopen = true;
    s.status = Some(Status::info(format!(
        "[source.dtypes] {column} = \"{dtype}\"; reopening and re-running…"
    )));
    vec![Effect::Reopen {
        source: s.recipe.source.clone(),
    }]
}

/// Start `kind`, or ask first when a job is running.
pub fn ask_or_start(s: &mut State, kind: JobKind) -> Vec<Effect> {
    if s.job_running() {
        s.confirm = Some(Confirm::Busy { kind });
        vec![]
    } else {
        start_job(s, kind)
    }
}

/// Start a job of `kind` on the steps up to the selected one.
pub fn start_job(s: &mut State, kind: JobKind) -> Vec<Effect> {
    s.jobs.seq += 1;
    let steps = s.steps_at();
    let mut view = JobView::new(s.jobs.seq, kind.clone(), Arc::new(TaskGraph::default()));
    view.phase = Phase::Preparing;
    view.steps = steps.clone();
    view.source = s.recipe.source.clone();
    s.focus = Focus::Table;
    // A computed result that still holds for a prefix of the steps is
    // where the job starts: only the steps after it run.
    let from_result = s.result_base(&steps);
    view.from_result = from_result.as_ref().map(|b| b.steps);
    s.jobs.current = Some(view);
    let mut run_steps = match &from_result {
        Some(b) => steps[b.steps..].to_vec(),
        None => steps,
    };
    match &kind {
        JobKind::Insight(i) => {
            // The insight view shows the job's progress itself.
            s.view = insight_view(i);
            run_steps.extend(i.steps());
        }
        JobKind::PivotValues { pivot, .. } => {
            s.view = View::Progress;
            if let Step::Pivot { on, .. } = pivot.as_ref() {
                run_steps.extend(crate::engine::steps::pivot::values_steps(on));
            }
        }
        _ => s.view = View::Progress,
    }
    let doing = match &kind {
        JobKind::Compute => "computing".to_string(),
        JobKind::Write { path } => format!("writing {path}"),
        JobKind::Insight(i) => format!("{} over all rows", i.label()),
        JobKind::PivotValues { .. } => format!("finding the {} over all rows", kind.label()),
    };
    let doing = match &from_result {
        Some(b) => format!("{doing} from the computed result of step {}", b.steps),
        None => doing,
    };
    s.status = Some(
        Status::info(format!("{doing}… ("))
            .key(Action::Cancel)
            .then(" cancels)"),
    );
    let recipe = Recipe {
        source: s.recipe.source.clone(),
        steps: run_steps,
    };
    vec![Effect::StartJob {
        id: s.jobs.seq,
        kind,
        recipe,
        from_result,
    }]
}

pub fn done(s: &mut State, id: u64, result: Result<JobOutcome, String>) -> Vec<Effect> {
    let Some(j) = s.jobs.current.as_mut().filter(|j| j.id == id) else {
        return vec![];
    };
    let kind = j.kind.clone();
    let mut fx = Vec::new();
    match result {
        Ok(out) => {
            if j.is_running() {
                j.phase = Phase::Finished {
                    rows_out: out.rows_out,
                    elapsed_ms: out.elapsed_ms,
                };
            }
            let secs = out.elapsed_ms as f64 / 1000.0;
            match (&kind, out.frame) {
                (JobKind::Compute, Some(frame)) => {
                    s.status = Some(Status::info(format!(
                        "computed {} rows in {secs:.2} s",
                        frame.height()
                    )));
                    s.jobs.result = Some(ComputedResult {
                        frame,
                        steps: j.steps.clone(),
                        source: j.source.clone(),
                        elapsed_ms: out.elapsed_ms,
                    });
                    fx = super::chart::refresh(s);
                    if s.view == View::Progress {
                        s.view = View::Result;
                        s.table = TableCursor {
                            page: s.table.page,
                            ..TableCursor::default()
                        };
                    }
                }
                (JobKind::Write { path }, _) => {
                    s.status = Some(Status::info(format!(
                        "wrote {} rows to {path} in {secs:.2} s",
                        out.rows_out
                    )));
                }
                (JobKind::Insight(i), Some(frame)) => {
                    s.status = Some(Status::info(format!("{} done in {secs:.2} s", i.label())));
                    let steps = j.steps.clone();
                    s.insight
                        .results
                        .retain(|r| !(r.insight == *i && r.steps == steps));
                    s.insight.results.push(InsightResult {
                        insight: i.clone(),
                        steps,
                        frame,
                        elapsed_ms: out.elapsed_ms,
                    });
                    if s.insight.results.len() > 8 {
                        s.insight.results.remove(0);
                    }
                }
                (JobKind::PivotValues { pivot, at }, Some(frame)) => {
                    let (pivot, at) = ((**pivot).clone(), *at);
                    let fx = pivot_values_found(s, pivot, at, &frame, secs);
                    return fx.into_iter().chain(next_queued(s)).collect();
                }
                (JobKind::Compute, None)
                | (JobKind::Insight(_), None)
                | (JobKind::PivotValues { .. }, None) => {}
            }
        }
        Err(e) => {
            let cancelled = matches!(j.phase, Phase::Cancelled { .. });
            if j.is_running() {
                j.phase = Phase::Failed(e.clone());
                j.mark_unfinished_cancelled();
            }
            s.status = Some(if cancelled {
                Status::info("cancelled; nothing was written")
            } else if j.fix().is_some() {
                Status::error(format!("{} — ", first_line(&e)))
                    .key(Action::ApplyFix)
                    .then(" in the progress view applies the fix and re-runs")
            } else {
                Status::error(e)
            });
        }
    }
    fx.extend(next_queued(s));
    fx
}

fn next_queued(s: &mut State) -> Vec<Effect> {
    match s.jobs.queued.take() {
        Some(next) => start_job(s, next),
        None => vec![],
    }
}

/// The values of a pivot's `on` column are in: name them as its columns
/// and insert it where it was asked for, back in the table.
fn pivot_values_found(
    s: &mut State,
    pivot: Step,
    at: usize,
    values: &DataFrame,
    secs: f64,
) -> Vec<Effect> {
    let Step::Pivot {
        index,
        on,
        values: of,
        agg,
        ..
    } = pivot
    else {
        return vec![];
    };
    match crate::engine::steps::pivot::columns_from_values(values, &on) {
        Ok(columns) => {
            let n = columns.len();
            let step = Step::Pivot {
                index,
                on: on.clone(),
                values: of,
                agg,
                columns,
            };
            s.view = View::Table;
            let fx = super::pipeline::edit_steps(s, |steps| {
                let at = at.min(steps.len());
                steps.insert(at, step);
                Some(at + 1)
            });
            if s.status.as_ref().is_none_or(|st| !st.error) {
                s.status = Some(Status::info(format!(
                    "pivot on {on}: {n} columns, its values found over all rows in {secs:.2} s"
                )));
            }
            fx
        }
        Err(e) => {
            s.status = Some(Status::error(format!("pivot: {e}")));
            vec![]
        }
    }
}

pub fn prepared(
    s: &mut State,
    id: u64,
    graph: Arc<TaskGraph>,
    labels: Arc<Vec<String>>,
) -> Vec<Effect> {
    if let Some(j) = s.jobs.current.as_mut().filter(|j| j.id == id) {
        let mut fresh = JobView::new(id, j.kind.clone(), graph);
        fresh.steps = std::mem::take(&mut j.steps);
        fresh.source = std::mem::take(&mut j.source);
        fresh.from_result = j.from_result;
        fresh.labels = labels;
        *j = fresh;
        s.jobs.progress_cursor = 0;
    }
    vec![]
}

pub fn event(s: &mut State, id: u64, event: Event) -> Vec<Effect> {
    if let Some(j) = s.jobs.current.as_mut().filter(|j| j.id == id) {
        j.apply(&event);
    }
    vec![]
}

/// The describe table over the partitions done so far.
pub fn insight_partial(
    s: &mut State,
    id: u64,
    table: DataFrame,
    partitions: (usize, usize),
) -> Vec<Effect> {
    let current = s
        .jobs
        .current
        .as_ref()
        .is_some_and(|j| j.id == id && j.is_running());
    if current && s.insight.wanted == Some(Insight::Describe) {
        s.insight.preview = Some((Insight::Describe, table));
        s.insight.partitions = Some(partitions);
    }
    vec![]
}

pub fn reopened(s: &mut State, result: Result<SourceInfo, String>) -> Vec<Effect> {
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            s.jobs.rerun_after_reopen = false;
            s.status = Some(Status::error(e));
            return vec![];
        }
    };
    s.source_line = info.line;
    s.source_schema = info.schema;
    s.partitions = info.partitions;
    s.source_notes = info.notes;
    s.source_drift = info.drift;
    s.source_date_layouts = info.date_layouts;
    s.preview.frame = None;
    super::pipeline::refresh_schemas(s);
    let mut fx = request_preview(s);
    if std::mem::take(&mut s.jobs.rerun_after_reopen) {
        let kind = s
            .jobs
            .current
            .as_ref()
            .map_or(JobKind::Compute, |j| j.kind.clone());
        fx.extend(start_job(s, kind));
    }
    fx
}

/// Standard input ended: reopen on all of it, in place of its first
/// lines. The recipe was never saved with the first lines' file, so the
/// change does not count as an edit.
pub fn input_ended(s: &mut State, path: String, result: Result<u64, String>) -> Vec<Effect> {
    match result {
        Ok(bytes) => {
            let unchanged = s.recipe.source == s.history.saved_source;
            s.recipe.source.path = path;
            if unchanged {
                s.history.saved_source = s.recipe.source.clone();
            }
            s.status = Some(Status::info(format!(
                "standard input ended after {}: reading all of it",
                crate::engine::input::spec::format_bytes(bytes)
            )));
            vec![Effect::Reopen {
                source: s.recipe.source.clone(),
            }]
        }
        Err(e) => {
            s.status = Some(Status::error(format!(
                "standard input failed: {e}; showing the lines that arrived before"
            )));
            vec![]
        }
    }
}

pub fn written(
    s: &mut State,
    result: Result<(std::path::PathBuf, usize, u64), String>,
) -> Vec<Effect> {
    s.status = Some(match result {
        Ok((path, rows, ms)) => Status::info(format!(
            "wrote {rows} rows to {} in {ms} ms",
            path.display()
        )),
        Err(e) => Status::error(e),
    });
    vec![]
}

pub fn chart_written(s: &mut State, result: Result<std::path::PathBuf, String>) -> Vec<Effect> {
    s.status = Some(match result {
        Ok(path) => Status::info(format!("wrote the chart to {}", path.display())),
        Err(e) => Status::error(e),
    });
    vec![]
}

fn insight_view(i: &Insight) -> View {
    match i {
        Insight::Describe => View::Describe,
        Insight::Frequency { .. } => View::Frequency,
        Insight::Histogram { .. } => View::Histogram,
    }
}

/// Show `i`: the full result when it was computed for these steps, else
/// the preview's figures at once and a job for all rows.
fn start_insight(s: &mut State, i: Insight) -> Vec<Effect> {
    s.insight.wanted = Some(i.clone());
    s.insight.cursor = 0;
    s.insight.partitions = None;
    s.insight.preview = s.preview.frame.as_ref().and_then(|f| match &i {
        Insight::Describe => crate::engine::stats::describe::describe_frame(f, None)
            .ok()
            .map(|d| (i.clone(), d)),
        Insight::Frequency { column } => preview_frequencies(f, column).map(|d| (i.clone(), d)),
        Insight::Histogram { .. } => None,
    });
    if s.insight_result(&i).is_some() {
        s.view = insight_view(&i);
        return vec![];
    }
    ask_or_start(s, JobKind::Insight(i))
}

/// A histogram of `column`, binned between the min and max the describe
/// pass found.
fn histogram(s: &mut State, column: &str, log: bool) -> Vec<Effect> {
    let dtype = s.current_schema().get(column).cloned();
    let Some(temporal) = dtype.as_ref().and_then(histogram_kind) else {
        s.status = Some(
            Status::error(format!("{column} is not numeric or a date: "))
                .key(Action::Frequency)
                .then(" shows its frequencies"),
        );
        return vec![];
    };
    let table = s.insight_result(&Insight::Describe).map(|r| &r.frame).or(s
        .insight
        .preview
        .as_ref()
        .filter(|(i, _)| *i == Insight::Describe)
        .map(|(_, f)| f));
    let bounds = table.and_then(|t| {
        let names = t.column("column").ok()?.str().ok()?.clone();
        let row = names.iter().position(|n| n == Some(column))?;
        let lo = t.column("min_num").ok()?.f64().ok()?.get(row)?;
        let hi = t.column("max_num").ok()?.f64().ok()?.get(row)?;
        Some((lo, hi))
    });
    let Some((lo, hi)) = bounds else {
        s.status = Some(
            Status::error("describe first (")
                .key(Action::Describe)
                .then("): the histogram's bins come from its min and max"),
        );
        return vec![];
    };
    if log && hi <= 0.0 {
        s.status = Some(Status::error(format!(
            "{column} has no positive values: no log scale"
        )));
        return vec![];
    }
    let lo = if log && lo <= 0.0 {
        (hi * 1e-6).min(1.0)
    } else {
        lo
    };
    start_insight(
        s,
        Insight::Histogram {
            column: column.to_string(),
            log,
            lo,
            hi,
            temporal,
        },
    )
}

/// The column named on the selected describe row.
fn describe_row_column(s: &State) -> Option<String> {
    let table = s.insight_result(&Insight::Describe).map(|r| &r.frame).or(s
        .insight
        .preview
        .as_ref()
        .map(|(_, f)| f))?;
    let c = table.column("column").ok()?;
    c.str().ok()?.get(s.insight.cursor).map(str::to_string)
}

fn first_line(e: &str) -> &str {
    e.lines().next().unwrap_or(e)
}
