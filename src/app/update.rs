//! `update(&mut State, Msg) -> Vec<Effect>`: the only place state changes.
//! Pure: no terminal, no threads; engine work is requested as an Effect and
//! answered by a Msg. Plan checks (schemas after each step) run here because
//! they touch no data and take microseconds.

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use polars::prelude::{AnyValue, DataFrame};
use ratatui::crossterm::event::KeyEvent;

use super::action::Action;
use super::commands::StepCommand;
use super::compute::{JobKind, JobView, Phase};
use super::insight::{Insight, InsightResult};
use super::state::{ComputedResult, Confirm, Focus, PlannedGraph, Prompt, PromptKind, State, View};
use crate::engine::apply::{schemas_after_steps, JoinTables};
use crate::engine::events::{Event, Fix};
use crate::engine::graph::TaskGraph;
use crate::engine::recipe::{BoolOrMany, OneOrMany, Recipe, SourceConfig, Step};
use crate::print::cell_text;

/// What the runtime tells the app.
pub enum Msg {
    Action(Action),
    /// A key that no binding claimed, typed into the open prompt.
    Key(KeyEvent),
    PreviewDone {
        request: u64,
        result: Result<PreviewData, String>,
    },
    Loaded(Result<(Recipe, PathBuf, Arc<JoinTables>), String>),
    Saved(Result<PathBuf, String>),
    /// The right side of a `:join` is loaded (keyed for [`JoinTables`]).
    JoinLoaded {
        step: Step,
        at: usize,
        result: Result<(String, Arc<DataFrame>), String>,
    },
    /// Rows of table that fit on screen, and the terminal width.
    Resize {
        rows: usize,
        width: u16,
    },
    /// A job's graph is ready and it starts.
    JobPrepared {
        id: u64,
        graph: Arc<TaskGraph>,
        labels: Arc<Vec<String>>,
    },
    JobEvent {
        id: u64,
        event: Event,
    },
    /// The describe table over the partitions done so far.
    InsightPartial {
        id: u64,
        table: DataFrame,
        partitions: (usize, usize),
    },
    JobDone {
        id: u64,
        result: Result<JobOutcome, String>,
    },
    GraphReady {
        request: u64,
        result: Result<PlannedGraph, String>,
    },
    /// The source was reopened with new `[source]` settings.
    Reopened(Result<SourceInfo, String>),
    /// The result frame was written.
    Written(Result<(PathBuf, usize, u64), String>),
    /// A mouse click on something.
    Click(super::state::Hit),
}

pub struct JobOutcome {
    /// The result (`None` when it was written to a file instead).
    pub frame: Option<DataFrame>,
    pub rows_out: u64,
    pub elapsed_ms: u64,
}

pub struct SourceInfo {
    pub line: String,
    pub schema: Arc<polars::prelude::Schema>,
    pub partitions: usize,
}

