//! Which source columns a map task needs: walk the fused steps backwards from
//! what the blocking step consumes. The CSV reader then parses only those
//! columns (a task that needs two of fifteen columns parses two). When a step
//! cannot be analysed, every column is needed.

use std::collections::BTreeSet;

use polars::prelude::*;

use crate::engine::plan::lower::Plan;
use crate::engine::recipe::expr::parse_expr;
use crate::engine::recipe::Step;

type Names = BTreeSet<String>;

fn roots(text: &str) -> Option<Names> {
    let e = parse_expr(text).ok()?;
    Some(roots_of(&e))
}

fn roots_of(e: &Expr) -> Names {
    e.clone()
        .meta()
        .root_names()
        .into_iter()
        .map(|s| s.to_string())
        .collect()
}

/// The source columns the map part of `plan` reads, in schema order, or
/// `None` when all are needed.
pub fn needed_columns(plan: &Plan, schema: &Schema) -> Option<Vec<String>> {
    let mut need: Names = plan
        .blocking
        .as_ref()?
        .columns_read()?
        .into_iter()
        .collect();
    for (_, step) in plan.map_steps.iter().rev() {
        match step {
            Step::Filter { expr } => need.extend(roots(expr)?),
            // Steps that name columns need them to exist, used or not.
            Step::Select { columns } => need = columns.iter().cloned().collect(),
            Step::Drop { columns } => need.extend(columns.iter().cloned()),
            Step::Cast { columns } => need.extend(columns.keys().cloned()),
            Step::Repartition { .. } | Step::Disabled { .. } => {}
            // Persisted rows keep every column, for later runs that need others.
            Step::Persist {} => return None,
            Step::Rename { columns } => {
                need = need
                    .into_iter()
                    .map(|c| {
                        columns
                            .iter()
                            .find(|(_, new)| **new == c)
                            .map(|(old, _)| old.clone())
                            .unwrap_or(c)
                    })
                    .collect();
                need.extend(columns.keys().cloned());
            }
            Step::WithColumns { columns } => {
                // Every expression is evaluated, so all its inputs are read.
                for (name, text) in columns.iter().rev() {
                    need.remove(name);
                    need.extend(roots(text)?);
                }
            }
            Step::Parse { column, pattern } => {
                let groups: Vec<String> = regex::Regex::new(pattern)
                    .ok()?
                    .capture_names()
                    .flatten()
                    .map(str::to_string)
                    .collect();
                need.retain(|c| !groups.contains(c));
                need.insert(column.clone());
            }
            Step::Explode { column } => {
                need.insert(column.clone());
            }
            Step::Unpivot {
                index,
                on,
                variable_name,
                value_name,
            } => {
                // Its two columns are made here; it reads the named ones.
                let made = [
                    variable_name.as_deref().unwrap_or("variable"),
                    value_name.as_deref().unwrap_or("value"),
                ];
                need.retain(|c| !made.contains(&c.as_str()));
                need.extend(index.iter().cloned());
                need.extend(on.iter().cloned());
            }
            Step::Unnest { column, .. } | Step::JsonDecode { column, .. } => {
                // Its field columns are made here (they never share a name
                // with a column read, so they drop out below); it reads only
                // the column itself.
                need.insert(column.clone());
            }
            _ => return None,
        }
    }
    // Unknown names (e.g. columns created and consumed upstream) are dropped;
    // order follows the schema. An empty set still needs one column for the
    // row count.
    let mut cols: Vec<String> = schema
        .iter_names()
        .filter(|n| need.contains(n.as_str()))
        .map(|n| n.to_string())
        .collect();
    if cols.is_empty() {
        cols.push(schema.iter_names().next()?.to_string());
    }
    if cols.len() == schema.len() {
        return None;
    }
    Some(cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::lower::plan;
    use crate::engine::recipe::Recipe;

    fn need(steps: &str, cols: &[&str]) -> Option<Vec<String>> {
        let r = Recipe::parse(&format!("[source]\npath='x.csv'\n{steps}")).unwrap();
        let p = plan(&r.steps, |_| 0).unwrap();
        let schema: Schema = cols
            .iter()
            .map(|c| Field::new((*c).into(), DataType::String))
            .collect();
        needed_columns(&p, &schema)
    }

    #[test]
    fn arcos_needs_five_of_seven() {
        let cols = ["A", "Measure", "DOSAGE_UNIT", "W", "F", "D", "S"];
        let got = need(
            "[[steps]]\nop='with_columns'\ncolumns={ year = 'D + 1', m = 'W * F' }\n[[steps]]\nop='filter'\nexpr=\"Measure = 'TAB'\"\n[[steps]]\nop='group_by'\nkeys=['year','S']\naggs={ m = 'sum(m)' }\n",
            &cols,
        );
        assert_eq!(got.unwrap(), ["Measure", "W", "F", "D", "S"]);
    }

    #[test]
    fn maxtab_needs_two() {
        let got = need(
            "[[steps]]\nop='filter'\nexpr=\"Measure = 'TAB'\"\n[[steps]]\nop='group_by'\nkeys=[]\naggs={ m = 'max(DOSAGE_UNIT)' }\n",
            &["A", "Measure", "DOSAGE_UNIT"],
        );
        assert_eq!(got.unwrap(), ["Measure", "DOSAGE_UNIT"]);
    }

    #[test]
    fn renames_and_map_only_plans() {
        let got = need(
            "[[steps]]\nop='rename'\ncolumns={ B = 'b2' }\n[[steps]]\nop='value_counts'\ncolumn='b2'\n",
            &["A", "B", "C"],
        );
        assert_eq!(got.unwrap(), ["B"]);
        assert!(need("[[steps]]\nop='filter'\nexpr='A > 1'\n", &["A", "B"]).is_none());
    }
}
