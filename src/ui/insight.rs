//! The Describe, Frequency and Histogram views. Each shows the full-data
//! result when its job is done, and until then the preview's figures
//! labelled provisional, under a one-line progress gauge.

use polars::prelude::DataFrame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use super::keys::Keys;
use crate::app::compute::{JobKind, Phase};
use crate::app::insight::{frequency_rows, histogram_counts, Insight, HISTOGRAM_BINS};
use crate::app::state::State;
use crate::app::Action;
use crate::cell::cell_text;
use crate::config::Theme;
use crate::engine::stats::describe::short_float;

/// What the view shows: the full result, or the preview's (provisional).
struct Shown<'a> {
    insight: &'a Insight,
    frame: &'a DataFrame,
    provisional: bool,
}

fn shown(s: &State) -> Option<Shown<'_>> {
    let wanted = s.insight.wanted.as_ref()?;
    if let Some(r) = s.insight_result(wanted) {
        return Some(Shown {
            insight: &r.insight,
            frame: &r.frame,
            provisional: false,
        });
    }
    s.insight
        .preview
        .as_ref()
        .filter(|(i, _)| i == wanted)
        .map(|(i, f)| Shown {
            insight: i,
            frame: f,
            provisional: true,
        })
}

/// Split off a line for the job's progress while it runs for this insight.
fn progress_line(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) -> Rect {
    let running = s.jobs.current.as_ref().filter(|j| {
        matches!(&j.kind, JobKind::Insight(i) if Some(i) == s.insight.wanted.as_ref())
            && matches!(j.phase, Phase::Preparing | Phase::Running)
    });
    let Some(j) = running else {
        return area;
    };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Min(1)])
        .split(area);
    let total = j.partitions().max(1);
    let done = j.partitions_done();
    f.render_widget(
        Gauge::default()
            .gauge_style(theme.accent)
            .ratio((done as f64 / total as f64).clamp(0.0, 1.0))
            .label(format!(
                "all rows: {done}/{total} partitions · {:.1} s · {} cancels · {} shows the progress view",
                j.now_ms as f64 / 1000.0,
                keys.label(Action::Cancel),
                keys.label(Action::ViewProgress)
            )),
        parts[0],
    );
    parts[1]
}

fn title(sh: &Option<Shown>, what: &str, s: &State) -> String {
    match sh {
        Some(x) if x.provisional => match s.insight.partitions {
            Some((done, total)) => {
                format!(" {what} · provisional: {done} of {total} partitions ")
            }
            None => format!(
                " {what} · provisional: the {} preview rows ",
                s.preview.frame.as_ref().map_or(0, |f| f.height())
            ),
        },
        Some(_) => format!(" {what} · all rows "),
        None => format!(" {what} "),
    }
}

