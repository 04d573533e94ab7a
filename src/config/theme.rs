//! Themes: colours and border style, embedded presets overridable by a user
//! file of the same name. `mono` has no colour and ASCII borders.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const PRESETS: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    ascii: bool,
    fg: String,
    bg: String,
    header: String,
    dtype: String,
    selected_bg: String,
    selected_fg: String,
    row_number: String,
    null: String,
    border: String,
    accent: String,
    error: String,
    status_bg: String,
    status_fg: String,
    /// Task states in the graph and progress views (optional so older user
    /// files keep working).
    #[serde(default)]
    task_queued: Option<String>,
    #[serde(default)]
    task_running: Option<String>,
    #[serde(default)]
    task_done: Option<String>,
    #[serde(default)]
    task_failed: Option<String>,
    #[serde(default)]
    task_cancelled: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub ascii: bool,
    pub base: Style,
    pub header: Style,
    pub dtype: Style,
    pub selected: Style,
    pub row_number: Style,
    pub null: Style,
    pub border: Style,
    pub accent: Style,
    pub error: Style,
    pub status: Style,
    pub task_queued: Style,
    pub task_running: Style,
    pub task_done: Style,
    pub task_failed: Style,
    pub task_cancelled: Style,
}

fn color(s: &str) -> Result<Color, String> {
    s.parse::<Color>()
        .map_err(|_| format!("unknown colour `{s}` (a name like cyan, or #rrggbb)"))
}

impl Theme {
    pub fn preset(name: &str) -> Option<&'static str> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    pub fn parse(text: &str) -> Result<Theme, String> {
        let r: RawTheme = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let fg = color(&r.fg)?;
        let bg = color(&r.bg)?;
        let task = |v: &Option<String>, default: &str| -> Result<Style, String> {
            if r.ascii {
                return Ok(Style::default());
            }
            Ok(Style::default().fg(color(v.as_deref().unwrap_or(default))?))
        };
        Ok(Theme {
            ascii: r.ascii,
            base: Style::default().fg(fg).bg(bg),
            header: Style::default()
                .fg(color(&r.header)?)
                .add_modifier(Modifier::BOLD),
            dtype: Style::default().fg(color(&r.dtype)?),
            // Without colours the selection is shown in reverse video.
            selected: if r.ascii {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
                    .fg(color(&r.selected_fg)?)
                    .bg(color(&r.selected_bg)?)
            },
            row_number: Style::default().fg(color(&r.row_number)?),
            null: Style::default()
                .fg(color(&r.null)?)
                .add_modifier(Modifier::ITALIC),
            border: Style::default().fg(color(&r.border)?),
            accent: Style::default().fg(color(&r.accent)?),
            error: Style::default()
                .fg(color(&r.error)?)
                .add_modifier(Modifier::BOLD),
            status: Style::default()
                .fg(color(&r.status_fg)?)
                .bg(color(&r.status_bg)?),
            task_queued: task(&r.task_queued, "darkgray")?,
            task_running: task(&r.task_running, "yellow")?,
            task_done: task(&r.task_done, "green")?,
            task_failed: task(&r.task_failed, "red")?,
            task_cancelled: task(&r.task_cancelled, "magenta")?,
        })
    }

    /// The named preset with a user file on top (whole-file override; a
    /// broken file is reported and the preset used).
    pub fn load(name: &str, user: Option<&str>) -> (Theme, Option<String>) {
        let preset = Theme::preset(name).unwrap_or(PRESETS[0].1);
        let base = Theme::parse(preset).expect("embedded themes are valid");
        match user.map(Theme::parse) {
            Some(Ok(t)) => (t, None),
            Some(Err(e)) => (base, Some(format!("your theme file was not used: {e}"))),
            None => (base, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_bad_files_fall_back() {
        for (n, t) in PRESETS {
            Theme::parse(t).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
        let (t, warn) = Theme::load("mono", Some("ascii = true\n"));
        assert!(t.ascii && warn.unwrap().contains("not used"));
    }
}