pub struct PreviewData {
    pub frame: DataFrame,
    pub partial: bool,
    pub partitions_read: usize,
    pub elapsed_ms: u64,
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Preview(PreviewRequest),
    Save {
        path: PathBuf,
        text: String,
    },
    Load {
        path: PathBuf,
    },
    Copy(String),
    /// Prepare and run `recipe` as job `id` in the background.
    StartJob {
        id: u64,
        kind: JobKind,
        recipe: Recipe,
    },
    CancelJob,
    /// Plan (not run) the task graph of `recipe`.
    PlanGraph {
        request: u64,
        recipe: Recipe,
    },
    /// Write the computed result frame to `path`.
    WriteResult {
        path: String,
    },
    /// Reopen the source with these settings.
    Reopen {
        source: SourceConfig,
    },
    /// Load the right side of a join step, then insert the step at `at`.
    LoadJoin {
        step: Step,
        at: usize,
    },
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRequest {
    pub request: u64,
    pub steps: Vec<Step>,
    pub rows: usize,
    /// `Some(seed)`: a random take instead of the head.
    pub take: Option<u64>,
}

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Action(a) => on_action(s, a),
        Msg::Key(k) if s.confirm.is_some() => answer_confirm(s, k),
        Msg::Key(k) => {
            if let Some(p) = &mut s.prompt {
                p.input.input(k);
                p.error = None;
            }
            vec![]
        }
        Msg::PreviewDone { request, result } => {
            if request != s.request {
                return vec![]; // stale: a newer request is on its way
            }
            s.preview.loading = false;
            match result {
                Ok(d) => {
                    s.preview.error = None;
                    s.preview.partial = d.partial;
                    s.preview.partitions_read = d.partitions_read;
                    s.preview.elapsed_ms = d.elapsed_ms;
                    s.preview.frame = Some(d.frame);
                    clamp_cursor(s);
                }
                Err(e) => {
                    s.preview.error = Some(e.clone());
                    s.status = Some((e, true));
                }
            }
            vec![]
        }
        Msg::Loaded(Ok((recipe, base, joins))) => {
            let old = s.recipe.steps.clone();
            s.recipe = recipe;
            s.base = base;
            s.joins = joins;
            s.saved = s.recipe.steps.clone();
            s.saved_source = s.recipe.source.clone();
            s.undo.push(old);
            s.redo.clear();
            s.at_step = s.recipe.steps.len();
            refresh_schemas(s);
            s.status = Some(("recipe loaded".into(), false));
            request_preview(s)
        }
        Msg::JoinLoaded { step, at, result } => match result {
            Ok((key, table)) => {
                let mut joins = (*s.joins).clone();
                joins.insert(key, table);
                s.joins = Arc::new(joins);
                let mut steps = s.recipe.steps.clone();
                let at = at.min(steps.len());
                steps.insert(at, step);
                adopt_steps(s, steps, at + 1, None)
            }
            Err(e) => {
                s.status = Some((e, true));
                vec![]
            }
        },
        Msg::Loaded(Err(e)) | Msg::Saved(Err(e)) => {
            s.status = Some((e, true));
            vec![]
        }
        Msg::Saved(Ok(path)) => {
            s.saved = s.recipe.steps.clone();
            s.saved_source = s.recipe.source.clone();
            s.status = Some((format!("saved {}", path.display()), false));
            vec![]
        }
        Msg::Click(super::state::Hit::Cell { row, col }) => {
            s.focus = Focus::Table;
            s.cursor_row = row;
            s.cursor_col = col;
            clamp_cursor(s);
            vec![]
        }
        Msg::Click(super::state::Hit::Step(k)) => {
            s.focus = Focus::Pipeline;
            if k != s.at_step && k <= s.recipe.steps.len() {
                s.at_step = k;
                return request_preview(s);
            }
            vec![]
        }
        Msg::Resize { rows, width } => {
            s.page = rows.max(1);
            s.width = width;
            clamp_cursor(s);
            vec![]
        }
        Msg::JobPrepared { id, graph, labels } => {
            if let Some(j) = s.job.as_mut().filter(|j| j.id == id) {
                let mut fresh = JobView::new(id, j.kind.clone(), graph);
                fresh.steps = std::mem::take(&mut j.steps);
                fresh.labels = labels;
                *j = fresh;
                s.progress_cursor = 0;
            }
            vec![]
        }
        Msg::JobEvent { id, event } => {
            if let Some(j) = s.job.as_mut().filter(|j| j.id == id) {
                j.apply(&event);
            }
            vec![]
        }
        Msg::JobDone { id, result } => job_done(s, id, result),
        Msg::InsightPartial {
            id,
            table,
            partitions,
        } => {
            let current = s.job.as_ref().is_some_and(|j| j.id == id && j.is_running());
            if current && s.insight_wanted == Some(Insight::Describe) {
                s.insight_preview = Some((Insight::Describe, table));
                s.insight_partitions = Some(partitions);
            }
            vec![]
        }
        Msg::GraphReady { request, result } => {
            if request == s.graph_request {
                match result {
                    Ok(g) => {
                        s.graph_stage = s.graph_stage.min(g.graph.stages.len().saturating_sub(1));
                        s.planned = Some(g);
                        s.graph_error = None;
                    }
                    Err(e) => {
                        s.planned = None;
                        s.graph_error = Some(e);
                    }
                }
            }
            vec![]
        }
        Msg::Reopened(Ok(info)) => {
            s.source_line = info.line;
            s.source_schema = info.schema;
            s.partitions = info.partitions;
            s.preview.frame = None;
            refresh_schemas(s);
            let mut fx = request_preview(s);
            if std::mem::take(&mut s.rerun_after_reopen) {
                let kind = s.job.as_ref().map_or(JobKind::Compute, |j| j.kind.clone());
                fx.extend(start_job(s, kind));
            }
            fx
        }
        Msg::Reopened(Err(e)) => {
            s.rerun_after_reopen = false;
            s.status = Some((e, true));
            vec![]
        }
        Msg::Written(Ok((path, rows, ms))) => {
            s.status = Some((
                format!("wrote {rows} rows to {} in {ms} ms", path.display()),
                false,
            ));
            vec![]
        }
        Msg::Written(Err(e)) => {
            s.status = Some((e, true));
            vec![]
        }
    }
}

/// Start a job of `kind` on the steps up to the selected one.
fn start_job(s: &mut State, kind: JobKind) -> Vec<Effect> {
    s.job_seq += 1;
    let steps = s.steps_at();
    let mut view = JobView::new(s.job_seq, kind.clone(), Arc::new(TaskGraph::default()));
    view.phase = Phase::Preparing;
    view.steps = steps.clone();
    s.job = Some(view);
    s.focus = Focus::Table;
    let mut run_steps = steps;
    match &kind {
        JobKind::Insight(i) => {
            // The insight view shows the job's progress itself.
            s.view = insight_view(i);
            run_steps.extend(i.steps());
        }
        _ => s.view = View::Progress,
    }
    s.status = Some((
        match &kind {
            JobKind::Compute => "computing… (ctrl-c cancels)".to_string(),
            JobKind::Write { path } => format!("writing {path}… (ctrl-c cancels)"),
            JobKind::Insight(i) => format!("{} over all rows… (ctrl-c cancels)", i.label()),
        },
        false,
    ));
    let recipe = Recipe {
        source: s.recipe.source.clone(),
        steps: run_steps,
    };
    vec![Effect::StartJob {
        id: s.job_seq,
        kind,
        recipe,
    }]
}

