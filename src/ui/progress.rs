//! The Progress view, Dask's dashboard in the terminal: an overall bar with
//! throughput, ETA and memory; per-stage counters; a throughput sparkline; a
//! grid with a cell per partition coloured by state (cells stand for several
//! partitions when they do not fit); a task stream with one lane per worker;
//! and the selected partition's detail.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::block;
use super::graph::{state_name, state_style};
use super::keys::Keys;
use crate::app::compute::{aggregate, grid_columns, JobView, Phase, TaskState};
use crate::app::state::State;
use crate::app::Action;
use crate::config::Theme;
use crate::engine::error::Fix;
use crate::engine::input::spec::format_bytes;
use crate::engine::plan::graph::StageKind;

fn cell_char(theme: &Theme, st: TaskState) -> char {
    match (theme.ascii, st) {
        (false, TaskState::Done) => '█',
        (false, TaskState::Running) => '▓',
        (false, TaskState::Queued) => '░',
        (false, TaskState::Failed) => '✗',
        (false, TaskState::Cancelled) => '╌',
        (true, TaskState::Done) => '#',
        (true, TaskState::Running) => '>',
        (true, TaskState::Queued) => '.',
        (true, TaskState::Failed) => 'X',
        (true, TaskState::Cancelled) => '-',
    }
}

pub fn draw_progress(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let Some(j) = &s.jobs.current else {
        let outer = block(" progress ", theme, true);
        let inner = outer.inner(area);
        f.render_widget(outer, area);
        f.render_widget(
            Paragraph::new(format!(
                "no job yet: {} computes the pipeline at the selected step, {} writes it to a file",
                keys.label(Action::Compute),
                keys.label(Action::WriteResult)
            ))
            .style(theme.dtype)
            .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let what = j.kind.label();
    let phase = match &j.phase {
        Phase::Preparing => "preparing".to_string(),
        Phase::Running => format!("running {:.1} s", j.now_ms as f64 / 1000.0),
        Phase::Finished {
            rows_out,
            elapsed_ms,
        } => format!(
            "done: {rows_out} rows in {:.2} s",
            *elapsed_ms as f64 / 1000.0
        ),
        Phase::Failed(_) => "FAILED".to_string(),
        Phase::Cancelled { elapsed_ms } => {
            format!("cancelled after {:.1} s", *elapsed_ms as f64 / 1000.0)
        }
    };
    // The executor is named when the border has room for it: the phase
    // (elapsed time, outcome) matters more on a narrow screen.
    let named = format!(" progress · {what} on {} · {phase} ", j.executor);
    let title = if !j.executor.is_empty() && named.chars().count() + 2 <= area.width as usize {
        named
    } else {
        format!(" progress · {what} · {phase} ")
    };
    let outer = block(&title, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    if inner.height < 4 {
        f.render_widget(Paragraph::new(phase), inner);
        return;
    }

    let lanes = j.workers.len().max(j.workers_expected).max(1) as u16;
    let small = inner.height < 18;
    let spark_h = if small { 0 } else { 3 };
    let stream_h = if small { 0 } else { (lanes + 1).min(9) };
    let detail_h = if small { 1 } else { 3 };
    // The grid takes the rows it needs (one per row of cells, plus its
    // legend); half of what is left goes to a taller sparkline.
    let fixed = 3 + spark_h + stream_h + detail_h;
    let room = inner.height.saturating_sub(fixed).max(1);
    let n = j.partitions().max(1);
    let cols = grid_columns(inner.width + 4, n);
    let grid_h = ((n.div_ceil(cols) + 1) as u16).min(room);
    let spark_h = if spark_h > 0 {
        (spark_h + (room - grid_h).saturating_sub(2)).min(8)
    } else {
        0
    };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(spark_h),
            Constraint::Length(grid_h),
            Constraint::Length(stream_h),
            Constraint::Length(detail_h),
            Constraint::Min(0),
        ])
        .split(inner);
    draw_gauge(theme, f, parts[0], j);
    draw_stats(theme, f, parts[1], j);
    draw_stages(theme, f, parts[2], j);
    if spark_h > 0 {
        draw_sparkline(theme, f, parts[3], j);
    }
    draw_grid(s, theme, f, parts[4], j);
    if stream_h > 0 {
        draw_stream(theme, f, parts[5], j);
    }
    draw_detail(s, theme, keys, f, parts[6], j);
}

fn draw_gauge(theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let p = &j.progress;
    let parts = j.partitions().max(p.partitions);
    let done_parts = (0..j.partitions())
        .filter(|&i| j.partition_state(i) == TaskState::Done)
        .count();
    let done_tasks = j
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Done)
        .count();
    let ratio = if j.tasks.is_empty() {
        0.0
    } else {
        done_tasks as f64 / j.tasks.len() as f64
    };
    let fetched = if p.bytes_fetched > 0 {
        format!(" · {} fetched", format_bytes(p.bytes_fetched))
    } else {
        String::new()
    };
    let label = format!(
        "{done_parts}/{parts} partitions · {done_tasks}/{} tasks · {} of {}{fetched}",
        j.tasks.len(),
        format_bytes(p.bytes_read),
        format_bytes(p.input_bytes)
    );
    let style = match j.phase {
        Phase::Failed(_) => theme.task_failed,
        Phase::Cancelled { .. } => theme.task_cancelled,
        _ => theme.task_done,
    };
    f.render_widget(
        Gauge::default()
            .gauge_style(style)
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label)
            .use_unicode(!theme.ascii),
        area,
    );
}

