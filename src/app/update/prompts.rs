//! Prompts: opening one for an action (prefilled where the data suggests
//! the text), submitting it (a step, a search, a palette command, a path to
//! write), and cancelling it.

use std::path::PathBuf;

use polars::prelude::AnyValue;

use super::completion::complete;
use super::jobs::ask_or_start;
use super::navigation::{current_value, quit, search};
use super::pipeline::{adopt_steps, insert_step, recipe_text};
use super::step_text::{edit_text, edited_step};
use super::Effect;
use crate::app::action::Action;
use crate::app::commands::{parse_assignments, parse_step_command, StepCommand};
use crate::app::compute::JobKind;
use crate::app::state::{Prompt, PromptKind, State, View};
use crate::app::status::Status;
use crate::cell::cell_text;
use crate::engine::recipe::Step;

/// Actions while a prompt is open.
pub fn on_prompt_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    Some(match a {
        Action::Submit => {
            let mut effects = remember(s);
            effects.extend(submit_prompt(s));
            effects
        }
        Action::HistoryOlder => {
            recall(s, Recall::Older);
            vec![]
        }
        Action::HistoryNewer => {
            recall(s, Recall::Newer);
            vec![]
        }
        Action::CancelPrompt => {
            s.prompt = None;
            vec![]
        }
        Action::Complete => {
            complete(s);
            vec![]
        }
        _ => vec![],
    })
}

/// Add the open prompt's text to its kind's history (before the submit
/// is judged: a mistyped filter is worth recalling to fix).
fn remember(s: &mut State) -> Vec<Effect> {
    let Some(p) = &s.prompt else {
        return vec![];
    };
    let Some(kind) = p.kind.history() else {
        return vec![];
    };
    if s.prompt_history.record(kind, &p.text()) {
        vec![Effect::SaveHistory(kind)]
    } else {
        vec![]
    }
}

enum Recall {
    Older,
    Newer,
}

/// Up / Down in a prompt: walk its kind's history, newest first; past the
/// newest, the text typed before recalling comes back.
fn recall(s: &mut State, direction: Recall) {
    let Some(p) = &mut s.prompt else { return };
    let Some(kind) = p.kind.history() else {
        return;
    };
    let back = match direction {
        Recall::Older if s.prompt_history.recall(kind, p.recalled + 1).is_some() => p.recalled + 1,
        Recall::Older => return,
        Recall::Newer if p.recalled == 0 => return,
        Recall::Newer => p.recalled - 1,
    };
    if p.recalled == 0 {
        p.draft = p.text();
    }
    let text = match back {
        0 => p.draft.clone(),
        b => s
            .prompt_history
            .recall(kind, b)
            .unwrap_or_default()
            .to_string(),
    };
    p.recalled = back;
    p.set_text(&text);
}

/// Actions that open a prompt.
pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    Some(match a {
        Action::FilterPrompt => {
            let text = filter_text(s);
            open_prompt(s, PromptKind::Filter, &text)
        }
        Action::DerivePrompt => open_prompt(s, PromptKind::Derive, "new_column = "),
        Action::GroupByPrompt => match s.current_column() {
            Some(key) => open_prompt(s, PromptKind::GroupBy { key }, "n = count(*)"),
            None => vec![],
        },
        Action::PivotPrompt => match reshape_text(s, true) {
            Some(text) => open_prompt(s, PromptKind::Command, &text),
            None => vec![],
        },
        Action::UnpivotPrompt => match reshape_text(s, false) {
            Some(text) => open_prompt(s, PromptKind::Command, &text),
            None => vec![],
        },
        Action::SearchPrompt => {
            let last = s.search.clone().unwrap_or_default();
            open_prompt(s, PromptKind::Search, &last)
        }
        Action::CommandPalette => open_prompt(s, PromptKind::Command, ""),
        Action::EditStep => {
            let Some(i) = s.at_step.checked_sub(1) else {
                return Some(vec![]);
            };
            if matches!(s.recipe.steps[i], Step::Persist {}) {
                s.status = Some(
                    Status::info("a persist step has nothing to edit (")
                        .key(Action::Persist)
                        .then(" removes it)"),
                );
                return Some(vec![]);
            }
            let text = edit_text(&s.recipe.steps[i]);
            let op = match &s.recipe.steps[i] {
                Step::Disabled { step } => step.op(),
                other => other.op(),
            };
            open_prompt(s, PromptKind::Edit { index: i, op }, &text)
        }
        Action::WriteResult if s.view == View::Chart && s.chart.is_some() => {
            let name = format!("{}-chart.svg", source_stem(s, "chart"));
            open_prompt(s, PromptKind::WriteChart, &name)
        }
        Action::WriteResult => {
            let name = format!("{}-result.parquet", source_stem(s, "result"));
            open_prompt(s, PromptKind::Write, &name)
        }
        _ => return None,
    })
}

