//! The correctness oracle: random recipes over random files and random
//! blocksizes, run as a partitioned task graph on the local executor, equal
//! polars' single-shot collect of the same steps on the whole file.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use proptest::prelude::*;
use quarry::engine::plan::graph::StageKind;
use quarry::engine::recipe::Recipe;
use quarry::engine::run::events::Event;
use quarry::engine::run::exec::local::LocalExecutor;
use quarry::engine::run::exec::{CancelToken, Executor};
use quarry::engine::run::job::{Job, JobOptions};
use quarry::engine::run::output::{OutputTarget, PartSink};
use quarry::engine::steps::apply::apply_steps;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::File::create(dir.join(name))
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn run(job: Arc<Job>, workers: usize) -> DataFrame {
    LocalExecutor::new(workers, 1 << 30)
        .execute(job, None, Arc::new(|_| {}), CancelToken::new())
        .unwrap()
        .frame
        .unwrap()
}

/// polars on its own: read the whole file in one go, apply the steps, collect.
/// polars' single-shot answer, or its error (e.g. a comparison with a
/// column that is all empty, so read as str).
fn try_oracle(job: &Job, path: &Path) -> Result<DataFrame, String> {
    let df = CsvReadOptions::default()
        .with_infer_schema_length(None)
        .with_schema(Some(job.source.schema.clone()))
        .try_into_reader_with_file_path(Some(path.into()))
        .unwrap()
        .finish()
        .unwrap();
    apply_steps(df.lazy(), 0, &job.recipe.steps, &job.joins)
        .map_err(|e| e.to_string())?
        .collect()
        .map_err(|e| e.to_string())
}

fn sorted(df: &DataFrame) -> DataFrame {
    let names: Vec<PlSmallStr> = df.get_column_names_owned();
    if names.is_empty() || df.height() == 0 {
        return df.clone();
    }
    let n = names.len();
    df.sort(
        names,
        SortMultipleOptions::default()
            .with_nulls_last(true)
            .with_order_descending_multi(vec![false; n])
            .with_maintain_order(true),
    )
    .unwrap()
}

/// `df` as a Parquet file with full statistics, `rows` rows a row group.
fn write_parquet(df: &mut DataFrame, path: &std::path::Path, rows: usize) {
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .with_row_group_size(Some(rows))
        .with_statistics(StatisticsOptions::full())
        .finish(df)
        .unwrap();
}

/// The job's answer, run on two workers, equals polars' on `df` (rows in
/// any order).
fn assert_job_equals_polars(job: &Arc<Job>, df: &DataFrame, what: &str) {
    let ours = sorted(&run(Arc::clone(job), 2));
    let theirs = sorted(
        &apply_steps(df.clone().lazy(), 0, &job.recipe.steps, &job.joins)
            .unwrap()
            .collect()
            .unwrap(),
    );
    assert!(
        ours.equals_missing(&theirs),
        "{what}: ours {ours}\ntheirs {theirs}"
    );
}

/// Equal up to float rounding (1e-9 relative); row order compared as given.
fn assert_frames_close(ours: &DataFrame, theirs: &DataFrame, what: &str) {
    assert_eq!(ours.schema(), theirs.schema(), "{what}: schemas differ");
    assert_eq!(
        ours.height(),
        theirs.height(),
        "{what}: heights differ\nours {ours}\ntheirs {theirs}"
    );
    for (a, b) in ours.columns().iter().zip(theirs.columns()) {
        let (a, b) = (a.as_materialized_series(), b.as_materialized_series());
        if a.dtype().is_float() {
            let a = a.cast(&DataType::Float64).unwrap();
            let b = b.cast(&DataType::Float64).unwrap();
            for (x, y) in a.f64().unwrap().iter().zip(b.f64().unwrap().iter()) {
                match (x, y) {
                    (None, None) => {}
                    (Some(x), Some(y)) if x.is_nan() && y.is_nan() => {}
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                        "{what}: column {} {x} vs {y}",
                        a.name()
                    ),
                    _ => panic!("{what}: column {} null mismatch {x:?} vs {y:?}", a.name()),
                }
            }
        } else {
            assert!(
                a.equals_missing(b),
                "{what}: column {} differs\nours {ours}\ntheirs {theirs}",
                a.name()
            );
        }
    }
}

fn data_file() -> impl Strategy<Value = String> {
    let row = (
        prop_oneof![Just("a"), Just("b"), Just("c"), Just("d"), Just("")],
        0i64..5,
        prop_oneof![4 => (-1000.0f64..1000.0).prop_map(Some), 1 => Just(None)],
        -50i64..50,
        prop_oneof![Just("x;y"), Just("z"), Just("x;z;w"), Just("")],
    );
    prop::collection::vec(row, 1..250).prop_map(|rows| {
        let mut t = String::from("k,g,x,y,tags,extra,extra2\n");
        for (k, g, x, y, tags) in rows {
            let x = x.map(|v| format!("{v:?}")).unwrap_or_default();
            t.push_str(&format!("{k},{g},{x},{y},{tags},e{g},f{y}\n"));
        }
        t
    })
}

