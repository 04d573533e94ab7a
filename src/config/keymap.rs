//! Keymaps: TOML files mapping keys to named actions per mode. The embedded
//! presets are the defaults; a file of the same name in the user's config
//! directory overrides them key by key. A broken user file is reported and
//! the preset used.

use std::collections::{BTreeMap, HashMap};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::Action;
pub use crate::app::mode::Mode;

pub const PRESETS: [(&str, &str); 2] = [
    ("default", include_str!("../../keymaps/default.toml")),
    ("simple", include_str!("../../keymaps/simple.toml")),
];

/// A key as the terminal reports it, normalised (shift folded into chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(e: KeyEvent) -> Key {
        Key {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `j`, `G`, `ctrl-d`, `shift-tab`, `enter`, `pagedown`, `f1`, `|`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => return Err(format!("unknown key `{s}`")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Delete => "delete".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::F(n) => format!("f{n}"),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("ctrl-{base}"),
            (_, true) => format!("alt-{base}"),
            _ => base,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: HashMap<(Mode, Key), Action>,
}

type RawKeymap = BTreeMap<String, BTreeMap<String, String>>;

fn parse_raw(text: &str) -> Result<RawKeymap, String> {
    toml::from_str(text).map_err(|e| e.message().to_string())
}

impl Keymap {
    /// Build from preset text, then apply `user` on top. Returns the keymap
    /// and a warning when the user file is broken (the preset is used).
    pub fn load(preset: &str, user: Option<&str>) -> (Keymap, Option<String>) {
        let mut km = Keymap::default();
        // Presets are tested to parse; an error here is a build bug.
        if let Err(e) = parse_raw(preset).and_then(|raw| km.apply(&raw)) {
            return (km, Some(format!("built-in keymap: {e}")));
        }
        let mut warning = None;
        if let Some(text) = user {
            let mut merged = km.clone();
            match parse_raw(text).and_then(|raw| merged.apply(&raw)) {
                Ok(()) => km = merged,
                Err(e) => warning = Some(format!("your keymap file was not used: {e}")),
            }
        }
        (km, warning)
    }

    pub fn preset(name: &str) -> Option<&'static str> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    fn apply(&mut self, raw: &RawKeymap) -> Result<(), String> {
        for (section, entries) in raw {
            let mode = Mode::ALL
                .into_iter()
                .find(|m| m.section() == section)
                .ok_or_else(|| {
                    format!("unknown mode [{section}] (table, pipeline, prompt, confirm)")
                })?;
            for (key, action) in entries {
                let k = Key::parse(key)?;
                let a = Action::from_name(action)
                    .ok_or_else(|| format!("[{section}] \"{key}\": unknown action `{action}`"))?;
                self.bindings.insert((mode, k), a);
            }
        }
        Ok(())
    }

    pub fn lookup(&self, mode: Mode, e: KeyEvent) -> Option<Action> {
        // Shift is folded into the character ('G'), so it is not compared.
        self.bindings.get(&(mode, Key::from_event(e))).copied()
    }

    /// Bindings of a mode grouped by action, for help screens.
    pub fn bindings(&self, mode: Mode) -> Vec<(Action, Vec<String>)> {
        let mut out: BTreeMap<usize, (Action, Vec<String>)> = BTreeMap::new();
        for ((m, k), a) in &self.bindings {
            if *m != mode {
                continue;
            }
            let idx = Action::ALL
                .iter()
                .position(|x| x == a)
                .unwrap_or(usize::MAX);
            out.entry(idx).or_insert((*a, Vec::new())).1.push(k.label());
        }
        out.into_values()
            .map(|(a, mut keys)| {
                keys.sort_by_key(|k| (k.len(), k.clone()));
                (a, keys)
            })
            .collect()
    }

    pub fn mode_name(mode: Mode) -> &'static str {
        mode.section()
    }

    /// The label of the key that runs `action` in `mode` (the shortest, so
    /// hints stay short), or in another mode when `mode` has none.
    pub fn key_for(&self, mode: Mode, action: Action) -> Option<String> {
        let in_mode = |m: Mode| {
            self.bindings
                .iter()
                .filter(|((bm, _), a)| *bm == m && **a == action)
                .map(|((_, k), _)| k.label())
                .min_by_key(|l| (l.chars().count(), l.clone()))
        };
        in_mode(mode).or_else(|| Mode::ALL.into_iter().find_map(in_mode))
    }

    /// Whether some key in some mode has this label.
    pub fn binds_label(&self, label: &str) -> bool {
        self.bindings.keys().any(|(_, k)| k.label() == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_names_real_actions() {
        for (name, text) in PRESETS {
            let (km, warn) = Keymap::load(text, None);
            assert!(warn.is_none(), "{name}: {warn:?}");
            assert!(!km.bindings(Mode::Table).is_empty(), "{name}");
            assert!(!km.bindings(Mode::Prompt).is_empty(), "{name}");
        }
    }

    #[test]
    fn user_file_overrides_key_by_key_and_broken_files_fall_back() {
        let preset = Keymap::preset("default").unwrap();
        let (km, warn) = Keymap::load(
            preset,
            Some("[table]\n\"x\" = \"quit\"\n\"j\" = \"move_up\"\n"),
        );
        assert!(warn.is_none());
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.lookup(Mode::Table, key('x')), Some(Action::Quit));
        assert_eq!(km.lookup(Mode::Table, key('j')), Some(Action::MoveUp));
        assert_eq!(km.lookup(Mode::Table, key('k')), Some(Action::MoveUp));
        let (km, warn) = Keymap::load(preset, Some("[table]\n\"j\" = \"fly\"\n"));
        assert!(warn.unwrap().contains("unknown action `fly`"));
        assert_eq!(km.lookup(Mode::Table, key('j')), Some(Action::MoveDown));
        let (_, warn) = Keymap::load(preset, Some("not toml ["));
        assert!(warn.is_some());
    }

    #[test]
    fn keys_parse() {
        assert_eq!(Key::parse("ctrl-d").unwrap().label(), "ctrl-d");
        assert_eq!(Key::parse("G").unwrap().code, KeyCode::Char('G'));
        assert_eq!(Key::parse("pagedown").unwrap().code, KeyCode::PageDown);
        assert!(Key::parse("hyper-x").is_err());
    }
}
