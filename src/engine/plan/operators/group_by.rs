//! `group_by`: per-partition partial aggregates per key, merged by key in a
//! tree, finalized into the user's aggregations (`agg` decomposes each).

use std::collections::BTreeSet;

use polars::prelude::*;

use super::{collect, BlockingOperator, FinalizeContext};
use crate::engine::error::Result;
use crate::engine::recipe::agg::AggSpec;
use crate::engine::steps::apply::group;

#[derive(Debug, Clone)]
pub struct GroupBy {
    index: usize,
    keys: Vec<String>,
    aggs: Vec<AggSpec>,
}

impl GroupBy {
    pub fn new(index: usize, keys: Vec<String>, aggs: Vec<AggSpec>) -> GroupBy {
        GroupBy { index, keys, aggs }
    }

    fn combine_lazy(&self, lf: LazyFrame) -> LazyFrame {
        let exprs = self
            .aggs
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.combine(i))
            .collect();
        group(lf, &self.keys, exprs)
    }
}

impl BlockingOperator for GroupBy {
    fn first_index(&self) -> usize {
        self.index
    }
    fn chunk_stage(&self) -> &'static str {
        "groupby-chunk"
    }
    fn final_stage(&self) -> &'static str {
        "groupby-agg"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        let mut names: BTreeSet<String> = self.keys.iter().cloned().collect();
        for a in &self.aggs {
            if let Some(arg) = &a.arg {
                names.extend(
                    arg.clone()
                        .meta()
                        .root_names()
                        .into_iter()
                        .map(|s| s.to_string()),
                );
            }
        }
        Some(names.into_iter().collect())
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        let exprs = self
            .aggs
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.chunk(i))
            .collect();
        group(lf, &self.keys, exprs)
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        collect(self.combine_lazy(partials.lazy()))
    }
    fn finalize(&self, partials: DataFrame, _: &FinalizeContext) -> Result<LazyFrame> {
        let mut exprs: Vec<Expr> = self.keys.iter().map(|k| col(k.as_str())).collect();
        exprs.extend(self.aggs.iter().enumerate().map(|(i, a)| a.finalize(i)));
        Ok(self.combine_lazy(partials.lazy()).select(exprs))
    }
}
