//! A step that cannot be decomposed (a full sort, median, free SQL, a join
//! with a large right side): every row goes to one task, which runs the
//! step as polars would on the whole table.

use polars::prelude::*;

use super::{BlockingOperator, FinalizeContext, Layout};
use crate::engine::error::{QuarryError, Result};
use crate::engine::recipe::Step;
use crate::engine::steps::apply::apply_steps;

#[derive(Debug, Clone)]
pub struct Gather {
    index: usize,
    step: Step,
    reason: String,
}

impl Gather {
    pub fn new(index: usize, step: Step, reason: String) -> Gather {
        Gather {
            index,
            step,
            reason,
        }
    }
}

impl BlockingOperator for Gather {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        ""
    }
    fn final_stage(&self) -> &'static str {
        "gather"
    }
    fn layout(&self) -> Layout {
        Layout::Gather {
            reason: self.reason.clone(),
        }
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        None
    }
    fn combine(&self, _: DataFrame) -> Result<DataFrame> {
        Err(QuarryError::Engine(
            "internal: a gathered step has no combine stage".into(),
        ))
    }
    fn finalize(&self, rows: DataFrame, ctx: &FinalizeContext) -> Result<LazyFrame> {
        apply_steps(
            rows.lazy(),
            self.index,
            std::slice::from_ref(&self.step),
            ctx.joins,
        )
    }
}
