//! The Chart view: the series `app::chart` shaped, drawn with braille dots
//! (lines, scatters) or bars, with axis labels, a legend, and a line saying
//! how many rows it shows and how they were reduced for drawing.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, LegendPosition, Paragraph, Wrap,
};
use ratatui::Frame;

use super::block;
use super::keys::Keys;
use crate::app::chart::{ChartData, ChartKind, XAxis};
use crate::app::state::State;
use crate::app::Action;
use crate::config::Theme;

/// Series styles in order: the theme's own colours, so every theme
/// (including mono, where they are all plain) draws them.
fn series_style(theme: &Theme, i: usize) -> Style {
    let styles = [
        theme.accent,
        theme.task_done,
        theme.task_running,
        theme.task_failed,
        theme.header,
        theme.task_queued,
        theme.dtype,
        theme.task_cancelled,
    ];
    styles[i % styles.len()]
}

pub fn draw_chart(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let Some(view) = &s.chart else {
        return;
    };
    let hints = keys.hints(&[
        (Action::ChartKind, "line/scatter/bar"),
        (Action::ToggleLogScale, "log"),
        (Action::WriteResult, "save as SVG"),
        (Action::ViewTable, "table"),
    ]);
    let data = match &view.data {
        Ok(d) => d,
        Err(_) if view.shaping.is_some() => {
            let outer = block(" chart ", theme, true);
            let inner = outer.inner(area);
            f.render_widget(outer, area);
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!("shaping {} of {}…", view.spec.command(), rows_of(view)),
                    theme.dtype,
                )),
                inner,
            );
            return;
        }
        Err(e) => {
            let outer = block(" chart ", theme, true);
            let inner = outer.inner(area);
            f.render_widget(outer, area);
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(e.clone(), theme.error)),
                    Line::from(Span::styled(
                        format!("choose columns with the palette: {}", view.spec.command()),
                        theme.dtype,
                    )),
                ])
                .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
    };
    let title = format!(
        " {} chart · {} by {}{} · {hints} ",
        data.spec.kind.name(),
        data.spec.ys.join(", "),
        data.spec.x,
        if data.spec.log_y { " · log scale" } else { "" },
    );
    let outer = block(&title, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(3), Constraint::Length(1)])
        .split(inner);
    // Categories (a bar chart, or an x that is not a number or a date)
    // are bars; the rest are points on axes.
    match &data.x_axis {
        XAxis::Categories(labels) => draw_bars(theme, f, parts[0], data, labels),
        _ => draw_xy(theme, f, parts[0], data),
    }
    let source = rows_of(view);
    let mut about = format!("{} rows of {source}", data.rows);
    if view.shaping.is_some() {
        about.push_str(" · shaping again…");
    }
    if let Some(n) = &data.note {
        about.push_str(&format!(" · drawn: {n}"));
    }
    if let XAxis::Categories(labels) = &data.x_axis {
        let fit = bars_that_fit(parts[0].width, labels.len());
        if fit < labels.len() {
            about.push_str(&format!(" · {fit} bars fit the width"));
        }
    }
    f.render_widget(Paragraph::new(Span::styled(about, theme.dtype)), parts[1]);
}

fn rows_of(view: &crate::app::state::ChartView) -> &'static str {
    if view.of_result {
        "the computed result"
    } else {
        "the preview"
    }
}

/// Bar glyphs of an ASCII (mono) chart.
const ASCII_BARS: ratatui::symbols::bar::Set = ratatui::symbols::bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "#",
    five_eighths: "#",
    half: "=",
    three_eighths: "=",
    one_quarter: "-",
    one_eighth: "_",
    empty: " ",
};

/// Characters for the series of an ASCII (mono) chart.
const ASCII_MARKS: [char; 8] = ['*', 'o', '+', 'x', '#', '@', '%', '='];

