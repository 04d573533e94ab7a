//! The Graph view: the task graph of the recipe at the selected step as
//! layered stage boxes with counts and fan-in, live task states during a
//! job, the selected stage's tasks, and a Plan tab with polars' optimised
//! plan for one partition task.

use std::sync::Arc;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use super::keys::Keys;
use crate::app::compute::{JobView, StageCounts, TaskState};
use crate::app::state::State;
use crate::app::Action;
use crate::config::Theme;
use crate::engine::input::spec::format_bytes;
use crate::engine::plan::graph::{StageKind, TaskGraph};

/// What the view draws: a job's graph (with live states) when the job ran
/// the steps now selected, else the planned graph.
pub struct Shown<'a> {
    pub graph: Arc<TaskGraph>,
    pub job: Option<&'a JobView>,
    pub labels: Option<Arc<Vec<String>>>,
}

pub fn shown(s: &State) -> Option<Shown<'_>> {
    let steps = s.steps_at();
    let labels = s
        .graph
        .planned
        .as_ref()
        .map(|p| Arc::clone(&p.partition_labels));
    if let Some(j) = s
        .jobs
        .current
        .as_ref()
        .filter(|j| j.steps == steps && !j.graph.tasks.is_empty())
    {
        return Some(Shown {
            graph: Arc::clone(&j.graph),
            job: Some(j),
            labels: labels.or_else(|| Some(Arc::clone(&j.labels))),
        });
    }
    s.graph
        .planned
        .as_ref()
        .filter(|p| p.steps == steps)
        .map(|p| Shown {
            graph: Arc::clone(&p.graph),
            job: None,
            labels,
        })
}

pub fn state_style(theme: &Theme, st: TaskState) -> Style {
    match st {
        TaskState::Queued => theme.task_queued,
        TaskState::Running => theme.task_running,
        TaskState::Done => theme.task_done,
        TaskState::Failed => theme.task_failed,
        TaskState::Cancelled => theme.task_cancelled,
    }
}

pub fn state_name(st: TaskState) -> &'static str {
    match st {
        TaskState::Queued => "queued",
        TaskState::Running => "running",
        TaskState::Done => "done",
        TaskState::Failed => "failed",
        TaskState::Cancelled => "cancelled",
    }
}

fn kind_name(k: StageKind) -> &'static str {
    match k {
        StageKind::Map => "map",
        StageKind::Combine => "combine",
        StageKind::Finalize => "finalize",
        StageKind::Gather => "GATHER",
        StageKind::Concat => "concat",
    }
}

pub fn draw_graph(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let title = if s.graph.show_plan {
        format!(
            " graph · plan of one partition task ({}) ",
            keys.hints(&[(Action::TogglePlan, "stages")])
        )
    } else {
        format!(
            " graph · stages ({}/{} select · {}/{} scroll tasks · {} polars plan) ",
            keys.label(Action::MoveDown),
            keys.label(Action::MoveUp),
            keys.label(Action::PageDown),
            keys.label(Action::PageUp),
            keys.label(Action::TogglePlan)
        )
    };
    let shown_graph = shown(s);
    let from_result = shown_graph.as_ref().and_then(|g| match g.job {
        Some(j) => j.from_result,
        None => s.graph.planned.as_ref().and_then(|p| p.from_result),
    });
    let title = match from_result {
        Some(k) => format!("{title}· from the computed result of step {k} "),
        None => title,
    };
    let outer = block(&title, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    if let Some(e) = &s.graph.error {
        f.render_widget(
            Paragraph::new(e.as_str())
                .style(theme.error)
                .wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    let Some(shown) = shown_graph else {
        f.render_widget(
            Paragraph::new(Span::styled("planning…", theme.dtype)),
            inner,
        );
        return;
    };
    if s.graph.show_plan {
        let text = s
            .graph
            .planned
            .as_ref()
            .map(|p| p.plan_text.clone())
            .unwrap_or_else(|| "planning…".into());
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
        return;
    }
    let g = &shown.graph;
    let horizontal = g.stages.len() as u16 * 22 <= inner.width;
    let boxes_h = if horizontal {
        7
    } else {
        (g.stages.len() as u16 + 2).min(inner.height / 2)
    };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(boxes_h),
            Constraint::Min(1),
        ])
        .split(inner);
    let summary = format!(
        "{} · {} tasks{}{}",
        g.summary(),
        g.tasks.len(),
        match shown.job {
            Some(j) if j.is_running() => " · running",
            Some(_) => " · last run",
            None => " · planned",
        },
        g.skipped_line()
            .map(|l| format!(" · {l}"))
            .unwrap_or_default()
    );
    f.render_widget(
        Paragraph::new(Span::styled(summary, theme.header)),
        parts[0],
    );
    if horizontal {
        draw_boxes(s, theme, f, parts[1], g, shown.job);
    } else {
        draw_stage_list(s, theme, f, parts[1], g, shown.job);
    }
    draw_tasks(s, theme, f, parts[2], &shown);
}

fn counts_line(theme: &Theme, c: StageCounts) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("✓{}", c.done), theme.task_done)];
    spans.extend(count_spans(theme, c, true));
    Line::from(spans)
}