/// Row-local steps, then at most one blocking step, then maybe a tail.
fn recipe_steps() -> impl Strategy<Value = (String, bool)> {
    // Distinct steps (a second drop of the same column is an error).
    let local = prop::sample::subsequence(
        vec![
            "[[steps]]\nop='filter'\nexpr='x > -500 OR x IS NULL'\n",
            "[[steps]]\nop='filter'\nexpr=\"k = 'a' OR g > 2\"\n",
            "[[steps]]\nop='with_columns'\ncolumns={ z = 'x * 2 + y', w = 'z - 1' }\n",
            "[[steps]]\nop='cast'\ncolumns={ y = 'f64' }\n",
            "[[steps]]\nop='drop'\ncolumns=['extra']\n",
            "[[steps]]\nop='parse'\ncolumn='tags'\npattern='(?P<first>[a-z])(?P<rest>.*)'\n",
            "[[steps]]\nop='join'\nsource={ path = 'right.csv' }\non='k'\nhow='left'\n",
            "[[steps]]\nop='rename'\ncolumns={ extra2 = 'renamed' }\n",
            "[[steps]]\nop='repartition'\nn=3\n",
            "[[steps]]\nop='select'\ncolumns=['k', 'g', 'x', 'y', 'tags']\n",
        ],
        0..4,
    );
    // (text, whether the result order is defined)
    let blocking = prop_oneof![
        Just(("", true)),
        Just(("[[steps]]\nop='group_by'\nkeys=['k']\naggs={ s = 'sum(x)', n = 'count(*)', lo = 'min(y)', hi = 'max(x)', m = 'avg(x)', v = 'var(x)', sd = 'std(y)', f = 'first(y)', l = 'last(x)', u = 'count(distinct g)', c = 'count(x)' }\n", false)),
        Just(("[[steps]]\nop='group_by'\nkeys=['k', 'g']\naggs={ s = 'sum(y)', m = 'avg(x)' }\n", false)),
        Just(("[[steps]]\nop='group_by'\nkeys=[]\naggs={ s = 'sum(x)', n = 'count(*)', v = 'var(x)', u = 'count(distinct k)' }\n", true)),
        Just(("[[steps]]\nop='group_by'\nkeys=['g']\naggs={ med = 'median(x)' }\n", false)),
        Just(("[[steps]]\nop='value_counts'\ncolumn='k'\n", true)),
        Just(("[[steps]]\nop='unique'\ncolumns=['k', 'g']\n", true)),
        Just(("[[steps]]\nop='unique'\n", true)),
        Just(("[[steps]]\nop='sort'\nby=['y', 'k']\ndescending=[true, false]\n[[steps]]\nop='head'\nn=7\n", true)),
        Just(("[[steps]]\nop='head'\nn=13\n", true)),
        Just(("[[steps]]\nop='sort'\nby='y'\n", true)),
        Just(("[[steps]]\nop='sql'\nquery='SELECT k, SUM(y) AS s FROM self GROUP BY k'\n", false)),
        Just(("[[steps]]\nop='explode'\ncolumn='tags'\n", true)),
    ];
    (local, blocking).prop_map(|(locals, (b, ordered))| {
        let mut t = String::new();
        for l in locals {
            t.push_str(l);
        }
        t.push_str(b);
        (t, ordered)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn partitioned_run_equals_single_shot(
        data in data_file(),
        (steps, ordered) in recipe_steps(),
        blocksize in 40u64..3000,
        split_every in 2usize..5,
        workers in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "d.csv", data.as_bytes());
        write(dir.path(), "right.csv", b"k,label\na,first\nb,second\nc,third\n");
        // Explode needs a list column: split tags first.
        let steps = steps.replace(
            "op='explode'",
            "op='with_columns'\ncolumns={ tags = \"string_to_array(tags, ';')\" }\n[[steps]]\nop='explode'",
        );
        let text = format!("[source]\npath='d.csv'\n[source.dtypes]\nk='str'\ntags='str'\n{steps}");
        let recipe = Recipe::parse(&text).unwrap();
        let opts = JobOptions { split_every, blocksize: Some(blocksize), writes_output: false };
        let job = match Job::prepare(recipe.clone(), dir.path(), &opts) {
            Ok(j) => Arc::new(j),
            Err(e) => {
                // quarry refuses the recipe on this data (e.g. an all-empty
                // column is read as str): polars, inferring on its own,
                // must refuse it too.
                let df = CsvReadOptions::default()
                    .with_infer_schema_length(None)
                    .try_into_reader_with_file_path(Some(dir.path().join("d.csv")))
                    .unwrap()
                    .finish()
                    .unwrap();
                let joins = quarry::engine::steps::apply::load_joins(&recipe, dir.path()).unwrap();
                let polars = apply_steps(df.lazy(), 0, &recipe.steps, &joins)
                    .map_err(|e| e.to_string())
                    .and_then(|lf| lf.collect().map_err(|e| e.to_string()));
                assert!(polars.is_err(), "quarry refused ({e}) but polars answered");
                return Ok(());
            }
        };
        let ours = LocalExecutor::new(workers, 1 << 30)
            .execute(Arc::clone(&job), None, Arc::new(|_| {}), CancelToken::new());
        let theirs = try_oracle(&job, &dir.path().join("d.csv"));
        // Both fail (polars refuses the query on this data), or both answer.
        let (ours, theirs) = match (ours, theirs) {
            (Err(_), Err(_)) => return Ok(()),
            (Ok(o), Ok(t)) => (o.frame.unwrap(), t),
            (o, t) => panic!("one side failed: ours {:?}, polars {:?}", o.err(), t.err()),
        };
        if ordered {
            assert_frames_close(&ours, &theirs, &steps);
        } else {
            assert_frames_close(&sorted(&ours), &sorted(&theirs), &steps);
        }
    }
}

fn demo(rows: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    quarry::demo::write_demo(dir.path(), rows).unwrap();
    dir
}

#[test]
fn arcos_recipe_end_to_end() {
    let dir = demo(30_000);
    let (recipe, base) = Recipe::load(&dir.path().join("arcos.toml")).unwrap();
    let opts = JobOptions {
        blocksize: Some(256 * 1024),
        ..JobOptions::default()
    };
    let job = Arc::new(Job::prepare(recipe, &base, &opts).unwrap());
    // 4.5 MB in 256 KiB blocks: 18 partitions -> combine tree of fan-in 8.
    let parts = job.source.partitions.len();
    assert!(parts > 8, "{parts}");
    assert_eq!(
        job.graph.summary(),
        format!(
            "read-csv+with_columns+filter+groupby-chunk ×{parts} → combine ×{} → groupby-agg ×1",
            parts.div_ceil(8)
        )
    );
    let ours = run(Arc::clone(&job), 2);
    let theirs = job.single_shot().unwrap();
    assert!(ours.height() > 100);
    assert_eq!(
        ours.get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        [
            "year",
            "BUYER_STATE",
            "BUYER_COUNTY",
            "morphine_equivalent_g",
            "shipments"
        ]
    );
    assert_frames_close(&sorted(&ours), &sorted(&theirs), "arcos");
}

#[test]
fn reviews_recipe_end_to_end() {
    let dir = demo(20_000); // 1,000 review records
    let (recipe, base) = Recipe::load(&dir.path().join("reviews.toml")).unwrap();
    let opts = JobOptions {
        blocksize: Some(64 * 1024),
        ..JobOptions::default()
    };
    let job = Arc::new(Job::prepare(recipe, &base, &opts).unwrap());
    let ours = sorted(&run(Arc::clone(&job), 2));
    let theirs = sorted(&job.single_shot().unwrap());
    assert_frames_close(&ours, &theirs, "reviews");
    let n: u64 = ours
        .column("n")
        .unwrap()
        .u64()
        .unwrap()
        .iter()
        .flatten()
        .sum();
    assert_eq!(n, 1000, "every record parsed once");
}

#[test]
fn graph_shapes_per_step_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("k,x\n");
    for i in 0..20_000 {
        t.push_str(&format!("{},{i}\n", i % 7));
    }
    write(dir.path(), "d.csv", t.as_bytes());
    let graph = |steps: &str| {
        let r = Recipe::parse(&format!(
            "[source]\npath='d.csv'\nblocksize='2KiB'\n{steps}"
        ))
        .unwrap();
        Job::prepare(r, dir.path(), &JobOptions::default())
            .unwrap()
            .graph
    };
    let parts = t.len().div_ceil(2048);
    assert!(
        parts > 64,
        "two levels of combines need > 64 partitions: {parts}"
    );
    let g = graph("[[steps]]\nop='filter'\nexpr='x > 5'\n");
    assert_eq!(g.summary(), format!("read-csv+filter ×{parts} → concat ×1"));
    let g = graph("[[steps]]\nop='value_counts'\ncolumn='k'\n");
    assert_eq!(g.stages.len(), 4, "{}", g.summary()); // map, combine, combine, agg
    assert_eq!(g.stages[1].fan_in, 8);
    assert_eq!(g.stages[1].tasks.len(), parts.div_ceil(8));
    assert_eq!(g.stages.last().unwrap().tasks.len(), 1);
    let g = graph("[[steps]]\nop='sort'\nby='x'\n");
    assert_eq!(g.stages[1].kind, StageKind::Gather);
    assert!(g.to_text().contains("gathers all rows"));
    let g = graph("[[steps]]\nop='head'\nn=3\n");
    assert_eq!(
        g.summary(),
        format!("read-csv+head ×{parts} → head-concat ×1")
    );
    let dot = graph("[[steps]]\nop='unique'\n").to_dot();
    assert!(dot.starts_with("digraph") && dot.contains("t0 -> "));
}

