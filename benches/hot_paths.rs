//! The hot paths, measured so a regression shows up as a number:
//! `cargo bench --bench hot_paths` (see benches/README.md).
//!
//! The data is the demo's ARCOS-like CSV (200,000 rows, ~19 MB), written
//! once per run into a temporary directory.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use divan::Bencher;
use polars::prelude::*;
use quarry::app::compute::{JobKind, JobView};
use quarry::app::update::{request_preview, PreviewData};
use quarry::app::{update, Msg, State};
use quarry::config::Config;
use quarry::engine::plan::graph::StageKind;
use quarry::engine::recipe::{Recipe, SourceConfig};
use quarry::engine::run::events::Event;
use quarry::engine::run::job::{Job, JobOptions};
use quarry::engine::steps::apply::JoinTables;
use quarry::engine::{Previewer, Source, SourceSpec};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    divan::main();
}

struct Data {
    _dir: tempfile::TempDir,
    csv: PathBuf,
    recipe: PathBuf,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let files = quarry::demo::write_demo(dir.path(), 200_000).unwrap();
        Data {
            csv: files.arcos,
            recipe: files.arcos_recipe,
            _dir: dir,
        }
    })
}

fn spec(blocksize: u64) -> SourceSpec {
    let mut s = SourceSpec::new(data().csv.to_string_lossy().into_owned());
    s.blocksize = blocksize;
    s
}

/// The ARCOS recipe as a job over 1 MiB partitions.
fn job() -> &'static Job {
    static JOB: OnceLock<Job> = OnceLock::new();
    JOB.get_or_init(|| {
        let (recipe, base) = Recipe::load(&data().recipe).unwrap();
        let opts = JobOptions {
            blocksize: Some(1 << 20),
            ..JobOptions::default()
        };
        Job::prepare(recipe, &base, &opts).unwrap()
    })
}

/// Opening a source: sniffing, schema inference from a spread sample, and
/// the partition boundary index (quote parity per block).
#[divan::bench]
fn source_open(b: Bencher) {
    b.bench(|| Source::open(spec(1 << 20)).unwrap());
}

/// One map task: read a 1 MiB partition (only the needed columns), run the
/// fused steps and the group-by's partial aggregation.
#[divan::bench]
fn map_task_parse_and_steps(b: Bencher) {
    let job = job();
    b.bench(|| job.run_map(1).unwrap());
}

/// The bytes of the second 4 MiB partition and the source they belong to.
fn partition_bytes() -> &'static (Source, Vec<u8>) {
    static BYTES: OnceLock<(Source, Vec<u8>)> = OnceLock::new();
    BYTES.get_or_init(|| {
        let source = Source::open(spec(4 << 20)).unwrap();
        let (start, end) = source.byte_range(&source.partitions[1]).unwrap();
        let bytes = std::fs::read(&data().csv).unwrap()[start as usize..end as usize].to_vec();
        (source, bytes)
    })
}

fn maxtab_columns() -> Vec<String> {
    vec!["Measure".into(), "DOSAGE_UNIT".into()]
}

/// Parsing a 4 MiB CSV partition with quarry's vectorised reader: two
/// columns (the max-where workload's) and all of them.
#[divan::bench(args = ["two_columns", "all_columns"])]
fn csv_parse_fast(b: Bencher, which: &str) {
    let (source, bytes) = partition_bytes();
    let cols = (which == "two_columns").then(maxtab_columns);
    let d = source.csv.as_ref().unwrap();
    b.bench(|| {
        let req = quarry::engine::input::fast_csv::Request {
            dialect: d,
            encoding: source.spec.encoding,
            schema: &source.schema,
            columns: cols.as_deref(),
            skip_header: false,
        };
        quarry::engine::input::fast_csv::try_parse(bytes, &req)
            .expect("the fast reader takes ARCOS partitions")
    });
}

/// The same bytes through polars' CSV reader (the fallback path).
#[divan::bench(args = ["two_columns", "all_columns"])]
fn csv_parse_polars(b: Bencher, which: &str) {
    let (source, bytes) = partition_bytes();
    let cols = (which == "two_columns").then(maxtab_columns);
    let d = source.csv.as_ref().unwrap();
    b.bench(|| {
        quarry::engine::input::dialect::csv_options(d, source.spec.encoding, false)
            .with_schema(Some(source.schema.clone()))
            .with_columns(
                cols.as_ref()
                    .map(|c| c.iter().map(|s| s.as_str().into()).collect()),
            )
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()
            .unwrap()
    });
}

