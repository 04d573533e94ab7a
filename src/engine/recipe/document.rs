//! Recipes: `{source, steps}` as TOML. What the TUI builds, what `quarry run`
//! replays and what users commit next to their data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::spec::{
    parse_bytesize, parse_dtype, Encoding, Format, RecordSeparator, SourceSpec,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub source: SourceConfig,
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// `[source]` as written in a recipe. Paths are relative to the recipe file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocksize: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_header: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null_values: Vec<String>,
    /// `false`: no automatic null spellings (see `SourceSpec::null_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_tokens: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dtypes: BTreeMap<String, String>,
    /// An S3-compatible endpoint for `s3://` paths (never a credential:
    /// those stay in the environment and profile files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Unsigned requests, for public buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
}

impl SourceConfig {
    /// Resolve into a [`SourceSpec`], relative paths against `base`.
    pub fn to_spec(&self, base: &Path) -> Result<SourceSpec> {
        let mut spec = SourceSpec::new(self.path.clone()).relative_to(base);
        spec.format = self.format;
        if let Some(b) = &self.blocksize {
            spec.blocksize = parse_bytesize(b)?;
        }
        if let Some(d) = &self.delimiter {
            spec.delimiter = Some(single_byte("delimiter", d)?);
        }
        if let Some(h) = self.has_header {
            spec.has_header = h;
        }
        if let Some(q) = &self.quote {
            spec.quote = if q.is_empty() {
                None
            } else {
                Some(single_byte("quote", q)?)
            };
        }
        spec.null_values = self.null_values.clone();
        if let Some(t) = self.null_tokens {
            spec.null_tokens = t;
        }
        if let Some(r) = &self.record_separator {
            spec.record_separator = RecordSeparator::parse(r)?;
        }
        if let Some(e) = &self.encoding {
            spec.encoding = Encoding::parse(e)?;
        }
        for ty in self.dtypes.values() {
            parse_dtype(ty)?;
        }
        spec.dtypes = self.dtypes.clone();
        spec.store.endpoint = self.endpoint.clone();
        spec.store.anonymous = self.anonymous.unwrap_or(false);
        Ok(spec)
    }

    /// The config that reads `spec` (the inverse of [`to_spec`]), for saving.
    pub fn from_spec(spec: &SourceSpec) -> SourceConfig {
        SourceConfig {
            path: spec.path.clone(),
            format: spec.format,
            blocksize: (spec.blocksize != crate::engine::input::spec::DEFAULT_BLOCKSIZE)
                .then(|| format!("{}", spec.blocksize)),
            delimiter: spec.delimiter.map(|d| (d as char).to_string()),
            has_header: (!spec.has_header).then_some(false),
            quote: match spec.quote {
                Some(b'"') => None,
                Some(q) => Some((q as char).to_string()),
                None => Some(String::new()),
            },
            null_values: spec.null_values.clone(),
            null_tokens: (!spec.null_tokens).then_some(false),
            record_separator: (spec.record_separator != RecordSeparator::Line)
                .then(|| spec.record_separator.describe()),
            encoding: (spec.encoding != Encoding::Utf8).then(|| spec.encoding.name()),
            dtypes: spec.dtypes.clone(),
            endpoint: spec.store.endpoint.clone(),
            anonymous: spec.store.anonymous.then_some(true),
        }
    }
}

fn single_byte(key: &str, s: &str) -> Result<u8> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(QuarryError::Usage(format!(
            "[source] {key} must be one ASCII character, got `{s}`"
        ))),
    }
}

