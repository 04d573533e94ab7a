//! Key names on screen come from the active keymap: a hint refers to an
//! action, and this renders the key bound to it (in the mode the screen is
//! in). A hint for an action the keymap leaves unbound shows the action's
//! name in angle brackets, which the keymap tests look for.

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use crate::app::mode::Mode;
use crate::app::Action;
use crate::config::{Keymap, Theme};

#[derive(Clone, Copy)]
pub struct Keys<'a> {
    keymap: &'a Keymap,
    mode: Mode,
    style: Style,
}

impl<'a> Keys<'a> {
    pub fn new(keymap: &'a Keymap, mode: Mode, theme: &Theme) -> Keys<'a> {
        Keys {
            keymap,
            mode,
            style: theme.accent.add_modifier(Modifier::BOLD),
        }
    }

    /// The same keymap, read in another mode.
    pub fn in_mode(self, mode: Mode) -> Keys<'a> {
        Keys { mode, ..self }
    }

    /// The key for `action`, as text.
    pub fn label(&self, action: Action) -> String {
        self.keymap
            .key_for(self.mode, action)
            .unwrap_or_else(|| format!("⟨{}⟩", action.name()))
    }

    /// The key for `action`, styled as a key.
    pub fn span(&self, action: Action) -> Span<'static> {
        Span::styled(self.label(action), self.style)
    }

    /// `key text` pairs joined with ` · `, as plain text (for titles).
    pub fn hints(&self, pairs: &[(Action, &str)]) -> String {
        pairs
            .iter()
            .map(|(a, what)| format!("{} {what}", self.label(*a)))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}
