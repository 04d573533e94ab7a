//! `pivot`: the group-by `steps::pivot` turns it into (conditional
//! aggregations per pivoted value), chunked and combined as any group-by;
//! finalize checks that no row's value fell outside the named columns,
//! then shapes the wide rows.

use polars::prelude::*;

use super::group_by::GroupBy;
use super::{collect, BlockingOperator, FinalizeContext};
use crate::engine::error::{QuarryError, Result};
use crate::engine::steps::pivot::{check_no_other, finish};

#[derive(Debug, Clone)]
pub struct Pivot {
    grouped: GroupBy,
    index: Vec<String>,
    on: String,
    columns: Vec<String>,
}

impl Pivot {
    pub fn new(grouped: GroupBy, index: Vec<String>, on: String, columns: Vec<String>) -> Pivot {
        Pivot {
            grouped,
            index,
            on,
            columns,
        }
    }
}

impl BlockingOperator for Pivot {
    fn first_index(&self) -> usize {
        self.grouped.first_index()
    }
    fn chunk_stage(&self) -> &'static str {
        "pivot-chunk"
    }
    fn final_stage(&self) -> &'static str {
        "pivot-agg"
    }
    fn columns_read(&self) -> Option<Vec<String>> {
        self.grouped.columns_read()
    }
    fn chunk(&self, lf: LazyFrame) -> LazyFrame {
        self.grouped.chunk(lf)
    }
    fn combine(&self, partials: DataFrame) -> Result<DataFrame> {
        self.grouped.combine(partials)
    }
    fn finalize(&self, partials: DataFrame, ctx: &FinalizeContext) -> Result<LazyFrame> {
        let grouped = collect(self.grouped.finalize(partials, ctx)?)?;
        check_no_other(&grouped, &self.on).map_err(|e| {
            QuarryError::Usage(format!("step {} (pivot): {e}", self.first_index() + 1))
        })?;
        Ok(finish(grouped.lazy(), &self.index, &self.columns))
    }
}
