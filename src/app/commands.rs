//! The command palette's step commands: `:sql SELECT …`, `:explode tags`,
//! `:join other.csv on id left`, … Each turns its argument text into a recipe
//! step (checked against the schema by the reducer, like any other step), so
//! every step kind a recipe file can hold can also be added from the keyboard.

use indexmap::IndexMap;

use crate::engine::recipe::{BoolOrMany, OneOrMany, SourceConfig, Step};

/// One line per command, for the palette's help and the README.
pub const STEP_COMMANDS: &[(&str, &str)] = &[
    ("sql QUERY", "free SQL over the table `self`"),
    ("select A, B", "keep these columns"),
    ("drop A, B", "remove these columns"),
    ("rename A = NEW, …", "rename columns"),
    ("cast A = f64, …", "change dtypes (str i64 f64 bool date …)"),
    (
        "derive NAME = EXPR, …",
        "derived columns (as the derive prompt)",
    ),
    (
        "filter EXPR",
        "keep rows where EXPR holds (as the filter prompt)",
    ),
    ("sort A, B desc", "sort (desc after a column reverses it)"),
    ("unique [A, B]", "distinct rows (on these columns)"),
    ("head N", "the first N rows"),
    ("explode A", "one row per list element"),
    (
        "pivot ID, … on COL values V [agg sum] [in A, B, …]",
        "long to wide: a column per value of COL (all, found first, or A, B) holding sum(V), a row per ID",
    ),
    (
        "unpivot A, B [keep ID, …]",
        "wide to long: a row per column A, B (variable, value), ID kept",
    ),
    (
        "unnest A [PREFIX]",
        "a struct's fields as columns A_field (PREFIX \"\" keeps bare names)",
    ),
    (
        "json_decode A [PREFIX]",
        "JSON objects in text column A as typed columns A_field",
    ),
    ("parse A REGEX", "named groups of REGEX become columns"),
    ("count A", "value counts of A (as the frequency action)"),
    (
        "group KEYS: NAME = AGG, …",
        "group by; KEYS empty aggregates all rows",
    ),
    ("join PATH on A[, B] [inner|left|…]", "join another file"),
    ("repartition N", "rebalance the output into N parts"),
];

/// A parsed step command. `Join` needs its right side loaded before the
/// step can be checked, and `PivotValues` (a pivot whose columns are not
/// named) needs a pass over the data to find them, so both are kept apart.
#[derive(Debug, Clone, PartialEq)]
pub enum StepCommand {
    Step(Step),
    Join(Step),
    PivotValues(Step),
}

/// `ID, … on COL values V [agg AGG] [in A, B, …]`: without `in`, the values
/// of COL that become columns are found over all rows first.
fn pivot(arg: &str) -> Result<StepCommand, String> {
    let usage = "ID, … on COL values V [agg sum] [in A, B, …] (the values of COL that become columns; all of them when left out)";
    let (index, rest) = arg.split_once(" on ").ok_or(usage)?;
    let (on, rest) = rest.split_once(" values ").ok_or(usage)?;
    let (values, columns) = match rest.split_once(" in ") {
        Some((v, c)) => (v, Some(split_list(c))),
        None => (rest, None),
    };
    let (values, agg) = match values.split_once(" agg ") {
        Some((v, a)) => (v.trim(), a.trim()),
        None => (values.trim(), "sum"),
    };
    if columns.as_ref().is_some_and(Vec::is_empty) || values.is_empty() || on.trim().is_empty() {
        return Err(usage.into());
    }
    let find = columns.is_none();
    let step = Step::Pivot {
        index: split_list(index),
        on: on.trim().into(),
        values: values.into(),
        agg: agg.into(),
        columns: columns.unwrap_or_default(),
    };
    Ok(if find {
        StepCommand::PivotValues(step)
    } else {
        StepCommand::Step(step)
    })
}

