//! `update(&mut State, Msg) -> Vec<Effect>`: the only place state changes.
//! Pure: no terminal, no threads; engine work is requested as an Effect and
//! answered by a Msg. Plan checks (schemas after each step) run here because
//! they touch no data and take microseconds.

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use polars::prelude::{AnyValue, DataFrame};
use ratatui::crossterm::event::KeyEvent;

use super::action::Action;
use super::state::{Focus, Prompt, PromptKind, State, View};
use crate::engine::apply::{schemas_after_steps, JoinTables};
use crate::engine::recipe::{BoolOrMany, OneOrMany, Recipe, Step};
use crate::print::cell_text;

/// What the runtime tells the app.
pub enum Msg {
    Action(Action),
    /// A key that no binding claimed, typed into the open prompt.
    Key(KeyEvent),
    PreviewDone {
        request: u64,
        result: Result<PreviewData, String>,
    },
    Loaded(Result<(Recipe, PathBuf, Arc<JoinTables>), String>),
    Saved(Result<PathBuf, String>),
    /// Rows of table that fit on screen.
    Resize {
        rows: usize,
    },
    /// A mouse click on something.
    Click(super::state::Hit),
}

pub struct PreviewData {
    pub frame: DataFrame,
    pub partial: bool,
    pub partitions_read: usize,
    pub elapsed_ms: u64,
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Preview(PreviewRequest),
    Save { path: PathBuf, text: String },
    Load { path: PathBuf },
    Copy(String),
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRequest {
    pub request: u64,
    pub steps: Vec<Step>,
    pub rows: usize,
    /// `Some(seed)`: a random take instead of the head.
    pub take: Option<u64>,
}

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Action(a) => on_action(s, a),
        Msg::Key(k) => {
            if let Some(p) = &mut s.prompt {
                p.input.input(k);
                p.error = None;
            }
            vec![]
        }
        Msg::PreviewDone { request, result } => {
            if request != s.request {
                return vec![]; // stale: a newer request is on its way
            }
            s.preview.loading = false;
            match result {
                Ok(d) => {
                    s.preview.error = None;
                    s.preview.partial = d.partial;
                    s.preview.partitions_read = d.partitions_read;
                    s.preview.elapsed_ms = d.elapsed_ms;
                    s.preview.frame = Some(d.frame);
                    clamp_cursor(s);
                }
                Err(e) => {
                    s.preview.error = Some(e.clone());
                    s.status = Some((e, true));
                }
            }
            vec![]
        }
        Msg::Loaded(Ok((recipe, base, joins))) => {
            let old = s.recipe.steps.clone();
            s.recipe = recipe;
            s.base = base;
            s.joins = joins;
            s.saved = s.recipe.steps.clone();
            s.undo.push(old);
            s.redo.clear();
            s.at_step = s.recipe.steps.len();
            refresh_schemas(s);
            s.status = Some(("recipe loaded".into(), false));
            request_preview(s)
        }
        Msg::Loaded(Err(e)) | Msg::Saved(Err(e)) => {
            s.status = Some((e, true));
            vec![]
        }
        Msg::Saved(Ok(path)) => {
            s.saved = s.recipe.steps.clone();
            s.status = Some((format!("saved {}", path.display()), false));
            vec![]
        }
        Msg::Click(super::state::Hit::Cell { row, col }) => {
            s.focus = Focus::Table;
            s.cursor_row = row;
            s.cursor_col = col;
            clamp_cursor(s);
            vec![]
        }
        Msg::Click(super::state::Hit::Step(k)) => {
            s.focus = Focus::Pipeline;
            if k != s.at_step && k <= s.recipe.steps.len() {
                s.at_step = k;
                return request_preview(s);
            }
            vec![]
        }
        Msg::Resize { rows } => {
            s.page = rows.max(1);
            clamp_cursor(s);
            vec![]
        }
    }
}