fn empty(theme: &Theme, f: &mut Frame, area: Rect, title: &str, msg: &str) {
    let outer = block(title, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    f.render_widget(
        Paragraph::new(msg.to_string())
            .style(theme.dtype)
            .wrap(Wrap { trim: true }),
        inner,
    );
}

pub fn draw_describe(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let area = progress_line(s, theme, keys, f, area);
    let sh = shown(s);
    let t = title(&sh, "describe", s);
    let Some(sh) = sh else {
        return empty(
            theme,
            f,
            area,
            &t,
            &format!(
                "{} describes every column of the pipeline at the selected step, over all rows",
                keys.label(Action::Describe)
            ),
        );
    };
    let Ok(table) = crate::engine::stats::describe::display_frame(sh.frame) else {
        return empty(theme, f, area, &t, "the describe table could not be shown");
    };
    let outer = block(&t, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    // Column widths: fit the content, cut long text (top values) last.
    let names: Vec<String> = table
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let cells: Vec<Vec<String>> = (0..table.height())
        .map(|r| {
            table
                .columns()
                .iter()
                .map(|c| match c.get(r) {
                    Ok(polars::prelude::AnyValue::Null) | Err(_) => "·".to_string(),
                    Ok(v) => cell_text(&v),
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for row in &cells {
        for ((w, c), name) in widths.iter_mut().zip(row).zip(&names) {
            let cap = if name == "top" { 48 } else { 28 };
            *w = (*w).max(c.chars().count()).min(cap);
        }
    }
    // The column name stays; the statistics scroll (l, 0, $).
    let skip = s.insight.col.min(names.len().saturating_sub(2));
    let keep = |v: &[String]| -> Vec<String> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || *i > skip)
            .map(|(_, x)| x.clone())
            .collect()
    };
    let widths: Vec<usize> = widths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i > skip)
        .map(|(_, w)| *w)
        .collect();
    let line = |vals: &[String], style| line_of(&keep(vals), &widths, style);
    let mut lines = vec![line(&names, theme.header)];
    let body = inner.height.saturating_sub(2) as usize;
    let top = s.insight.cursor.saturating_sub(body.saturating_sub(1));
    for (i, row) in cells.iter().enumerate().skip(top).take(body) {
        let style = if i == s.insight.cursor {
            theme.selected
        } else {
            theme.base
        };
        lines.push(line(row, style));
    }
    lines.push(Line::from(Span::styled(
        {
            let hints = format!(
                "{} · {}/{} scroll",
                keys.hints(&[
                    (Action::Frequency, "frequencies"),
                    (Action::Histogram, "histogram"),
                ]),
                keys.label(Action::MoveLeft),
                keys.label(Action::MoveRight)
            );
            if sh.provisional {
                format!("values are provisional until the full pass is done · {hints}")
            } else {
                format!(
                    "{hints} · {}",
                    crate::engine::stats::describe::accuracy_note()
                )
            }
        },
        theme.dtype,
    )));
    f.render_widget(Paragraph::new(lines), inner);
}

fn line_of(vals: &[String], widths: &[usize], style: ratatui::style::Style) -> Line<'static> {
    let mut spans = Vec::new();
    for (v, w) in vals.iter().zip(widths) {
        let mut t: String = v.chars().take(*w).collect();
        if v.chars().count() > *w {
            t.pop();
            t.push('…');
        }
        spans.push(Span::styled(format!("{t:<w$} ", w = *w), style));
    }
    Line::from(spans)
}

pub fn draw_frequency(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let area = progress_line(s, theme, keys, f, area);
    let sh = shown(s);
    let what = s
        .insight
        .wanted
        .as_ref()
        .map_or("frequencies".to_string(), |i| i.label());
    let t = title(&sh, &what, s);
    let Some(sh) = sh else {
        return empty(theme, f, area, &t, "computing on all rows…");
    };
    let rows = frequency_rows(sh.frame);
    let outer = block(&t, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let vw = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 30);
    let cw = rows
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let bar_w = (inner.width as usize).saturating_sub(vw + cw + 18).max(4);
    let max = rows.iter().map(|r| r.count).max().unwrap_or(1).max(1);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<vw$} {:>cw$} {:>6} {:>6}  ",
            "value", "count", "share", "cum"
        ),
        theme.header,
    ))];
    let body = inner.height.saturating_sub(2) as usize;
    let top = s.insight.cursor.saturating_sub(body.saturating_sub(1));
    let full = if theme.ascii { "#" } else { "█" };
    for (i, r) in rows.iter().enumerate().skip(top).take(body) {
        let mut v: String = r.value.chars().take(vw).collect();
        if r.value.chars().count() > vw {
            v.pop();
            v.push('…');
        }
        let n = ((r.count as f64 / max as f64) * bar_w as f64).round() as usize;
        let style = if i == s.insight.cursor {
            theme.selected
        } else {
            theme.base
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{v:<vw$} {:>cw$} {:>5.1}% {:>5.1}%  ",
                    r.count,
                    r.share * 100.0,
                    r.cumulative * 100.0
                ),
                style,
            ),
            Span::styled(full.repeat(n.max(usize::from(r.count > 0))), theme.accent),
        ]));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "{} distinct values{}",
            rows.len(),
            if sh.provisional {
                " in the preview rows (provisional)"
            } else {
                ", all rows"
            }
        ),
        theme.dtype,
    )));
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn draw_histogram(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let area = progress_line(s, theme, keys, f, area);
    let sh = shown(s);
    let what = s
        .insight
        .wanted
        .as_ref()
        .map_or("histogram".to_string(), |i| i.label());
    let t = title(&sh, &what, s);
    let Some(sh) = sh else {
        return empty(
            theme,
            f,
            area,
            &t,
            &format!(
                "binning all rows… ({} toggles a log scale)",
                keys.label(Action::ToggleLogScale)
            ),
        );
    };
    let counts = histogram_counts(sh.frame);
    let outer = block(&t, theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(inner);
    let max = counts.iter().copied().max().unwrap_or(0);
    let label_w = max.to_string().len() as u16 + 1;
    let chart_area = Rect {
        x: parts[0].x + label_w,
        width: parts[0].width.saturating_sub(label_w),
        ..parts[0]
    };
    let gap = 1u16;
    let bar_w = ((chart_area.width + gap) / HISTOGRAM_BINS as u16)
        .saturating_sub(gap)
        .max(1);
    let bars: Vec<Bar> = counts
        .iter()
        .map(|&c| Bar::default().value(c).text_value(String::new()))
        .collect();
    f.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_w)
            .bar_gap(gap)
            .bar_style(theme.accent)
            .max(max.max(1)),
        chart_area,
    );
    // y axis: the tallest bar's count at the top, 0 at the bottom.
    let y = Paragraph::new(vec![Line::from(Span::styled(max.to_string(), theme.dtype))]);
    f.render_widget(
        y,
        Rect {
            width: label_w,
            height: 1,
            ..parts[0]
        },
    );
    // x axis: bin edges at the start, the middle and the end.
    let dtype = s.current_schema().get(column_of(sh.insight)).cloned();
    let edge = |i: usize| -> String {
        let v = sh.insight.edge(i);
        match (&dtype, sh.insight) {
            (Some(dt), Insight::Histogram { temporal: true, .. }) => {
                render_temporal(v, dt).unwrap_or_else(|| short_float(v))
            }
            _ => short_float(v),
        }
    };
    let used = (bar_w + gap) * HISTOGRAM_BINS as u16;
    let (a, m, b) = (edge(0), edge(HISTOGRAM_BINS / 2), edge(HISTOGRAM_BINS));
    let mid_x = (used / 2) as usize;
    let mut axis = " ".repeat(label_w as usize);
    axis.push_str(&a);
    let pad = mid_x.saturating_sub(a.chars().count());
    axis.push_str(&" ".repeat(pad.max(1)));
    axis.push_str(&m);
    let end_pad = (used as usize).saturating_sub(mid_x + m.chars().count() + b.chars().count());
    axis.push_str(&" ".repeat(end_pad.max(1)));
    axis.push_str(&b);
    f.render_widget(Paragraph::new(axis).style(theme.dtype), parts[1]);
    let total: u64 = counts.iter().sum();
    let log = matches!(sh.insight, Insight::Histogram { log: true, .. });
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(
                    "{total} values in {HISTOGRAM_BINS} bins{} · ",
                    if log {
                        ", log scale (values ≤ 0 left out)"
                    } else {
                        ", equal width"
                    }
                ),
                theme.dtype,
            ),
            keys.span(Action::ToggleLogScale),
            Span::styled(" toggles log scale · ", theme.dtype),
            keys.span(Action::Describe),
            Span::styled(" back to describe", theme.dtype),
        ])),
        parts[2],
    );
}

fn column_of(i: &Insight) -> &str {
    match i {
        Insight::Frequency { column } | Insight::Histogram { column, .. } => column,
        Insight::Describe => "",
    }
}

fn render_temporal(v: f64, dtype: &polars::prelude::DataType) -> Option<String> {
    use polars::prelude::NamedFrom;
    let s = polars::prelude::Series::new("".into(), [v.round() as i64]);
    let shown = s.cast(dtype).ok()?;
    shown.get(0).ok().map(|v| cell_text(&v))
}