#[test]
fn head_stops_scheduling_once_it_has_enough_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("x\n");
    for i in 0..50_000 {
        t.push_str(&format!("{i}\n"));
    }
    write(dir.path(), "d.csv", t.as_bytes());
    let r = Recipe::parse("[source]\npath='d.csv'\nblocksize='4KiB'\n[[steps]]\nop='head'\nn=10\n")
        .unwrap();
    let job = Arc::new(Job::prepare(r, dir.path(), &JobOptions::default()).unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let res = LocalExecutor::new(1, 1 << 30)
        .execute(
            Arc::clone(&job),
            None,
            Arc::new(move |e| s2.lock().unwrap().push(e)),
            CancelToken::new(),
        )
        .unwrap();
    let df = res.frame.unwrap();
    assert_eq!(
        df.column("x")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    let ev = seen.lock().unwrap();
    let started = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::TaskStarted {
                    partition: Some(_),
                    ..
                }
            )
        })
        .count();
    assert!(started < 3, "read {started} partitions for 10 rows");
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::TaskCancelled { reason, .. } if reason.contains("head"))));
}

#[test]
fn cancellation_stops_dispatch_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("x,y\n");
    for i in 0..200_000 {
        t.push_str(&format!("{i},{}\n", i % 13));
    }
    write(dir.path(), "d.csv", t.as_bytes());
    let r = Recipe::parse(
        "[source]\npath='d.csv'\nblocksize='16KiB'\n[[steps]]\nop='filter'\nexpr='y > 3'\n",
    )
    .unwrap();
    let opts = JobOptions {
        writes_output: true,
        ..JobOptions::default()
    };
    let job = Arc::new(Job::prepare(r, dir.path(), &opts).unwrap());
    let out = dir.path().join("out.parquet");
    let sink = PartSink::create(
        &OutputTarget::parse(out.to_str().unwrap()).unwrap(),
        1 << 20,
    )
    .unwrap();
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    let finished = Arc::new(Mutex::new(0usize));
    let f2 = Arc::clone(&finished);
    let events: quarry::engine::run::exec::EventSink = Arc::new(move |e| {
        if let Event::TaskFinished { .. } = e {
            let mut n = f2.lock().unwrap();
            *n += 1;
            if *n == 3 {
                c2.cancel();
            }
        }
    });
    let err = LocalExecutor::new(2, 1 << 30)
        .execute(job, Some(sink), events, cancel)
        .err()
        .unwrap();
    assert!(matches!(err, quarry::engine::QuarryError::Cancelled));
    assert!(*finished.lock().unwrap() < 10, "dispatch stopped promptly");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "only the input remains: {leftovers:?}");
}

