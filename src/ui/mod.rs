//! `draw(&State, ...)`: the whole screen from a snapshot of state. Nothing
//! here changes state or touches the engine.

mod chart;
mod graph;
mod insight;
pub mod keys;
mod pipeline;
mod progress;
mod record;
mod table;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::mode::Mode;
use crate::app::state::{Focus, State, View};
use crate::app::Action;
use crate::config::{Keymap, Theme};
use keys::Keys;

/// Below this size panels collapse to the table alone.
pub const MIN_FULL_WIDTH: u16 = 80;

pub fn block<'a>(title: &'a str, theme: &Theme, focused: bool) -> Block<'a> {
    let style = if focused { theme.accent } else { theme.border };
    Block::default()
        .borders(Borders::ALL)
        .border_set(if theme.ascii {
            border::Set {
                top_left: "+",
                top_right: "+",
                bottom_left: "+",
                bottom_right: "+",
                vertical_left: "|",
                vertical_right: "|",
                horizontal_top: "-",
                horizontal_bottom: "-",
            }
        } else {
            border::ROUNDED
        })
        .border_style(style)
        .title(Span::styled(title, style))
}

/// Where each part of the screen goes; shared by drawing and mouse hits.
pub struct Areas {
    pub title: Rect,
    pub table: Option<Rect>,
    pub panel: Option<Rect>,
    pub main: Rect,
    pub cell_line: Rect,
    pub prompt: Rect,
    pub status: Rect,
}

pub fn areas(s: &State, area: Rect) -> Areas {
    let prompt_h = if s.prompt.is_some() { 3 } else { 0 }
        + u16::from(s.prompt.as_ref().is_some_and(|p| p.error.is_some())) * 3;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(prompt_h),
            Constraint::Length(1),
        ])
        .split(area);
    let (table, panel) = match s.view {
        View::Table if area.width >= MIN_FULL_WIDTH && area.height >= 12 => {
            let cols = Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Min(40), Constraint::Length(34)])
                .split(rows[1]);
            (Some(cols[0]), Some(cols[1]))
        }
        View::Table | View::Result => (Some(rows[1]), None),
        View::Pipeline => (None, Some(rows[1])),
        View::Schema
        | View::Graph
        | View::Progress
        | View::Describe
        | View::Frequency
        | View::Histogram
        | View::Chart => (None, None),
    };
    Areas {
        title: rows[0],
        table,
        panel,
        main: rows[1],
        cell_line: rows[2],
        prompt: rows[3],
        status: rows[4],
    }
}

pub use crate::app::state::Hit;

pub fn hit_test(s: &State, area: Rect, x: u16, y: u16) -> Option<Hit> {
    if s.show_help || s.record_open || s.prompt.is_some() || area.width < 20 || area.height < 5 {
        return None;
    }
    let a = areas(s, area);
    let inside = |r: Rect| x > r.x && x < r.x + r.width - 1 && y > r.y && y < r.y + r.height - 1;
    if let Some(t) = a.table.filter(|t| inside(*t)) {
        return table::hit(s, t, x, y);
    }
    if let Some(p) = a.panel.filter(|p| inside(*p)) {
        return pipeline::hit(s, p, y, s.view == View::Pipeline);
    }
    None
}

