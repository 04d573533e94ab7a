//! `describe` over the partitioned task graph equals polars' exact answers
//! where they are exact (count, nulls, min, max, mean, std) and stays within
//! the stated error where estimated (distinct, quantiles, top values),
//! whatever the blocksize.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use polars::prelude::*;
use quarry::engine::plan::graph::StageKind;
use quarry::engine::recipe::Recipe;
use quarry::engine::run::exec::local::LocalExecutor;
use quarry::engine::run::exec::{CancelToken, Executor};
use quarry::engine::run::job::{Job, JobOptions};
use quarry::engine::stats::describe::QUANTILES;
use quarry::engine::stats::sketch::{HLL_STATED_ERROR, TDIGEST_STATED_RANK_ERROR};

const ROWS: u64 = 150_000;

/// Deterministic data: a unique id (HyperLogLog territory), a skewed
/// string, a heavy-tailed float with nulls, a small int, a date.
fn write_data(dir: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("d.csv")).unwrap());
    writeln!(f, "id,city,amount,qty,day").unwrap();
    let mut x: u64 = 0x2545_f491;
    for i in 0..ROWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let city = ["Oslo", "Lima", "Pune", "Kyiv", "Quito", "Lagos"]
            [((x >> 8) % 100).min(99) as usize / 17];
        let amount = if i % 7 == 3 {
            String::new()
        } else {
            format!("{:.3}", ((x % 10_000) as f64 / 1000.0).exp())
        };
        let qty = (x >> 20) % 50;
        let day = format!("2020-{:02}-{:02}", 1 + (x >> 30) % 12, 1 + (x >> 40) % 28);
        writeln!(f, "{},{city},{amount},{qty},{day}", (i * 7_919) % ROWS * 3).unwrap();
    }
}

fn recipe(dir: &Path, blocksize: &str) -> Recipe {
    let text = format!(
        "[source]\npath = 'd.csv'\nblocksize = '{blocksize}'\n[source.dtypes]\nday = 'date'\n\n[[steps]]\nop = 'describe'\n"
    );
    let p = dir.join("r.toml");
    std::fs::write(&p, text).unwrap();
    Recipe::load(&p).unwrap().0
}

fn describe(dir: &Path, blocksize: &str) -> (DataFrame, Arc<Job>) {
    let job = Arc::new(Job::prepare(recipe(dir, blocksize), dir, &JobOptions::default()).unwrap());
    let frame = LocalExecutor::new(2, 1 << 30)
        .execute(Arc::clone(&job), None, Arc::new(|_| {}), CancelToken::new())
        .unwrap()
        .frame
        .unwrap();
    (frame, job)
}

/// Every row of the source, read in one piece: what polars answers on.
fn whole(job: &Job) -> DataFrame {
    let mut all = job.source.read_partition(0).unwrap();
    for p in 1..job.source.partitions.len() {
        all.vstack_mut(&job.source.read_partition(p).unwrap())
            .unwrap();
    }
    all
}

fn cell(df: &DataFrame, col: &str, row: usize) -> AnyValue<'static> {
    df.column(col).unwrap().get(row).unwrap().into_static()
}