/// One step of a pipeline. Expressions are SQL expressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Filter {
        expr: String,
    },
    Select {
        columns: Vec<String>,
    },
    Drop {
        columns: Vec<String>,
    },
    Rename {
        columns: IndexMap<String, String>,
    },
    /// Derived columns, computed in order (a later one may use an earlier one).
    WithColumns {
        columns: IndexMap<String, String>,
    },
    Cast {
        columns: IndexMap<String, String>,
    },
    /// Regex with named groups applied to a text column; each group becomes a
    /// string column (null where the pattern does not match).
    Parse {
        column: String,
        pattern: String,
    },
    Explode {
        column: String,
    },
    /// Long to wide: a row per distinct `index`, a column per value of `on`
    /// named in `columns` (or found by a pass over the data when empty), holding `agg` of `values` (see `steps::pivot`).
    Pivot {
        index: Vec<String>,
        on: String,
        values: String,
        #[serde(default = "default_pivot_agg")]
        agg: String,
        /// Left out, `quarry run` finds them first with a pass of their own.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        columns: Vec<String>,
    },
    /// Wide to long (melt): each row becomes one row per `on` column, with
    /// the `index` columns kept, the column's name in `variable_name` and
    /// its value in `value_name` (see `steps::unpivot`).
    Unpivot {
        #[serde(default)]
        index: Vec<String>,
        on: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        variable_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value_name: Option<String>,
    },
    /// A struct column's fields as columns, where it stood: `stripe.count`
    /// becomes `stripe_count` (or `prefix` + `count`).
    Unnest {
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// JSON objects held as text, decoded into one typed column per field
    /// (named as `unnest` names them). `fields`: name → dtype, pinned when
    /// the step is made so every partition decodes alike.
    JsonDecode {
        column: String,
        #[serde(default)]
        fields: IndexMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    GroupBy {
        keys: Vec<String>,
        aggs: IndexMap<String, String>,
    },
    ValueCounts {
        column: String,
    },
    Unique {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        columns: Option<Vec<String>>,
    },
    Sort {
        by: OneOrMany,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        descending: Option<BoolOrMany>,
    },
    Head {
        n: usize,
    },
    Join {
        source: SourceConfig,
        on: OneOrMany,
        #[serde(default = "default_how")]
        how: String,
    },
    /// Per-column statistics over all rows (one pass, partials merged in a
    /// tree): count, nulls, distinct, min, max, mean, std, quantiles, top
    /// values, string lengths. One output row per column.
    Describe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        columns: Option<Vec<String>>,
    },
    /// Free SQL over the table `self`.
    Sql {
        query: String,
    },
    /// Keep every partition's rows as of this step (Arrow IPC in the cache
    /// directory); later runs of the same source and steps start from them.
    Persist {},
    /// A step switched off in the explorer: kept in the recipe, not run.
    Disabled {
        step: Box<Step>,
    },
    /// Rebalance the output: `n` parts, or parts of about `blocksize`.
    Repartition {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blocksize: Option<String>,
    },
}

