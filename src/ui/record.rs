//! The record view: every field of one row, whole — name, dtype and value,
//! long text wrapped, nested values (structs, lists) pretty-printed as JSON.
//! Drawn over the table; it scrolls so the selected field is on screen.

use polars::prelude::*;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::block;
use super::keys::Keys;
use crate::app::action::Action;
use crate::app::state::State;
use crate::cell::{cell_text, json_value};
use crate::config::theme::Theme;
use crate::engine::input::spec::dtype_name;

/// A field's value as the record shows it: nested values as indented JSON,
/// everything else as the table's cell text.
fn value_text(v: &AnyValue) -> String {
    match v {
        AnyValue::Struct(..)
        | AnyValue::StructOwned(_)
        | AnyValue::List(_)
        | AnyValue::Array(..) => {
            serde_json::to_string_pretty(&json_value(v)).unwrap_or_else(|_| cell_text(v))
        }
        _ => cell_text(v),
    }
}

/// `text` cut into lines of at most `width` characters (each of its own
/// lines on its own), so nothing is hidden.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
        }
        for piece in chars.chunks(width) {
            out.push(piece.iter().collect());
        }
    }
    out
}

/// The lines of record `row` of `df` at `width`, and the range of lines the
/// `selected` field takes.
pub fn record_lines(
    df: &DataFrame,
    row: usize,
    selected: usize,
    width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, std::ops::Range<usize>) {
    let mut lines = Vec::new();
    let mut chosen = 0..0;
    for (i, c) in df.columns().iter().enumerate() {
        let start = lines.len();
        let name_style = if i == selected {
            theme.selected
        } else {
            theme.header
        };
        lines.push(Line::from(vec![
            Span::styled(c.name().to_string(), name_style),
            Span::raw("  "),
            Span::styled(dtype_name(c.dtype()), theme.dtype),
        ]));
        let v = c.get(row).unwrap_or(AnyValue::Null);
        let style = if v.is_null() { theme.null } else { theme.base };
        let text = if v.is_null() {
            "null".to_string()
        } else {
            value_text(&v)
        };
        for piece in wrap(&text, width.saturating_sub(2)) {
            lines.push(Line::from(Span::styled(format!("  {piece}"), style)));
        }
        if i == selected {
            chosen = start..lines.len();
        }
    }
    (lines, chosen)
}

pub fn draw_record(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let Some(df) = s.table_frame() else {
        return;
    };
    let n = df.height();
    let row = s.table.row.min(n.saturating_sub(1));
    let hints = keys.hints(&[
        (Action::MoveDown, "field"),
        (Action::MoveRight, "next record"),
        (Action::MoveLeft, "previous"),
        (Action::CopyCell, "copy field"),
        (Action::ViewRecord, "back"),
    ]);
    let title = format!(" record {} of {n} · {hints} ", row + 1);
    let outer = block(&title, theme, true);
    let inner = outer.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(outer, area);
    let (lines, chosen) = record_lines(df, row, s.table.col, inner.width as usize, theme);
    // Scroll just enough that the selected field is on screen (its start
    // first, when it is taller than the view).
    let h = inner.height as usize;
    let top = chosen.start.min(chosen.end.saturating_sub(h));
    let shown: Vec<Line> = lines.into_iter().skip(top).take(h).collect();
    f.render_widget(Paragraph::new(shown).style(theme.base), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character() {
        let w = wrap("abcdefghij\nxy\n\né日本", 4);
        assert_eq!(w, vec!["abcd", "efgh", "ij", "xy", "", "é日本"]);
        assert_eq!(w.concat(), "abcdefghijxyé日本");
    }
}
