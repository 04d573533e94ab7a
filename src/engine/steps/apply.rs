//! Steps applied to a LazyFrame: the single-shot meaning of every step. The
//! partitioned executor reuses the row-local part of this unchanged, so a
//! per-partition task computes exactly what polars would on that slice.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::source::Source;
use crate::engine::input::spec::parse_dtype;
use crate::engine::recipe::agg::{parse_agg, AggSpec};
use crate::engine::recipe::expr::{check_against, parse_expr, ExprError};
use crate::engine::recipe::{Recipe, Step};

/// Loaded right-hand sides of joins, by step index.
/// Right sides of joins, keyed by their source (see [`join_key`]) rather than
/// by step position, so moving, deleting or disabling steps keeps them.
pub type JoinTables = std::collections::HashMap<String, Arc<DataFrame>>;

/// The key a join's right side is stored under.
pub fn join_key(source: &crate::engine::recipe::SourceConfig) -> String {
    serde_json::to_string(source).unwrap_or_default()
}

fn step_err(i: usize, step: &Step, e: impl std::fmt::Display) -> QuarryError {
    QuarryError::Usage(format!("step {} ({}): {e}", i + 1, step.op()))
}

fn expr_err(i: usize, step: &Step, key: &str, e: ExprError) -> QuarryError {
    QuarryError::Usage(format!("step {} ({}), {key}: {e}", i + 1, step.op()))
}

/// Parse and check `text` against `schema`.
/// The expression and its output type, checked against `schema`.
fn checked(
    i: usize,
    step: &Step,
    key: &str,
    text: &str,
    schema: &Schema,
) -> Result<(Expr, DataType)> {
    let e = parse_expr(text).map_err(|e| expr_err(i, step, key, e))?;
    let dt = check_against(text, &e, schema).map_err(|e| expr_err(i, step, key, e))?;
    Ok((e, dt))
}

fn require_columns(i: usize, step: &Step, names: &[String], schema: &Schema) -> Result<()> {
    for n in names {
        if schema.get(n.as_str()).is_none() {
            let have: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
            let hint = crate::engine::recipe::expr::suggest(n, &have)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(step_err(i, step, format!("unknown column `{n}`{hint}")));
        }
    }
    Ok(())
}

pub fn parse_aggs(
    i: usize,
    step: &Step,
    aggs: &indexmap::IndexMap<String, String>,
) -> Result<Vec<AggSpec>> {
    aggs.iter()
        .map(|(name, text)| parse_agg(name, text).map_err(|e| expr_err(i, step, name, e)))
        .collect()
}

/// The group names of a parse pattern, in order.
pub fn pattern_groups(i: usize, step: &Step, pattern: &str) -> Result<Vec<String>> {
    let re = regex::Regex::new(pattern).map_err(|e| step_err(i, step, format!("pattern: {e}")))?;
    let names: Vec<String> = re.capture_names().flatten().map(str::to_string).collect();
    if names.is_empty() {
        return Err(step_err(
            i,
            step,
            "the pattern has no named groups; name them like (?P<score>[0-9.]+)",
        ));
    }
    Ok(names)
}

