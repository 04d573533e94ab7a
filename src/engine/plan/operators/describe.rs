//! `describe`: per-column statistics. Each partition's rows become partial
//! states (counts, moments, sketches), merged in a tree and finished into
//! one row per column (`stats::describe` owns the states).

use polars::prelude::*;

use super::{BlockingOperator, FinalizeContext};
use crate::engine::error::Result;
use crate::engine::stats::describe;

#[derive(Debug, Clone)]
pub struct Describe {
    index: usize,
    columns: Option<Vec<String>>,
}

impl Describe {
    pub fn new(index: usize, columns: Option<Vec<String>>) -> Describe {
        Describe { index, columns }
    }
}

impl BlockingOperator for Describe {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        "describe-chunk"
    }
    fn final_stage(&self) -> &'static str {
        "describe-agg"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        self.columns.clone()
    }
    fn chunk_state(&self, frame: DataFrame) -> Result<DataFrame> {
        describe::partial(&frame, self.columns.as_deref())
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        describe::merge(&partials)
    }
    fn finalize(&self, partials: DataFrame, ctx: &FinalizeContext) -> Result<LazyFrame> {
        Ok(describe::finish(&partials, ctx.input_schema)?.lazy())
    }
}