fn on_action(s: &mut State, a: Action) -> Vec<Effect> {
    if s.prompt.is_some() {
        return match a {
            Action::Submit => submit_prompt(s),
            Action::CancelPrompt => {
                s.prompt = None;
                vec![]
            }
            Action::Complete => {
                complete(s);
                vec![]
            }
            _ => vec![],
        };
    }
    if a != Action::Quit {
        s.quit_armed = false;
    }
    match a {
        Action::MoveDown | Action::MoveUp | Action::Top | Action::Bottom
            if s.focus == Focus::Pipeline =>
        {
            let last = s.recipe.steps.len();
            let at = match a {
                Action::MoveDown => (s.at_step + 1).min(last),
                Action::MoveUp => s.at_step.saturating_sub(1),
                Action::Top => 0,
                _ => last,
            };
            if at != s.at_step {
                s.at_step = at;
                return request_preview(s);
            }
            vec![]
        }
        Action::MoveDown => move_rows(s, 1),
        Action::MoveUp => move_rows(s, -1),
        Action::PageDown => move_rows(s, s.page as i64),
        Action::PageUp => move_rows(s, -(s.page as i64)),
        Action::HalfPageDown => move_rows(s, (s.page / 2).max(1) as i64),
        Action::HalfPageUp => move_rows(s, -((s.page / 2).max(1) as i64)),
        Action::Top => move_rows(s, i64::MIN / 2),
        Action::Bottom => move_rows(s, i64::MAX / 2),
        Action::MoveLeft => {
            s.cursor_col = s.cursor_col.saturating_sub(1);
            s.col_offset = s.col_offset.min(s.cursor_col);
            vec![]
        }
        Action::MoveRight => {
            let n = s.column_names().len();
            s.cursor_col = (s.cursor_col + 1).min(n.saturating_sub(1));
            vec![]
        }
        Action::FirstColumn => {
            s.cursor_col = 0;
            s.col_offset = 0;
            vec![]
        }
        Action::LastColumn => {
            s.cursor_col = s.column_names().len().saturating_sub(1);
            vec![]
        }
        Action::ViewTable => set_view(s, View::Table),
        Action::ViewPipeline => set_view(s, View::Pipeline),
        Action::ViewSchema => set_view(s, View::Schema),
        Action::ToggleHelp => {
            s.show_help = !s.show_help;
            vec![]
        }
        Action::FocusPipeline => {
            s.focus = Focus::Pipeline;
            vec![]
        }
        Action::FocusTable => {
            s.focus = Focus::Table;
            vec![]
        }
        Action::FilterPrompt => {
            let text = match (s.current_column(), current_value(s)) {
                (Some(c), Some(AnyValue::Null)) => format!("{} IS NULL", ident(&c)),
                (Some(c), Some(v)) if is_textual(&v) => {
                    format!("{} = '{}'", ident(&c), cell_text(&v).replace('\'', "''"))
                }
                (Some(c), Some(v)) => format!("{} = {}", ident(&c), cell_text(&v)),
                (Some(c), None) => format!("{} ", ident(&c)),
                _ => String::new(),
            };
            open_prompt(s, PromptKind::Filter, &text)
        }
        Action::DerivePrompt => open_prompt(s, PromptKind::Derive, "new_column = "),
        Action::GroupByPrompt => match s.current_column() {
            Some(key) => open_prompt(s, PromptKind::GroupBy { key }, "n = count(*)"),
            None => vec![],
        },
        Action::SearchPrompt => {
            let last = s.search.clone().unwrap_or_default();
            open_prompt(s, PromptKind::Search, &last)
        }
        Action::CommandPalette => open_prompt(s, PromptKind::Command, ""),
        Action::SearchNext => search(s, true),
        Action::SearchPrev => search(s, false),
        Action::Frequency => with_column(s, |c| Step::ValueCounts { column: c }),
        Action::SortAscending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: None,
        }),
        Action::SortDescending => with_column(s, |c| Step::Sort {
            by: OneOrMany::One(c),
            descending: Some(BoolOrMany::One(true)),
        }),
        Action::DropColumn => with_column(s, |c| Step::Drop { columns: vec![c] }),
        Action::ToggleTake => {
            s.take = !s.take;
            s.seed = s.seed.wrapping_add(1);
            s.status = Some((
                if s.take {
                    "random take from a few partitions".into()
                } else {
                    "head: the first rows".into()
                },
                false,
            ));
            request_preview(s)
        }
        Action::CopyCell => match current_value(s) {
            Some(v) => {
                s.status = Some(("copied the cell".into(), false));
                vec![Effect::Copy(cell_text(&v))]
            }
            None => vec![],
        },
        Action::CopyRow => match &s.preview.frame {
            Some(df) if s.cursor_row < df.height() => {
                let row: Vec<String> = df
                    .columns()
                    .iter()
                    .map(|c| {
                        c.get(s.cursor_row)
                            .map(|v| cell_text(&v))
                            .unwrap_or_default()
                    })
                    .collect();
                s.status = Some((format!("copied row {}", s.cursor_row + 1), false));
                vec![Effect::Copy(row.join("\t"))]
            }
            _ => vec![],
        },
        Action::DeleteStep => {
            if s.at_step == 0 {
                return vec![];
            }
            let mut steps = s.recipe.steps.clone();
            steps.remove(s.at_step - 1);
            let at = s.at_step - 1;
            adopt_steps(s, steps, at, None)
        }
        Action::MoveStepUp | Action::MoveStepDown => {
            let i = match s.at_step.checked_sub(1) {
                Some(i) => i,
                None => return vec![],
            };
            let j = if a == Action::MoveStepUp {
                match i.checked_sub(1) {
                    Some(j) => j,
                    None => return vec![],
                }
            } else if i + 1 < s.recipe.steps.len() {
                i + 1
            } else {
                return vec![];
            };
            let mut steps = s.recipe.steps.clone();
            steps.swap(i, j);
            adopt_steps(s, steps, j + 1, None)
        }
        Action::EditStep => {
            let Some(i) = s.at_step.checked_sub(1) else {
                return vec![];
            };
            match edit_text(&s.recipe.steps[i]) {
                Some(t) => open_prompt(s, PromptKind::Edit { index: i }, &t),
                None => {
                    s.status = Some((
                        format!(
                            "a {} step is edited in the recipe file (:w FILE.toml)",
                            s.recipe.steps[i].op()
                        ),
                        true,
                    ));
                    vec![]
                }
            }
        }
        Action::Undo => match s.undo.pop() {
            Some(prev) => {
                let cur = std::mem::replace(&mut s.recipe.steps, prev);
                s.redo.push(cur);
                s.at_step = s.recipe.steps.len();
                refresh_schemas(s);
                request_preview(s)
            }
            None => {
                s.status = Some(("nothing to undo".into(), false));
                vec![]
            }
        },
        Action::Redo => match s.redo.pop() {
            Some(next) => {
                let cur = std::mem::replace(&mut s.recipe.steps, next);
                s.undo.push(cur);
                s.at_step = s.recipe.steps.len();
                refresh_schemas(s);
                request_preview(s)
            }
            None => {
                s.status = Some(("nothing to redo".into(), false));
                vec![]
            }
        },
        Action::Quit => {
            if s.dirty() && !s.quit_armed {
                s.quit_armed = true;
                s.status = Some((
                    "the pipeline has unsaved changes: :w FILE.toml saves it; q again quits".into(),
                    true,
                ));
                vec![]
            } else {
                s.should_quit = true;
                vec![Effect::Quit]
            }
        }
        Action::Submit | Action::CancelPrompt | Action::Complete => vec![],
    }
}