/// Apply step `i` to `lf` whose schema is `schema`, checking names and
/// expressions first so errors point at the step and key.
pub fn apply_step(
    lf: LazyFrame,
    schema: &Schema,
    i: usize,
    step: &Step,
    joins: &JoinTables,
) -> Result<LazyFrame> {
    Ok(match step {
        Step::Filter { expr } => {
            let (e, dt) = checked(i, step, "expr", expr, schema)?;
            lf.filter(crate::engine::steps::distinct_eval::per_distinct(e, &dt))
        }
        Step::Select { columns } => {
            require_columns(i, step, columns, schema)?;
            lf.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>())
        }
        Step::Drop { columns } => {
            require_columns(i, step, columns, schema)?;
            let keep: Vec<Expr> = schema
                .iter_names()
                .filter(|n| !columns.iter().any(|c| c == n.as_str()))
                .map(|n| col(n.clone()))
                .collect();
            lf.select(keep)
        }
        Step::Rename { columns } => {
            let old: Vec<String> = columns.keys().cloned().collect();
            require_columns(i, step, &old, schema)?;
            let new: Vec<String> = columns.values().cloned().collect();
            lf.rename(old, new, true)
        }
        Step::WithColumns { columns } => {
            let mut lf = lf;
            let mut s = schema.clone();
            for (name, text) in columns {
                let (e, dt) = checked(i, step, name, text, &s)?;
                let e = crate::engine::steps::distinct_eval::per_distinct(e, &dt);
                s.with_column(name.as_str().into(), dt);
                lf = lf.with_column(e.alias(name.as_str()));
            }
            lf
        }
        Step::Cast { columns } => {
            let names: Vec<String> = columns.keys().cloned().collect();
            require_columns(i, step, &names, schema)?;
            let mut exprs = Vec::new();
            for (name, ty) in columns {
                let dt = parse_dtype(ty).map_err(|e| step_err(i, step, e))?;
                exprs.push(col(name.as_str()).strict_cast(dt));
            }
            lf.with_columns(exprs)
        }
        Step::Parse { column, pattern } => {
            require_columns(i, step, std::slice::from_ref(column), schema)?;
            let groups = pattern_groups(i, step, pattern)?;
            let extractor = crate::engine::steps::extract::Extractor::new(pattern)
                .map_err(|e| step_err(i, step, format!("pattern: {e}")))?;
            let tmp = "__quarry_parse";
            let mut lf = lf.with_column(
                crate::engine::steps::extract::extract_expr(column, std::sync::Arc::new(extractor))
                    .alias(tmp),
            );
            let fields: Vec<Expr> = groups
                .iter()
                .map(|g| col(tmp).struct_().field_by_name(g).alias(g.as_str()))
                .collect();
            lf = lf.with_columns(fields);
            let keep: Vec<Expr> = schema
                .iter_names()
                .filter(|n| !groups.iter().any(|g| g == n.as_str()))
                .map(|n| col(n.clone()))
                .chain(groups.iter().map(|g| col(g.as_str())))
                .collect();
            lf.select(keep)
        }
        Step::Explode { column } => {
            require_columns(i, step, std::slice::from_ref(column), schema)?;
            lf.explode(
                Selector::ByName {
                    names: Arc::from([PlSmallStr::from(column.as_str())]),
                    strict: true,
                },
                crate::engine::recipe::agg::EXPLODE,
            )
        }
        Step::Pivot {
            index,
            on,
            values,
            agg,
            columns,
        } => {
            let mut named = index.clone();
            named.push(on.clone());
            named.push(values.clone());
            require_columns(i, step, &named, schema)?;
            let grouped = crate::engine::steps::pivot::as_group_by(index, on, values, agg, columns)
                .map_err(|e| step_err(i, step, e))?;
            let lf = apply_step(lf, schema, i, &grouped, joins)?;
            crate::engine::steps::pivot::finish(lf, index, columns)
        }
        Step::Unpivot {
            index,
            on,
            variable_name,
            value_name,
        } => crate::engine::steps::unpivot::unpivot(
            lf,
            schema,
            index,
            on,
            variable_name
                .as_deref()
                .unwrap_or(crate::engine::steps::unpivot::VARIABLE),
            value_name
                .as_deref()
                .unwrap_or(crate::engine::steps::unpivot::VALUE),
        )
        .map_err(|e| step_err(i, step, e))?,
        Step::Unnest { column, prefix } => {
            crate::engine::steps::nested::unnest(lf, schema, column, prefix.as_deref())
                .map_err(|e| step_err(i, step, e))?
        }
        Step::JsonDecode {
            column,
            fields,
            prefix,
        } => {
            crate::engine::steps::nested::json_decode(lf, schema, column, fields, prefix.as_deref())
                .map_err(|e| step_err(i, step, e))?
        }
        Step::GroupBy { keys, aggs } => {
            require_columns(i, step, keys, schema)?;
            let specs = parse_aggs(i, step, aggs)?;
            let exprs: Vec<Expr> = specs.iter().map(AggSpec::full).collect();
            for (spec, e) in specs.iter().zip(&exprs) {
                check_agg(i, step, spec, e, schema)?;
            }
            group(lf, keys, exprs)
        }
        Step::ValueCounts { column } => {
            require_columns(i, step, std::slice::from_ref(column), schema)?;
            value_counts_sorted(
                lf.group_by([col(column.as_str())])
                    .agg([len().cast(DataType::UInt64).alias("count")]),
                column,
            )
        }
        Step::Unique { columns } => {
            if let Some(c) = columns {
                require_columns(i, step, c, schema)?;
            }
            lf.unique_stable_generic(
                columns
                    .as_ref()
                    .map(|c| c.iter().map(|n| col(n.as_str())).collect()),
                UniqueKeepStrategy::First,
            )
        }
        Step::Sort { by, descending } => {
            let by = by.to_vec();
            require_columns(i, step, &by, schema)?;
            let desc = descending
                .as_ref()
                .map(|d| d.expand(by.len()))
                .unwrap_or_else(|| vec![false; by.len()]);
            lf.sort(
                by.iter()
                    .map(|s| PlSmallStr::from(s.as_str()))
                    .collect::<Vec<_>>(),
                SortMultipleOptions::default()
                    .with_order_descending_multi(desc)
                    .with_maintain_order(true),
            )
        }
        Step::Head { n } => lf.limit(*n as IdxSize),
        Step::Join { on, how, source } => {
            let on = on.to_vec();
            require_columns(i, step, &on, schema)?;
            let right = joins.get(&join_key(source)).ok_or_else(|| {
                step_err(
                    i,
                    step,
                    format!(
                        "the join's right side ({}) is not loaded: save the recipe (:w FILE.toml) and reopen it",
                        source.path
                    ),
                )
            })?;
            let keys: Vec<Expr> = on.iter().map(|c| col(c.as_str())).collect();
            lf.join(right.as_ref().clone().lazy(), keys.clone(), keys, {
                // Keep the left side's row order, as users expect and as
                // the partitioned run (partitions in order) reproduces.
                let mut args = JoinArgs::new(join_type(i, step, how)?);
                args.maintain_order = polars::prelude::MaintainOrderJoin::Left;
                args
            })
        }
        Step::Describe { columns } => {
            if let Some(c) = columns {
                require_columns(i, step, c, schema)?;
            }
            // Runs on the rows at hand (previews, the one-shot oracle); a
            // compute splits it into per-partition partials instead.
            let df = crate::engine::frames::collect(lf)?;
            crate::engine::stats::describe::describe_frame(&df, columns.as_deref())?.lazy()
        }
        Step::Sql { query } => {
            let mut ctx = SQLContext::new();
            ctx.register("self", lf);
            ctx.execute(query).map_err(|e| {
                step_err(
                    i,
                    step,
                    crate::engine::recipe::expr::clean_message(&e.to_string()),
                )
            })?
        }
        Step::Repartition { .. } | Step::Persist {} | Step::Disabled { .. } => lf,
    })
}

