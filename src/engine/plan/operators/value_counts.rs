//! `value_counts`: counts per value per partition, summed in a tree, sorted
//! most frequent first at the end.

use polars::prelude::*;

use super::{collect, BlockingOperator, FinalizeContext};
use crate::engine::error::Result;
use crate::engine::steps::apply::value_counts_sorted;

#[derive(Debug, Clone)]
pub struct ValueCounts {
    index: usize,
    column: String,
}

impl ValueCounts {
    pub fn new(index: usize, column: String) -> ValueCounts {
        ValueCounts { index, column }
    }

    fn sum_counts(&self, lf: LazyFrame) -> LazyFrame {
        lf.group_by([col(self.column.as_str())])
            .agg([col("count").sum().alias("count")])
    }
}

impl BlockingOperator for ValueCounts {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        "value-counts-chunk"
    }
    fn final_stage(&self) -> &'static str {
        "value-counts-agg"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        Some(vec![self.column.clone()])
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        lf.group_by([col(self.column.as_str())])
            .agg([len().cast(DataType::UInt64).alias("count")])
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        collect(self.sum_counts(partials.lazy()))
    }
    fn finalize(&self, partials: DataFrame, _: &FinalizeContext) -> Result<LazyFrame> {
        Ok(value_counts_sorted(
            self.sum_counts(partials.lazy()),
            &self.column,
        ))
    }
}
