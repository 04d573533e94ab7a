//! Small helpers over whole frames shared by steps, jobs and outputs.

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};

pub fn collect(lf: LazyFrame) -> Result<DataFrame> {
    lf.collect().map_err(|e| QuarryError::Engine(e.to_string()))
}

/// Concatenate frames in order (empty input -> empty frame).
pub fn concat_frames(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut it = frames.into_iter();
    let Some(mut acc) = it.next() else {
        return Ok(DataFrame::empty());
    };
    for df in it {
        acc.vstack_mut(&df).map_err(|e| {
            QuarryError::Engine(format!("cannot concatenate partition results: {e}"))
        })?;
    }
    acc.rechunk_mut();
    Ok(acc)
}