fn draw_stats(theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let p = &j.progress;
    let eta = match (&j.phase, p.eta_s) {
        (Phase::Running, Some(s)) => format!("ETA {s:.0} s"),
        (Phase::Running, None) => "ETA …".into(),
        _ => String::new(),
    };
    let budget = if j.memory_budget > 0 {
        format!(
            "in flight {} of {} budget",
            format_bytes(p.bytes_in_flight),
            format_bytes(j.memory_budget)
        )
    } else {
        String::new()
    };
    let lost = if j.lost_workers.is_empty() {
        String::new()
    } else {
        format!(" · lost workers: {}", j.lost_workers.join(", "))
    };
    let lost = match &j.read_again {
        Some(why) => format!("{lost} · read again: {why}"),
        None => lost,
    };
    let text = [
        format!("{} rows/s", human_count(p.rows_per_s)),
        format!("{}/s", format_bytes(p.bytes_per_s as u64)),
        eta,
        budget,
        format!("{} workers{lost}", j.workers.len().max(j.workers_expected)),
    ]
    .into_iter()
    .filter(|t| !t.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    f.render_widget(Paragraph::new(Span::styled(text, theme.accent)), area);
}

fn human_count(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.1} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn draw_stages(theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let mut spans = Vec::new();
    for (i, st) in j.graph.stages.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" → ", theme.dtype));
        }
        let c = j.stage_counts(i);
        spans.push(Span::raw(format!("{} ", st.name)));
        spans.push(Span::styled(
            format!("{}/{}", c.done, st.tasks.len()),
            theme.task_done,
        ));
        spans.extend(super::graph::count_spans(theme, c, false));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_sparkline(theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let data = j.throughput_per_s();
    let w = (area.width as usize).max(1);
    // Few samples (a short job) are widened so the shape stays readable.
    let repeat = (w / data.len().max(1)).clamp(1, 8);
    let wide: Vec<u64> = data
        .iter()
        .flat_map(|&v| std::iter::repeat_n(v, repeat))
        .collect();
    let tail: Vec<u64> = wide[wide.len().saturating_sub(w)..].to_vec();
    let peak = tail.iter().copied().max().unwrap_or(0);
    let label = format!(
        "throughput, {} ms samples (peak {}/s)",
        crate::app::compute::SAMPLE_MS,
        format_bytes(peak)
    );
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Min(1)])
        .split(area);
    f.render_widget(Paragraph::new(Span::styled(label, theme.dtype)), parts[0]);
    f.render_widget(
        Sparkline::default().data(&tail).style(theme.accent),
        parts[1],
    );
}

/// Grid geometry: columns, rows and partitions per cell for `n` partitions.
pub fn grid_shape(area: Rect, n: usize) -> (usize, usize, usize) {
    let cols = grid_columns(area.width + 4, n);
    let max_rows = area.height.saturating_sub(1).max(1) as usize;
    let per_cell = n.div_ceil(cols * max_rows).max(1);
    let cells = n.div_ceil(per_cell);
    let rows = cells.div_ceil(cols);
    (cols, rows, per_cell)
}