/// `None` when `cmd` is not a step command; otherwise the step or why the
/// argument does not make one.
pub fn parse_step_command(cmd: &str, arg: &str) -> Option<Result<StepCommand, String>> {
    let need = |what: &str| format!("{cmd}: {what}");
    let step = match cmd {
        "sql" => nonempty(arg, || {
            need("give a query, e.g. SELECT * FROM self LIMIT 10")
        })
        .map(|q| Step::Sql { query: q.into() }),
        "select" => names(arg, cmd).map(|columns| Step::Select { columns }),
        "drop" => names(arg, cmd).map(|columns| Step::Drop { columns }),
        "rename" => pairs(arg, cmd).map(|columns| Step::Rename { columns }),
        "cast" => pairs(arg, cmd).map(|columns| Step::Cast { columns }),
        "derive" | "with" => parse_assignments(arg).map(|columns| Step::WithColumns { columns }),
        "filter" => nonempty(arg, || need("give a condition, e.g. amount > 10"))
            .map(|e| Step::Filter { expr: e.into() }),
        "sort" => sort(arg, cmd),
        "unique" => {
            let cols = split_list(arg);
            Ok(Step::Unique {
                columns: (!cols.is_empty()).then_some(cols),
            })
        }
        "head" => arg
            .trim()
            .parse::<usize>()
            .map(|n| Step::Head { n })
            .map_err(|_| need("give a row count, e.g. head 100")),
        "explode" => one_name(arg, cmd).map(|column| Step::Explode { column }),
        "pivot" => return Some(pivot(arg).map_err(|e| need(&e))),
        "unpivot" | "melt" => {
            let (on, keep) = match arg.split_once(" keep ") {
                Some((on, keep)) => (on, keep),
                None => (arg, ""),
            };
            let on = split_list(on);
            if on.is_empty() {
                Err(need(
                    "name the columns to unpivot, e.g. unpivot jan, feb keep id",
                ))
            } else {
                Ok(Step::Unpivot {
                    index: split_list(keep),
                    on,
                    variable_name: None,
                    value_name: None,
                })
            }
        }
        "unnest" => {
            column_and_prefix(arg, cmd).map(|(column, prefix)| Step::Unnest { column, prefix })
        }
        // The fields are pinned from the preview by the reducer.
        "json_decode" | "json" => {
            column_and_prefix(arg, cmd).map(|(column, prefix)| Step::JsonDecode {
                column,
                fields: IndexMap::new(),
                prefix,
            })
        }
        "count" | "value_counts" => one_name(arg, cmd).map(|column| Step::ValueCounts { column }),
        "parse" => match arg.trim().split_once(char::is_whitespace) {
            Some((column, pattern)) if !pattern.trim().is_empty() => Ok(Step::Parse {
                column: column.into(),
                pattern: pattern.trim().into(),
            }),
            _ => Err(need(
                "give a column and a regex with named groups, e.g. text (?P<user>\\w+)",
            )),
        },
        "group" | "group_by" => group(arg, cmd),
        "repartition" => arg
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Step::Repartition {
                n: Some(n),
                blocksize: None,
            })
            .ok_or_else(|| need("give a number of parts, e.g. repartition 8")),
        "join" => return Some(join(arg, cmd).map(StepCommand::Join)),
        _ => return None,
    };
    Some(step.map(StepCommand::Step))
}

fn nonempty(arg: &str, err: impl FnOnce() -> String) -> Result<&str, String> {
    let t = arg.trim();
    if t.is_empty() {
        Err(err())
    } else {
        Ok(t)
    }
}

/// Comma-separated names; double quotes around a name are dropped so a name
/// with spaces or commas can be given.
fn split_list(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in arg.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn names(arg: &str, cmd: &str) -> Result<Vec<String>, String> {
    let v = split_list(arg);
    if v.is_empty() {
        Err(format!("{cmd}: name the columns, e.g. {cmd} a, b"))
    } else {
        Ok(v)
    }
}

fn one_name(arg: &str, cmd: &str) -> Result<String, String> {
    match names(arg, cmd)?.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("{cmd}: name one column")),
    }
}

/// `COLUMN [PREFIX]`, where `""` as the prefix means none.
fn column_and_prefix(arg: &str, cmd: &str) -> Result<(String, Option<String>), String> {
    let mut words = arg.split_whitespace();
    let column = words
        .next()
        .ok_or_else(|| format!("{cmd}: name a column, and optionally a prefix for its fields"))?;
    let prefix = words.next().map(|p| p.trim_matches('"').to_string());
    if words.next().is_some() {
        return Err(format!("{cmd}: give a column and at most one prefix"));
    }
    Ok((column.to_string(), prefix))
}

fn pairs(arg: &str, cmd: &str) -> Result<IndexMap<String, String>, String> {
    let mut out = IndexMap::new();
    for item in split_list(arg) {
        let (k, v) = item
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| format!("{cmd}: expected COLUMN = VALUE, got `{item}`"))?;
        out.insert(k.to_string(), v.to_string());
    }
    if out.is_empty() {
        return Err(format!("{cmd}: expected COLUMN = VALUE, …"));
    }
    Ok(out)
}

fn sort(arg: &str, cmd: &str) -> Result<Step, String> {
    let mut by = Vec::new();
    let mut desc = Vec::new();
    for item in names(arg, cmd)? {
        let (name, d) = match item.rsplit_once(char::is_whitespace) {
            Some((n, dir)) if dir.eq_ignore_ascii_case("desc") => (n.trim(), true),
            Some((n, dir)) if dir.eq_ignore_ascii_case("asc") => (n.trim(), false),
            _ => (item.as_str(), false),
        };
        by.push(name.to_string());
        desc.push(d);
    }
    let descending = if desc.iter().all(|d| !d) {
        None
    } else if by.len() == 1 {
        Some(BoolOrMany::One(true))
    } else {
        Some(BoolOrMany::Many(desc))
    };
    let by = if by.len() == 1 {
        OneOrMany::One(by.remove(0))
    } else {
        OneOrMany::Many(by)
    };
    Ok(Step::Sort { by, descending })
}