/// The source file's name without its extensions (`arcos` for
/// `arcos.csv.gz`), to name what is written from it; `fallback` when it
/// has none.
fn source_stem(s: &State, fallback: &str) -> String {
    std::path::Path::new(&s.recipe.source.path)
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or(fallback)
        .trim_end_matches(".csv")
        .to_string()
}

/// The filter prompt starts as `column = value` of the current cell.
fn filter_text(s: &State) -> String {
    match (s.current_column(), current_value(s)) {
        (Some(c), Some(v)) => equals_text(&c, &v),
        (Some(c), None) => format!("{} ", ident(&c)),
        _ => String::new(),
    }
}

/// A filter condition that holds where `column` is `value` (`IS NULL` for
/// a null).
pub(super) fn equals_text(column: &str, value: &AnyValue) -> String {
    match value {
        AnyValue::Null => format!("{} IS NULL", ident(column)),
        AnyValue::Date(_) => format!("{} = CAST('{}' AS DATE)", ident(column), cell_text(value)),
        v if is_textual(v) => {
            format!("{} = '{}'", ident(column), cell_text(v).replace('\'', "''"))
        }
        v => format!("{} = {}", ident(column), cell_text(v)),
    }
}

fn open_prompt(s: &mut State, kind: PromptKind, text: &str) -> Vec<Effect> {
    s.prompt = Some(Prompt::new(kind, text));
    vec![]
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
        PromptKind::Filter => insert_step(s, Step::Filter { expr: text }, Some(p)),
        PromptKind::Derive => match parse_assignments(&text) {
            Ok(columns) => insert_step(s, Step::WithColumns { columns }, Some(p)),
            Err(e) => fail(s, p, e),
        },
        PromptKind::GroupBy { key } => match parse_assignments(&text) {
            Ok(aggs) => insert_step(
                s,
                Step::GroupBy {
                    keys: vec![key],
                    aggs,
                },
                Some(p),
            ),
            Err(e) => fail(s, p, e),
        },
        PromptKind::Edit { index, .. } => match edited_step(&s.recipe.steps[index], &text) {
            Ok(step) => {
                let mut steps = s.recipe.steps.clone();
                steps[index] = step;
                adopt_steps(s, steps, index + 1, Some(p))
            }
            Err(e) => fail(s, p, e),
        },
        PromptKind::Write => {
            if text.is_empty() {
                return fail(s, p, "name the file to write".into());
            }
            if let Err(e) = crate::engine::run::output::OutputTarget::parse(&text) {
                return fail(s, p, e.to_string());
            }
            let current = s.steps_at();
            if s.jobs.result.as_ref().is_some_and(|r| r.steps == current) {
                s.status = Some(Status::info(format!("writing {text}…")));
                vec![Effect::WriteResult { path: text }]
            } else {
                ask_or_start(s, JobKind::Write { path: text })
            }
        }
        PromptKind::WriteChart => {
            if !text.ends_with(".svg") {
                return fail(s, p, "a chart is written as SVG: name a .svg file".into());
            }
            s.status = Some(Status::info(format!("writing {text}…")));
            vec![Effect::WriteChart { path: text }]
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
                "q" | "quit" => quit(s),
                "chart" | "plot" => match super::chart::open_spec(s, arg) {
                    Ok(fx) => fx,
                    Err(e) => fail(s, p, e),
                },
                "q!" => {
                    s.should_quit = true;
                    vec![Effect::Quit]
                }
                _ => match parse_step_command(cmd, arg) {
                    Some(Ok(StepCommand::Step(step))) => {
                        let step = pin_json_fields(s, step);
                        insert_step(s, step, Some(p))
                    }
                    Some(Ok(StepCommand::PivotValues(step))) => {
                        // Check the pivot's columns exist now, not after a
                        // pass over every row.
                        let mut steps = s.steps_at();
                        let at = steps.len();
                        steps.push(step.clone());
                        let probe = crate::engine::steps::pivot::checkable_prefix(&steps, at);
                        if let Err(e) = crate::engine::steps::apply::schemas_after_steps(
                            &s.source_schema,
                            &probe,
                            &s.joins,
                        ) {
                            return fail(s, p, e.to_string());
                        }
                        s.prompt = None;
                        let at = s.at_step.min(s.recipe.steps.len());
                        ask_or_start(
                            s,
                            JobKind::PivotValues {
                                pivot: Box::new(step),
                                at,
                            },
                        )
                    }
                    Some(Ok(StepCommand::Join(step))) => {
                        s.status = Some(Status::info("loading the join's right side…"));
                        vec![Effect::LoadJoin {
                            step,
                            at: s.at_step,
                        }]
                    }
                    Some(Err(e)) => fail(s, p, e),
                    None => fail(
                        s,
                        p,
                        "commands: w FILE.toml, e FILE.toml, q, q!, chart X Y [by G], and steps: sql select drop rename cast derive filter sort unique head explode unnest json_decode parse count group join repartition (the help lists them)".into(),
                    ),
                },
            }
        }
    }
}