fn draw_grid(s: &State, theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let n = j.partitions();
    if n == 0 || area.height == 0 {
        return;
    }
    let (cols, rows, per_cell) = grid_shape(area, n);
    let legend = if per_cell > 1 {
        format!("partitions ({n}; a cell is {per_cell} partitions, the worst state shown)")
    } else {
        format!("partitions ({n})")
    };
    let mut legend_spans = vec![Span::styled(legend + "  ", theme.dtype)];
    for st in [
        TaskState::Done,
        TaskState::Running,
        TaskState::Queued,
        TaskState::Failed,
        TaskState::Cancelled,
    ] {
        legend_spans.push(Span::styled(
            format!("{} {}  ", cell_char(theme, st), state_name(st)),
            state_style(theme, st),
        ));
    }
    let mut lines = vec![Line::from(legend_spans)];
    let cursor_cell = s.jobs.progress_cursor.min(n - 1) / per_cell;
    for r in 0..rows {
        let mut spans = Vec::with_capacity(cols);
        for c in 0..cols {
            let cell = r * cols + c;
            let lo = cell * per_cell;
            if lo >= n {
                break;
            }
            let hi = (lo + per_cell).min(n);
            let st = aggregate((lo..hi).map(|p| j.partition_state(p))).unwrap_or(TaskState::Queued);
            let mut style = state_style(theme, st);
            if cell == cursor_cell {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let ch = cell_char(theme, st);
            spans.push(Span::styled(format!("{ch}{ch}"), style));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_stream(theme: &Theme, f: &mut Frame, area: Rect, j: &JobView) {
    let label_w = 10usize;
    let width = (area.width as usize).saturating_sub(label_w + 1).max(1);
    let total = j.now_ms.max(1);
    let lanes = j.workers.len().max(j.workers_expected).max(1);
    let shown_lanes = lanes.min(area.height.saturating_sub(1) as usize);
    let mut grid: Vec<Vec<(char, Style)>> = vec![vec![(' ', Style::default()); width]; shown_lanes];
    for (id, t) in j.tasks.iter().enumerate() {
        let (Some(lane), Some(start)) = (t.worker, t.start_ms) else {
            continue;
        };
        if lane >= shown_lanes {
            continue;
        }
        let end = t.end_ms.unwrap_or(j.now_ms).max(start);
        let x0 = (start as u128 * width as u128 / total as u128) as usize;
        let x1 = ((end as u128 * width as u128).div_ceil(total as u128) as usize)
            .max(x0 + 1)
            .min(width);
        let is_map = j.graph.stages[j.graph.tasks[id].stage].kind == StageKind::Map;
        let mut style = state_style(theme, t.state);
        if t.state == TaskState::Done && !is_map {
            style = theme.accent;
        }
        if id % 2 == 1 {
            style = style.add_modifier(Modifier::DIM);
        }
        let ch = match (theme.ascii, is_map) {
            (false, true) => '█',
            (false, false) => '▆',
            (true, true) => '=',
            (true, false) => '+',
        };
        for cell in grid[lane].iter_mut().take(x1).skip(x0.min(width)) {
            *cell = (ch, style);
        }
    }
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "task stream: a lane per worker, 0 → {:.1} s (map █, combine/finalize ▆)",
            total as f64 / 1000.0
        ),
        theme.dtype,
    ))];
    for (lane, row) in grid.into_iter().enumerate() {
        let name = j
            .workers
            .get(lane)
            .cloned()
            .unwrap_or_else(|| format!("worker {lane}"));
        let mut spans = vec![Span::styled(
            format!("{:<label_w$} ", truncate(&name, label_w)),
            theme.row_number,
        )];
        spans.extend(
            row.into_iter()
                .map(|(c, st)| Span::styled(c.to_string(), st)),
        );
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn draw_detail(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect, j: &JobView) {
    let mut lines = Vec::new();
    if let Phase::Failed(e) = &j.phase {
        lines.push(Line::from(Span::styled(
            e.lines().next().unwrap_or("").to_string(),
            theme.error,
        )));
        if let Some(Fix::SetDtype { column, dtype }) = j.fix() {
            lines.push(Line::from(Span::styled(
                format!(
                    "{}: set [source.dtypes] {column} = \"{dtype}\" and re-run",
                    keys.label(Action::ApplyFix)
                ),
                theme.accent,
            )));
        } else if let Some(rest) = e.lines().nth(1) {
            lines.push(Line::from(Span::styled(rest.to_string(), theme.error)));
        }
    }
    let n = j.partitions();
    if n > 0 {
        let p = s.jobs.progress_cursor.min(n - 1);
        let t = &j.tasks[j.partition_task[p]];
        let label = j
            .labels
            .get(p)
            .cloned()
            .unwrap_or_else(|| format!("partition {p}"));
        let worker = t
            .worker
            .and_then(|w| j.workers.get(w).cloned())
            .unwrap_or_default();
        let time = match (t.start_ms, t.end_ms) {
            (Some(a), Some(b)) => format!(" · {} ms", b.saturating_sub(a)),
            _ => String::new(),
        };
        let rows = if t.state == TaskState::Done {
            format!(
                " · rows {} → {} · read {}",
                t.rows_in,
                t.rows_out,
                format_bytes(t.bytes_read)
            )
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("partition {p}: "), theme.header),
            Span::raw(label),
            Span::styled(
                format!(" · {}", state_name(t.state)),
                state_style(theme, t.state),
            ),
            Span::raw(format!("{rows}{time} {worker}")),
        ]));
        if let Some(e) = &t.error {
            lines.push(Line::from(Span::styled(e.replace('\n', " "), theme.error)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}