/// One combine task merging eight group-by partials.
#[divan::bench]
fn combine_task(b: Bencher) {
    let job = job();
    let combine = job
        .graph
        .tasks
        .iter()
        .find(|t| job.graph.stages[t.stage].kind == StageKind::Combine)
        .expect("a combine stage at 1 MiB partitions");
    let inputs: Vec<DataFrame> = combine
        .deps
        .iter()
        .map(|&d| {
            job.run_map(job.graph.tasks[d].partition.unwrap())
                .unwrap()
                .frame
        })
        .collect();
    b.bench(|| job.run_reduce(combine.id, inputs.clone()).unwrap());
}

/// describe's per-partition states, and merging eight of them.
#[divan::bench]
fn describe_partial_and_merge(b: Bencher) {
    let source = Source::open(spec(1 << 20)).unwrap();
    let frame = source.read_partition(0).unwrap();
    b.bench(|| {
        let states: Vec<DataFrame> = (0..8)
            .map(|_| quarry::engine::stats::describe::partial(&frame, None).unwrap())
            .collect();
        let all = quarry::engine::frames::concat_frames(states).unwrap();
        quarry::engine::stats::describe::merge(&all).unwrap()
    });
}

/// The whole job on the local executor, events serialised as for
/// `--json-events` (and dropped): with `job_tasks_without_executor`, the
/// executor's own cost (scheduling, events, progress) per job.
#[divan::bench(sample_count = 20)]
fn job_on_local_executor(b: Bencher) {
    use quarry::engine::run::exec::local::LocalExecutor;
    use quarry::engine::run::exec::{CancelToken, Executor};
    let job = Arc::new(job_for_overhead());
    let exec = LocalExecutor::new(2, 1 << 32);
    b.bench(|| {
        let events: quarry::engine::run::exec::EventSink = Arc::new(|e: Event| {
            divan::black_box(serde_json::to_string(&e).unwrap());
        });
        exec.execute(Arc::clone(&job), None, events, CancelToken::new())
            .unwrap()
    });
}