fn job_done(s: &mut State, id: u64, result: Result<JobOutcome, String>) -> Vec<Effect> {
    let Some(j) = s.job.as_mut().filter(|j| j.id == id) else {
        return vec![];
    };
    let kind = j.kind.clone();
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
                    s.status = Some((
                        format!("computed {} rows in {secs:.2} s", frame.height()),
                        false,
                    ));
                    s.result = Some(ComputedResult {
                        frame,
                        steps: j.steps.clone(),
                        elapsed_ms: out.elapsed_ms,
                    });
                    if s.view == View::Progress {
                        s.view = View::Result;
                        s.cursor_row = 0;
                        s.cursor_col = 0;
                        s.row_offset = 0;
                        s.col_offset = 0;
                    }
                }
                (JobKind::Write { path }, _) => {
                    s.status = Some((
                        format!("wrote {} rows to {path} in {secs:.2} s", out.rows_out),
                        false,
                    ));
                }
                (JobKind::Insight(i), Some(frame)) => {
                    s.status = Some((format!("{} done in {secs:.2} s", i.label()), false));
                    let steps = j.steps.clone();
                    s.insights
                        .retain(|r| !(r.insight == *i && r.steps == steps));
                    s.insights.push(InsightResult {
                        insight: i.clone(),
                        steps,
                        frame,
                        elapsed_ms: out.elapsed_ms,
                    });
                    if s.insights.len() > 8 {
                        s.insights.remove(0);
                    }
                }
                (JobKind::Compute, None) | (JobKind::Insight(_), None) => {}
            }
        }
        Err(e) => {
            let cancelled = matches!(j.phase, Phase::Cancelled { .. });
            if j.is_running() {
                j.phase = Phase::Failed(e.clone());
                j.mark_unfinished_cancelled();
            }
            let msg = if cancelled {
                "cancelled; nothing was written".to_string()
            } else if j.fix().is_some() {
                let k = "f";
                format!(
                    "{} — press {k} in the progress view to apply the fix and re-run",
                    first_line(&e)
                )
            } else {
                e
            };
            s.status = Some((msg, !cancelled));
        }
    }
    match s.queued_job.take() {
        Some(next) => start_job(s, next),
        None => vec![],
    }
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
    s.insight_wanted = Some(i.clone());
    s.insight_cursor = 0;
    s.insight_partitions = None;
    s.insight_preview = s.preview.frame.as_ref().and_then(|f| match &i {
        Insight::Describe => crate::engine::describe::describe_frame(f, None)
            .ok()
            .map(|d| (i.clone(), d)),
        Insight::Frequency { column } => {
            super::insight::preview_frequencies(f, column).map(|d| (i.clone(), d))
        }
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
    let Some(temporal) = dtype.as_ref().and_then(super::insight::histogram_kind) else {
        s.status = Some((
            format!("{column} is not numeric or a date: F shows its frequencies"),
            true,
        ));
        return vec![];
    };
    let table = s.insight_result(&Insight::Describe).map(|r| &r.frame).or(s
        .insight_preview
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
        s.status = Some((
            "describe (I) first: the histogram's bins come from its min and max".into(),
            true,
        ));
        return vec![];
    };
    if log && hi <= 0.0 {
        s.status = Some((
            format!("{column} has no positive values: no log scale"),
            true,
        ));
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
    let table = s
        .insight_result(&Insight::Describe)
        .map(|r| &r.frame)
        .or(s.insight_preview.as_ref().map(|(_, f)| f))?;
    let c = table.column("column").ok()?;
    c.str().ok()?.get(s.insight_cursor).map(str::to_string)
}

fn first_line(e: &str) -> &str {
    e.lines().next().unwrap_or(e)
}

/// The confirm popup takes single keys.
fn answer_confirm(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    use ratatui::crossterm::event::KeyCode;
    let Some(Confirm::Busy { kind }) = s.confirm.take() else {
        return vec![];
    };
    match k.code {
        KeyCode::Char('q') => {
            s.queued_job = Some(kind);
            s.status = Some(("queued: it starts when the running job ends".into(), false));
            vec![]
        }
        KeyCode::Char('x') => {
            s.queued_job = Some(kind);
            s.status = Some((
                "cancelling the running job; the new one follows".into(),
                false,
            ));
            vec![Effect::CancelJob]
        }
        KeyCode::Esc | KeyCode::Char('n') => vec![],
        _ => {
            s.confirm = Some(Confirm::Busy { kind });
            vec![]
        }
    }
}

fn on_action(s: &mut State, a: Action) -> Vec<Effect> {
    if s.prompt.is_some() {
        return match a {
            Action::Submit => submit_prompt(s),
            Action::CancelPrompt => {
                s.prompt = None;
                vec![]
            }
            Action::Complete => {
                complete(s);
                vec![]
            }
            _ => vec![],
        };
    }
    if a != Action::Quit {
        s.quit_armed = false;
    }
    if s.show_help {
        // The help overlay is longer than most screens: movement scrolls it.
        let step = match a {
            Action::MoveDown => Some(1),
            Action::MoveUp => Some(-1),
            Action::PageDown | Action::HalfPageDown => Some(s.page as i64 / 2 + 1),
            Action::PageUp | Action::HalfPageUp => Some(-(s.page as i64 / 2 + 1)),
            Action::Top => Some(-(1 << 20)),
            _ => None,
        };
        if let Some(d) = step {
            s.help_scroll = (s.help_scroll as i64 + d).max(0) as usize;
            return vec![];
        }
    }
    if let Some(fx) = view_navigation(s, a) {
        return fx;
    }
    match a {
        Action::MoveDown | Action::MoveUp | Action::Top | Action::Bottom
            if s.focus == Focus::Pipeline =>
        {
            let last = s.recipe.steps.len();
            let at = match a {
                Action::MoveDown => (s.at_step + 1).min(last),
                Action::MoveUp => s.at_step.saturating_sub(1),
                Action::Top => 0,
                _ => last,
            };
            if at != s.at_step {
                s.at_step = at;
                return request_preview(s);
            }
            vec![]
        }
        Action::MoveDown => move_rows(s, 1),
        Action::MoveUp => move_rows(s, -1),
        Action::PageDown => move_rows(s, s.page as i64),
        Action::PageUp => move_rows(s, -(s.page as i64)),
        Action::HalfPageDown => move_rows(s, (s.page / 2).max(1) as i64),
        Action::HalfPageUp => move_rows(s, -((s.page / 2).max(1) as i64)),
        Action::Top => move_rows(s, i64::MIN / 2),
        Action::Bottom => move_rows(s, i64::MAX / 2),
        Action::MoveLeft => {
            s.cursor_col = s.cursor_col.saturating_sub(1);
            s.col_offset = s.col_offset.min(s.cursor_col);
            vec![]
        }
        Action::MoveRight => {
            let n = s.column_names().len();
            s.cursor_col = (s.cursor_col + 1).min(n.saturating_sub(1));
            vec![]
        }
        Action::FirstColumn => {
            s.cursor_col = 0;
            s.col_offset = 0;
            vec![]
        }
        Action::LastColumn => {
            s.cursor_col = s.column_names().len().saturating_sub(1);
            vec![]
        }
        Action::ViewTable => set_view(s, View::Table),
        Action::ViewPipeline => set_view(s, View::Pipeline),
        Action::ViewSchema => set_view(s, View::Schema),
        Action::ToggleHelp => {
            s.show_help = !s.show_help;
            s.help_scroll = 0;
            vec![]
        }
        Action::FocusPipeline => {
            s.focus = Focus::Pipeline;
            vec![]
        }
        Action::FocusTable => {
            s.focus = Focus::Table;
            vec![]
        }
        Action::FilterPrompt => {
            let text = match (s.current_column(), current_value(s)) {
                (Some(c), Some(AnyValue::Null)) => format!("{} IS NULL", ident(&c)),
                (Some(c), Some(v)) if is_textual(&v) => {
                    format!("{} = '{}'", ident(&c), cell_text(&v).replace('\'', "''"))
                }
                (Some(c), Some(v)) => format!("{} = {}", ident(&c), cell_text(&v)),
                (Some(c), None) => format!("{} ", ident(&c)),
                _ => String::new(),
            };
            open_prompt(s, PromptKind::Filter, &text)
        }
        Action::DerivePrompt => open_prompt(s, PromptKind::Derive, "new_column = "),
        Action::GroupByPrompt => match s.current_column() {
            Some(key) => open_prompt(s, PromptKind::GroupBy { key }, "n = count(*)"),
            None => vec![],
        },
        Action::SearchPrompt => {
            let last = s.search.clone().unwrap_or_default();
            open_prompt(s, PromptKind::Search, &last)
        }
        Action::CommandPalette => open_prompt(s, PromptKind::Command, ""),
        Action::SearchNext => search(s, true),
        Action::SearchPrev => search(s, false),
        Action::Frequency => with_column(s, |c| Step::ValueCounts { column: c }),
        Action::SortAscending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: None,
        }),
        Action::SortDescending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: Some(BoolOrMany::One(true)),
        }),
        Action::DropColumn => with_column(s, |c| Step::Drop { columns: vec![c] }),
        Action::ToggleTake => {
            s.take = !s.take;
            s.seed = s.seed.wrapping_add(1);
            s.status = Some((
                if s.take {
                    "random take from a few partitions".into()
                } else {
                    "head: the first rows".into()
                },
                false,
            ));
            request_preview(s)
        }
        Action::CopyCell => match current_value(s) {
            Some(v) => {
                s.status = Some(("copied the cell".into(), false));
                vec![Effect::Copy(cell_text(&v))]
            }
            None => vec![],
        },
        Action::CopyRow => match s.table_frame() {
            Some(df) if s.cursor_row < df.height() => {
                let row: Vec<String> = df
                    .columns()
                    .iter()
                    .map(|c| {
                        c.get(s.cursor_row)
                            .map(|v| cell_text(&v))
                            .unwrap_or_default()
                    })
                    .collect();
                s.status = Some((format!("copied row {}", s.cursor_row + 1), false));
                vec![Effect::Copy(row.join("\t"))]
            }
            _ => vec![],
        },
        Action::DeleteStep => {
            if s.at_step == 0 {
                return vec![];
            }
            let mut steps = s.recipe.steps.clone();
            steps.remove(s.at_step - 1);
            let at = s.at_step - 1;
            adopt_steps(s, steps, at, None)
        }
        Action::MoveStepUp | Action::MoveStepDown => {
            let i = match s.at_step.checked_sub(1) {
                Some(i) => i,
                None => return vec![],
            };
            let j = if a == Action::MoveStepUp {
                match i.checked_sub(1) {
                    Some(j) => j,
                    None => return vec![],
                }
            } else if i + 1 < s.recipe.steps.len() {
                i + 1
            } else {
                return vec![];
            };
            let mut steps = s.recipe.steps.clone();
            steps.swap(i, j);
            adopt_steps(s, steps, j + 1, None)
        }
        Action::EditStep => {
            let Some(i) = s.at_step.checked_sub(1) else {
                return vec![];
            };
            if matches!(s.recipe.steps[i], Step::Persist {}) {
                s.status = Some((
                    "a persist step has nothing to edit (p removes it)".into(),
                    false,
                ));
                return vec![];
            }
            let text = edit_text(&s.recipe.steps[i]);
            let op = match &s.recipe.steps[i] {
                Step::Disabled { step } => step.op(),
                other => other.op(),
            };
            open_prompt(s, PromptKind::Edit { index: i, op }, &text)
        }
        Action::Undo => match s.undo.pop() {
            Some(prev) => {
                let cur = std::mem::replace(&mut s.recipe.steps, prev);
                s.redo.push(cur);
                s.at_step = s.recipe.steps.len();
                refresh_schemas(s);
                request_preview(s)
            }
            None => {
                s.status = Some(("nothing to undo".into(), false));
                vec![]
            }
        },
        Action::Redo => match s.redo.pop() {
            Some(next) => {
                let cur = std::mem::replace(&mut s.recipe.steps, next);
                s.undo.push(cur);
                s.at_step = s.recipe.steps.len();
                refresh_schemas(s);
                request_preview(s)
            }
            None => {
                s.status = Some(("nothing to redo".into(), false));
                vec![]
            }
        },
        Action::Quit => {
            if s.dirty() && !s.quit_armed {
                s.quit_armed = true;
                s.status = Some((
                    "the pipeline has unsaved changes: :w FILE.toml saves it; q again quits".into(),
                    true,
                ));
                vec![]
            } else {
                s.should_quit = true;
                vec![Effect::Quit]
            }
        }
        Action::Submit | Action::CancelPrompt | Action::Complete => vec![],
        Action::ViewGraph => {
            set_view(s, View::Graph);
            request_graph(s)
        }
        Action::ViewProgress => set_view(s, View::Progress),
        Action::ViewResult => {
            if s.result.is_none() {
                s.status = Some((
                    "no result yet: c computes the pipeline at the selected step".into(),
                    false,
                ));
                return vec![];
            }
            set_view(s, View::Result);
            clamp_cursor(s);
            vec![]
        }
        Action::Compute => ask_or_start(s, JobKind::Compute),
        Action::Cancel => {
            if s.job_running() {
                s.status = Some(("cancelling… (ctrl-c again or q quits)".into(), false));
                vec![Effect::CancelJob]
            } else {
                on_action(s, Action::Quit)
            }
        }
        Action::WriteResult => {
            let stem = std::path::Path::new(&s.recipe.source.path)
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("result")
                .trim_end_matches(".csv")
                .to_string();
            open_prompt(s, PromptKind::Write, &format!("{stem}-result.parquet"))
        }
        Action::Persist => {
            let mut steps = s.recipe.steps.clone();
            if s.at_step > 0 && matches!(steps[s.at_step - 1], Step::Persist {}) {
                steps.remove(s.at_step - 1);
                let at = s.at_step - 1;
                adopt_steps(s, steps, at, None)
            } else {
                steps.insert(s.at_step, Step::Persist {});
                let at = s.at_step + 1;
                let fx = adopt_steps(s, steps, at, None);
                s.status = Some((
                    "persist: the next compute keeps these partitions (in the cache dir); later runs start from them".into(),
                    false,
                ));
                fx
            }
        }
        Action::Describe => start_insight(s, Insight::Describe),
        Action::ToggleLogScale => match s.insight_wanted.clone() {
            Some(Insight::Histogram { column, log, .. }) => histogram(s, &column, !log),
            _ => {
                s.status = Some((
                    "L toggles a histogram's log scale (h on a describe row)".into(),
                    false,
                ));
                vec![]
            }
        },
        Action::ToggleStep => {
            let Some(i) = s.at_step.checked_sub(1) else {
                return vec![];
            };
            let mut steps = s.recipe.steps.clone();
            steps[i] = match steps[i].clone() {
                Step::Disabled { step } => *step,
                other => Step::Disabled {
                    step: Box::new(other),
                },
            };
            let at = s.at_step;
            adopt_steps(s, steps, at, None)
        }
        Action::TogglePlan => {
            s.show_plan = !s.show_plan;
            if s.view != View::Graph {
                set_view(s, View::Graph);
                return request_graph(s);
            }
            vec![]
        }
        Action::ApplyFix => {
            let fix = s.job.as_ref().and_then(|j| j.fix().cloned());
            match fix {
                Some(Fix::SetDtype { column, dtype }) => {
                    s.recipe.source.dtypes.insert(column.clone(), dtype.clone());
                    s.rerun_after_reopen = true;
                    s.status = Some((
                        format!(
                            "[source.dtypes] {column} = \"{dtype}\"; reopening and re-running…"
                        ),
                        false,
                    ));
                    vec![Effect::Reopen {
                        source: s.recipe.source.clone(),
                    }]
                }
                None => {
                    s.status = Some(("no fix to apply".into(), false));
                    vec![]
                }
            }
        }
    }
}

