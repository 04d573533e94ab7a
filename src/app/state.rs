//! Everything the screen shows, as plain data. `draw` reads it; only
//! `update` changes it.

use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::{DataFrame, Schema};
use ratatui_textarea::TextArea;

use super::compute::{JobKind, JobView};
use super::prompt_history::{HistoryKind, PromptHistory};
use super::status::Status;
use crate::engine::plan::graph::TaskGraph;
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::steps::apply::JoinTables;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Table,
    Pipeline,
    Schema,
    /// The task graph of the recipe up to the selected step.
    Graph,
    /// The running (or last) job: partition grid, task stream, totals.
    Progress,
    /// The computed result, in the table widget.
    Result,
    /// Per-column statistics (one row per column).
    Describe,
    /// Value counts of one column with bars and shares.
    Frequency,
    /// A numeric or date column's distribution.
    Histogram,
    /// A chart of the preview or the computed result.
    Chart,
}

/// The chart on screen: what it plots, the series made of it (or why
/// they could not be), and whether it is of the computed result.
#[derive(Debug, Clone)]
pub struct ChartView {
    pub spec: super::chart::ChartSpec,
    pub data: Result<super::chart::ChartData, String>,
    pub of_result: bool,
    /// Shaping of many rows runs on a worker: the request whose answer is
    /// awaited (the last data stays on screen meanwhile).
    pub shaping: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    Pipeline,
}

/// What a mouse click lands on (found by `ui::hit_test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Cell {
        row: usize,
        col: usize,
    },
    /// Pipeline entry: 0 is the source, k is step k.
    Step(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Derive,
    GroupBy {
        key: String,
    },
    Search,
    Command,
    /// Re-edit the text of step `index`.
    Edit {
        index: usize,
        op: &'static str,
    },
    /// Where to write the result.
    Write,
    /// Where to write the chart on screen (an SVG file).
    WriteChart,
}

impl PromptKind {
    /// The history this prompt reads and adds to. Re-editing a filter, a
    /// derived column or a group-by shares that kind's history; other
    /// edits keep none.
    pub fn history(&self) -> Option<HistoryKind> {
        Some(match self {
            PromptKind::Filter => HistoryKind::Filter,
            PromptKind::Derive => HistoryKind::Derive,
            PromptKind::GroupBy { .. } => HistoryKind::Group,
            PromptKind::Search => HistoryKind::Search,
            PromptKind::Command => HistoryKind::Palette,
            PromptKind::Write | PromptKind::WriteChart => HistoryKind::Path,
            PromptKind::Edit { op, .. } => match *op {
                "filter" => HistoryKind::Filter,
                "with_columns" => HistoryKind::Derive,
                "group_by" => HistoryKind::Group,
                _ => return None,
            },
        })
    }

    pub fn label(&self) -> String {
        match self {
            PromptKind::Filter => "filter".into(),
            PromptKind::Derive => "new column (name = expr)".into(),
            PromptKind::GroupBy { key } => {
                format!("group by {key}: aggregations (name = sum(x), ...)")
            }
            PromptKind::Search => "search".into(),
            PromptKind::Command => "command".into(),
            PromptKind::Edit { index, op } => format!("edit step {} ({op})", index + 1),
            PromptKind::Write => {
                "write the result to (.parquet .csv .ndjson .arrow; a trailing / writes parts)"
                    .into()
            }
            PromptKind::WriteChart => "write the chart to (.svg)".into(),
        }
    }
}

#[derive(Clone)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: TextArea<'static>,
    /// The engine's verdict on the last submit, shown under the input.
    pub error: Option<String>,
    /// How far back in this kind's history the input was recalled from
    /// (0: not recalled; 1: the newest entry).
    pub recalled: usize,
    /// The text typed before recalling, restored by going past the newest.
    pub draft: String,
}