/// The palette text a pivot (`wide`) or an unpivot of the current column
/// starts from: the first other column as the index and, for a pivot, the
/// last other numeric column as the values (all editable before Enter).
fn reshape_text(s: &State, wide: bool) -> Option<String> {
    let current = s.current_column()?;
    // The columns at the selected step (step k's schema is at k - 1).
    let schema = s
        .at_step
        .checked_sub(1)
        .and_then(|k| s.step_schemas.get(k).cloned())
        .unwrap_or_else(|| s.source_schema.as_ref().clone());
    let others: Vec<(String, bool)> = schema
        .iter()
        .filter(|(n, _)| n.as_str() != current)
        .map(|(n, d)| (quoted(n.as_str()), d.is_primitive_numeric()))
        .collect();
    let index = others.first().map(|(n, _)| n.clone()).unwrap_or_default();
    let column = quoted(&current);
    Some(if wide {
        let values = others
            .iter()
            .skip(1)
            .rev()
            .find(|(_, numeric)| *numeric)
            .map_or("V".to_string(), |(n, _)| n.clone());
        format!("pivot {index} on {column} values {values}")
    } else {
        format!("unpivot {column} keep {index}")
    })
}

/// A column name as the palette reads it: quoted when it has a comma,
/// a quote or a space.
fn quoted(name: &str) -> String {
    if name.contains([',', '"', ' ']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// A json_decode step made in the explorer gets its fields from the JSON in
/// the previewed column, so every partition decodes to the same columns.
fn pin_json_fields(s: &State, step: Step) -> Step {
    match step {
        Step::JsonDecode {
            column,
            fields,
            prefix,
        } if fields.is_empty() => {
            let fields = s
                .preview
                .frame
                .as_ref()
                .and_then(|df| df.column(column.as_str()).ok())
                .and_then(|c| c.str().ok().cloned())
                .map(|values| crate::engine::steps::nested::infer_json_fields(&values))
                .unwrap_or_default();
            Step::JsonDecode {
                column,
                fields,
                prefix,
            }
        }
        other => other,
    }
}