/// The non-zero running (queued), failed and cancelled counts of a stage.
pub fn count_spans(theme: &Theme, c: StageCounts, with_queued: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if c.running > 0 {
        spans.push(Span::styled(format!(" ▶{}", c.running), theme.task_running));
    }
    if with_queued && c.queued > 0 {
        spans.push(Span::styled(format!(" ·{}", c.queued), theme.task_queued));
    }
    if c.failed > 0 {
        spans.push(Span::styled(format!(" ✗{}", c.failed), theme.task_failed));
    }
    if c.cancelled > 0 {
        spans.push(Span::styled(
            format!(" -{}", c.cancelled),
            theme.task_cancelled,
        ));
    }
    spans
}

fn draw_boxes(
    s: &State,
    theme: &Theme,
    f: &mut Frame,
    area: Rect,
    g: &TaskGraph,
    job: Option<&JobView>,
) {
    let n = g.stages.len().max(1) as u16;
    let arrow = 3u16;
    let w = ((area.width.saturating_sub(arrow * (n - 1))) / n).min(44);
    for (i, st) in g.stages.iter().enumerate() {
        let x = area.x + i as u16 * (w + arrow);
        let r = Rect::new(x, area.y, w, area.height);
        let selected = i == s.graph.stage;
        let title = format!(" {} ", st.id + 1);
        let b = block(&title, theme, selected);
        let inner = b.inner(r);
        f.render_widget(b, r);
        let gather = st.kind == StageKind::Gather;
        let name_style = if gather { theme.error } else { theme.header };
        let mut lines = vec![
            Line::from(Span::styled(st.name.clone(), name_style)),
            Line::from(format!(
                "×{}  {}  fan-in {}",
                st.tasks.len(),
                kind_name(st.kind),
                st.fan_in
            )),
            Line::from(Span::styled(
                if st.est_bytes > 0 {
                    format!("input ≈ {}", format_bytes(st.est_bytes))
                } else {
                    String::new()
                },
                theme.dtype,
            )),
        ];
        match job {
            Some(j) => lines.push(counts_line(theme, j.stage_counts(i))),
            None => lines.push(Line::raw("")),
        }
        if let Some(reason) = &st.gather_reason {
            lines.push(Line::from(Span::styled(
                format!("gathers: {reason}"),
                theme.error,
            )));
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        if i + 1 < g.stages.len() {
            let ax = x + w;
            let ay = area.y + area.height / 2;
            f.render_widget(
                Paragraph::new(Span::styled(" → ", theme.accent)),
                Rect::new(ax, ay, arrow, 1),
            );
        }
    }
}

fn draw_stage_list(
    s: &State,
    theme: &Theme,
    f: &mut Frame,
    area: Rect,
    g: &TaskGraph,
    job: Option<&JobView>,
) {
    let lines: Vec<Line> = g
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let mark = if i == s.graph.stage { "▸" } else { " " };
            let mut spans = vec![
                Span::styled(mark.to_string(), theme.accent),
                Span::styled(
                    format!("{} ×{} ", st.name, st.tasks.len()),
                    if st.kind == StageKind::Gather {
                        theme.error
                    } else {
                        theme.header
                    },
                ),
            ];
            if let Some(j) = job {
                spans.extend(counts_line(theme, j.stage_counts(i)).spans);
            }
            Line::from(spans)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_tasks(s: &State, theme: &Theme, f: &mut Frame, area: Rect, shown: &Shown) {
    let g = &shown.graph;
    let Some(st) = g.stages.get(s.graph.stage) else {
        return;
    };
    let rows = area.height.saturating_sub(1) as usize;
    let offset = s
        .graph
        .task_offset
        .min(st.tasks.len().saturating_sub(rows.max(1)));
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "stage {} tasks ({} of {}):  task  partition / inputs  est. input  state  worker  time  rows in → out",
            st.id + 1,
            st.tasks.len().min(rows),
            st.tasks.len()
        ),
        theme.dtype,
    ))];
    for &t in st.tasks.iter().skip(offset).take(rows) {
        let task = &g.tasks[t];
        let what = match task.partition {
            Some(p) => shown
                .labels
                .as_ref()
                .and_then(|l| l.get(p).cloned())
                .unwrap_or_else(|| format!("partition {p}")),
            None => format!(
                "{} inputs (tasks {})",
                task.deps.len(),
                short_deps(&task.deps)
            ),
        };
        let (state, detail, style) = match shown.job {
            Some(j) => {
                let info = &j.tasks[t];
                let time = match (info.start_ms, info.end_ms) {
                    (Some(a), Some(b)) => format!("{} ms", b.saturating_sub(a)),
                    _ => String::new(),
                };
                let worker = info
                    .worker
                    .and_then(|w| j.workers.get(w).cloned())
                    .unwrap_or_default();
                let rows = if info.state == TaskState::Done {
                    format!("{} → {}", info.rows_in, info.rows_out)
                } else {
                    String::new()
                };
                (
                    state_name(info.state),
                    format!("{worker:<9} {time:>8}  {rows}"),
                    state_style(theme, info.state),
                )
            }
            None => ("planned", String::new(), theme.task_queued),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  #{t:<6} ")),
            Span::raw(format!("{what:<40} ")),
            Span::styled(
                format!("{:>9}  ", format_bytes(task.est_bytes)),
                theme.dtype,
            ),
            Span::styled(format!("{state:<9} "), style),
            Span::raw(detail),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn short_deps(deps: &[usize]) -> String {
    match (deps.first(), deps.last()) {
        (Some(a), Some(b)) if deps.len() > 2 => format!("{a}…{b}"),
        _ => deps
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}