impl Prompt {
    pub fn new(kind: PromptKind, text: &str) -> Prompt {
        let mut input = TextArea::new(vec![text.to_string()]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        Prompt {
            kind,
            input,
            error: None,
            recalled: 0,
            draft: String::new(),
        }
    }

    pub fn text(&self) -> String {
        self.input.lines().join("\n")
    }

    /// Replace the input with `text`, the cursor at its end.
    pub fn set_text(&mut self, text: &str) {
        let mut input = TextArea::new(text.lines().map(str::to_string).collect());
        input.move_cursor(ratatui_textarea::CursorMove::Bottom);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        self.input = input;
        self.error = None;
    }
}

/// The rows on screen and where they came from.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub frame: Option<DataFrame>,
    pub loading: bool,
    pub error: Option<String>,
    /// Computed on the first partitions only (a blocking step).
    pub partial: bool,
    /// Computed exactly from the computed result of the first k steps.
    pub from_result: Option<usize>,
    pub partitions_read: usize,
    pub elapsed_ms: u64,
}

/// The task graph of the recipe at the selected step, planned without
/// running it.
#[derive(Debug, Clone)]
pub struct PlannedGraph {
    pub steps: Vec<Step>,
    pub graph: Arc<TaskGraph>,
    /// polars' optimised plan of one map task.
    pub plan_text: String,
    /// What each partition covers (file and byte range / row groups).
    pub partition_labels: Arc<Vec<String>>,
    /// The graph starts from the computed result of this many steps.
    pub from_result: Option<usize>,
}

/// A computed result that still holds for a prefix of the steps.
#[derive(Debug, Clone)]
pub struct ResultBase {
    /// How many steps it is the result of.
    pub steps: usize,
    pub frame: DataFrame,
}

impl PartialEq for ResultBase {
    fn eq(&self, other: &Self) -> bool {
        self.steps == other.steps && self.frame.equals_missing(&other.frame)
    }
}

/// A computed result shown in the Result view.
#[derive(Debug, Clone)]
pub struct ComputedResult {
    pub frame: DataFrame,
    pub steps: Vec<Step>,
    /// The source it was computed from: a change there voids it.
    pub source: SourceConfig,
    pub elapsed_ms: u64,
}

/// A question the screen is waiting on.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    /// Compute (or write) asked while a job runs: queue it, or cancel the
    /// running one and start it.
    Busy { kind: JobKind },
}

/// Where a drill-down came from, to go back to.
#[derive(Debug, Clone)]
pub struct Drill {
    pub steps: Vec<Step>,
    pub at_step: usize,
    pub view: View,
    pub table: TableCursor,
    /// The filter the drill inserted.
    pub condition: String,
}

/// Where the table's cursor is and what part of the frame is on screen.
#[derive(Debug, Clone, Default)]
pub struct TableCursor {
    pub row: usize,
    pub col: usize,
    pub row_offset: usize,
    pub col_offset: usize,
    /// Rows that fit on screen, set by the runtime from the terminal size.
    pub page: usize,
}

/// How the table reads, without touching the pipeline: digit grouping,
/// per-column width changes, frozen leading columns, columns hidden from
/// view (a view choice, unlike a drop step).
#[derive(Debug, Clone, Default)]
pub struct TableLook {
    pub digit_grouping: bool,
    /// Characters added to (or taken from) a column's width, by name.
    pub width_delta: std::collections::BTreeMap<String, i32>,
    /// Leading visible columns kept on screen while scrolling right.
    pub frozen: usize,
    pub hidden: std::collections::BTreeSet<String>,
}

/// Pipeline edits to undo and redo, and what was last saved.
#[derive(Debug, Clone)]
pub struct History {
    pub undo: Vec<Vec<Step>>,
    pub redo: Vec<Vec<Step>>,
    pub saved: Vec<Step>,
    pub saved_source: SourceConfig,
}

/// The describe / frequency / histogram views.
#[derive(Debug, Clone, Default)]
pub struct InsightView {
    /// Results computed in full, newest last (a few are kept so moving
    /// between the views reuses them).
    pub results: Vec<super::insight::InsightResult>,
    /// What the views show until the full pass is done: the same figures
    /// on the preview rows.
    pub preview: Option<(super::insight::Insight, DataFrame)>,
    /// When the provisional figures come from the partitions done so far
    /// (rather than the preview rows): (done, total).
    pub partitions: Option<(usize, usize)>,
    /// The insight wanted now (what the view shows), and its selected row.
    pub wanted: Option<super::insight::Insight>,
    pub cursor: usize,
    /// Statistic columns scrolled off to the left in the Describe view.
    pub col: usize,
}