#[test]
fn memory_budget_limits_partitions_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("x\n");
    for i in 0..100_000 {
        t.push_str(&format!("{i}\n"));
    }
    write(dir.path(), "d.csv", t.as_bytes());
    let r = Recipe::parse(
        "[source]\npath='d.csv'\nblocksize='32KiB'\n[[steps]]\nop='filter'\nexpr='x % 2 = 0'\n[[steps]]\nop='group_by'\nkeys=[]\naggs={ n = 'count(*)' }\n",
    )
    .unwrap();
    let job = Arc::new(Job::prepare(r, dir.path(), &JobOptions::default()).unwrap());
    let running = Arc::new(Mutex::new((0i64, 0i64)));
    let r2 = Arc::clone(&running);
    let events: quarry::engine::run::exec::EventSink = Arc::new(move |e| {
        let mut g = r2.lock().unwrap();
        match e {
            Event::TaskStarted {
                partition: Some(_), ..
            } => {
                g.0 += 1;
                g.1 = g.1.max(g.0);
            }
            Event::TaskFinished {
                partition: Some(_), ..
            } => g.0 -= 1,
            _ => {}
        }
    });
    // Budget for one 32 KiB partition (x3) at a time, with 4 workers.
    let res = LocalExecutor::new(4, 100 * 1024)
        .execute(Arc::clone(&job), None, events, CancelToken::new())
        .unwrap();
    let frame = res.frame.unwrap();
    let n = frame.column("n").unwrap().get(0).unwrap();
    assert_eq!(n.extract::<u64>(), Some(50_000));
    assert_eq!(
        running.lock().unwrap().1,
        1,
        "at most one partition in flight"
    );
}

#[test]
fn step_errors_name_the_step_and_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", b"Measure,DOSAGE_UNIT\nTAB,5\n");
    let prep = |steps: &str| {
        let r = Recipe::parse(&format!("[source]\npath='d.csv'\n{steps}")).unwrap();
        Job::prepare(r, dir.path(), &JobOptions::default())
            .err()
            .unwrap()
            .to_string()
    };
    let e = prep("[[steps]]\nop='filter'\nexpr=\"Measure = 'TAB' AND DOSAGE_UNT > 5\"\n");
    assert!(
        e.contains("step 1 (filter), expr") && e.contains("did you mean `DOSAGE_UNIT`"),
        "{e}"
    );
    assert!(
        e.contains("\n                      ^") || e.contains("^"),
        "{e}"
    );
    let e = prep(
        "[[steps]]\nop='select'\ncolumns=['Measure']\n[[steps]]\nop='sort'\nby='DOSAGE_UNIT'\n",
    );
    assert!(
        e.contains("step 2 (sort)") && e.contains("DOSAGE_UNIT"),
        "{e}"
    );
    let e = prep("[[steps]]\nop='group_by'\nkeys=['Measure']\naggs={ s = 'total(DOSAGE_UNIT)' }\n");
    assert!(
        e.contains("step 1 (group_by), s") && e.contains("unknown aggregation"),
        "{e}"
    );
}

