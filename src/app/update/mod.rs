//! `update(&mut State, Msg) -> Vec<Effect>`: the only place state changes.
//! Pure: no terminal, no threads; engine work is requested as an Effect and
//! answered by a Msg. Plan checks (schemas after each step) run here because
//! they touch no data and take microseconds.
//!
//! By concern: `navigation` (cursor, views, scrolling, search, quitting),
//! `pipeline` (step edits, undo, recipes loaded and saved, preview answers),
//! `prompts` (opening and submitting them), `completion` (Tab), `step_text`
//! (a step as editable text), `jobs` (compute, write, insights, the confirm
//! question, fixes), `requests` (asking for previews and graphs), `record`
//! (the record view's own movement), `look` (digit grouping, widths,
//! frozen and hidden columns).
//! `handlers` says, per mode, which of them answer an action and in what
//! order.

mod chart;
mod completion;
mod drill;
mod jobs;
mod look;
mod navigation;
mod pipeline;
mod prompts;
mod record;
mod requests;
mod step_text;

use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::DataFrame;
use ratatui::crossterm::event::KeyEvent;

use super::action::Action;
use super::compute::JobKind;
use super::mode::Mode;
use super::state::{Hit, PlannedGraph, State};
use crate::engine::input::infer::date_layouts::DateLayout;
use crate::engine::plan::graph::TaskGraph;
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::run::events::Event;
use crate::engine::steps::apply::JoinTables;

pub use chart::{chart_frame, SHAPE_INLINE_ROWS};
pub use requests::request_preview;

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
    /// Piped input ended: all of it is in `path` (`Ok`: its size), or
    /// reading it failed.
    InputEnded {
        path: String,
        result: Result<u64, String>,
    },
    /// The result frame was written.
    Written(Result<(PathBuf, usize, u64), String>),
    /// The chart's series, shaped on a worker for this request.
    ChartShaped {
        request: u64,
        result: Result<crate::app::chart::ChartData, String>,
    },
    /// The chart was written to this file.
    ChartWritten(Result<PathBuf, String>),
    /// A mouse click on something.
    Click(Hit),
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
    /// Why inference read columns as it did (see `State::source_notes`).
    pub notes: std::collections::BTreeMap<String, String>,
    /// Files whose columns differ from the source's (see `State::source_drift`).
    pub drift: Vec<(String, String)>,
    /// Columns in another date layout (see `State::source_date_layouts`).
    pub date_layouts: std::collections::BTreeMap<String, DateLayout>,
}

pub struct PreviewData {
    pub frame: DataFrame,
    pub partial: bool,
    pub partitions_read: usize,
    pub elapsed_ms: u64,
    /// Computed from the result of the first k steps, not from the source.
    pub from_result: Option<usize>,
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
    /// Prepare and run `recipe` as job `id` in the background; with
    /// `from_result`, its steps run on that result instead of the source.
    StartJob {
        id: u64,
        kind: JobKind,
        recipe: Recipe,
        from_result: Option<ResultBase>,
    },
    CancelJob,
    /// Plan (not run) the task graph of `recipe` (from a computed result
    /// of a prefix of its steps, when one holds).
    PlanGraph {
        request: u64,
        recipe: Recipe,
        from_result: Option<ResultBase>,
    },
    /// Write the computed result frame to `path`.
    WriteResult {
        path: String,
    },
    /// Shape the chart's series from its rows on a worker (many rows);
    /// answered by `Msg::ChartShaped` with the same request.
    ShapeChart {
        request: u64,
    },
    /// Write the chart on screen to `path` (SVG).
    WriteChart {
        path: String,
    },
    /// Reopen the source with these settings.
    Reopen {
        source: SourceConfig,
    },
    /// Store the prompt history of this kind (unless history is off).
    SaveHistory(crate::app::prompt_history::HistoryKind),
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
    /// The computed result of a prefix of `steps`: the preview runs the
    /// rest of them on it, exactly, instead of reading the source.
    pub base: Option<ResultBase>,
}

pub use crate::app::state::ResultBase;

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Action(a) => on_action(s, a),
        Msg::Key(k) => {
            // A key no binding claimed: text for the open prompt.
            if let Some(p) = &mut s.prompt {
                p.input.input(k);
                p.error = None;
            }
            vec![]
        }
        Msg::PreviewDone { request, result } => pipeline::preview_done(s, request, result),
        Msg::Loaded(result) => pipeline::loaded(s, result),
        Msg::JoinLoaded { step, at, result } => pipeline::join_loaded(s, step, at, result),
        Msg::Saved(result) => pipeline::saved(s, result),
        Msg::Click(hit) => navigation::click(s, hit),
        Msg::Resize { rows, width } => navigation::resize(s, rows, width),
        Msg::JobPrepared { id, graph, labels } => jobs::prepared(s, id, graph, labels),
        Msg::JobEvent { id, event } => jobs::event(s, id, event),
        Msg::JobDone { id, result } => jobs::done(s, id, result),
        Msg::InsightPartial {
            id,
            table,
            partitions,
        } => jobs::insight_partial(s, id, table, partitions),
        Msg::GraphReady { request, result } => navigation::graph_ready(s, request, result),
        Msg::Reopened(result) => jobs::reopened(s, result),
        Msg::InputEnded { path, result } => jobs::input_ended(s, path, result),
        Msg::Written(result) => jobs::written(s, result),
        Msg::ChartWritten(result) => jobs::chart_written(s, result),
        Msg::ChartShaped { request, result } => chart::shaped(s, request, result),
    }
}

/// One concern's answer to an action: `None` when the action is not its.
type Handler = fn(&mut State, Action) -> Option<Vec<Effect>>;

/// Who answers an action in each mode, in order.
fn handlers(mode: Mode) -> &'static [Handler] {
    match mode {
        Mode::Confirm => &[jobs::on_confirm],
        Mode::Prompt => &[prompts::on_prompt_action],
        Mode::Table | Mode::Pipeline => &[
            navigation::on_help,
            chart::on_action,
            drill::on_action,
            record::on_action,
            navigation::on_view_action,
            look::on_action,
            jobs::on_view_action,
            navigation::on_action,
            pipeline::on_action,
            prompts::on_action,
            jobs::on_action,
        ],
    }
}

fn on_action(s: &mut State, a: Action) -> Vec<Effect> {
    let mode = s.mode();
    if a != Action::Quit && mode != Mode::Prompt {
        s.quit_armed = false;
    }
    for handler in handlers(mode) {
        if let Some(fx) = handler(s, a) {
            return fx;
        }
    }
    vec![]
}