/// The Graph view: the planned graph and what is selected in it.
#[derive(Debug, Clone, Default)]
pub struct GraphView {
    pub planned: Option<PlannedGraph>,
    /// The newest planning request (older answers are dropped).
    pub request: u64,
    pub error: Option<String>,
    /// Selected stage, and the first task row shown.
    pub stage: usize,
    pub task_offset: usize,
    /// Show polars' plan instead of the stages.
    pub show_plan: bool,
}

/// The running (or last) job, the one queued after it, and the result.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    pub current: Option<JobView>,
    pub seq: u64,
    /// Started when the running job ends.
    pub queued: Option<JobKind>,
    /// Selected partition in the Progress view.
    pub progress_cursor: usize,
    pub result: Option<ComputedResult>,
    /// Re-run the job once the source has been reopened (after a fix).
    pub rerun_after_reopen: bool,
}

pub struct State {
    pub source_line: String,
    pub source_schema: Arc<Schema>,
    /// Why inference read source columns as it did (leading zeros kept as
    /// text...), shown in the schema view.
    pub source_notes: std::collections::BTreeMap<String, String>,
    /// Files of a glob whose columns differ from the source's: (path, how).
    pub source_drift: Vec<(String, String)>,
    /// Source columns holding dates in another layout: the cast-to-date
    /// action reads them as dates.
    pub source_date_layouts:
        std::collections::BTreeMap<String, crate::engine::input::infer::date_layouts::DateLayout>,
    pub partitions: usize,
    pub recipe: Recipe,
    /// Directory recipe paths are relative to.
    pub base: PathBuf,
    pub joins: Arc<JoinTables>,
    /// Schema after each step (`step_schemas[k]`: after step k).
    pub step_schemas: Vec<Schema>,
    /// How many steps the preview applies (0: the source itself).
    pub at_step: usize,
    pub view: View,
    pub focus: Focus,
    pub preview: Preview,
    pub take: bool,
    pub seed: u64,
    pub rows: usize,
    pub table: TableCursor,
    pub look: TableLook,
    pub prompt: Option<Prompt>,
    /// What each kind of prompt was given, for Up / Down recall.
    pub prompt_history: PromptHistory,
    pub status: Option<Status>,
    pub history: History,
    pub quit_armed: bool,
    pub show_help: bool,
    /// The record view is open over the table (or the result): every field
    /// of the cursor's row.
    pub record_open: bool,
    /// A drill-down is open: where to go back to.
    pub drill: Option<Drill>,
    /// The chart view's chart.
    pub chart: Option<ChartView>,
    /// The newest chart-shaping request (answers to older ones are dropped).
    pub chart_requests: u64,
    /// First line of the help overlay on screen.
    pub help_scroll: usize,
    pub insight: InsightView,
    pub search: Option<String>,
    /// The newest preview request (older answers are dropped).
    pub request: u64,
    pub should_quit: bool,
    /// Terminal width, for layouts `update` must know (the progress grid).
    pub width: u16,
    pub jobs: Jobs,
    pub confirm: Option<Confirm>,
    pub graph: GraphView,
}