fn ask_or_start(s: &mut State, kind: JobKind) -> Vec<Effect> {
    if s.job_running() {
        s.confirm = Some(Confirm::Busy { kind });
        vec![]
    } else {
        start_job(s, kind)
    }
}

/// Plan the graph of the selected step when the Graph view shows it.
fn request_graph(s: &mut State) -> Vec<Effect> {
    if s.view != View::Graph {
        return vec![];
    }
    s.graph_request += 1;
    vec![Effect::PlanGraph {
        request: s.graph_request,
        recipe: Recipe {
            source: s.recipe.source.clone(),
            steps: s.steps_at(),
        },
    }]
}

/// Columns of the describe display table after the pinned column name.
const DESCRIBE_STATS: usize = 16;

/// Rows of the insight view on screen (for cursor clamping).
fn insight_rows(s: &State) -> usize {
    let full = s
        .insight_wanted
        .as_ref()
        .and_then(|i| s.insight_result(i))
        .map(|r| r.frame.height());
    full.or(s.insight_preview.as_ref().map(|(_, f)| f.height()))
        .unwrap_or(0)
}

/// Movement keys in the Graph view pick a stage (and scroll its tasks); in
/// the Progress view they move over the partition grid.
fn view_navigation(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    match s.view {
        View::Describe | View::Frequency => {
            let rows = insight_rows(s);
            match a {
                Action::MoveDown => {
                    s.insight_cursor = (s.insight_cursor + 1).min(rows.saturating_sub(1))
                }
                Action::MoveUp => s.insight_cursor = s.insight_cursor.saturating_sub(1),
                Action::PageDown | Action::HalfPageDown => {
                    s.insight_cursor =
                        (s.insight_cursor + s.page.max(2) / 2).min(rows.saturating_sub(1))
                }
                Action::PageUp | Action::HalfPageUp => {
                    s.insight_cursor = s.insight_cursor.saturating_sub(s.page.max(2) / 2)
                }
                Action::Top => s.insight_cursor = 0,
                Action::Bottom => s.insight_cursor = rows.saturating_sub(1),
                // The statistics are wider than most screens: l / 0 / $
                // scroll them (the column name stays); h is the histogram.
                Action::MoveRight if s.view == View::Describe => {
                    s.insight_col = (s.insight_col + 1).min(DESCRIBE_STATS - 1)
                }
                Action::FirstColumn if s.view == View::Describe => s.insight_col = 0,
                Action::LastColumn if s.view == View::Describe => {
                    s.insight_col = DESCRIBE_STATS - 1
                }
                Action::Frequency if s.view == View::Describe => {
                    return Some(match describe_row_column(s) {
                        Some(column) => start_insight(s, Insight::Frequency { column }),
                        None => vec![],
                    })
                }
                Action::MoveLeft if s.view == View::Describe => {
                    return Some(match describe_row_column(s) {
                        Some(column) => histogram(s, &column, false),
                        None => vec![],
                    })
                }
                _ => return None,
            }
            Some(vec![])
        }
        View::Graph => {
            let stages = s
                .planned
                .as_ref()
                .map_or(0, |g| g.graph.stages.len())
                .max(1);
            match a {
                Action::MoveDown => s.graph_stage = (s.graph_stage + 1).min(stages - 1),
                Action::MoveUp => s.graph_stage = s.graph_stage.saturating_sub(1),
                Action::Top => s.graph_stage = 0,
                Action::Bottom => s.graph_stage = stages - 1,
                Action::HalfPageDown | Action::PageDown => s.graph_task_offset += s.page.max(2) / 2,
                Action::HalfPageUp | Action::PageUp => {
                    s.graph_task_offset = s.graph_task_offset.saturating_sub(s.page.max(2) / 2)
                }
                _ => return None,
            }
            if matches!(
                a,
                Action::MoveDown | Action::MoveUp | Action::Top | Action::Bottom
            ) {
                s.graph_task_offset = 0;
            }
            Some(vec![])
        }
        View::Progress => {
            let n = s.job.as_ref().map_or(0, |j| j.partitions());
            if n == 0 {
                return None;
            }
            let cols = super::compute::grid_columns(s.width, n) as i64;
            let delta: i64 = match a {
                Action::MoveRight => 1,
                Action::MoveLeft => -1,
                Action::MoveDown => cols,
                Action::MoveUp => -cols,
                Action::Top | Action::FirstColumn => i64::MIN / 2,
                Action::Bottom | Action::LastColumn => i64::MAX / 2,
                _ => return None,
            };
            s.progress_cursor = (s.progress_cursor as i64)
                .saturating_add(delta)
                .clamp(0, n as i64 - 1) as usize;
            Some(vec![])
        }
        _ => None,
    }
}

