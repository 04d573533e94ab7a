//! The pipeline panel: the source line, then each step with its one-line
//! summary and the schema change it makes; the selected step is previewed.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::block;
use super::keys::Keys;
use crate::app::mode::Mode;
use crate::app::state::{Focus, State};
use crate::app::Action;
use crate::config::Theme;

fn schema_change(before: &polars::prelude::Schema, after: &polars::prelude::Schema) -> String {
    let added: Vec<&str> = after
        .iter_names()
        .filter(|n| before.get(n.as_str()).is_none())
        .map(|n| n.as_str())
        .collect();
    let removed = before
        .iter_names()
        .filter(|n| after.get(n.as_str()).is_none())
        .count();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("+{}", added.join(" +")));
    }
    if removed > 0 {
        parts.push(format!("−{removed} cols"));
    }
    if parts.is_empty() {
        parts.push(format!("{} cols", after.len()));
    }
    parts.join(" ")
}

/// The pipeline entry on screen line `y` of the panel `area`: the source
/// line, then two lines per step.
pub fn hit(s: &State, area: Rect, y: u16, full: bool) -> Option<super::Hit> {
    let line = y.checked_sub(area.y + 1)? as usize;
    let header = if full { 2 } else { 1 };
    if line < header {
        return Some(super::Hit::Step(0));
    }
    let k = (line - header) / 2 + 1;
    (k <= s.recipe.steps.len()).then_some(super::Hit::Step(k))
}

pub fn draw_panel(s: &State, theme: &Theme, keys: Keys, f: &mut Frame, area: Rect, full: bool) {
    let focused = s.focus == Focus::Pipeline;
    let outer = block(" pipeline ", theme, focused);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let mark = |k: usize| if s.at_step == k { "▶ " } else { "  " };
    let sel = |k: usize| {
        if s.at_step == k {
            theme.selected
        } else {
            theme.base
        }
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(mark(0), theme.accent),
        Span::styled("source", sel(0)),
        Span::styled(format!("  {} cols", s.source_schema.len()), theme.dtype),
    ])];
    if full {
        lines.push(Line::from(Span::styled(
            format!("    {}", s.source_line),
            theme.dtype,
        )));
    }
    let mut before = s.source_schema.as_ref().clone();
    for (i, step) in s.recipe.steps.iter().enumerate() {
        let k = i + 1;
        let after = s
            .step_schemas
            .get(i)
            .cloned()
            .unwrap_or_else(|| before.clone());
        lines.push(Line::from(vec![
            Span::styled(mark(k), theme.accent),
            Span::styled(format!("{k}. {}", step.summary()), sel(k)),
        ]));
        lines.push(Line::from(Span::styled(
            format!("     {}", schema_change(&before, &after)),
            theme.dtype,
        )));
        before = after;
    }
    if s.recipe.steps.is_empty() {
        let table = keys.in_mode(Mode::Table);
        lines.push(Line::from(Span::styled(
            format!(
                "  no steps yet: {} filter, {} derive, {} frequency",
                table.label(Action::FilterPrompt),
                table.label(Action::DerivePrompt),
                table.label(Action::Frequency)
            ),
            theme.dtype,
        )));
    }
    if s.dirty() {
        lines.push(Line::from(Span::styled(
            "  (unsaved: :w FILE.toml)",
            theme.accent,
        )));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