fn set_view(s: &mut State, v: View) -> Vec<Effect> {
    s.view = v;
    s.focus = if v == View::Pipeline {
        Focus::Pipeline
    } else {
        Focus::Table
    };
    vec![]
}

fn open_prompt(s: &mut State, kind: PromptKind, text: &str) -> Vec<Effect> {
    s.prompt = Some(Prompt::new(kind, text));
    vec![]
}

fn move_rows(s: &mut State, delta: i64) -> Vec<Effect> {
    let h = s.frame_height();
    if h == 0 {
        return vec![];
    }
    let r = (s.cursor_row as i64 + delta).clamp(0, h as i64 - 1) as usize;
    s.cursor_row = r;
    clamp_cursor(s);
    vec![]
}

/// Keep the cursor inside the data and on screen.
fn clamp_cursor(s: &mut State) {
    let h = s.frame_height();
    s.cursor_row = s.cursor_row.min(h.saturating_sub(1));
    let ncols = s.column_names().len();
    s.cursor_col = s.cursor_col.min(ncols.saturating_sub(1));
    s.col_offset = s.col_offset.min(s.cursor_col);
    if s.cursor_row < s.row_offset {
        s.row_offset = s.cursor_row;
    } else if s.cursor_row >= s.row_offset + s.page {
        s.row_offset = s.cursor_row + 1 - s.page;
    }
}

fn current_value(s: &State) -> Option<AnyValue<'static>> {
    let df = s.preview.frame.as_ref()?;
    let col = df.columns().get(s.cursor_col)?;
    col.get(s.cursor_row).ok().map(|v| v.into_static())
}