fn set_view(s: &mut State, v: View) -> Vec<Effect> {
    s.view = v;
    s.focus = if v == View::Pipeline {
        Focus::Pipeline
    } else {
        Focus::Table
    };
    vec![]
}

fn open_prompt(s: &mut State, kind: PromptKind, text: &str) -> Vec<Effect> {
    s.prompt = Some(Prompt::new(kind, text));
    vec![]
}

fn move_rows(s: &mut State, delta: i64) -> Vec<Effect> {
    let h = s.frame_height();
    if h == 0 {
        return vec![];
    }
    let r = (s.cursor_row as i64 + delta).clamp(0, h as i64 - 1) as usize;
    s.cursor_row = r;
    clamp_cursor(s);
    vec![]
}

/// Keep the cursor inside the data and on screen.
fn clamp_cursor(s: &mut State) {
    let h = s.frame_height();
    s.cursor_row = s.cursor_row.min(h.saturating_sub(1));
    let ncols = s.column_names().len();
    s.cursor_col = s.cursor_col.min(ncols.saturating_sub(1));
    s.col_offset = s.col_offset.min(s.cursor_col);
    if s.cursor_row < s.row_offset {
        s.row_offset = s.cursor_row;
    } else if s.cursor_row >= s.row_offset + s.page {
        s.row_offset = s.cursor_row + 1 - s.page;
    }
}