fn default_how() -> String {
    "inner".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BoolOrMany {
    One(bool),
    Many(Vec<bool>),
}

impl BoolOrMany {
    pub fn expand(&self, n: usize) -> Vec<bool> {
        match self {
            BoolOrMany::One(b) => vec![*b; n],
            BoolOrMany::Many(v) => (0..n).map(|i| v.get(i).copied().unwrap_or(false)).collect(),
        }
    }
}

fn default_pivot_agg() -> String {
    "sum".into()
}

impl Step {
    pub fn op(&self) -> &'static str {
        match self {
            Step::Filter { .. } => "filter",
            Step::Select { .. } => "select",
            Step::Drop { .. } => "drop",
            Step::Rename { .. } => "rename",
            Step::WithColumns { .. } => "with_columns",
            Step::Cast { .. } => "cast",
            Step::Parse { .. } => "parse",
            Step::Explode { .. } => "explode",
            Step::Unpivot { .. } => "unpivot",
            Step::Pivot { .. } => "pivot",
            Step::Unnest { .. } => "unnest",
            Step::JsonDecode { .. } => "json_decode",
            Step::GroupBy { .. } => "group_by",
            Step::ValueCounts { .. } => "value_counts",
            Step::Unique { .. } => "unique",
            Step::Sort { .. } => "sort",
            Step::Head { .. } => "head",
            Step::Join { .. } => "join",
            Step::Sql { .. } => "sql",
            Step::Describe { .. } => "describe",
            Step::Repartition { .. } => "repartition",
            Step::Persist {} => "persist",
            Step::Disabled { .. } => "disabled",
        }
    }

    /// A one-line summary, as the pipeline panel and `quarry graph` show it.
    pub fn summary(&self) -> String {
        let kv = |m: &IndexMap<String, String>, sep: &str| {
            m.iter()
                .map(|(k, v)| format!("{k}{sep}{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Step::Filter { expr } => format!("filter {expr}"),
            Step::Select { columns } => format!("select {}", columns.join(", ")),
            Step::Drop { columns } => format!("drop {}", columns.join(", ")),
            Step::Rename { columns } => format!("rename {}", kv(columns, " → ")),
            Step::WithColumns { columns } => format!("with_columns {}", kv(columns, " = ")),
            Step::Cast { columns } => format!("cast {}", kv(columns, ": ")),
            Step::Parse { column, pattern } => format!("parse {column} ~ /{pattern}/"),
            Step::Explode { column } => format!("explode {column}"),
            Step::Pivot {
                index,
                on,
                values,
                agg,
                columns,
            } => {
                let count = if columns.is_empty() {
                    "columns found by a pass".to_string()
                } else {
                    format!("{} columns", columns.len())
                };
                format!(
                    "pivot [{}] {on} → {count} of {agg}({values})",
                    index.join(", ")
                )
            }
            Step::Unpivot {
                index,
                on,
                variable_name,
                value_name,
            } => {
                let keep = if index.is_empty() {
                    String::new()
                } else {
                    format!(" keep {}", index.join(", "))
                };
                format!(
                    "unpivot {}{keep} → {}, {}",
                    on.join(", "),
                    variable_name.as_deref().unwrap_or("variable"),
                    value_name.as_deref().unwrap_or("value")
                )
            }
            Step::Unnest { column, prefix } => match prefix {
                Some(p) => format!("unnest {column} (prefix \"{p}\")"),
                None => format!("unnest {column}"),
            },
            Step::JsonDecode { column, fields, .. } => {
                format!("json_decode {column} → {}", kv(fields, ": "))
            }
            Step::GroupBy { keys, aggs } => {
                format!("group_by [{}] {}", keys.join(", "), kv(aggs, " = "))
            }
            Step::ValueCounts { column } => format!("value_counts {column}"),
            Step::Unique { columns } => match columns {
                Some(c) => format!("unique {}", c.join(", ")),
                None => "unique".into(),
            },
            Step::Sort { by, descending } => {
                let by = by.to_vec();
                let desc = descending
                    .as_ref()
                    .map(|d| d.expand(by.len()))
                    .unwrap_or_else(|| vec![false; by.len()]);
                let parts: Vec<String> = by
                    .iter()
                    .zip(desc)
                    .map(|(c, d)| if d { format!("{c} desc") } else { c.clone() })
                    .collect();
                format!("sort {}", parts.join(", "))
            }
            Step::Head { n } => format!("head {n}"),
            Step::Join { source, on, how } => {
                format!("join {how} {} on {}", source.path, on.to_vec().join(", "))
            }
            Step::Sql { query } => format!("sql {query}"),
            Step::Describe { columns } => match columns {
                Some(c) => format!("describe {}", c.join(", ")),
                None => "describe".into(),
            },
            Step::Persist {} => "persist".into(),
            Step::Disabled { step } => format!("(disabled) {}", step.summary()),
            Step::Repartition { n, blocksize } => match (n, blocksize) {
                (Some(n), _) => format!("repartition n={n}"),
                (_, Some(b)) => format!("repartition blocksize={b}"),
                _ => "repartition".into(),
            },
        }
    }
}

impl Recipe {
    pub fn new(source: SourceConfig) -> Recipe {
        Recipe {
            source,
            steps: Vec::new(),
        }
    }

    /// Parse recipe text. Errors name the step number (1-based) and the key.
    pub fn parse(text: &str) -> Result<Recipe> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            source: toml::Value,
            #[serde(default)]
            steps: Vec<toml::Value>,
        }
        let raw: Raw = toml::from_str(text)
            .map_err(|e| QuarryError::Usage(format!("the recipe is not valid: {}", e.message())))?;
        let source: SourceConfig = raw.source.try_into().map_err(|e: toml::de::Error| {
            QuarryError::Usage(format!("recipe [source]: {}", e.message()))
        })?;
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, v) in raw.steps.into_iter().enumerate() {
            let op = v
                .get("op")
                .and_then(|o| o.as_str())
                .unwrap_or("?")
                .to_string();
            let step: Step = v.try_into().map_err(|e: toml::de::Error| {
                QuarryError::Usage(format!(
                    "recipe step {} ({op}): {}",
                    i + 1,
                    e.message().replace("variant", "op")
                ))
            })?;
            steps.push(step);
        }
        Ok(Recipe { source, steps })
    }

    pub fn load(path: &Path) -> Result<(Recipe, PathBuf)> {
        let text = std::fs::read_to_string(path).map_err(|e| QuarryError::io(path, e))?;
        let recipe = Recipe::parse(&text).map_err(|e| match e {
            QuarryError::Usage(m) => QuarryError::Usage(format!("{}: {m}", path.display())),
            other => other,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok((recipe, base))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCOS: &str = crate::demo::ARCOS_RECIPE;

    #[test]
    fn parses_the_arcos_recipe_in_order() {
        let r = Recipe::parse(ARCOS).unwrap();
        assert_eq!(r.steps.len(), 3);
        let Step::WithColumns { columns } = &r.steps[0] else {
            panic!()
        };
        assert_eq!(
            columns.keys().collect::<Vec<_>>(),
            vec!["year", "morphine_equivalent_g"]
        );
        let again = Recipe::parse(&r.to_toml()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn unknown_keys_name_the_step() {
        let e = Recipe::parse("[source]\npath='a.csv'\n[[steps]]\nop='filter'\nexp='x'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("step 1 (filter)") && e.contains("`exp`"), "{e}");
        let e = Recipe::parse("[source]\npath='a.csv'\n[[steps]]\nop='frobnicate'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("step 1") && e.contains("frobnicate"), "{e}");
        let e = Recipe::parse("[source]\npth='a.csv'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[source]") && e.contains("pth"), "{e}");
    }
}