pub fn draw(s: &State, theme: &Theme, keymap: &Keymap, f: &mut Frame) {
    let area = f.area();
    f.render_widget(Block::default().style(theme.base), area);
    if area.width < 20 || area.height < 5 {
        let msg = Paragraph::new("quarry: the terminal is too small (need 20×5)")
            .wrap(Wrap { trim: true });
        f.render_widget(msg, area);
        return;
    }
    let a = areas(s, area);
    // Hints inside the views name the keys of the panel that has focus.
    let view_mode = if s.focus == Focus::Pipeline {
        Mode::Pipeline
    } else {
        Mode::Table
    };
    let keys = Keys::new(keymap, view_mode, theme);
    draw_title(s, theme, f, a.title);
    if let Some(t) = a.table {
        table::draw_table(s, theme, f, t);
    }
    if let Some(p) = a.panel {
        pipeline::draw_panel(s, theme, keys, f, p, s.view == View::Pipeline);
    }
    match s.view {
        View::Schema => table::draw_schema(s, theme, keys, f, a.main),
        View::Graph => graph::draw_graph(s, theme, keys, f, a.main),
        View::Progress => progress::draw_progress(s, theme, keys, f, a.main),
        View::Describe => insight::draw_describe(s, theme, keys, f, a.main),
        View::Frequency => insight::draw_frequency(s, theme, keys, f, a.main),
        View::Histogram => insight::draw_histogram(s, theme, keys, f, a.main),
        View::Chart => chart::draw_chart(s, theme, keys, f, a.main),
        _ => {}
    }
    if s.record_open && matches!(s.view, View::Table | View::Result) {
        record::draw_record(s, theme, keys, f, a.main);
    }
    draw_cell_line(s, theme, f, a.cell_line);
    if s.prompt.is_some() {
        draw_prompt(s, theme, f, a.prompt);
    }
    draw_status(s, theme, keymap, f, a.status);
    if s.show_help {
        draw_help(s, theme, keymap, f, area);
    }
    if s.confirm.is_some() {
        draw_confirm(theme, keys.in_mode(Mode::Confirm), f, area);
    }
}

fn draw_confirm(theme: &Theme, keys: Keys, f: &mut Frame, area: Rect) {
    let w = area.width.min(60);
    let h = 6.min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    let lines = vec![
        Line::raw("A job is running."),
        Line::from(vec![
            keys.span(Action::QueueJob),
            Span::raw(" queue this one after it   "),
            keys.span(Action::ReplaceJob),
            Span::raw(" cancel it and start this one   "),
            keys.span(Action::CancelPrompt),
            Span::raw(" never mind"),
        ]),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(block(" compute ", theme, true)),
        r,
    );
}

fn draw_title(s: &State, theme: &Theme, f: &mut Frame, area: Rect) {
    let mode = if s.take { "TAKE" } else { "HEAD" };
    let step = format!("step {}/{}", s.at_step, s.recipe.steps.len());
    let load = if s.preview.loading {
        " · loading…".to_string()
    } else if let Some(k) = s.preview.from_result {
        format!(" · on the computed result of step {k}")
    } else if s.preview.partial {
        format!(
            " · partial: first {} partition(s)",
            s.preview.partitions_read
        )
    } else {
        String::new()
    };
    let mut spans = vec![
        Span::styled(" quarry ", theme.header),
        Span::raw(s.source_line.clone()),
        Span::styled(format!("  [{mode} · {step}{load}]"), theme.accent),
    ];
    if let Some(j) = s.jobs.current.as_ref().filter(|j| j.is_running()) {
        let n = j.partitions();
        let done = (0..n)
            .filter(|&p| j.partition_state(p) == crate::app::compute::TaskState::Done)
            .count();
        spans.push(Span::styled(
            format!("  ⟳ job {done}/{n} partitions"),
            theme.task_running,
        ));
    }
    let line = Line::from(spans);
    f.render_widget(Paragraph::new(line), area);
}

/// The current cell, shown whole.
fn draw_cell_line(s: &State, theme: &Theme, f: &mut Frame, area: Rect) {
    let text = match s.table_frame() {
        Some(df) => match (df.columns().get(s.table.col), s.table.row < df.height()) {
            (Some(c), true) => {
                let v = c
                    .get(s.table.row)
                    .map(|v| crate::cell::cell_text(&v))
                    .unwrap_or_default();
                format!(
                    "{}[{}]: {}",
                    c.name(),
                    s.table.row + 1,
                    v.replace('\n', "↵").replace('\t', " ")
                )
            }
            _ => String::new(),
        },
        None => String::new(),
    };
    f.render_widget(Paragraph::new(Span::styled(text, theme.dtype)), area);
}

