//! A step as the text its edit prompt shows, and the step that text
//! becomes once edited.

use crate::app::commands::parse_assignments;
use crate::engine::recipe::Step;

/// The text a step is edited as: its expression(s) for the expression steps,
/// the query for `sql`, and for every other kind its recipe fields as the
/// body of a TOML inline table (`by = ["x"], descending = true`).
pub fn edit_text(step: &Step) -> String {
    match step {
        Step::Filter { expr } => expr.clone(),
        Step::WithColumns { columns: m } | Step::GroupBy { aggs: m, .. } => m
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        Step::Sql { query } => query.clone(),
        Step::Disabled { step } => edit_text(step),
        other => step_fields_text(other),
    }
}

fn step_fields_text(step: &Step) -> String {
    let Ok(toml::Value::Table(mut t)) = toml::Value::try_from(step) else {
        return String::new();
    };
    t.remove("op");
    t.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The step `old` becomes after its edit text was changed to `text`.
pub fn edited_step(old: &Step, text: &str) -> Result<Step, String> {
    Ok(match old {
        Step::Filter { .. } => Step::Filter { expr: text.into() },
        Step::WithColumns { .. } => Step::WithColumns {
            columns: parse_assignments(text)?,
        },
        Step::GroupBy { keys, .. } => Step::GroupBy {
            keys: keys.clone(),
            aggs: parse_assignments(text)?,
        },
        Step::Sql { .. } => Step::Sql { query: text.into() },
        Step::Disabled { step } => Step::Disabled {
            step: Box::new(edited_step(step, text)?),
        },
        other => {
            let doc = format!("step = {{ {} }}", text.replace('\n', " "));
            let mut table: toml::Table = toml::from_str(&doc).map_err(|e| {
                format!(
                    "not a list of `key = value` fields: {}",
                    e.message().trim_end_matches('\n')
                )
            })?;
            let Some(toml::Value::Table(mut fields)) = table.remove("step") else {
                return Err("not a list of `key = value` fields".into());
            };
            fields.insert("op".into(), toml::Value::String(other.op().into()));
            toml::Value::Table(fields)
                .try_into::<Step>()
                .map_err(|e| format!("{} step: {}", other.op(), e.message()))?
        }
    })
}
