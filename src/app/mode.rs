//! Which keymap section reads the next key: decided here, in one place,
//! from the state (a question waiting, a prompt open, the focused panel).

use super::state::{Focus, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Table,
    Pipeline,
    Prompt,
    /// A question on screen (queue the job or replace the running one).
    Confirm,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Table, Mode::Pipeline, Mode::Prompt, Mode::Confirm];

    /// Its section name in keymap files.
    pub fn section(self) -> &'static str {
        match self {
            Mode::Table => "table",
            Mode::Pipeline => "pipeline",
            Mode::Prompt => "prompt",
            Mode::Confirm => "confirm",
        }
    }
}

impl State {
    /// The mode keys are read in now.
    pub fn mode(&self) -> Mode {
        if self.confirm.is_some() {
            Mode::Confirm
        } else if self.prompt.is_some() {
            Mode::Prompt
        } else if self.focus == Focus::Pipeline {
            Mode::Pipeline
        } else {
            Mode::Table
        }
    }
}
