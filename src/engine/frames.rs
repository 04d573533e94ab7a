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

/// `df` with struct and list columns as compact JSON text, for formats that
/// hold only flat values (CSV): `{"count":3,"tags":["a"]}` in a cell keeps
/// the whole value, and any JSON tool reads it back.
pub fn nested_as_json_text(df: DataFrame) -> Result<DataFrame> {
    let nested = |dt: &DataType| {
        matches!(
            dt,
            DataType::Struct(_) | DataType::List(_) | DataType::Array(..)
        )
    };
    if !df.columns().iter().any(|c| nested(c.dtype())) {
        return Ok(df);
    }
    let height = df.height();
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if !nested(c.dtype()) {
                return c.clone();
            }
            let series = c.as_materialized_series();
            let text: StringChunked = series
                .iter()
                .map(|v| (!v.is_null()).then(|| crate::cell::json_value(&v).to_string()))
                .collect();
            text.with_name(c.name().clone()).into_column()
        })
        .collect();
    Ok(DataFrame::new(height, columns)?)
}