/// An x-y chart in plain ASCII, for themes that draw no Unicode: each series
/// its own character, lines joined cell by cell.
fn draw_xy_ascii(theme: &Theme, f: &mut Frame, area: Rect, data: &ChartData) {
    let [x0, x1] = data.x_bounds;
    let [y0, y1] = data.y_bounds;
    let labels = [
        data.y_label(y1),
        data.y_label((y0 + y1) / 2.0),
        data.y_label(y0),
    ];
    let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u16 + 1;
    if area.width <= lw + 2 || area.height < 3 {
        return;
    }
    let (w, h) = ((area.width - lw - 1) as usize, (area.height - 2) as usize);
    let mut grid = vec![vec![' '; w]; h];
    let cell = |x: f64, y: f64| -> (i64, i64) {
        let cx = ((x - x0) / (x1 - x0).max(f64::MIN_POSITIVE) * (w - 1) as f64).round() as i64;
        let cy = ((y1 - y) / (y1 - y0).max(f64::MIN_POSITIVE) * (h - 1) as f64).round() as i64;
        (cx, cy)
    };
    for (i, s) in data.series.iter().enumerate() {
        let mark = ASCII_MARKS[i % ASCII_MARKS.len()];
        let mut put = |cx: i64, cy: i64| {
            if (0..w as i64).contains(&cx) && (0..h as i64).contains(&cy) {
                grid[cy as usize][cx as usize] = mark;
            }
        };
        let mut last: Option<(i64, i64)> = None;
        for &(x, y) in &s.points {
            let (cx, cy) = cell(x, y);
            if let (Some((px, py)), ChartKind::Line) = (last, data.spec.kind) {
                let steps = (cx - px).abs().max((cy - py).abs()).max(1);
                for k in 0..=steps {
                    put(px + (cx - px) * k / steps, py + (cy - py) * k / steps);
                }
            } else {
                put(cx, cy);
            }
            last = Some((cx, cy));
        }
    }
    let mut lines: Vec<Line> = Vec::with_capacity(h + 2);
    for (r, row) in grid.into_iter().enumerate() {
        let label = match r {
            0 => labels[0].clone(),
            r if r == h / 2 => labels[1].clone(),
            r if r + 1 == h => labels[2].clone(),
            _ => String::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{label:>width$}|", width = lw as usize),
                theme.dtype,
            ),
            Span::styled(row.into_iter().collect::<String>(), theme.base),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!("{}+{}", " ".repeat(lw as usize), "-".repeat(w)),
        theme.dtype,
    )));
    let (a, m, b) = (
        data.x_label(x0),
        data.x_label((x0 + x1) / 2.0),
        data.x_label(x1),
    );
    let mut axis = format!("{}{a}", " ".repeat(lw as usize + 1));
    let mid = lw as usize + 1 + w / 2;
    let pad = mid.saturating_sub(axis.chars().count() + m.chars().count() / 2);
    axis.push_str(&" ".repeat(pad.max(1)));
    axis.push_str(&m);
    let end = (lw as usize + 1 + w).saturating_sub(axis.chars().count() + b.chars().count());
    axis.push_str(&" ".repeat(end.max(1)));
    axis.push_str(&b);
    lines.push(Line::from(Span::styled(axis, theme.dtype)));
    f.render_widget(Paragraph::new(lines), area);
    if data.series.len() > 1 {
        let legend: Vec<Line> = data
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| Line::from(format!("{} {}", ASCII_MARKS[i % ASCII_MARKS.len()], s.name)))
            .collect();
        let lw = legend.iter().map(|l| l.width()).max().unwrap_or(0) as u16;
        let legend_area = Rect {
            x: area.x + area.width.saturating_sub(lw + 1),
            y: area.y,
            width: lw.min(area.width),
            height: (legend.len() as u16).min(area.height),
        };
        f.render_widget(Paragraph::new(legend).style(theme.base), legend_area);
    }
}

fn draw_xy(theme: &Theme, f: &mut Frame, area: Rect, data: &ChartData) {
    if theme.ascii {
        return draw_xy_ascii(theme, f, area, data);
    }
    let datasets: Vec<Dataset> = data
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Dataset::default()
                .name(s.name.clone())
                .marker(Marker::Braille)
                .graph_type(if data.spec.kind == ChartKind::Line {
                    GraphType::Line
                } else {
                    GraphType::Scatter
                })
                .style(series_style(theme, i))
                .data(&s.points)
        })
        .collect();
    let [x0, x1] = data.x_bounds;
    let [y0, y1] = data.y_bounds;
    let xm = (x0 + x1) / 2.0;
    let ym = (y0 + y1) / 2.0;
    let x_labels: Vec<Span> = [x0, xm, x1]
        .iter()
        .map(|&v| Span::styled(data.x_label(v), theme.dtype))
        .collect();
    let y_labels: Vec<Span> = [y0, ym, y1]
        .iter()
        .map(|&v| Span::styled(data.y_label(v), theme.dtype))
        .collect();
    let legend = (data.series.len() > 1).then_some(LegendPosition::TopRight);
    let chart = Chart::new(datasets)
        .style(theme.base)
        .x_axis(
            Axis::default()
                .title(Span::styled(data.spec.x.clone(), theme.header))
                .bounds(data.x_bounds)
                .labels(x_labels)
                .style(theme.border),
        )
        .y_axis(
            Axis::default()
                .bounds(data.y_bounds)
                .labels(y_labels)
                .style(theme.border),
        )
        .legend_position(legend)
        .hidden_legend_constraints((Constraint::Percentage(50), Constraint::Percentage(50)));
    f.render_widget(chart, area);
}

/// How many bars fit across `width` (each at least one cell and a gap).
pub fn bars_that_fit(width: u16, bars: usize) -> usize {
    bars.min((width as usize).div_ceil(2))
}

fn draw_bars(theme: &Theme, f: &mut Frame, area: Rect, data: &ChartData, labels: &[String]) {
    let Some(first) = data.series.first() else {
        return;
    };
    let shown = bars_that_fit(area.width, labels.len());
    let n = shown.max(1) as u16;
    let bar_w = (area.width / n).saturating_sub(1).clamp(1, 12);
    let scale = |v: f64| -> u64 {
        // Bars are integers: scale so the tallest is 1,000 units high.
        let [lo, hi] = data.y_bounds;
        let span = (hi - lo.min(0.0)).max(f64::MIN_POSITIVE);
        (((v - lo.min(0.0)) / span) * 1000.0).round().max(0.0) as u64
    };
    let bars: Vec<Bar> = first
        .points
        .iter()
        .take(shown)
        .map(|&(x, y)| {
            let label = labels.get(x as usize).cloned().unwrap_or_default();
            Bar::default()
                .value(scale(y))
                .text_value(data.y_label(y))
                .label(Line::from(label))
                .style(series_style(theme, 0))
        })
        .collect();
    let mut chart = BarChart::default()
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_w)
        .bar_gap(1)
        .value_style(theme.header)
        .label_style(theme.dtype)
        .max(1000);
    if theme.ascii {
        chart = chart.bar_set(ASCII_BARS);
    }
    f.render_widget(chart, area);
}
