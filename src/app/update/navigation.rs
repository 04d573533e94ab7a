//! Moving around: the table cursor, the views and their own movement (the
//! insight rows, graph stages, the partition grid), the help overlay,
//! clicks, resizes, and quitting.

use super::requests::{request_graph, request_preview};
use super::{Effect, PlannedGraph};
use crate::app::action::Action;
use crate::app::compute::grid_columns;
use crate::app::state::{Focus, Hit, State, View};
use crate::app::status::Status;
use crate::cell::cell_text;

use polars::prelude::AnyValue;

/// Columns of the describe display table after the pinned column name.
pub const DESCRIBE_STATS: usize = 16;

/// The help overlay is longer than most screens: movement scrolls it, and
/// its own key closes it.
pub fn on_help(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    if a == Action::ToggleHelp {
        s.show_help = !s.show_help;
        s.help_scroll = 0;
        return Some(vec![]);
    }
    if !s.show_help {
        return None;
    }
    let step = match a {
        Action::MoveDown => 1,
        Action::MoveUp => -1,
        Action::PageDown | Action::HalfPageDown => s.table.page as i64 / 2 + 1,
        Action::PageUp | Action::HalfPageUp => -(s.table.page as i64 / 2 + 1),
        Action::Top => -(1 << 20),
        _ => return None,
    };
    s.help_scroll = (s.help_scroll as i64 + step).max(0) as usize;
    Some(vec![])
}

/// Rows of the insight view on screen (for cursor clamping).
fn insight_rows(s: &State) -> usize {
    let full = s
        .insight
        .wanted
        .as_ref()
        .and_then(|i| s.insight_result(i))
        .map(|r| r.frame.height());
    full.or(s.insight.preview.as_ref().map(|(_, f)| f.height()))
        .unwrap_or(0)
}

/// Movement inside a view with its own layout: insight rows (and the
/// Describe view's statistic columns), graph stages (and their tasks), the
/// partition grid of the Progress view.
pub fn on_view_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    match s.view {
        View::Describe | View::Frequency | View::Histogram => {
            let rows = insight_rows(s);
            let describe = s.view == View::Describe;
            let last = rows.saturating_sub(1);
            let half = s.table.page.max(2) / 2;
            let i = &mut s.insight;
            match a {
                Action::MoveDown => i.cursor = (i.cursor + 1).min(last),
                Action::MoveUp => i.cursor = i.cursor.saturating_sub(1),
                Action::PageDown | Action::HalfPageDown => i.cursor = (i.cursor + half).min(last),
                Action::PageUp | Action::HalfPageUp => i.cursor = i.cursor.saturating_sub(half),
                Action::Top => i.cursor = 0,
                Action::Bottom => i.cursor = last,
                // The statistics are wider than most screens: the column
                // moves scroll them (the column name stays).
                Action::MoveRight if describe => i.col = (i.col + 1).min(DESCRIBE_STATS - 1),
                Action::MoveLeft if describe => i.col = i.col.saturating_sub(1),
                Action::FirstColumn if describe => i.col = 0,
                Action::LastColumn if describe => i.col = DESCRIBE_STATS - 1,
                _ => return None,
            }
            Some(vec![])
        }
        View::Graph => {
            let stages = s
                .graph
                .planned
                .as_ref()
                .map_or(0, |g| g.graph.stages.len())
                .max(1);
            let half = s.table.page.max(2) / 2;
            let g = &mut s.graph;
            match a {
                Action::MoveDown => g.stage = (g.stage + 1).min(stages - 1),
                Action::MoveUp => g.stage = g.stage.saturating_sub(1),
                Action::Top => g.stage = 0,
                Action::Bottom => g.stage = stages - 1,
                Action::HalfPageDown | Action::PageDown => g.task_offset += half,
                Action::HalfPageUp | Action::PageUp => {
                    g.task_offset = g.task_offset.saturating_sub(half)
                }
                _ => return None,
            }
            if matches!(
                a,
                Action::MoveDown | Action::MoveUp | Action::Top | Action::Bottom
            ) {
                g.task_offset = 0;
            }
            Some(vec![])
        }
        View::Progress => {
            let n = s.jobs.current.as_ref().map_or(0, |j| j.partitions());
            if n == 0 {
                return None;
            }
            let cols = grid_columns(s.width, n) as i64;
            let delta: i64 = match a {
                Action::MoveRight => 1,
                Action::MoveLeft => -1,
                Action::MoveDown => cols,
                Action::MoveUp => -cols,
                Action::Top | Action::FirstColumn => i64::MIN / 2,
                Action::Bottom | Action::LastColumn => i64::MAX / 2,
                _ => return None,
            };
            s.jobs.progress_cursor = (s.jobs.progress_cursor as i64)
                .saturating_add(delta)
                .clamp(0, n as i64 - 1) as usize;
            Some(vec![])
        }
        _ => None,
    }
}