fn current_value(s: &State) -> Option<AnyValue<'static>> {
    let df = s.table_frame()?;
    let col = df.columns().get(s.cursor_col)?;
    col.get(s.cursor_row).ok().map(|v| v.into_static())
}

fn is_textual(v: &AnyValue) -> bool {
    matches!(v, AnyValue::String(_) | AnyValue::StringOwned(_))
}

/// Quote a column name for SQL when it is not a plain identifier.
fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn with_column(s: &mut State, make: impl FnOnce(String) -> Step) -> Vec<Effect> {
    match s.current_column() {
        Some(c) => {
            let mut steps = s.recipe.steps.clone();
            steps.insert(s.at_step, make(c));
            let at = s.at_step + 1;
            adopt_steps(s, steps, at, None)
        }
        None => vec![],
    }
}

/// Check a new pipeline; on success make it current (undoable) and preview
/// it at `at`. An error goes to the prompt when one is open, else the status.
fn adopt_steps(
    s: &mut State,
    steps: Vec<Step>,
    at: usize,
    from_prompt: Option<Prompt>,
) -> Vec<Effect> {
    match schemas_after_steps(&s.source_schema, &steps, &s.joins) {
        Ok(schemas) => {
            let old = std::mem::replace(&mut s.recipe.steps, steps);
            s.undo.push(old);
            s.redo.clear();
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
                None => s.status = Some((msg, true)),
            }
            vec![]
        }
    }
}