fn check_agg(i: usize, step: &Step, spec: &AggSpec, e: &Expr, schema: &Schema) -> Result<()> {
    let lf = DataFrame::empty_with_schema(schema).lazy();
    lf.select([e.clone()]).collect_schema().map_err(|err| {
        let raw = err.to_string();
        let position = crate::engine::recipe::expr::missing_column(&raw)
            .and_then(|c| crate::engine::recipe::expr::find_word(&spec.text, &c));
        expr_err(
            i,
            step,
            &spec.name,
            ExprError {
                text: spec.text.clone(),
                position,
                message: crate::engine::recipe::expr::clean_message(&raw),
            },
        )
    })?;
    Ok(())
}

pub fn join_type(i: usize, step: &Step, how: &str) -> Result<JoinType> {
    Ok(match how.to_ascii_lowercase().as_str() {
        "inner" => JoinType::Inner,
        "left" => JoinType::Left,
        "semi" => JoinType::Semi,
        "anti" => JoinType::Anti,
        "full" | "outer" => JoinType::Full,
        other => {
            return Err(step_err(
                i,
                step,
                format!("unknown join `how = \"{other}\"`; use inner, left, semi, anti or full"),
            ))
        }
    })
}

/// `group_by(keys).agg(exprs)`, or a global aggregation when `keys` is empty.
pub fn group(lf: LazyFrame, keys: &[String], exprs: Vec<Expr>) -> LazyFrame {
    if keys.is_empty() {
        lf.select(exprs)
    } else {
        lf.group_by(keys.iter().map(|k| col(k.as_str())).collect::<Vec<_>>())
            .agg(exprs)
    }
}

