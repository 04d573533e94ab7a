//! Everything the screen shows, as plain data. `draw` reads it; only
//! `update` changes it.

use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::{DataFrame, Schema};
use ratatui_textarea::TextArea;

use crate::engine::apply::JoinTables;
use crate::engine::recipe::{Recipe, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Table,
    Pipeline,
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    Pipeline,
}

/// What a mouse click lands on (found by `ui::hit_test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Cell {
        row: usize,
        col: usize,
    },
    /// Pipeline entry: 0 is the source, k is step k.
    Step(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Derive,
    GroupBy {
        key: String,
    },
    Search,
    Command,
    /// Re-edit the text of step `index`.
    Edit {
        index: usize,
    },
}

impl PromptKind {
    pub fn label(&self) -> String {
        match self {
            PromptKind::Filter => "filter".into(),
            PromptKind::Derive => "new column (name = expr)".into(),
            PromptKind::GroupBy { key } => {
                format!("group by {key}: aggregations (name = sum(x), ...)")
            }
            PromptKind::Search => "search".into(),
            PromptKind::Command => "command".into(),
            PromptKind::Edit { index } => format!("edit step {}", index + 1),
        }
    }
}

#[derive(Clone)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: TextArea<'static>,
    /// The engine's verdict on the last submit, shown under the input.
    pub error: Option<String>,
}

impl Prompt {
    pub fn new(kind: PromptKind, text: &str) -> Prompt {
        let mut input = TextArea::new(vec![text.to_string()]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        Prompt {
            kind,
            input,
            error: None,
        }
    }

    pub fn text(&self) -> String {
        self.input.lines().join("\n")
    }
}

/// The rows on screen and where they came from.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub frame: Option<DataFrame>,
    pub loading: bool,
    pub error: Option<String>,
    /// Computed on the first partitions only (a blocking step).
    pub partial: bool,
    pub partitions_read: usize,
    pub elapsed_ms: u64,
}

pub struct State {
    pub source_line: String,
    pub source_schema: Arc<Schema>,
    pub partitions: usize,
    pub recipe: Recipe,
    /// Directory recipe paths are relative to.
    pub base: PathBuf,
    pub joins: Arc<JoinTables>,
    /// Schema after each step (`step_schemas[k]`: after step k).
    pub step_schemas: Vec<Schema>,
    /// How many steps the preview applies (0: the source itself).
    pub at_step: usize,
    pub view: View,
    pub focus: Focus,
    pub preview: Preview,
    pub take: bool,
    pub seed: u64,
    pub rows: usize,
    pub cursor_row: usize,
    pub cursor_col: usize,
    pub row_offset: usize,
    pub col_offset: usize,
    /// Rows that fit on screen, set by the runtime from the terminal size.
    pub page: usize,
    pub prompt: Option<Prompt>,
    pub status: Option<(String, bool)>,
    pub undo: Vec<Vec<Step>>,
    pub redo: Vec<Vec<Step>>,
    pub saved: Vec<Step>,
    pub quit_armed: bool,
    pub show_help: bool,
    pub search: Option<String>,
    pub request: u64,
    pub should_quit: bool,
}

impl State {
    pub fn new(
        recipe: Recipe,
        base: PathBuf,
        source_line: String,
        source_schema: Arc<Schema>,
        partitions: usize,
        joins: Arc<JoinTables>,
    ) -> State {
        let steps = recipe.steps.clone();
        let mut s = State {
            source_line,
            source_schema,
            partitions,
            at_step: steps.len(),
            recipe,
            base,
            joins,
            step_schemas: Vec::new(),
            view: View::Table,
            focus: Focus::Table,
            preview: Preview::default(),
            take: false,
            seed: 0,
            rows: 200,
            cursor_row: 0,
            cursor_col: 0,
            row_offset: 0,
            col_offset: 0,
            page: 20,
            prompt: None,
            status: None,
            undo: Vec::new(),
            redo: Vec::new(),
            saved: steps,
            quit_armed: false,
            show_help: false,
            search: None,
            request: 0,
            should_quit: false,
        };
        s.step_schemas =
            crate::engine::apply::schemas_after_steps(&s.source_schema, &s.recipe.steps, &s.joins)
                .unwrap_or_default();
        s
    }

    /// The schema of the previewed frame.
    pub fn current_schema(&self) -> &Schema {
        if self.at_step == 0 {
            &self.source_schema
        } else {
            self.step_schemas
                .get(self.at_step - 1)
                .unwrap_or(&self.source_schema)
        }
    }

    pub fn column_names(&self) -> Vec<String> {
        match &self.preview.frame {
            Some(df) => df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            None => self
                .current_schema()
                .iter_names()
                .map(|n| n.to_string())
                .collect(),
        }
    }

    pub fn current_column(&self) -> Option<String> {
        self.column_names().get(self.cursor_col).cloned()
    }

    pub fn dirty(&self) -> bool {
        self.recipe.steps != self.saved
    }

    pub fn frame_height(&self) -> usize {
        self.preview.frame.as_ref().map_or(0, |f| f.height())
    }
}