fn is_textual(v: &AnyValue) -> bool {
    matches!(v, AnyValue::String(_) | AnyValue::StringOwned(_))
}

/// Quote a column name for SQL when it is not a plain identifier.
fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn with_column(s: &mut State, make: impl FnOnce(String) -> Step) -> Vec<Effect> {
    match s.current_column() {
        Some(c) => {
            let mut steps = s.recipe.steps.clone();
            steps.insert(s.at_step, make(c));
            let at = s.at_step + 1;
            adopt_steps(s, steps, at, None)
        }
        None => vec![],
    }
}

/// Check a new pipeline; on success make it current (undoable) and preview
/// it at `at`. An error goes to the prompt when one is open, else the status.
fn adopt_steps(
    s: &mut State,
    steps: Vec<Step>,
    at: usize,
    from_prompt: Option<Prompt>,
) -> Vec<Effect> {
    match schemas_after_steps(&s.source_schema, &steps, &s.joins) {
        Ok(schemas) => {
            let old = std::mem::replace(&mut s.recipe.steps, steps);
            s.undo.push(old);
            s.redo.clear();
            s.step_schemas = schemas;
            s.at_step = at;
            s.prompt = None;
            s.status = None;
            request_preview(s)
        }
        Err(e) => {
            let msg = e.to_string();
            match from_prompt {
                Some(mut p) => {
                    p.error = Some(msg);
                    s.prompt = Some(p);
                }
                None => s.status = Some((msg, true)),
            }
            vec![]
        }
    }
}

fn refresh_schemas(s: &mut State) {
    match schemas_after_steps(&s.source_schema, &s.recipe.steps, &s.joins) {
        Ok(v) => s.step_schemas = v,
        Err(e) => {
            s.step_schemas.clear();
            s.status = Some((e.to_string(), true));
        }
    }
}

pub fn request_preview(s: &mut State) -> Vec<Effect> {
    s.request += 1;
    s.preview.loading = true;
    vec![Effect::Preview(PreviewRequest {
        request: s.request,
        steps: s.recipe.steps[..s.at_step.min(s.recipe.steps.len())].to_vec(),
        rows: s.rows,
        take: s.take.then_some(s.seed),
    })]
}

/// `name = expr` pairs separated by commas at the top level.
fn parse_assignments(text: &str) -> Result<IndexMap<String, String>, String> {
    let mut out = IndexMap::new();
    let mut depth = 0i32;
    let mut quote = false;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for p in parts {
        let (name, expr) = p
            .split_once('=')
            .ok_or_else(|| format!("expected name = expression, got `{}`", p.trim()))?;
        let name = name.trim().trim_matches('"').to_string();
        if name.is_empty() || expr.trim().is_empty() {
            return Err(format!("expected name = expression, got `{}`", p.trim()));
        }
        out.insert(name, expr.trim().to_string());
    }
    Ok(out)
}