/// Most frequent first; ties by value so the order is deterministic.
pub fn value_counts_sorted(lf: LazyFrame, column: &str) -> LazyFrame {
    lf.sort(
        ["count", column],
        SortMultipleOptions::default()
            .with_order_descending_multi([true, false])
            .with_nulls_last(true),
    )
}

/// Read a join's right side whole (they are small: see lower.rs for how a
/// big one is planned).
pub fn load_join_table(
    source: &crate::engine::recipe::SourceConfig,
    base: &Path,
) -> Result<Arc<DataFrame>> {
    let src = Source::open(source.to_spec(base)?)?;
    let mut df = DataFrame::empty_with_schema(&src.schema);
    for p in &src.partitions {
        df.vstack_mut(&src.read_partition(p.index)?)?;
    }
    Ok(Arc::new(df))
}

/// Load the right-hand sides of all join steps (fully, they are small).
pub fn load_joins(recipe: &Recipe, base: &Path) -> Result<JoinTables> {
    let mut out = JoinTables::new();
    for step in &recipe.steps {
        let step = match step {
            Step::Disabled { step } => step.as_ref(),
            other => other,
        };
        if let Step::Join { source, .. } = step {
            if out.contains_key(&join_key(source)) {
                continue;
            }
            out.insert(join_key(source), load_join_table(source, base)?);
        }
    }
    Ok(out)
}

/// The schema after each step (`result[k]` is the schema after step k),
/// computed without reading data. Fails at the first bad step.
pub fn schemas_after_steps(
    source_schema: &Schema,
    steps: &[Step],
    joins: &JoinTables,
) -> Result<Vec<Schema>> {
    let mut out = Vec::with_capacity(steps.len());
    let mut schema = source_schema.clone();
    for (i, step) in steps.iter().enumerate() {
        let lf = DataFrame::empty_with_schema(&schema).lazy();
        let mut lf = apply_step(lf, &schema, i, step, joins)?;
        let s = lf.collect_schema().map_err(|e| {
            step_err(
                i,
                step,
                crate::engine::recipe::expr::clean_message(&e.to_string()),
            )
        })?;
        schema = s.as_ref().clone();
        out.push(schema.clone());
    }
    Ok(out)
}

/// Apply `steps` (numbered from `first`, for error messages) to a frame.
pub fn apply_steps(
    mut lf: LazyFrame,
    first: usize,
    steps: &[Step],
    joins: &JoinTables,
) -> Result<LazyFrame> {
    let plan_err = |k: usize, e: PolarsError| {
        step_err(
            first + k,
            &steps[k],
            crate::engine::recipe::expr::clean_message(&e.to_string()),
        )
    };
    for (k, step) in steps.iter().enumerate() {
        let schema = lf.collect_schema().map_err(|e| plan_err(k, e))?;
        lf = apply_step(lf, &schema, first + k, step, joins)?;
    }
    Ok(lf)
}
