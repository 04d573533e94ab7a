//! `head n`: the first n rows of each partition, concatenated in partition
//! order and cut to n. No tree: the executor stops scheduling partitions
//! once the rows before the next one already number n.

use polars::prelude::*;

use super::{BlockingOperator, FinalizeContext, Layout};
use crate::engine::error::Result;

#[derive(Debug, Clone)]
pub struct Head {
    index: usize,
    n: usize,
}

impl Head {
    pub fn new(index: usize, n: usize) -> Head {
        Head { index, n }
    }
}

impl BlockingOperator for Head {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        "head"
    }
    fn final_stage(&self) -> &'static str {
        "head-concat"
    }
    fn layout(&self) -> Layout {
        Layout::Concat
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        None
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        lf.limit(self.n as IdxSize)
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        Ok(partials.head(Some(self.n)))
    }
    fn finalize(&self, partials: DataFrame, _: &FinalizeContext) -> Result<LazyFrame> {
        Ok(self.chunk(partials.lazy()))
    }
    fn row_limit(&self) -> Option<u64> {
        Some(self.n as u64)
    }
}