fn text(df: &DataFrame, col: &str, row: usize) -> Option<String> {
    match cell(df, col, row) {
        AnyValue::Null => None,
        AnyValue::StringOwned(s) => Some(s.to_string()),
        v => Some(v.to_string()),
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn describe_matches_polars_across_blocksizes() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path());
    for blocksize in ["96KiB", "1MiB", "64MiB"] {
        let (table, job) = describe(dir.path(), blocksize);
        let data = whole(&job);
        assert_eq!(table.height(), data.width(), "one row per column");
        for (row, series) in data.columns().iter().enumerate() {
            let s = series.as_materialized_series();
            let name = s.name().as_str();
            let what = format!("{name} at blocksize {blocksize}");
            assert_eq!(text(&table, "column", row).as_deref(), Some(name));
            let count = (s.len() - s.null_count()) as u64;
            assert_eq!(
                cell(&table, "count", row),
                AnyValue::UInt64(count),
                "{what}"
            );
            assert_eq!(
                cell(&table, "nulls", row),
                AnyValue::UInt64(s.null_count() as u64),
                "{what}"
            );

            // min / max: exact, shown in the column's own type.
            let min = text(&table, "min", row).unwrap();
            let max = text(&table, "max", row).unwrap();
            match s.dtype() {
                DataType::String => {
                    let ca = s.str().unwrap();
                    assert_eq!(Some(min.as_str()), ca.iter().flatten().min(), "{what}");
                    assert_eq!(Some(max.as_str()), ca.iter().flatten().max(), "{what}");
                }
                DataType::Date => {
                    let lo = s
                        .cast(&DataType::Int32)
                        .unwrap()
                        .i32()
                        .unwrap()
                        .min()
                        .unwrap();
                    let shown = Series::new("".into(), [lo]).cast(&DataType::Date).unwrap();
                    assert_eq!(min, shown.get(0).unwrap().to_string(), "{what}");
                }
                _ => {
                    let f = s.cast(&DataType::Float64).unwrap();
                    let ca = f.f64().unwrap();
                    assert_eq!(min.parse::<f64>().unwrap(), ca.min().unwrap(), "{what}");
                    assert_eq!(max.parse::<f64>().unwrap(), ca.max().unwrap(), "{what}");
                    // mean and std: within 1e-9 relative of polars'.
                    let AnyValue::Float64(mean) = cell(&table, "mean", row) else {
                        panic!("{what}: no mean")
                    };
                    let AnyValue::Float64(std) = cell(&table, "std", row) else {
                        panic!("{what}: no std")
                    };
                    assert!(close(mean, ca.mean().unwrap(), 1e-9), "{what}: mean {mean}");
                    assert!(close(std, ca.std(1).unwrap(), 1e-9), "{what}: std {std}");
                    // Quantiles: the value's rank in the sorted data within
                    // the stated rank error.
                    let mut sorted: Vec<f64> = ca.iter().flatten().collect();
                    sorted.sort_by(f64::total_cmp);
                    let n = sorted.len() as f64;
                    for (qname, q) in QUANTILES {
                        let v: f64 = text(&table, qname, row).unwrap().parse().unwrap();
                        let lo = sorted.partition_point(|x| *x < v) as f64;
                        let hi = sorted.partition_point(|x| *x <= v) as f64;
                        let t = q * n;
                        let off = (lo - t).max(t - hi).max(0.0);
                        assert!(
                            off <= TDIGEST_STATED_RANK_ERROR * n + 1.0,
                            "{what}: {qname}={v} has rank {lo}..{hi}, wanted {t}"
                        );
                    }
                }
            }

            // distinct: exact up to the threshold, else within the stated error.
            let truth = s.n_unique().unwrap() as u64 - u64::from(s.null_count() > 0);
            let AnyValue::UInt64(distinct) = cell(&table, "distinct", row) else {
                panic!("{what}: no distinct")
            };
            let exact = cell(&table, "distinct_exact", row) == AnyValue::Boolean(true);
            if truth as usize <= quarry::engine::stats::sketch::EXACT_DISTINCT {
                assert!(exact, "{what}");
                assert_eq!(distinct, truth, "{what}");
            } else {
                assert!(!exact, "{what}");
                let rel = (distinct as f64 - truth as f64).abs() / truth as f64;
                assert!(rel <= HLL_STATED_ERROR, "{what}: {distinct} vs {truth}");
            }
        }
        // Top values of a low-cardinality column: exact counts, heaviest first.
        let row = 1;
        let vc = data
            .column("city")
            .unwrap()
            .as_materialized_series()
            .value_counts(true, false, "n".into(), false)
            .unwrap();
        let want: Vec<String> = (0..5)
            .map(|i| {
                format!(
                    "{} ({})",
                    vc.column("city")
                        .unwrap()
                        .get(i)
                        .unwrap()
                        .to_string()
                        .replace('"', ""),
                    vc.column("n").unwrap().get(i).unwrap()
                )
            })
            .collect();
        assert_eq!(text(&table, "top", row).unwrap(), want.join(", "));
        assert_eq!(cell(&table, "top_exact", row), AnyValue::Boolean(true));
        assert_eq!(text(&table, "len_min", row).as_deref(), Some("4"));
        assert_eq!(text(&table, "len_max", row).as_deref(), Some("5"));
    }
}