fn group(arg: &str, cmd: &str) -> Result<Step, String> {
    let (keys, aggs) = arg.split_once(':').ok_or_else(|| {
        format!("{cmd}: expected KEYS: NAME = AGG, … e.g. group city: n = count(*)")
    })?;
    Ok(Step::GroupBy {
        keys: split_list(keys),
        aggs: parse_assignments(aggs)?,
    })
}

fn join(arg: &str, cmd: &str) -> Result<Step, String> {
    let usage = || format!("{cmd}: expected PATH on KEY[, KEY] [inner|left|full|semi|anti|cross]");
    let (path, rest) = arg.trim().split_once(" on ").ok_or_else(usage)?;
    let path = path.trim().trim_matches('"');
    let mut keys = split_list(rest);
    let mut how = "inner".to_string();
    // A trailing join kind after the last key: `on id left`.
    if let Some(last) = keys.pop() {
        match last.rsplit_once(char::is_whitespace) {
            Some((k, h)) if is_join_kind(h) => {
                keys.push(k.trim().to_string());
                how = h.to_ascii_lowercase();
            }
            _ => keys.push(last),
        }
    }
    if path.is_empty() || keys.is_empty() {
        return Err(usage());
    }
    Ok(Step::Join {
        source: SourceConfig {
            path: path.to_string(),
            ..SourceConfig::default()
        },
        on: if keys.len() == 1 {
            OneOrMany::One(keys.remove(0))
        } else {
            OneOrMany::Many(keys)
        },
        how,
    })
}

fn is_join_kind(s: &str) -> bool {
    [
        "inner", "left", "right", "full", "outer", "semi", "anti", "cross",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(s))
}

/// `name = expr` pairs separated by commas at the top level.
pub(super) fn parse_assignments(text: &str) -> Result<IndexMap<String, String>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn step(cmd: &str, arg: &str) -> Step {
        match parse_step_command(cmd, arg).unwrap().unwrap() {
            StepCommand::Step(s) | StepCommand::Join(s) | StepCommand::PivotValues(s) => s,
        }
    }

    #[test]
    fn commands_make_steps() {
        assert_eq!(
            step("select", "a, \"b, c\""),
            Step::Select {
                columns: vec!["a".into(), "b, c".into()]
            }
        );
        assert_eq!(
            step("sort", "a, b desc"),
            Step::Sort {
                by: OneOrMany::Many(vec!["a".into(), "b".into()]),
                descending: Some(BoolOrMany::Many(vec![false, true])),
            }
        );
        assert_eq!(
            step("sort", "a"),
            Step::Sort {
                by: OneOrMany::One("a".into()),
                descending: None
            }
        );
        assert_eq!(step("unique", ""), Step::Unique { columns: None });
        assert_eq!(step("head", " 5 "), Step::Head { n: 5 });
        assert_eq!(
            step("parse", "text (?P<n>\\d+) x"),
            Step::Parse {
                column: "text".into(),
                pattern: "(?P<n>\\d+) x".into()
            }
        );
        let Step::GroupBy { keys, aggs } = step("group", "a, b: n = count(*), s = sum(x)") else {
            panic!()
        };
        assert_eq!(keys, vec!["a", "b"]);
        assert_eq!(aggs["s"], "sum(x)");
        let Step::GroupBy { keys, .. } = step("group", ": n = count(*)") else {
            panic!()
        };
        assert!(keys.is_empty(), "a global aggregation");
        assert_eq!(
            step("join", "other.csv on id, day left"),
            Step::Join {
                source: SourceConfig {
                    path: "other.csv".into(),
                    ..SourceConfig::default()
                },
                on: OneOrMany::Many(vec!["id".into(), "day".into()]),
                how: "left".into()
            }
        );
        assert_eq!(
            step("cast", "a = f64").clone(),
            Step::Cast {
                columns: [("a".to_string(), "f64".to_string())].into_iter().collect()
            }
        );
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        for (cmd, arg, want) in [
            ("head", "ten", "row count"),
            ("select", " ", "name the columns"),
            ("rename", "a", "COLUMN = VALUE"),
            ("join", "other.csv", "PATH on KEY"),
            ("parse", "text", "named groups"),
            ("group", "a n = count(*)", "KEYS:"),
            ("explode", "a, b", "one column"),
            ("unpivot", " ", "name the columns to unpivot"),
            ("pivot", "id on city", "values V"),
            ("unnest", "", "name a column"),
            ("unnest", "a p q", "at most one prefix"),
            ("sql", "", "query"),
        ] {
            let e = parse_step_command(cmd, arg).unwrap().unwrap_err();
            assert!(e.contains(want), "{cmd} {arg}: {e}");
        }
        assert!(parse_step_command("frobnicate", "x").is_none());
    }
}