/// The table cursor, the selected step (when the pipeline has focus), the
/// views and focus, and quitting.
pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    let page = s.table.page as i64;
    Some(match a {
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
            if at == s.at_step {
                return Some(vec![]);
            }
            s.at_step = at;
            request_preview(s)
        }
        Action::MoveDown => move_rows(s, 1),
        Action::MoveUp => move_rows(s, -1),
        Action::PageDown => move_rows(s, page),
        Action::PageUp => move_rows(s, -page),
        Action::HalfPageDown => move_rows(s, (page / 2).max(1)),
        Action::HalfPageUp => move_rows(s, -(page / 2).max(1)),
        Action::Top => move_rows(s, i64::MIN / 2),
        Action::Bottom => move_rows(s, i64::MAX / 2),
        Action::MoveLeft => {
            s.table.col = s.table.col.saturating_sub(1);
            s.table.col_offset = s.table.col_offset.min(s.table.col);
            vec![]
        }
        Action::MoveRight => {
            let n = s.column_names().len();
            s.table.col = (s.table.col + 1).min(n.saturating_sub(1));
            vec![]
        }
        Action::FirstColumn => {
            s.table.col = 0;
            s.table.col_offset = 0;
            vec![]
        }
        Action::LastColumn => {
            s.table.col = s.column_names().len().saturating_sub(1);
            vec![]
        }
        Action::ViewTable => set_view(s, View::Table),
        Action::ViewPipeline => set_view(s, View::Pipeline),
        Action::ViewSchema => set_view(s, View::Schema),
        Action::ViewProgress => set_view(s, View::Progress),
        Action::ViewGraph => {
            set_view(s, View::Graph);
            request_graph(s)
        }
        Action::TogglePlan => {
            s.graph.show_plan = !s.graph.show_plan;
            if s.view == View::Graph {
                return Some(vec![]);
            }
            set_view(s, View::Graph);
            request_graph(s)
        }
        Action::ViewResult => {
            if s.jobs.result.is_none() {
                s.status = Some(
                    Status::info("no result yet: ")
                        .key(Action::Compute)
                        .then(" computes the pipeline at the selected step"),
                );
                return Some(vec![]);
            }
            set_view(s, View::Result);
            clamp_cursor(s);
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
        Action::SearchNext => search(s, true),
        Action::SearchPrev => search(s, false),
        Action::CopyCell => match current_value(s) {
            Some(v) => {
                s.status = Some(Status::info("copied the cell"));
                vec![Effect::Copy(cell_text(&v))]
            }
            None => vec![],
        },
        Action::CopyRow => match s.table_frame() {
            Some(df) if s.table.row < df.height() => {
                let row: Vec<String> = df
                    .columns()
                    .iter()
                    .map(|c| {
                        c.get(s.table.row)
                            .map(|v| cell_text(&v))
                            .unwrap_or_default()
                    })
                    .collect();
                s.status = Some(Status::info(format!("copied row {}", s.table.row + 1)));
                vec![Effect::Copy(row.join("\t"))]
            }
            _ => vec![],
        },
        Action::Quit => quit(s),
        _ => return None,
    })
}

/// Quit, after a second ask when the pipeline has unsaved changes.
pub fn quit(s: &mut State) -> Vec<Effect> {
    if s.dirty() && !s.quit_armed {
        s.quit_armed = true;
        s.status = Some(
            Status::error("the pipeline has unsaved changes: :w FILE.toml saves it; ")
                .key(Action::Quit)
                .then(" again quits"),
        );
        vec![]
    } else {
        s.should_quit = true;
        vec![Effect::Quit]
    }
}

pub fn set_view(s: &mut State, v: View) -> Vec<Effect> {
    s.view = v;
    s.record_open = false;
    s.focus = if v == View::Pipeline {
        Focus::Pipeline
    } else {
        Focus::Table
    };
    vec![]
}

pub(super) fn move_rows(s: &mut State, delta: i64) -> Vec<Effect> {
    let h = s.frame_height();
    if h == 0 {
        return vec![];
    }
    s.table.row = (s.table.row as i64 + delta).clamp(0, h as i64 - 1) as usize;
    clamp_cursor(s);
    vec![]
}

/// Keep the cursor inside the data and on screen.
pub fn clamp_cursor(s: &mut State) {
    let h = s.frame_height();
    let ncols = s.column_names().len();
    let t = &mut s.table;
    t.row = t.row.min(h.saturating_sub(1));
    t.col = t.col.min(ncols.saturating_sub(1));
    t.col_offset = t.col_offset.min(t.col);
    if t.row < t.row_offset {
        t.row_offset = t.row;
    } else if t.row >= t.row_offset + t.page {
        t.row_offset = t.row + 1 - t.page;
    }
}

pub fn click(s: &mut State, hit: Hit) -> Vec<Effect> {
    match hit {
        Hit::Cell { row, col } => {
            s.focus = Focus::Table;
            s.table.row = row;
            s.table.col = col;
            clamp_cursor(s);
            vec![]
        }
        Hit::Step(k) => {
            s.focus = Focus::Pipeline;
            if k != s.at_step && k <= s.recipe.steps.len() {
                s.at_step = k;
                return request_preview(s);
            }
            vec![]
        }
    }
}

pub fn resize(s: &mut State, rows: usize, width: u16) -> Vec<Effect> {
    s.table.page = rows.max(1);
    s.width = width;
    clamp_cursor(s);
    vec![]
}

pub fn graph_ready(
    s: &mut State,
    request: u64,
    result: Result<PlannedGraph, String>,
) -> Vec<Effect> {
    if request != s.graph.request {
        return vec![]; // stale: a newer request is on its way
    }
    match result {
        Ok(g) => {
            s.graph.stage = s.graph.stage.min(g.graph.stages.len().saturating_sub(1));
            s.graph.planned = Some(g);
            s.graph.error = None;
        }
        Err(e) => {
            s.graph.planned = None;
            s.graph.error = Some(e);
        }
    }
    vec![]
}

pub fn current_value(s: &State) -> Option<AnyValue<'static>> {
    let df = s.table_frame()?;
    let col = df.columns().get(s.table.col)?;
    col.get(s.table.row).ok().map(|v| v.into_static())
}

pub fn search(s: &mut State, forward: bool) -> Vec<Effect> {
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
    let start = s.table.row * w + s.table.col;
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
            s.table.row = r;
            s.table.col = c;
            clamp_cursor(s);
            return vec![];
        }
    }
    s.status = Some(Status::error(format!(
        "no match for `{needle}` in the preview"
    )));
    vec![]
}