/// The same tasks with no executor: two plain threads run the map tasks,
/// then the reduce tasks run in order. No events, no budget, no progress.
#[divan::bench(sample_count = 20)]
fn job_tasks_without_executor(b: Bencher) {
    let job = job_for_overhead();
    let maps: Vec<usize> = (0..job.source.partitions.len()).collect();
    b.bench(|| {
        let mut outputs: Vec<Option<DataFrame>> = vec![None; job.graph.tasks.len()];
        let halves: Vec<Vec<(usize, DataFrame)>> = std::thread::scope(|s| {
            let hs: Vec<_> = [0, 1]
                .map(|h| {
                    let job = &job;
                    let maps = &maps;
                    s.spawn(move || {
                        maps.iter()
                            .filter(|p| *p % 2 == h)
                            .map(|&p| (p, job.run_map(p).unwrap().frame))
                            .collect::<Vec<_>>()
                    })
                })
                .into_iter()
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (p, df) in halves.into_iter().flatten() {
            let t = job
                .graph
                .tasks
                .iter()
                .position(|t| t.partition == Some(p))
                .unwrap();
            outputs[t] = Some(df);
        }
        for t in &job.graph.tasks {
            if job.graph.stages[t.stage].kind != StageKind::Map {
                let inputs = t.deps.iter().map(|&d| outputs[d].take().unwrap()).collect();
                outputs[t.id] = Some(job.run_reduce(t.id, inputs).unwrap().frame);
            }
        }
        outputs.pop().unwrap().unwrap()
    });
}

/// The ARCOS recipe over 256 KiB partitions (74 map tasks): many small
/// tasks, so per-task costs show.
fn job_for_overhead() -> Job {
    let (recipe, base) = Recipe::load(&data().recipe).unwrap();
    let opts = JobOptions {
        blocksize: Some(256 << 10),
        ..JobOptions::default()
    };
    Job::prepare(recipe, &base, &opts).unwrap()
}

/// Folding a job's events into the progress view's state: 2,000 partitions
/// started and finished, with progress totals.
#[divan::bench]
fn job_view_events(b: Bencher) {
    let job = job();
    let graph = Arc::new(job.graph.clone());
    let n = graph.tasks.len();
    let mut events = Vec::new();
    for round in 0..(2000 / n.max(1) + 1) {
        for t in &graph.tasks {
            let at_ms = (round * n + t.id) as u64;
            events.push(Event::TaskStarted {
                task: t.id,
                stage: t.stage,
                partition: t.partition,
                worker: "local-0".into(),
                at_ms,
            });
            events.push(Event::TaskFinished {
                task: t.id,
                stage: t.stage,
                partition: t.partition,
                worker: "local-0".into(),
                rows_in: 1000,
                rows_out: 10,
                bytes_read: 1 << 20,
                elapsed_ms: 5,
                at_ms: at_ms + 5,
            });
        }
    }
    b.bench(|| {
        let mut v = JobView::new(1, JobKind::Compute, Arc::clone(&graph));
        for e in &events {
            v.apply(e);
        }
        v
    });
}

/// The first rows of the file, as `quarry head` and the explorer's first
/// screen read them (a fresh previewer each time: no cache).
#[divan::bench]
fn preview_head(b: Bencher) {
    let source = Arc::new(Source::open(spec(64 << 20)).unwrap());
    b.bench(|| Previewer::new(Arc::clone(&source)).head(200).unwrap());
}

/// Re-preview after a step edit: a filter on the cached first partition
/// (the explorer's preview of 200 rows), as when a filter's text changes.
#[divan::bench]
fn preview_after_step_edit(b: Bencher) {
    let source = Arc::new(Source::open(spec(64 << 20)).unwrap());
    let previewer = Previewer::new(Arc::clone(&source));
    let joins = JoinTables::new();
    let step = |e: &str| quarry::engine::recipe::Step::Filter { expr: e.into() };
    // Warm the partition cache, as the first screen does.
    previewer
        .preview_steps(&[step("DOSAGE_UNIT > 0")], &joins, 200, None)
        .unwrap();
    b.bench(|| {
        previewer
            .preview_steps(
                &[step("Measure = 'TAB' AND DOSAGE_UNIT > 100")],
                &joins,
                200,
                None,
            )
            .unwrap()
    });
}

/// Drawing the table view (200 preview rows, 15 columns) on a 200×50
/// screen.
#[divan::bench]
fn draw_table(b: Bencher) {
    let source = Arc::new(Source::open(spec(64 << 20)).unwrap());
    let previewer = Previewer::new(Arc::clone(&source));
    let mut state = State::new(
        Recipe::new(SourceConfig::from_spec(&source.spec)),
        std::env::temp_dir(),
        source.describe(),
        Arc::clone(&source.schema),
        source.partitions.len(),
        Arc::new(JoinTables::new()),
    );
    let request = match request_preview(&mut state).first() {
        Some(quarry::app::Effect::Preview(r)) => r.request,
        _ => 0,
    };
    let frame = previewer.head(200).unwrap();
    update(
        &mut state,
        Msg::PreviewDone {
            request,
            result: Ok(PreviewData {
                frame,
                partial: false,
                partitions_read: 1,
                elapsed_ms: 0,
                from_result: None,
            }),
        },
    );
    let config = Config::load("default", "dark").unwrap();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    b.bench_local(|| {
        term.draw(|f| quarry::ui::draw(&state, &config.theme, &config.keymap, f))
            .unwrap();
    });
}

/// 20,000 review-like text records (the reviews workload's shape).
fn review_records() -> &'static Column {
    static RECORDS: OnceLock<Column> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let records: Vec<String> = (0..20_000)
            .map(|i| {
                format!(
                    "product/productId: B00{i:05}\nreview/userId: A{i}\nreview/helpfulness: {}/{}\n\
                     review/score: {}.0\nreview/time: 1303862400\nreview/summary: Good stuff {i}\n\
                     review/text: {}",
                    i % 7,
                    i % 11,
                    1 + i % 5,
                    "I have bought several of these and they are all good quality. ".repeat(1 + i % 12)
                )
            })
            .collect();
        Column::new("text".into(), &records)
    })
}

const REVIEWS_PATTERN: &str = r"(?s)review/helpfulness: (?P<num>\d+)/(?P<den>\d+).*review/score: (?P<score>[0-9.]+).*review/text: (?P<body>.*)";

/// The `parse` step's captures on 20,000 review records: quarry's
/// extractor (memmem segments) and polars' `extract_groups` (regex).
#[divan::bench(args = ["quarry", "polars"])]
fn parse_text_records(b: Bencher, which: &str) {
    let records = review_records();
    let extractor = quarry::engine::steps::extract::Extractor::new(REVIEWS_PATTERN).unwrap();
    let df = DataFrame::new(records.len(), vec![records.clone()]).unwrap();
    b.bench_local(|| match which {
        "quarry" => extractor.extract(records).unwrap(),
        _ => df
            .clone()
            .lazy()
            .select([col("text").str().extract_groups(REVIEWS_PATTERN).unwrap()])
            .collect()
            .unwrap()
            .columns()[0]
            .clone(),
    });
}

