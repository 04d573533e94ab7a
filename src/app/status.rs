//! The status line's message: text with references to actions, not to
//! keys. The screen renders each reference as the key the active keymap
//! binds to it, so a message never names a key another keymap lacks.

use super::action::Action;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// The key bound to this action (in the mode the screen is in).
    Key(Action),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub pieces: Vec<Piece>,
    pub error: bool,
}

impl Status {
    pub fn info(text: impl Into<String>) -> Status {
        Status {
            pieces: vec![Piece::Text(text.into())],
            error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Status {
        Status {
            pieces: vec![Piece::Text(text.into())],
            error: true,
        }
    }

    pub fn new(text: impl Into<String>, error: bool) -> Status {
        Status {
            pieces: vec![Piece::Text(text.into())],
            error,
        }
    }

    /// Append a reference to the key of `action`.
    pub fn key(mut self, action: Action) -> Status {
        self.pieces.push(Piece::Key(action));
        self
    }

    /// Append text.
    pub fn then(mut self, text: impl Into<String>) -> Status {
        self.pieces.push(Piece::Text(text.into()));
        self
    }

    /// The message with each key rendered by `key_of`.
    pub fn render(&self, key_of: impl Fn(Action) -> String) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Key(a) => key_of(*a),
            })
            .collect()
    }

    /// The message with keys as action names (`⟨quit⟩`), for logs and tests.
    pub fn text(&self) -> String {
        self.render(|a| format!("⟨{}⟩", a.name()))
    }

    /// The actions the message refers to.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Key(a) => Some(*a),
            Piece::Text(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_through_the_given_keymap() {
        let s = Status::info("unsaved changes; ")
            .key(Action::Quit)
            .then(" again quits");
        assert_eq!(
            s.render(|_| "ctrl-q".into()),
            "unsaved changes; ctrl-q again quits"
        );
        assert_eq!(s.text(), "unsaved changes; ⟨quit⟩ again quits");
        assert_eq!(s.actions().collect::<Vec<_>>(), vec![Action::Quit]);
    }
}