#[test]
fn persist_keeps_partitions_and_later_runs_reuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Only this test uses persisted partitions in this process.
    std::env::set_var("QUARRY_CACHE_DIR", cache.path());
    let mut t = String::from("x,y\n");
    for i in 0..20_000 {
        t.push_str(&format!("{i},{}\n", i % 3));
    }
    write(dir.path(), "d.csv", t.as_bytes());
    let text = "[source]\npath='d.csv'\nblocksize='16KiB'\n[[steps]]\nop='filter'\nexpr='x % 2 = 0'\n[[steps]]\nop='persist'\n[[steps]]\nop='group_by'\nkeys=[]\naggs={ s = 'sum(x)', n = 'count(*)' }\n";
    let job = || {
        Arc::new(
            Job::prepare(
                Recipe::parse(text).unwrap(),
                dir.path(),
                &JobOptions::default(),
            )
            .unwrap(),
        )
    };
    let first = job();
    let parts = first.source.partitions.len();
    let r1 = run(Arc::clone(&first), 2);
    assert_frames_close(&r1, &first.single_shot().unwrap(), "first run");
    let store = first.persist.clone().unwrap();
    let kept = std::fs::read_dir(&store.dir).unwrap().count();
    assert_eq!(kept, parts, "one kept part per partition");

    // Replace partition 0's kept rows: a second run must use them.
    let mut fake = df!("x" => [1_000_000i64], "y" => [0i64]).unwrap();
    store.save(0, &mut fake).unwrap();
    let r2 = run(job(), 2);
    assert_eq!(
        r2.column("n").unwrap().u64().unwrap().get(0),
        Some(1 + 10_000 - first_partition_evens(&first))
    );
    // Previews after the persist step start from the kept rows too.
    let previewer = quarry::engine::Previewer::new(Arc::clone(&first.source));
    let steps = &first.recipe.steps;
    let p = previewer
        .preview_steps(&steps[..2], &first.joins, 1, None)
        .unwrap();
    assert_eq!(
        p.frame.column("x").unwrap().i64().unwrap().get(0),
        Some(1_000_000)
    );
    let p = previewer
        .preview_steps(&steps[..1], &first.joins, 1, None)
        .unwrap();
    assert_eq!(p.frame.column("x").unwrap().i64().unwrap().get(0), Some(0));

    // Changing the source invalidates the kept rows.
    let mut t2 = t.clone();
    t2.push_str("20000,2\n");
    write(dir.path(), "d.csv", t2.as_bytes());
    let third = job();
    let r3 = run(Arc::clone(&third), 2);
    assert_frames_close(
        &r3,
        &third.single_shot().unwrap(),
        "after the source changed",
    );
    std::env::remove_var("QUARRY_CACHE_DIR");
}

fn first_partition_evens(job: &Job) -> u64 {
    let df = job.source.read_partition(0).unwrap();
    df.column("x")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .flatten()
        .filter(|v| v % 2 == 0)
        .count() as u64
}

/// An empty partition's set of distinct values adds nothing: found by the
/// oracle above (one row, repartitioned into three, counted 2 distinct).
#[test]
fn count_distinct_ignores_empty_partitions() {
    let dir = tempfile::tempdir().unwrap();
    // A 40-byte blocksize leaves a partition without rows.
    write(
        dir.path(),
        "d.csv",
        b"k,g,x,y,tags,extra,extra2\na,0,787.027481,0,z,e0,f0\n",
    );
    let text = "[source]\npath='d.csv'\n[source.dtypes]\nk='str'\n[[steps]]\nop='repartition'\nn=3\n[[steps]]\nop='group_by'\nkeys=[]\naggs={ u = 'count(distinct k)', n = 'count(*)' }\n";
    let recipe = Recipe::parse(text).unwrap();
    let opts = JobOptions {
        split_every: 2,
        blocksize: Some(40),
        writes_output: false,
    };
    let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
    let df = run(job, 2);
    assert_eq!(
        df.column("u").unwrap().u64().unwrap().get(0),
        Some(1),
        "{df}"
    );
    assert_eq!(
        df.column("n").unwrap().u64().unwrap().get(0),
        Some(1),
        "{df}"
    );
}