fn refresh_schemas(s: &mut State) {
    match schemas_after_steps(&s.source_schema, &s.recipe.steps, &s.joins) {
        Ok(v) => s.step_schemas = v,
        Err(e) => {
            s.step_schemas.clear();
            s.status = Some((e.to_string(), true));
        }
    }
}

pub fn request_preview(s: &mut State) -> Vec<Effect> {
    s.request += 1;
    s.preview.loading = true;
    let mut fx = vec![Effect::Preview(PreviewRequest {
        request: s.request,
        steps: s.steps_at(),
        rows: s.rows,
        take: s.take.then_some(s.seed),
    })];
    fx.extend(request_graph(s));
    fx
}

/// `name = expr` pairs separated by commas at the top level.
pub(super) fn parse_assignments(text: &str) -> Result<IndexMap<String, String>, String> {
    let mut out = IndexMap::new();
    let mut depth = 0i32;
    let mut quote = false;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for p in parts {
        let (name, expr) = p
            .split_once('=')
            .ok_or_else(|| format!("expected name = expression, got `{}`", p.trim()))?;
        let name = name.trim().trim_matches('"').to_string();
        if name.is_empty() || expr.trim().is_empty() {
            return Err(format!("expected name = expression, got `{}`", p.trim()));
        }
        out.insert(name, expr.trim().to_string());
    }
    Ok(out)
}

/// The text a step is edited as: its expression(s) for the expression steps,
/// the query for `sql`, and for every other kind its recipe fields as the
/// body of a TOML inline table (`by = ["x"], descending = true`).
fn edit_text(step: &Step) -> String {
    match step {
        Step::Filter { expr } => expr.clone(),
        Step::WithColumns { columns: m } | Step::GroupBy { aggs: m, .. } => m
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        Step::Sql { query } => query.clone(),
        Step::Disabled { step } => edit_text(step),
        other => step_fields_text(other),
    }
}

