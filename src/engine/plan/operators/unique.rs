//! `unique`: distinct rows (or distinct on some columns, first kept) per
//! partition, then again over the merged partials; order is stable.

use polars::prelude::*;

use super::{collect, BlockingOperator, FinalizeContext};
use crate::engine::error::Result;

#[derive(Debug, Clone)]
pub struct Unique {
    index: usize,
    columns: Option<Vec<String>>,
}

impl Unique {
    pub fn new(index: usize, columns: Option<Vec<String>>) -> Unique {
        Unique { index, columns }
    }
}

impl BlockingOperator for Unique {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        "unique-chunk"
    }
    fn final_stage(&self) -> &'static str {
        "unique-agg"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        // Distinct on some columns still keeps every column of the first row.
        None
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        lf.unique_stable_generic(
            self.columns
                .as_ref()
                .map(|c| c.iter().map(|n| col(n.as_str())).collect()),
            UniqueKeepStrategy::First,
        )
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        collect(self.chunk(partials.lazy()))
    }
    fn finalize(&self, partials: DataFrame, _: &FinalizeContext) -> Result<LazyFrame> {
        Ok(self.chunk(partials.lazy()))
    }
}