fn edit_text(step: &Step) -> Option<String> {
    match step {
        Step::Filter { expr } => Some(expr.clone()),
        Step::WithColumns { columns } => Some(
            columns
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Step::GroupBy { aggs, .. } => Some(
            aggs.iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

fn submit_prompt(s: &mut State) -> Vec<Effect> {
    let Some(p) = s.prompt.take() else {
        return vec![];
    };
    let text = p.text().trim().to_string();
    let fail = |s: &mut State, mut p: Prompt, msg: String| {
        p.error = Some(msg);
        s.prompt = Some(p);
        vec![]
    };
    match p.kind.clone() {
        PromptKind::Filter => {
            let mut steps = s.recipe.steps.clone();
            steps.insert(s.at_step, Step::Filter { expr: text });
            let at = s.at_step + 1;
            adopt_steps(s, steps, at, Some(p))
        }
        PromptKind::Derive => match parse_assignments(&text) {
            Ok(columns) => {
                let mut steps = s.recipe.steps.clone();
                steps.insert(s.at_step, Step::WithColumns { columns });
                let at = s.at_step + 1;
                adopt_steps(s, steps, at, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::GroupBy { key } => match parse_assignments(&text) {
            Ok(aggs) => {
                let mut steps = s.recipe.steps.clone();
                steps.insert(
                    s.at_step,
                    Step::GroupBy {
                        keys: vec![key],
                        aggs,
                    },
                );
                let at = s.at_step + 1;
                adopt_steps(s, steps, at, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::Edit { index } => {
            let new = match &s.recipe.steps[index] {
                Step::Filter { .. } => Ok(Step::Filter { expr: text }),
                Step::WithColumns { .. } => {
                    parse_assignments(&text).map(|columns| Step::WithColumns { columns })
                }
                Step::GroupBy { keys, .. } => parse_assignments(&text).map(|aggs| Step::GroupBy {
                    keys: keys.clone(),
                    aggs,
                }),
                other => Ok(other.clone()),
            };
            match new {
                Ok(step) => {
                    let mut steps = s.recipe.steps.clone();
                    steps[index] = step;
                    adopt_steps(s, steps, index + 1, Some(p))
                }
                Err(e) => fail(s, p, e),
            }
        }
        PromptKind::Search => {
            s.search = (!text.is_empty()).then_some(text);
            search(s, true)
        }
        PromptKind::Command => {
            let (cmd, arg) = text
                .split_once(char::is_whitespace)
                .map(|(c, a)| (c, a.trim()))
                .unwrap_or((text.as_str(), ""));
            let path = || s.base.join(arg);
            match cmd {
                "w" | "write" if !arg.is_empty() => vec![Effect::Save {
                    path: PathBuf::from(arg),
                    text: recipe_text(s),
                }],
                "e" | "edit" | "load" if !arg.is_empty() => vec![Effect::Load { path: path() }],
                "q" | "quit" => on_action(s, Action::Quit),
                "q!" => {
                    s.should_quit = true;
                    vec![Effect::Quit]
                }
                _ => fail(
                    s,
                    p,
                    "commands: w FILE.toml (save the recipe), e FILE.toml (load one), q, q!".into(),
                ),
            }
        }
    }
}

/// The recipe as TOML, with the source path made absolute so the file works
/// wherever it is saved.
fn recipe_text(s: &State) -> String {
    let mut r = s.recipe.clone();
    let p = PathBuf::from(&r.source.path);
    if p.is_relative() {
        r.source.path = s.base.join(p).to_string_lossy().into_owned();
    }
    r.to_toml()
}

/// Tab: complete the identifier before the cursor with a column name.
fn complete(s: &mut State) {
    let names = s.column_names();
    let Some(p) = &mut s.prompt else { return };
    let ratatui_textarea::DataCursor(row, col) = p.input.cursor();
    let line = p.input.lines()[row].clone();
    let before: String = line.chars().take(col).collect();
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if word.is_empty() {
        return;
    }
    let lw = word.to_lowercase();
    let column = names.iter().find(|n| n.to_lowercase().starts_with(&lw));
    let function = || {
        SQL_FUNCTIONS
            .iter()
            .find(|f| f.starts_with(&lw))
            .map(|f| format!("{f}("))
    };
    if let Some(full) = column.cloned().or_else(function) {
        let rest: String = full.chars().skip(word.chars().count()).collect();
        p.input.insert_str(rest);
    }
}

/// Functions offered by Tab after column names (polars SQL spellings).
const SQL_FUNCTIONS: [&str; 28] = [
    "abs",
    "avg",
    "cast",
    "ceil",
    "coalesce",
    "concat",
    "count",
    "date_part",
    "floor",
    "length",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "min",
    "nullif",
    "regexp_like",
    "replace",
    "round",
    "rtrim",
    "split_part",
    "sqrt",
    "starts_with",
    "strptime",
    "substr",
    "sum",
    "trim",
    "upper",
];

fn search(s: &mut State, forward: bool) -> Vec<Effect> {
    let Some(needle) = s.search.clone().map(|n| n.to_lowercase()) else {
        return vec![];
    };
    let Some(df) = &s.preview.frame else {
        return vec![];
    };
    let (h, w) = (df.height(), df.width());
    if h == 0 || w == 0 {
        return vec![];
    }
    let total = h * w;
    let start = s.cursor_row * w + s.cursor_col;
    for k in 1..=total {
        let idx = if forward {
            (start + k) % total
        } else {
            (start + total - k % total) % total
        };
        let (r, c) = (idx / w, idx % w);
        let v = df.columns()[c]
            .get(r)
            .map(|v| cell_text(&v))
            .unwrap_or_default();
        if v.to_lowercase().contains(&needle) {
            s.cursor_row = r;
            s.cursor_col = c;
            clamp_cursor(s);
            return vec![];
        }
    }
    s.status = Some((format!("no match for `{needle}` in the preview"), true));
    vec![]
}
