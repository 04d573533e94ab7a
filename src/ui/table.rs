//! The preview table (header with names and dtypes, row numbers, nulls shown
//! distinctly, cursor cell highlighted) and the Schema view.

use polars::prelude::*;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::block;
use crate::app::action::Action;
use crate::app::state::{Focus, State};
use crate::cell::cell_text;
use crate::config::Theme;
use crate::engine::input::spec::dtype_name;

const MAX_COL: usize = 32;

/// Long float representations are rounded to 6 decimals in the grid (the
/// line below the table shows the value whole).
fn grid_float(f: f64) -> Option<String> {
    let full = cell_text(&AnyValue::Float64(f));
    if full.len() <= 12 || !full.contains('.') || full.contains('e') {
        return None;
    }
    let short = format!("{f:.6}");
    let short = short.trim_end_matches('0');
    Some(if short.ends_with('.') {
        format!("{short}0")
    } else {
        short.to_string()
    })
}

/// `1234567.5` as `1,234,567.5`: commas between groups of three digits of
/// the integer part.
fn group_digits(t: &str) -> String {
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", t),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return t.to_string();
    }
    let mut out = String::with_capacity(t.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// A value as the grid shows it, whole (control characters made visible).
fn full_text(v: &AnyValue, grouping: bool) -> String {
    let rounded = match v {
        AnyValue::Float64(f) => grid_float(*f),
        AnyValue::Float32(f) => grid_float(f64::from(*f)),
        _ => None,
    };
    let t = rounded.unwrap_or_else(|| cell_text(v));
    let t = if grouping && v.is_primitive_numeric() && !t.contains('e') {
        group_digits(&t)
    } else {
        t
    };
    t.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

/// `t` cut to `width` characters, the cut marked with `…`.
fn fit(t: String, width: usize) -> String {
    if t.chars().count() > width {
        let mut cut: String = t.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        t
    }
}

/// Columns `[start, end)` that fit in `width`, with the cursor column visible.
fn visible_columns(widths: &[usize], cursor: usize, offset: usize, width: usize) -> (usize, usize) {
    let fits = |start: usize| {
        let mut used = 0;
        let mut end = start;
        while end < widths.len() && used + widths[end] < width.max(1) {
            used += widths[end] + 1;
            end += 1;
        }
        end.max(start + 1).min(widths.len())
    };
    let mut start = offset.min(cursor);
    while fits(start) <= cursor && start < cursor {
        start += 1;
    }
    (start, fits(start))
}

/// Rows and columns on screen, and their widths.
struct Geometry {
    first: usize,
    last: usize,
    num_w: usize,
    /// The frame's columns drawn, left to right: the frozen ones, then the
    /// scrolled window of the others.
    shown: Vec<usize>,
    /// Width of every frame column (hidden ones too).
    widths: Vec<usize>,
}

/// A column's width: what its header and values need (at most `MAX_COL`),
/// moved by the user's widen and narrow, never below 3.
fn column_width(s: &State, name: &str, needed: usize) -> usize {
    let delta = s.look.width_delta.get(name).copied().unwrap_or(0);
    (needed.min(MAX_COL) as i64 + i64::from(delta)).clamp(3, 200) as usize
}

fn geometry(s: &State, df: &DataFrame, inner: Rect) -> Geometry {
    let body_rows = inner.height.saturating_sub(2) as usize;
    let first = s.table.row_offset.min(df.height());
    let last = (first + body_rows).min(df.height());
    let widths: Vec<usize> = df
        .columns()
        .iter()
        .map(|c| {
            let mut w = c.name().chars().count().max(dtype_name(c.dtype()).len());
            for r in first..last {
                if let Ok(v) = c.get(r) {
                    w = w.max(full_text(&v, s.look.digit_grouping).chars().count());
                }
            }
            column_width(s, c.name(), w)
        })
        .collect();
    let num_w = last.max(1).to_string().len();
    let avail = (inner.width as usize).saturating_sub(num_w + 1);
    let on_view: Vec<usize> = df
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| !s.look.hidden.contains(c.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    let frozen = s.look.frozen.min(on_view.len());
    let (pinned, rest) = on_view.split_at(frozen);
    let pinned_w: usize = pinned.iter().map(|&i| widths[i] + 1).sum();
    let rest_widths: Vec<usize> = rest.iter().map(|&i| widths[i]).collect();
    // The cursor's place among the scrolled columns (at the window's start
    // when it is on a frozen or hidden one).
    let cursor = rest.iter().position(|&i| i == s.table.col);
    let offset = s
        .table
        .col_offset
        .saturating_sub(frozen)
        .min(rest.len().saturating_sub(1));
    let (c0, c1) = if rest.is_empty() {
        (0, 0)
    } else {
        visible_columns(
            &rest_widths,
            cursor.unwrap_or(offset),
            offset,
            avail.saturating_sub(pinned_w),
        )
    };
    let shown = pinned.iter().chain(&rest[c0..c1]).copied().collect();
    Geometry {
        first,
        last,
        num_w,
        shown,
        widths,
    }
}

/// The cell under (x, y) inside the table block `area`.
pub fn hit(s: &State, area: Rect, x: u16, y: u16) -> Option<super::Hit> {
    let df = s.table_frame()?;
    let inner = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    );
    let g = geometry(s, df, inner);
    // Header and dtype rows come first.
    let row = g.first + (y.checked_sub(inner.y + 2)? as usize);
    if row >= g.last {
        return None;
    }
    let mut cx = inner.x as usize + g.num_w + 1;
    for &c in &g.shown {
        let w = g.widths[c];
        if (x as usize) >= cx && (x as usize) < cx + w + 1 {
            return Some(super::Hit::Cell { row, col: c });
        }
        cx += w + 1;
    }
    None
}

pub fn draw_table(s: &State, theme: &Theme, f: &mut Frame, area: Rect) {
    let title = match (&s.jobs.result, s.view) {
        (Some(r), crate::app::state::View::Result) => format!(
            " result · {} rows · computed in {:.2} s · w writes it ",
            r.frame.height(),
            r.elapsed_ms as f64 / 1000.0
        ),
        _ => format!(
            " table · {} rows{} ",
            s.frame_height(),
            if s.preview.elapsed_ms > 0 {
                format!(" · {} ms", s.preview.elapsed_ms)
            } else {
                String::new()
            }
        ),
    };
    let outer = block(&title, theme, s.focus == Focus::Table);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let Some(df) = s.table_frame() else {
        let msg = match (&s.preview.error, s.preview.loading) {
            (Some(e), _) => Span::styled(e.clone(), theme.error),
            (None, true) => Span::styled("loading…", theme.dtype),
            _ => Span::raw(""),
        };
        f.render_widget(Paragraph::new(msg), inner);
        return;
    };
    let g = geometry(s, df, inner);
    let (first, last, num_w) = (g.first, g.last, g.num_w);
    let widths = g.widths;
    let cols = df.columns();
    let header = Row::new(
        std::iter::once(Cell::from("")).chain(
            g.shown
                .iter()
                .map(|&i| Cell::from(cols[i].name().to_string())),
        ),
    )
    .style(theme.header);
    let dtypes = Row::new(
        std::iter::once(Cell::from("")).chain(
            g.shown
                .iter()
                .map(|&i| Cell::from(dtype_name(cols[i].dtype()))),
        ),
    )
    .style(theme.dtype);
    let mut rows = vec![dtypes];
    for r in first..last {
        let mut cells = vec![Cell::from(Span::styled(
            format!("{:>num_w$}", r + 1),
            theme.row_number,
        ))];
        for &ci in &g.shown {
            let c = &cols[ci];
            let v = c.get(r).unwrap_or(AnyValue::Null);
            let is_null = matches!(v, AnyValue::Null);
            let t = if is_null {
                "∅".to_string()
            } else {
                fit(full_text(&v, s.look.digit_grouping), widths[ci])
            };
            let t = if c.dtype().is_primitive_numeric() {
                format!("{t:>w$}", w = widths[ci])
            } else {
                t
            };
            let style = if r == s.table.row && ci == s.table.col {
                theme.selected
            } else if is_null {
                theme.null
            } else {
                theme.base
            };
            cells.push(Cell::from(Span::styled(t, style)));
        }
        rows.push(Row::new(cells));
    }
    let constraints: Vec<Constraint> = std::iter::once(Constraint::Length(num_w as u16))
        .chain(
            g.shown
                .iter()
                .map(|&i| Constraint::Length(widths[i] as u16)),
        )
        .collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(1);
    f.render_widget(table, inner);
}

/// Columns, dtypes and, for the preview sample: nulls, min, max, examples.
pub fn draw_schema(s: &State, theme: &Theme, keys: super::keys::Keys, f: &mut Frame, area: Rect) {
    let outer = block(" schema (of the preview sample) ", theme, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<28} {:<9} {:>7} {:<16} {:<16} examples",
            "column", "dtype", "nulls", "min", "max"
        ),
        theme.header,
    ))];
    let schema = s.current_schema();
    let current = s.current_column();
    for (name, dt) in schema.iter() {
        let (nulls, min, max, examples) = match s
            .preview
            .frame
            .as_ref()
            .and_then(|df| df.column(name.as_str()).ok())
        {
            Some(c) => {
                let series = c.as_materialized_series();
                let stat = |v: PolarsResult<Scalar>| {
                    v.ok()
                        .map(|x| cell_text(&x.as_any_value()))
                        .unwrap_or_default()
                };
                let ex: Vec<String> = series
                    .drop_nulls()
                    .unique_stable()
                    .map(|u| {
                        (0..u.len().min(3))
                            .filter_map(|i| {
                                u.get(i).ok().map(|v| fit(full_text(&v, false), MAX_COL))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    series.null_count().to_string(),
                    stat(series.min_reduce()),
                    stat(series.max_reduce()),
                    ex.join(", "),
                )
            }
            None => Default::default(),
        };
        let clip = |t: String| t.chars().take(16).collect::<String>();
        let mut line = vec![Span::raw(format!(
            "{:<28} {:<9} {:>7} {:<16} {:<16} {}",
            name.as_str(),
            dtype_name(dt),
            nulls,
            clip(min),
            clip(max),
            examples
        ))];
        // Why the source column was read as it was (the source's own columns).
        if let Some(note) = s.source_notes.get(name.as_str()).filter(|_| s.at_step == 0) {
            line.push(Span::styled(format!("  ({note})"), theme.accent));
        }
        // The current column: what column actions (a cast offered below) act on.
        if current.as_deref() == Some(name.as_str()) {
            line[0] = Span::styled(line[0].content.to_string(), theme.selected);
        }
        lines.push(Line::from(line));
    }
    // Dates in another layout: one action reads the current column as dates.
    let offered: Vec<String> = s
        .source_date_layouts
        .iter()
        .filter(|(c, _)| schema.contains(c.as_str()))
        .map(|(c, l)| format!("{c} ({})", l.label))
        .collect();
    if !offered.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("dates in another layout: ", theme.header),
            Span::raw(format!("{} · ", offered.join(", "))),
            keys.span(Action::CastToDate),
            Span::raw(" reads the current column as dates"),
        ]));
    }
    // Files of a glob that differ: the source reads them as one table.
    if s.at_step == 0 && !s.source_drift.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "files that differ: {} (read as one table: columns a file lacks are null, types widened)",
                s.source_drift.len()
            ),
            theme.header,
        )));
        for (file, how) in &s.source_drift {
            lines.push(Line::from(vec![
                Span::raw(format!("  {file}: ")),
                Span::styled(how.clone(), theme.accent),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::visible_columns;
    use super::{fit, group_digits};

    #[test]
    fn digits_group_by_three() {
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits("-1234.567"), "-1,234.567");
        assert_eq!(group_digits("123"), "123");
        assert_eq!(group_digits("1000"), "1,000");
        assert_eq!(group_digits("abc"), "abc");
    }

    #[test]
    fn fitting_marks_the_cut() {
        assert_eq!(fit("abcdef".into(), 4), "abc…");
        assert_eq!(fit("abc".into(), 4), "abc");
    }

    #[test]
    fn long_floats_are_rounded_in_the_grid() {
        assert_eq!(
            super::grid_float(362.78004250000004).as_deref(),
            Some("362.780043")
        );
        assert_eq!(super::grid_float(2.98301), None);
        assert_eq!(
            super::grid_float(13.418700000000001).as_deref(),
            Some("13.4187")
        );
    }

    #[test]
    fn cursor_column_is_always_visible() {
        let w = vec![10; 20];
        assert_eq!(visible_columns(&w, 0, 0, 50), (0, 4));
        let (a, b) = visible_columns(&w, 15, 0, 50);
        assert!(a <= 15 && 15 < b, "{a}..{b}");
        assert_eq!(visible_columns(&w, 3, 5, 50).0, 3);
        let (a, b) = visible_columns(&w, 19, 0, 5);
        assert_eq!((a, b), (19, 20));
    }
}