fn draw_prompt(s: &State, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(p) = &s.prompt else { return };
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(3), Constraint::Min(0)])
        .split(area);
    let title = p.kind.label();
    let mut input = p.input.clone();
    input.set_block(block(&title, theme, true));
    input.set_cursor_line_style(Style::default());
    f.render_widget(&input, parts[0]);
    if let Some(e) = &p.error {
        f.render_widget(
            Paragraph::new(e.as_str())
                .style(theme.error)
                .wrap(Wrap { trim: false }),
            parts[1],
        );
    }
}

fn draw_status(s: &State, theme: &Theme, keymap: &Keymap, f: &mut Frame, area: Rect) {
    let mode = if s.focus == Focus::Pipeline {
        Mode::Pipeline
    } else {
        Mode::Table
    };
    let keys = Keys::new(keymap, mode, theme);
    let (text, style) = match &s.status {
        Some(st) => {
            let text = st.render(|a| keys.label(a));
            if st.error {
                (text.lines().next().unwrap_or("").to_string(), theme.error)
            } else {
                (text, theme.status)
            }
        }
        None => {
            let hint = keymap
                .bindings(mode)
                .into_iter()
                .filter(|(a, _)| {
                    use crate::app::Action::*;
                    matches!(
                        a,
                        FilterPrompt
                            | Frequency
                            | Undo
                            | ToggleHelp
                            | Quit
                            | DeleteStep
                            | ViewTable
                            | ViewPipeline
                            | ViewSchema
                            | ViewGraph
                            | ViewProgress
                            | Compute
                            | WriteResult
                    )
                })
                .map(|(a, labels)| format!("{} {}", labels[0], a.short()))
                .collect::<Vec<_>>()
                .join("  ");
            (hint, theme.status)
        }
    };
    f.render_widget(Paragraph::new(format!(" {text}")).style(style), area);
}

fn draw_help(s: &State, theme: &Theme, keymap: &Keymap, f: &mut Frame, area: Rect) {
    let w = area.width.min(76);
    let h = area.height.saturating_sub(2).min(40);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    f.render_widget(Clear, r);
    let mut lines = Vec::new();
    for mode in Mode::ALL {
        lines.push(Line::from(Span::styled(
            format!("{} keys", Keymap::mode_name(mode)),
            theme.header,
        )));
        for (a, keys) in keymap.bindings(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", keys.join(" ")), theme.accent),
                Span::raw(a.describe()),
            ]));
        }
        lines.push(Line::raw(""));
    }
    let prompt_keys = Keys::new(keymap, Mode::Prompt, theme);
    let table_keys = Keys::new(keymap, Mode::Table, theme);
    lines.push(Line::from(Span::styled(
        format!(
            "commands ({} then one of these; {} adds the step after the selected one)",
            table_keys.label(Action::CommandPalette),
            prompt_keys.label(Action::Submit)
        ),
        theme.header,
    )));
    for (cmd, what) in crate::app::commands::STEP_COMMANDS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {cmd:<34}"), theme.accent),
            Span::raw(*what),
        ]));
    }
    for (cmd, what) in [
        ("w FILE.toml", "save the recipe"),
        ("e FILE.toml", "load a recipe"),
        ("q / q!", "quit / quit without asking"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {cmd:<34}"), theme.accent),
            Span::raw(what),
        ]));
    }
    // Scrolled with the movement keys; clamped so the last line stays reachable.
    let inner = r.height.saturating_sub(2) as usize;
    let top = s.help_scroll.min(lines.len().saturating_sub(inner));
    f.render_widget(
        Paragraph::new(lines)
            .scroll((top as u16, 0))
            .block(block(
                &format!(
                    " help ({} closes, {}/{} scroll) ",
                    table_keys.label(Action::ToggleHelp),
                    table_keys.label(Action::MoveDown),
                    table_keys.label(Action::MoveUp)
                ),
                theme,
                true,
            ))
            .style(theme.base.add_modifier(Modifier::empty())),
        r,
    );
}