impl State {
    pub fn new(
        recipe: Recipe,
        base: PathBuf,
        source_line: String,
        source_schema: Arc<Schema>,
        partitions: usize,
        joins: Arc<JoinTables>,
    ) -> State {
        let steps = recipe.steps.clone();
        let saved_source = recipe.source.clone();
        let mut s = State {
            source_line,
            source_schema,
            source_notes: Default::default(),
            source_drift: Vec::new(),
            source_date_layouts: Default::default(),
            partitions,
            at_step: steps.len(),
            recipe,
            base,
            joins,
            step_schemas: Vec::new(),
            view: View::Table,
            focus: Focus::Table,
            preview: Preview::default(),
            take: false,
            seed: 0,
            rows: 200,
            table: TableCursor {
                page: 20,
                ..TableCursor::default()
            },
            look: TableLook::default(),
            prompt: None,
            prompt_history: Default::default(),
            status: None,
            history: History {
                undo: Vec::new(),
                redo: Vec::new(),
                saved: steps,
                saved_source,
            },
            quit_armed: false,
            show_help: false,
            record_open: false,
            drill: None,
            chart: None,
            chart_requests: 0,
            help_scroll: 0,
            insight: InsightView::default(),
            search: None,
            request: 0,
            should_quit: false,
            width: 120,
            jobs: Jobs::default(),
            confirm: None,
            graph: GraphView::default(),
        };
        s.step_schemas = crate::engine::steps::apply::schemas_after_steps(
            &s.source_schema,
            &s.recipe.steps,
            &s.joins,
        )
        .unwrap_or_default();
        s
    }

    /// The schema of the previewed frame.
    pub fn current_schema(&self) -> &Schema {
        if self.at_step == 0 {
            &self.source_schema
        } else {
            self.step_schemas
                .get(self.at_step - 1)
                .unwrap_or(&self.source_schema)
        }
    }

    /// The computed result that still holds for a prefix of `steps`: same
    /// source, same steps up to it (the longest such result: the Result
    /// view's). Steps after it can run on it instead of the source.
    pub fn result_base(&self, steps: &[Step]) -> Option<ResultBase> {
        let r = self.jobs.result.as_ref()?;
        let holds = r.source == self.recipe.source
            && r.steps.len() <= steps.len()
            && steps[..r.steps.len()] == r.steps[..]
            // A result of no steps is the whole source, read into memory:
            // the source's own partitions serve previews better.
            && !r.steps.is_empty();
        holds.then(|| ResultBase {
            steps: r.steps.len(),
            frame: r.frame.clone(),
        })
    }

    /// The frame the table widget shows: the result in the Result view,
    /// else the preview.
    pub fn table_frame(&self) -> Option<&DataFrame> {
        if self.view == View::Result {
            self.jobs.result.as_ref().map(|r| &r.frame)
        } else {
            self.preview.frame.as_ref()
        }
    }

    /// The full result of `i` for the pipeline at the selected step.
    pub fn insight_result(
        &self,
        i: &super::insight::Insight,
    ) -> Option<&super::insight::InsightResult> {
        let steps = self.steps_at();
        self.insight
            .results
            .iter()
            .rev()
            .find(|r| &r.insight == i && r.steps == steps)
    }

    /// The steps up to the selected one: what previews, graphs and computes
    /// are of.
    pub fn steps_at(&self) -> Vec<Step> {
        self.recipe.steps[..self.at_step.min(self.recipe.steps.len())].to_vec()
    }

    pub fn job_running(&self) -> bool {
        self.jobs.current.as_ref().is_some_and(|j| j.is_running())
    }

    pub fn column_names(&self) -> Vec<String> {
        match self.table_frame() {
            Some(df) => df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            None => self
                .current_schema()
                .iter_names()
                .map(|n| n.to_string())
                .collect(),
        }
    }

    pub fn current_column(&self) -> Option<String> {
        self.column_names().get(self.table.col).cloned()
    }

    pub fn dirty(&self) -> bool {
        self.recipe.steps != self.history.saved || self.recipe.source != self.history.saved_source
    }

    pub fn frame_height(&self) -> usize {
        self.table_frame().map_or(0, |f| f.height())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_share_the_history_of_their_step_kind() {
        let edit = |op| PromptKind::Edit { index: 0, op };
        assert_eq!(edit("filter").history(), Some(HistoryKind::Filter));
        assert_eq!(edit("with_columns").history(), Some(HistoryKind::Derive));
        assert_eq!(edit("sort").history(), None);
        assert_eq!(PromptKind::Write.history(), Some(HistoryKind::Path));
    }
}
