//! `quarry head` and `quarry take`: the first rows, or a random sample.

use std::sync::Arc;

use crate::cli::args::{split_format, OutputFormat, RowsArgs, TakeArgs};
use crate::cli::print::print_frame;
use crate::engine::{Previewer, Result, Source};

/// The outputs a row listing can be printed as.
const ROW_OUTPUTS: [OutputFormat; 3] = [OutputFormat::Table, OutputFormat::Csv, OutputFormat::Json];

pub fn head(a: RowsArgs) -> Result<()> {
    let (out, input) = split_format(a.format.as_deref(), &ROW_OUTPUTS)?;
    let (spec, _stdin) = a.source.to_spec(input)?;
    let source = Arc::new(Source::open(spec)?);
    let df = Previewer::new(source).head(a.n)?;
    print_frame(df, out)
}

pub fn take(a: TakeArgs) -> Result<()> {
    let (out, input) = split_format(a.rows.format.as_deref(), &ROW_OUTPUTS)?;
    let (spec, _stdin) = a.rows.source.to_spec(input)?;
    let source = Arc::new(Source::open(spec)?);
    let df = Previewer::new(source).take(a.rows.n, a.seed)?;
    print_frame(df, out)
}