#[test]
fn describe_is_a_tree_reduction_in_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path());
    let job = Job::prepare(
        recipe(dir.path(), "96KiB"),
        dir.path(),
        &JobOptions::default(),
    )
    .unwrap();
    let g = &job.graph;
    assert!(
        job.source.partitions.len() > 8,
        "enough partitions for a tree"
    );
    assert!(
        g.stages[0].name.ends_with("+describe-chunk"),
        "{}",
        g.stages[0].name
    );
    assert!(g.stages.iter().any(|s| s.kind == StageKind::Combine));
    let last = g.stages.last().unwrap();
    assert_eq!(
        (last.kind, last.name.as_str()),
        (StageKind::Finalize, "describe-agg")
    );
    assert!(last.gather_reason.is_none());
}

#[test]
fn describe_runs_after_steps_and_feeds_later_steps() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path());
    let text = "[source]\npath = 'd.csv'\nblocksize = '256KiB'\n\n[[steps]]\nop = 'filter'\nexpr = \"city = 'Oslo'\"\n\n[[steps]]\nop = 'describe'\ncolumns = ['qty', 'city']\n\n[[steps]]\nop = 'filter'\nexpr = \"column = 'city'\"\n";
    let p = dir.path().join("r2.toml");
    std::fs::write(&p, text).unwrap();
    let (r, base) = Recipe::load(&p).unwrap();
    let job = Arc::new(Job::prepare(r, &base, &JobOptions::default()).unwrap());
    let table = LocalExecutor::new(2, 1 << 30)
        .execute(Arc::clone(&job), None, Arc::new(|_| {}), CancelToken::new())
        .unwrap()
        .frame
        .unwrap();
    assert_eq!(table.height(), 1);
    assert_eq!(text_of(&table, "distinct"), "1");
    assert_eq!(text_of(&table, "top").split(" (").next(), Some("Oslo"));
    // The same answer as the one-shot oracle (describe on all rows at once).
    let oracle = job.single_shot().unwrap();
    assert_eq!(text_of(&oracle, "count"), text_of(&table, "count"));
    assert_eq!(text_of(&oracle, "top"), text_of(&table, "top"));
}

fn text_of(df: &DataFrame, col: &str) -> String {
    text(df, col, 0).unwrap_or_default()
}

#[test]
fn cli_describe_table_json_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path());
    let csv = dir.path().join("d.csv");
    let bin = env!("CARGO_BIN_EXE_quarry");
    let o = Command::new(bin)
        .args([
            "describe",
            csv.to_str().unwrap(),
            "--format",
            "json",
            "--columns",
            "qty,city",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["column"], "qty");
    assert_eq!(rows[0]["count"], ROWS);
    assert_eq!(rows[0]["min"], "0");

    let o = Command::new(bin)
        .args(["describe", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("amount") && l.contains("f64")),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("HyperLogLog") && err.contains("t-digest"),
        "{err}"
    );

    // --recipe with --step: the data as of that step.
    let r = dir.path().join("r3.toml");
    std::fs::write(
        &r,
        "[source]\npath = 'd.csv'\n\n[[steps]]\nop = 'filter'\nexpr = 'qty < 10'\n\n[[steps]]\nop = 'select'\ncolumns = ['qty']\n",
    )
    .unwrap();
    let o = Command::new(bin)
        .args([
            "describe",
            "--recipe",
            r.to_str().unwrap(),
            "--step",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        5,
        "all columns after step 1"
    );
    assert_eq!(rows[3]["max"], "9");

    for (args, want) in [
        (
            vec!["describe", csv.to_str().unwrap(), "--columns", "nope"],
            "unknown column `nope`",
        ),
        (
            vec!["describe", "--recipe", r.to_str().unwrap(), "--step", "9"],
            "the recipe has 2 steps",
        ),
        (vec!["describe", "/no/such/file.csv"], "no/such/file.csv"),
        (vec!["describe"], "name a file to describe"),
    ] {
        let o = Command::new(bin).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