/// `unpivot` through the partitioned executor: the same rows in the same
/// order as one pass of polars over the whole file; under a group-by, the
/// reader parses only the columns it names.
#[test]
fn unpivot_partitioned_equals_single_shot() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("id,jan,feb,mar,note\n");
    for i in 0..30_000 {
        let feb = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}", i % 97)
        };
        t.push_str(&format!("{i},{}.5,{feb},{},n{}\n", i % 13, i % 5, i % 3));
    }
    write(dir.path(), "wide.csv", t.as_bytes());
    let opts = JobOptions {
        blocksize: Some(64 * 1024),
        ..JobOptions::default()
    };
    let unpivot = "[source]\npath = 'wide.csv'\n[[steps]]\nop = 'unpivot'\nindex = ['id']\non = ['jan', 'feb', 'mar']\nvalue_name = 'amount'\n[[steps]]\nop = 'filter'\nexpr = 'amount > 3'\n";
    let job = Arc::new(Job::prepare(Recipe::parse(unpivot).unwrap(), dir.path(), &opts).unwrap());
    assert!(job.source.partitions.len() > 4);
    let ours = run(Arc::clone(&job), 2);
    let theirs = try_oracle(&job, &dir.path().join("wide.csv")).unwrap();
    assert_eq!(
        ours.get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        ["id", "variable", "amount"]
    );
    assert!(ours.height() > 30_000);
    assert!(ours.equals_missing(&theirs), "ours {ours}\ntheirs {theirs}");

    let grouped = format!(
        "{unpivot}[[steps]]\nop = 'group_by'\nkeys = ['variable']\naggs = {{ n = 'count(*)', total = 'sum(amount)' }}\n"
    );
    let job = Arc::new(Job::prepare(Recipe::parse(&grouped).unwrap(), dir.path(), &opts).unwrap());
    assert_eq!(
        job.needed.as_deref(),
        Some(&["id".to_string(), "jan".into(), "feb".into(), "mar".into()][..]),
        "the note column is never parsed"
    );
    let ours = sorted(&run(Arc::clone(&job), 2));
    let theirs = sorted(&try_oracle(&job, &dir.path().join("wide.csv")).unwrap());
    assert_eq!(ours.height(), 3);
    assert!(ours.equals_missing(&theirs), "ours {ours}\ntheirs {theirs}");
}

/// The pivot as polars would make it, by hand: per (index, value) the sum
/// of the values, a row per index, null where an index has no such row.
fn pivot_by_hand(
    rows: &[(i64, &str, Option<f64>)],
    columns: &[&str],
) -> Vec<(i64, Vec<Option<f64>>)> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let cells = columns
                .iter()
                .map(|c| {
                    let mine: Vec<Option<f64>> = rows
                        .iter()
                        .filter(|r| r.0 == id && r.1 == *c)
                        .map(|r| r.2)
                        .collect();
                    // polars' sum: nulls skipped; no rows at all is null.
                    (!mine.is_empty()).then(|| mine.iter().flatten().sum())
                })
                .collect();
            (id, cells)
        })
        .collect()
}

/// `pivot` through the partitioned executor equals the pivot written by
/// hand on random data; a value not among its columns fails the job with
/// the fix; 1,001 columns are refused.
#[test]
fn pivot_partitioned_equals_the_pivot_by_hand() {
    use proptest::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    });
    let cities = ["Oslo", "Lima", "Pune"];
    runner
        .run(
            &proptest::collection::vec((0i64..6, 0usize..3, proptest::option::of(-50i32..50)), 1..400),
            |raw| {
                let rows: Vec<(i64, &str, Option<f64>)> = raw
                    .iter()
                    .map(|(id, c, v)| (*id, cities[*c], v.map(f64::from)))
                    .collect();
                let mut t = String::from("id,city,amount\n");
                for (id, c, v) in &rows {
                    t.push_str(&format!("{id},{c},{}\n", v.map(|v| format!("{v:.1}")).unwrap_or_default()));
                }
                write(dir.path(), "long.csv", t.as_bytes());
                let recipe = Recipe::parse(
                    "[source]\npath = 'long.csv'\n[source.dtypes]\namount = 'f64'\nid = 'i64'\n[[steps]]\nop = 'pivot'\nindex = ['id']\non = 'city'\nvalues = 'amount'\ncolumns = ['Oslo', 'Lima', 'Pune']\n[[steps]]\nop = 'sort'\nby = ['id']\n",
                )
                .unwrap();
                let opts = JobOptions {
                    blocksize: Some(512),
                    split_every: 3,
                    ..JobOptions::default()
                };
                let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
                let ours = run(job, 2);
                let want = pivot_by_hand(&rows, &cities);
                prop_assert_eq!(ours.height(), want.len());
                for (r, (id, cells)) in want.iter().enumerate() {
                    prop_assert_eq!(ours.column("id").unwrap().get(r).unwrap().extract::<i64>(), Some(*id));
                    for (c, cell) in cities.iter().zip(cells) {
                        let got = ours.column(c).unwrap().get(r).unwrap().extract::<f64>();
                        prop_assert_eq!(got, *cell, "id {} {}", id, c);
                    }
                }
                Ok(())
            },
        )
        .unwrap();

    // Kyiv is not among the columns: the job says so, it drops nothing.
    write(
        dir.path(),
        "long.csv",
        b"id,city,amount\n1,Oslo,2\n1,Kyiv,3\n",
    );
    let recipe = Recipe::parse(
        "[source]\npath = 'long.csv'\n[[steps]]\nop = 'pivot'\nindex = ['id']\non = 'city'\nvalues = 'amount'\ncolumns = ['Oslo']\n",
    )
    .unwrap();
    let job = Arc::new(Job::prepare(recipe, dir.path(), &JobOptions::default()).unwrap());
    let err = LocalExecutor::new(2, 1 << 30)
        .execute(job, None, Arc::new(|_| {}), CancelToken::new())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("1 rows have a value of `city`") && err.contains("add it to `columns`"),
        "{err}"
    );

    let many: Vec<String> = (0..1001).map(|i| format!("'v{i}'")).collect();
    let recipe = Recipe::parse(&format!(
        "[source]\npath = 'long.csv'\n[[steps]]\nop = 'pivot'\nindex = ['id']\non = 'city'\nvalues = 'amount'\ncolumns = [{}]\n",
        many.join(", ")
    ))
    .unwrap();
    let err = Job::prepare(recipe, dir.path(), &JobOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("1001 columns") && err.contains("more than 1000 are refused"),
        "{err}"
    );
}