fn step_fields_text(step: &Step) -> String {
    let Ok(toml::Value::Table(mut t)) = toml::Value::try_from(step) else {
        return String::new();
    };
    t.remove("op");
    t.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The step `old` becomes after its edit text was changed to `text`.
fn edited_step(old: &Step, text: &str) -> Result<Step, String> {
    Ok(match old {
        Step::Filter { .. } => Step::Filter { expr: text.into() },
        Step::WithColumns { .. } => Step::WithColumns {
            columns: parse_assignments(text)?,
        },
        Step::GroupBy { keys, .. } => Step::GroupBy {
            keys: keys.clone(),
            aggs: parse_assignments(text)?,
        },
        Step::Sql { .. } => Step::Sql { query: text.into() },
        Step::Disabled { step } => Step::Disabled {
            step: Box::new(edited_step(step, text)?),
        },
        other => {
            let doc = format!("step = {{ {} }}", text.replace('\n', " "));
            let mut table: toml::Table = toml::from_str(&doc).map_err(|e| {
                format!(
                    "not a list of `key = value` fields: {}",
                    e.message().trim_end_matches('\n')
                )
            })?;
            let Some(toml::Value::Table(mut fields)) = table.remove("step") else {
                return Err("not a list of `key = value` fields".into());
            };
            fields.insert("op".into(), toml::Value::String(other.op().into()));
            toml::Value::Table(fields)
                .try_into::<Step>()
                .map_err(|e| format!("{} step: {}", other.op(), e.message()))?
        }
    })
}

fn submit_prompt(s: &mut State) -> Vec<Effect> {
    let Some(p) = s.prompt.take() else {
        return vec![];
    };
    let text = p.text().trim().to_string();
    let fail = |s: &mut State, mut p: Prompt, msg: String| {
        p.error = Some(msg);
        s.prompt = Some(p);
        vec![]
    };
    match p.kind.clone() {
        PromptKind::Filter => {
            let mut steps = s.recipe.steps.clone();
            steps.insert(s.at_step, Step::Filter { expr: text });
            let at = s.at_step + 1;
            adopt_steps(s, steps, at, Some(p))
        }
        PromptKind::Derive => match parse_assignments(&text) {
            Ok(columns) => {
                let mut steps = s.recipe.steps.clone();
                steps.insert(s.at_step, Step::WithColumns { columns });
                let at = s.at_step + 1;
                adopt_steps(s, steps, at, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::GroupBy { key } => match parse_assignments(&text) {
            Ok(aggs) => {
                let mut steps = s.recipe.steps.clone();
                steps.insert(
                    s.at_step,
                    Step::GroupBy {
                        keys: vec![key],
                        aggs,
                    },
                );
                let at = s.at_step + 1;
                adopt_steps(s, steps, at, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::Edit { index, .. } => match edited_step(&s.recipe.steps[index], &text) {
            Ok(step) => {
                let mut steps = s.recipe.steps.clone();
                steps[index] = step;
                adopt_steps(s, steps, index + 1, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::Write => {
            if text.is_empty() {
                return fail(s, p, "name the file to write".into());
            }
            if let Err(e) = crate::engine::output::OutputTarget::parse(&text) {
                return fail(s, p, e.to_string());
            }
            let current = s.steps_at();
            if s.result.as_ref().is_some_and(|r| r.steps == current) {
                s.status = Some((format!("writing {text}…"), false));
                vec![Effect::WriteResult { path: text }]
            } else {
                ask_or_start(s, JobKind::Write { path: text })
            }
        }
        PromptKind::Search => {
            s.search = (!text.is_empty()).then_some(text);
            search(s, true)
        }
        PromptKind::Command => {
            let (cmd, arg) = text
                .split_once(char::is_whitespace)
                .map(|(c, a)| (c, a.trim()))
                .unwrap_or((text.as_str(), ""));
            let path = || s.base.join(arg);
            match cmd {
                "w" | "write" if !arg.is_empty() => vec![Effect::Save {
                    path: PathBuf::from(arg),
                    text: recipe_text(s),
                }],
                "e" | "edit" | "load" if !arg.is_empty() => vec![Effect::Load { path: path() }],
                "q" | "quit" => on_action(s, Action::Quit),
                "q!" => {
                    s.should_quit = true;
                    vec![Effect::Quit]
                }
                _ => match super::commands::parse_step_command(cmd, arg) {
                    Some(Ok(StepCommand::Step(step))) => {
                        let mut steps = s.recipe.steps.clone();
                        steps.insert(s.at_step, step);
                        let at = s.at_step + 1;
                        adopt_steps(s, steps, at, Some(p))
                    }
                    Some(Ok(StepCommand::Join(step))) => {
                        s.status = Some(("loading the join's right side…".into(), false));
                        vec![Effect::LoadJoin {
                            step,
                            at: s.at_step,
                        }]
                    }
                    Some(Err(e)) => fail(s, p, e),
                    None => fail(
                        s,
                        p,
                        "commands: w FILE.toml, e FILE.toml, q, q!, and steps: sql select drop rename cast derive filter sort unique head explode parse count group join repartition (? lists them)".into(),
                    ),
                },
            }
        }
    }
}

/// The recipe as TOML, with the source path made absolute so the file works
/// wherever it is saved.
fn recipe_text(s: &State) -> String {
    let mut r = s.recipe.clone();
    let p = PathBuf::from(&r.source.path);
    if p.is_relative() {
        r.source.path = s.base.join(p).to_string_lossy().into_owned();
    }
    r.to_toml()
}

/// Tab: complete the identifier before the cursor with a column name.
fn complete(s: &mut State) {
    if s.prompt
        .as_ref()
        .is_some_and(|p| p.kind == PromptKind::Write)
    {
        complete_path(s);
        return;
    }
    let names = s.column_names();
    let Some(p) = &mut s.prompt else { return };
    let ratatui_textarea::DataCursor(row, col) = p.input.cursor();
    let line = p.input.lines()[row].clone();
    let before: String = line.chars().take(col).collect();
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if word.is_empty() {
        return;
    }
    let lw = word.to_lowercase();
    let column = names.iter().find(|n| n.to_lowercase().starts_with(&lw));
    let function = || {
        SQL_FUNCTIONS
            .iter()
            .find(|f| f.starts_with(&lw))
            .map(|f| format!("{f}("))
    };
    if let Some(full) = column.cloned().or_else(function) {
        let rest: String = full.chars().skip(word.chars().count()).collect();
        p.input.insert_str(rest);
    }
}

/// Functions offered by Tab after column names (polars SQL spellings).
const SQL_FUNCTIONS: [&str; 28] = [
    "abs",
    "avg",
    "cast",
    "ceil",
    "coalesce",
    "concat",
    "count",
    "date_part",
    "floor",
    "length",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "min",
    "nullif",
    "regexp_like",
    "replace",
    "round",
    "rtrim",
    "split_part",
    "sqrt",
    "starts_with",
    "strptime",
    "substr",
    "sum",
    "trim",
    "upper",
];

fn search(s: &mut State, forward: bool) -> Vec<Effect> {
    let Some(needle) = s.search.clone().map(|n| n.to_lowercase()) else {
        return vec![];
    };
    let Some(df) = s.table_frame() else {
        return vec![];
    };
    let (h, w) = (df.height(), df.width());
    if h == 0 || w == 0 {
        return vec![];
    }
    let total = h * w;
    let start = s.cursor_row * w + s.cursor_col;
    for k in 1..=total {
        let idx = if forward {
            (start + k) % total
        } else {
            (start + total - k % total) % total
        };
        let (r, c) = (idx / w, idx % w);
        let v = df.columns()[c]
            .get(r)
            .map(|v| cell_text(&v))
            .unwrap_or_default();
        if v.to_lowercase().contains(&needle) {
            s.cursor_row = r;
            s.cursor_col = c;
            clamp_cursor(s);
            return vec![];
        }
    }
    s.status = Some((format!("no match for `{needle}` in the preview"), true));
    vec![]
}

/// Tab in the write prompt: extend the path to the longest prefix shared by
/// the directory entries that start with it (a directory gets its `/`).
/// The one place the reducer reads the filesystem: a directory listing.
fn complete_path(s: &mut State) {
    let Some(p) = &mut s.prompt else { return };
    let text = p.text();
    let (dir, stem) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text.as_str()),
    };
    let listing = if dir.is_empty() { "." } else { dir };
    let Ok(entries) = std::fs::read_dir(listing) else {
        return;
    };
    let matches: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            name.starts_with(stem)
                .then(|| if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    let Some(first) = matches.first() else {
        return;
    };
    let mut common = first.clone();
    for m in &matches[1..] {
        let n = common
            .chars()
            .zip(m.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common = common.chars().take(n).collect();
    }
    if common.len() > stem.len() {
        let full = format!("{dir}{common}");
        let mut input = ratatui_textarea::TextArea::new(vec![full]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        p.input = input;
    }
}
