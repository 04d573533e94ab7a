//! Properties that must hold for any input, asserted by the fuzz targets
//! (`fuzz/`) and by the replay of their corpus in the ordinary tests. Each
//! takes raw bytes and panics when the property is broken; an `Err` from
//! quarry is fine — a clear error is a correct answer to bad input.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;

use crate::engine::recipe::expr::parse_expr;
use crate::engine::recipe::Recipe;
use crate::engine::steps::apply::{schemas_after_steps, JoinTables};
use crate::engine::{Source, SourceSpec};

/// The partition boundary finder: for any bytes read as CSV and any
/// blocksize (the first two bytes pick it, 1..=512), the rows of all
/// partitions in order equal the rows of a one-partition read, or both fail.
pub fn partition_union(data: &[u8]) {
    let (bs, bytes) = match data {
        [a, b, rest @ ..] => ((u64::from(*a) << 8 | u64::from(*b)) % 512 + 1, rest),
        _ => return,
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "quarry-check-{}-{}.csv",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    {
        let mut f = std::fs::File::create(&path).expect("temp file");
        f.write_all(bytes).expect("write temp file");
    }
    let read = |blocksize: u64| -> Option<DataFrame> {
        let mut spec = SourceSpec::new(path.to_string_lossy().into_owned());
        spec.blocksize = blocksize;
        let source = Source::open(spec).ok()?;
        let mut out = DataFrame::empty_with_schema(&source.schema);
        for p in &source.partitions {
            out.vstack_mut(&source.read_partition(p.index).ok()?).ok()?;
        }
        Some(out)
    };
    let whole = read(1 << 30);
    let parts = read(bs);
    let _ = std::fs::remove_file(&path);
    match (whole, parts) {
        (Some(w), Some(p)) => {
            assert_eq!(w.schema(), p.schema(), "blocksize {bs}: dtypes differ");
            assert!(
                w.equals_missing(&p),
                "blocksize {bs}: rows differ\nwhole {w}\nparts {p}"
            );
        }
        (None, None) => {}
        (w, p) => panic!(
            "blocksize {bs}: one read failed: whole ok={}, partitioned ok={}",
            w.is_some(),
            p.is_some()
        ),
    }
}

fn fixed_schema() -> Schema {
    Schema::from_iter([
        Field::new("a".into(), DataType::Int64),
        Field::new("b".into(), DataType::Float64),
        Field::new("s".into(), DataType::String),
        Field::new("d".into(), DataType::Date),
    ])
}

/// The expression parser: any text parses or fails with a message, and a
/// parsed expression checks against a schema (or fails) without panicking.
pub fn expression(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = parse_expr(text) {
        // Only the schema: collecting could legitimately allocate a lot
        // (a literal range of a billion values).
        let mut lf = DataFrame::empty_with_schema(&fixed_schema())
            .lazy()
            .select([e]);
        let _ = lf.collect_schema();
    }
}

/// The recipe parser: any text parses or fails with a message; a parsed
/// recipe's steps check against a schema and plan into a graph, or fail.
pub fn recipe(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(recipe) = Recipe::parse(text) else {
        return;
    };
    let joins = JoinTables::new();
    if schemas_after_steps(&fixed_schema(), &recipe.steps, &joins).is_ok() {
        let _ = crate::engine::plan::lower::plan(&recipe.steps, |_| 0);
    }
}