/// The ARCOS `year` expression on 680,000 rows holding 3,300 distinct
/// dates: once per distinct value (what a `with_columns` step runs) and
/// row by row.
#[divan::bench(args = ["per_distinct", "row_by_row"], sample_count = 20)]
fn derived_date_column(b: Bencher, which: &str) {
    let dates: Vec<i64> = (0..680_000i64)
        .map(|i| {
            let d = (i * 7919) % 3300;
            (1 + d % 12) * 1_000_000 + (1 + d % 28) * 10_000 + 2006 + d / 400
        })
        .collect();
    let df = DataFrame::new(dates.len(), vec![Column::new("d".into(), &dates)]).unwrap();
    let text = "date_part('year', strptime(lpad(CAST(d AS VARCHAR), 8, '0'), '%m%d%Y'))";
    let e = quarry::engine::recipe::expr::parse_expr(text).unwrap();
    let e = match which {
        "per_distinct" => quarry::engine::steps::distinct_eval::per_distinct(e, &DataType::Int32),
        _ => e,
    };
    b.bench_local(|| df.clone().lazy().select([e.clone()]).collect().unwrap());
}

/// The demo's ARCOS-like rows as Parquet (100,000-row row groups) and as
/// NDJSON, next to the CSV: the other formats' fast paths.
fn other_formats() -> &'static (PathBuf, PathBuf) {
    static PATHS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut df = CsvReadOptions::default()
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(data().csv.clone()))
            .unwrap()
            .finish()
            .unwrap();
        let dir = data().csv.parent().unwrap();
        let pq = dir.join("arcos.parquet");
        ParquetWriter::new(std::fs::File::create(&pq).unwrap())
            .with_row_group_size(Some(100_000))
            .finish(&mut df)
            .unwrap();
        let nd = dir.join("arcos.ndjson");
        JsonWriter::new(std::fs::File::create(&nd).unwrap())
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut df)
            .unwrap();
        (pq, nd)
    })
}

/// The first 20 rows of a Parquet file, as `quarry head` and the explorer's
/// first screen read them: only the leading pages of the first row group.
#[divan::bench]
fn parquet_head(b: Bencher) {
    let source = Arc::new(
        Source::open(SourceSpec::new(
            other_formats().0.to_string_lossy().into_owned(),
        ))
        .unwrap(),
    );
    b.bench(|| Previewer::new(Arc::clone(&source)).head(20).unwrap());
}

/// One 4 MiB NDJSON partition: the two keys the max-where workload reads,
/// and every key.
#[divan::bench(args = ["two_columns", "all_columns"])]
fn ndjson_partition(b: Bencher, which: &str) {
    let mut spec = SourceSpec::new(other_formats().1.to_string_lossy().into_owned());
    spec.blocksize = 4 << 20;
    let source = Source::open(spec).unwrap();
    let columns = maxtab_columns();
    b.bench(|| match which {
        "two_columns" => source.read_columns(1, Some(&columns)).unwrap(),
        _ => source.read_partition(1).unwrap(),
    });
}

/// A 1,000,000-row result with a numeric x, a value and four groups.
fn million_rows() -> &'static DataFrame {
    static ROWS: OnceLock<DataFrame> = OnceLock::new();
    ROWS.get_or_init(|| {
        let n = 1_000_000usize;
        df!(
            "x" => (0..n).map(|i| i as f64).collect::<Vec<_>>(),
            "y" => (0..n).map(|i| ((i % 1000) as f64).sqrt()).collect::<Vec<_>>(),
            "g" => (0..n).map(|i| ["a", "b", "c", "d"][i % 4]).collect::<Vec<_>>()
        )
        .unwrap()
    })
}

/// Shaping a 1,000,000-row result into a line chart of four groups (done
/// once per change of the rows or the chart, on a worker).
#[divan::bench]
fn chart_shape_million_rows(b: Bencher) {
    let spec = quarry::app::chart::ChartSpec::parse("line x y by g").unwrap();
    b.bench(|| quarry::app::chart::chart_data(million_rows(), &spec).unwrap());
}

