//! `sort` followed by `head n`: the top n rows of each partition, merged
//! into the top n of the top n's.

use polars::prelude::*;

use super::{collect, BlockingOperator, FinalizeContext};
use crate::engine::error::Result;

#[derive(Debug, Clone)]
pub struct TopK {
    index: usize,
    by: Vec<String>,
    descending: Vec<bool>,
    n: usize,
}

impl TopK {
    pub fn new(index: usize, by: Vec<String>, descending: Vec<bool>, n: usize) -> TopK {
        TopK {
            index,
            by,
            descending,
            n,
        }
    }
}

impl BlockingOperator for TopK {
    fn first_index(&self) -> usize {
        self.index
    }
    fn last_index(&self) -> usize {
        self.index + 1
    }
    fn chunk_stage(&self) -> &'static str {
        "topk"
    }
    fn final_stage(&self) -> &'static str {
        "topk-merge"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        None
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        lf.sort(
            self.by
                .iter()
                .map(|s| PlSmallStr::from(s.as_str()))
                .collect::<Vec<_>>(),
            SortMultipleOptions::default()
                .with_order_descending_multi(self.descending.clone())
                .with_maintain_order(true),
        )
        .limit(self.n as IdxSize)
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        collect(self.chunk(partials.lazy()))
    }
    fn finalize(&self, partials: DataFrame, _: &FinalizeContext) -> Result<LazyFrame> {
        Ok(self.chunk(partials.lazy()))
    }
}
