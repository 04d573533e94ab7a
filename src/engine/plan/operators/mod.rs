//! Blocking operators: the steps that need rows from more than one
//! partition. Each is one type with its stage names and the three parts of
//! a tree reduction, the way Dask splits `groupby().agg()`:
//!
//! - `chunk`: per partition, after the fused row-local steps;
//! - `combine`: merges concatenated partial results (a tree of these with
//!   fan-in `split_every`);
//! - `finalize`: turns the last merged partials into the step's result.
//!
//! Adding an operator is one file here plus a line in [`for_step`].

pub mod describe;
pub mod gather;
pub mod group_by;
pub mod head;
pub mod pivot;
pub mod top_k;
pub mod unique;
pub mod value_counts;

use std::fmt::Debug;
use std::sync::Arc;

use polars::prelude::*;

use crate::engine::error::Result;
use crate::engine::recipe::Step;
use crate::engine::steps::apply::{parse_aggs, JoinTables};

/// How an operator's tasks are laid out after the map stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Combines in a tree, then one finalize.
    Tree,
    /// No tree: one task concatenates the map outputs (the executor may stop
    /// scheduling maps early, see [`BlockingOperator::row_limit`]).
    Concat,
    /// Every row is gathered into one task: the step cannot be decomposed.
    Gather { reason: String },
}

/// What finalize may need besides the partial results.
pub struct FinalizeContext<'a> {
    /// The schema of the rows the blocking step sees.
    pub input_schema: &'a Schema,
    pub joins: &'a JoinTables,
}

pub trait BlockingOperator: Debug + Send + Sync {
    /// Index of the blocking step in the recipe.
    fn first_index(&self) -> usize;

    /// Index of the last step the operator consumes (top-k is a sort and
    /// the head after it).
    fn last_index(&self) -> usize {
        self.first_index()
    }

    /// Name of the per-partition part, appended to the map stage's name
    /// (empty: nothing runs per partition).
    fn chunk_stage(&self) -> &'static str;

    /// Name of the final stage.
    fn final_stage(&self) -> &'static str;

    fn layout(&self) -> Layout {
        Layout::Tree
    }

    /// The columns of its input the operator reads (`None`: all of them).
    fn columns_read(&self) -> Option<Vec<String>>;

    /// The per-partition part, on the partition's lazy rows.
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        lf
    }

    /// Turns the collected chunk into the partial state (identity for
    /// operators whose partial state is a frame of the same shape).
    fn chunk_state(&self, frame: DataFrame) -> Result<DataFrame> {
        Ok(frame)
    }

    /// Merge concatenated partial states into one.
    fn combine(&self, partials: DataFrame) -> Result<DataFrame>;

    /// The step's result from the concatenated last partial states; lazy, so
    /// the steps after it fuse into the same query.
    fn finalize(&self, partials: DataFrame, ctx: &FinalizeContext) -> Result<LazyFrame>;

    /// Rows after which no more map outputs are needed (head).
    fn row_limit(&self) -> Option<u64> {
        None
    }
}

/// The operator for blocking step `i` (`steps[i]` is not row-local).
pub fn for_step(i: usize, steps: &[Step]) -> Result<Arc<dyn BlockingOperator>> {
    let step = &steps[i];
    Ok(match step {
        Step::GroupBy { keys, aggs } => {
            let specs = parse_aggs(i, step, aggs)?;
            match specs.iter().find(|a| !a.func.decomposable()) {
                Some(bad) => Arc::new(gather::Gather::new(
                    i,
                    step.clone(),
                    format!(
                        "`{}` ({}) cannot be merged from partial results",
                        bad.name, bad.text
                    ),
                )),
                None => Arc::new(group_by::GroupBy::new(i, keys.clone(), specs)),
            }
        }
        Step::Pivot {
            index,
            on,
            values,
            agg,
            columns,
        } => {
            let grouped = crate::engine::steps::pivot::as_group_by(index, on, values, agg, columns)
                .map_err(|e| {
                    crate::engine::error::QuarryError::Usage(format!("step {} (pivot): {e}", i + 1))
                })?;
            let Step::GroupBy { keys, aggs } = &grouped else {
                unreachable!("a pivot is a group-by")
            };
            let specs = parse_aggs(i, &grouped, aggs)?;
            Arc::new(pivot::Pivot::new(
                group_by::GroupBy::new(i, keys.clone(), specs),
                index.clone(),
                on.clone(),
                columns.clone(),
            ))
        }
        Step::ValueCounts { column } => Arc::new(value_counts::ValueCounts::new(i, column.clone())),
        Step::Unique { columns } => Arc::new(unique::Unique::new(i, columns.clone())),
        Step::Sort { by, descending } => match steps.get(i + 1) {
            Some(Step::Head { n }) => {
                let by = by.to_vec();
                let descending = descending
                    .as_ref()
                    .map(|d| d.expand(by.len()))
                    .unwrap_or_else(|| vec![false; by.len()]);
                Arc::new(top_k::TopK::new(i, by, descending, *n))
            }
            _ => Arc::new(gather::Gather::new(
                i,
                step.clone(),
                "a full sort needs all rows (add a head step after it for a top-k)".into(),
            )),
        },
        Step::Head { n } => Arc::new(head::Head::new(i, *n)),
        Step::Describe { columns } => Arc::new(describe::Describe::new(i, columns.clone())),
        Step::Sql { .. } => Arc::new(gather::Gather::new(
            i,
            step.clone(),
            "free SQL runs on the whole table".into(),
        )),
        Step::Join { .. } => Arc::new(gather::Gather::new(
            i,
            step.clone(),
            "the join's right side is too large to broadcast".into(),
        )),
        other => Arc::new(gather::Gather::new(
            i,
            other.clone(),
            format!("`{}` is not decomposed", other.op()),
        )),
    })
}

/// Collect a combine's query with quarry's error mapping.
fn collect(lf: LazyFrame) -> Result<DataFrame> {
    crate::engine::frames::collect(lf)
}