/// Redrawing that chart on a 200×50 screen (every frame while it shows).
#[divan::bench]
fn chart_redraw_million_rows(b: Bencher) {
    let spec = quarry::app::chart::ChartSpec::parse("line x y by g").unwrap();
    let mut state = State::new(
        Recipe::new(SourceConfig::default()),
        std::env::temp_dir(),
        String::new(),
        Arc::new(million_rows().schema().as_ref().clone()),
        1,
        Arc::new(JoinTables::new()),
    );
    state.chart = Some(quarry::app::state::ChartView {
        data: quarry::app::chart::chart_data(million_rows(), &spec),
        spec,
        of_result: true,
        shaping: None,
    });
    state.view = quarry::app::state::View::Chart;
    let config = Config::load("default", "dark").unwrap();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    b.bench_local(|| {
        term.draw(|f| quarry::ui::draw(&state, &config.theme, &config.keymap, f))
            .unwrap();
    });
}

/// A preview of a sort after a computed 27,000-row group-by: the explorer
/// runs it on the result in memory instead of reading the file again.
#[divan::bench]
fn preview_on_computed_result(b: Bencher) {
    use quarry::app::update::{PreviewRequest, ResultBase};
    use quarry::engine::recipe::{OneOrMany, Step};
    let n = 27_000usize;
    let result = df!(
        "year" => (0..n).map(|i| 2006 + (i % 9) as i32).collect::<Vec<_>>(),
        "county" => (0..n).map(|i| format!("county {}", i / 9)).collect::<Vec<_>>(),
        "total" => (0..n).map(|i| ((i * 7919) % 100_003) as f64).collect::<Vec<_>>()
    )
    .unwrap();
    // The computed step itself is not run again: only how many steps the
    // result stands for matters, so any step stands in for the group-by.
    let group = Step::Sql {
        query: "SELECT * FROM self".into(),
    };
    let sort = Step::Sort {
        by: OneOrMany::One("total".into()),
        descending: None,
    };
    let source = Arc::new(Source::open(spec(64 << 20)).unwrap());
    let previewer = Arc::new(Previewer::new(source));
    let joins = Arc::new(JoinTables::new());
    b.bench_local(|| {
        let work = quarry::tui::effects::Work::Preview {
            previewer: Arc::clone(&previewer),
            joins: Arc::clone(&joins),
            request: PreviewRequest {
                request: 1,
                steps: vec![group.clone(), sort.clone()],
                rows: 200,
                take: None,
                base: Some(ResultBase {
                    steps: 1,
                    frame: result.clone(),
                }),
            },
        };
        let emit: quarry::tui::effects::Emit = Arc::new(|_| {});
        work.run(&emit, &quarry::engine::run::exec::CancelToken::new())
    });
}

/// The demo CSV gzipped (19 MB of text): inflated alone through the
/// decoder quarry reads `.gz` with (flate2 on zlib-rs), and read as a
/// source partition (inflate, then parse every column).
#[divan::bench(args = ["inflate", "inflate_and_parse"], sample_count = 10)]
fn gzip_file(b: Bencher, which: &str) {
    static GZ: OnceLock<PathBuf> = OnceLock::new();
    let gz = GZ.get_or_init(|| {
        let path = data().csv.parent().unwrap().join("arcos.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::new(6),
        );
        std::io::Write::write_all(&mut enc, &std::fs::read(&data().csv).unwrap()).unwrap();
        enc.finish().unwrap();
        path
    });
    let compressed = std::fs::read(gz).unwrap();
    let source = Source::open(SourceSpec::new(gz.to_string_lossy().into_owned())).unwrap();
    b.bench(|| match which {
        "inflate" => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(compressed.as_slice()),
                &mut out,
            )
            .unwrap();
            out.len()
        }
        _ => source.read_partition(0).unwrap().height(),
    });
}

/// Planning a job whose filter lets footer statistics exclude row groups:
/// the bounds and the statistics of every row group of the demo Parquet
/// file (what `Job::prepare` adds for a Parquet source).
#[divan::bench]
fn parquet_statistics_skip(b: Bencher) {
    let mut spec = SourceSpec::new(other_formats().0.to_string_lossy().into_owned());
    spec.blocksize = 1;
    let source = Source::open(spec).unwrap();
    let bounds = quarry::engine::plan::pushdown::conjunct_bounds(
        "DOSAGE_UNIT > 1000000 AND Measure = 'TAB'",
    );
    b.bench(|| {
        quarry::engine::input::parquet_skip::skipped_by_statistics(&source, &bounds)
            .unwrap()
            .row_groups
    });
}