/// A Python with polars for the reference tests, or `None` (they then say
/// they were skipped) when none is set up; under `scripts/test.sh` one
/// always is.
fn polars_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("QUARRY_TEST_PYTHON").map(std::path::PathBuf::from);
    let required = std::env::var_os("QUARRY_REQUIRE_DASK").is_some();
    match python {
        Some(p) => {
            let ok = std::process::Command::new(&p)
                .args(["-c", "import polars"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "{} cannot import polars: pip install -r scripts/requirements-oracle.txt",
                p.display()
            );
            Some(p)
        }
        None => {
            assert!(
                !required,
                "QUARRY_REQUIRE_DASK is set but QUARRY_TEST_PYTHON is not"
            );
            eprintln!(
                "skipped: set QUARRY_TEST_PYTHON to a Python with polars (scripts/test.sh does)"
            );
            None
        }
    }
}

/// Small deterministic random numbers for the reference cases.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `pivot` (its columns left out, so `quarry run` finds them with a pass of
/// its own) and `unpivot`, run partitioned by `quarry run` on random data,
/// equal polars' own `pivot` / `unpivot` (Python polars, the reference) for
/// every aggregation, on a text and on a number column.
#[test]
fn pivot_and_unpivot_equal_polars_on_random_data() {
    let Some(python) = polars_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let quarry = env!("CARGO_BIN_EXE_quarry");
    let cities = ["Oslo", "Lima", "Pune", "Kyiv", "Quito", "Hanoi"];
    let aggs = ["sum", "mean", "min", "max", "count", "first", "last"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = Vec::new();
    for case in 0..12 {
        let name = format!("case{case}");
        let input = dir.path().join(format!("{name}.csv"));
        let rows = 1 + rng.below(300);
        let (op, on) = match case % 3 {
            0 => ("unpivot", ""),
            1 => ("pivot", "city"),
            _ => ("pivot", "year"),
        };
        let agg = aggs[case % aggs.len()];
        let ids = 1 + rng.below(8);
        let places = 1 + rng.below(cities.len() as u64);
        let mut text = String::from("id,city,year,amount,a,b,c\n");
        let value = |rng: &mut Rng| {
            if rng.below(10) == 0 {
                String::new()
            } else {
                (rng.below(100) as i64 - 50).to_string()
            }
        };
        for _ in 0..rows {
            let id = rng.below(ids);
            let city = cities[rng.below(places) as usize];
            let year = 2015 + rng.below(4);
            let (amount, a, b, c) = (
                value(&mut rng),
                value(&mut rng),
                value(&mut rng),
                value(&mut rng),
            );
            text.push_str(&format!("{id},{city},{year},{amount},{a},{b},{c}\n"));
        }
        std::fs::write(&input, text).unwrap();
        let step = if op == "pivot" {
            format!("op = 'pivot'\nindex = ['id']\non = '{on}'\nvalues = 'amount'\nagg = '{agg}'\n")
        } else {
            "op = 'unpivot'\nindex = ['id']\non = ['a', 'b', 'c']\n".to_string()
        };
        let recipe = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &recipe,
            format!(
                "[source]\npath = '{name}.csv'\n[source.dtypes]\nid = 'i64'\ncity = 'str'\nyear = 'i64'\namount = 'i64'\na = 'i64'\nb = 'i64'\nc = 'i64'\n[[steps]]\n{step}"
            ),
        )
        .unwrap();
        let output = dir.path().join(format!("{name}.parquet"));
        let out = std::process::Command::new(quarry)
            .arg("run")
            .arg(&recipe)
            .arg("-o")
            .arg(&output)
            .args(["--blocksize", "512", "--split-every", "3"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        if op == "pivot" {
            assert!(
                stderr.contains(&format!("values of `{on}` found by a pass over the data")),
                "{name}: the columns are found first: {stderr}"
            );
        }
        cases.push(serde_json::json!({
            "name": name,
            "op": op,
            "input": input,
            "output": output,
            "index": ["id"],
            "on": if op == "pivot" { serde_json::json!(on) } else { serde_json::json!(["a", "b", "c"]) },
            "values": "amount",
            "agg": agg,
            "dtypes": {"id": "Int64", "city": "String", "year": "Int64", "amount": "Int64", "a": "Int64", "b": "Int64", "c": "Int64"},
        }));
    }
    let list = dir.path().join("cases.json");
    std::fs::write(&list, serde_json::to_string(&cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/reshape.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&list)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        said.lines().filter(|l| l.contains(" equal (")).count(),
        12,
        "{said}"
    );
}

/// Parquet row groups whose statistics exclude every row of a job's
/// leading filters are not read, and the answer is unchanged: numbers,
/// text, a conjunction; a float `>` never skips (NaN is above every number
/// and statistics leave it out); OR, and a filter on a derived column, skip
/// nothing. The graph says how many were skipped.
#[test]
fn parquet_row_groups_excluded_by_statistics_are_skipped_with_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000i64;
    let mut df = df!(
        "a" => (0..n).collect::<Vec<_>>(),
        "s" => (0..n).map(|i| format!("k{}", i / 1000)).collect::<Vec<_>>(),
        "f" => (0..n).map(|i| if i == 1500 { f64::NAN } else { (i % 1000) as f64 / 10.0 }).collect::<Vec<_>>(),
    )
    .unwrap();
    write_parquet(&mut df, &dir.path().join("t.parquet"), 1000);
    let opts = JobOptions {
        blocksize: Some(1),
        split_every: 3,
        ..JobOptions::default()
    };
    for (filter, skipped) in [
        ("a >= 7500", Some(7)),
        ("7500 > a", Some(2)),
        ("s = 'k3' AND a < 5000", Some(9)),
        ("a != 5", Some(0)),
        ("f > 99.0", Some(0)),
        ("f < 0.05", Some(0)),
        ("a > 9000 OR a < 10", None),
    ] {
        let recipe = Recipe::parse(&format!(
            "[source]\npath = 't.parquet'\n[[steps]]\nop = 'filter'\nexpr = \"{filter}\"\n[[steps]]\nop = 'group_by'\nkeys = ['s']\naggs = {{ n = 'count(*)', total = 'sum(a)' }}\n"
        ))
        .unwrap();
        let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
        assert_eq!(job.source.partitions.len(), 10, "a partition per row group");
        assert_eq!(
            job.graph.skipped.as_ref().map(|s| s.row_groups),
            skipped,
            "{filter}"
        );
        if let Some(k) = skipped {
            assert_eq!(job.graph.skipped.as_ref().unwrap().partitions_skipped(), k);
            assert!(
                job.graph
                    .to_text()
                    .contains(&format!("statistics skip {k} of 10 row groups")),
                "{}",
                job.graph.to_text()
            );
        }
        assert_job_equals_polars(&job, &df, filter);
    }
    // A NaN passes `f > 99.0` in polars: the row group holding it is read.
    let recipe = Recipe::parse(
        "[source]\npath = 't.parquet'\n[[steps]]\nop = 'filter'\nexpr = 'f > 99.95'\n",
    )
    .unwrap();
    let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
    let rows = run(job, 2);
    assert!(rows
        .column("a")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .any(|a| a == Some(1500)));
    // A filter on a column a step has changed gives no bound.
    let recipe = Recipe::parse(
        "[source]\npath = 't.parquet'\n[[steps]]\nop = 'with_columns'\ncolumns = { a = 'a * -1' }\n[[steps]]\nop = 'filter'\nexpr = 'a >= 7500'\n",
    )
    .unwrap();
    let job = Job::prepare(recipe, dir.path(), &opts).unwrap();
    assert_eq!(job.graph.skipped, None);
}

/// A row group far larger than a partition is read in slices of rows: each
/// slice a task of its own, the answer unchanged, and the statistics count
/// of the graph names the row group once.
#[test]
fn a_large_parquet_row_group_is_read_in_slices() {
    let dir = tempfile::tempdir().unwrap();
    let n = 350_000i64;
    let mut df = df!(
        "a" => (0..n).collect::<Vec<_>>(),
        "k" => (0..n).map(|i| format!("g{}", i % 7)).collect::<Vec<_>>(),
    )
    .unwrap();
    // One row group of all 350,000 rows.
    write_parquet(&mut df, &dir.path().join("big.parquet"), n as usize);
    let opts = JobOptions {
        blocksize: Some(4),
        split_every: 2,
        ..JobOptions::default()
    };
    let recipe = Recipe::parse(
        "[source]\npath = 'big.parquet'\n[[steps]]\nop = 'filter'\nexpr = 'a >= 10'\n[[steps]]\nop = 'group_by'\nkeys = ['k']\naggs = { n = 'count(*)', total = 'sum(a)', low = 'min(a)', high = 'max(a)' }\n",
    )
    .unwrap();
    let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
    // At least 100,000 rows a slice: three.
    let rows: Vec<(usize, usize)> = job
        .source
        .partitions
        .iter()
        .map(|p| match p.kind {
            quarry::engine::input::source::PartitionKind::RowGroups {
                row_offset, rows, ..
            } => (row_offset, rows),
            _ => panic!("a Parquet partition is row groups"),
        })
        .collect();
    assert_eq!(rows, [(0, 116_667), (116_667, 116_667), (233_334, 116_666)]);
    let skipped = job.graph.skipped.as_ref().expect("a bound on a");
    assert_eq!((skipped.row_groups, skipped.of_row_groups), (0, 1));
    assert_job_equals_polars(&job, &df, "sliced row group");
}
