//! The Dask executor against a real cluster on 127.0.0.1: a scheduler and
//! two workers that `scripts/test.sh` starts (and stops) around the test
//! run, with `dask[distributed]` from a venv it makes. The tests share that
//! cluster, so they run one at a time.
//!
//! Without the cluster (a plain `cargo test`), these tests say so and pass;
//! the test script sets QUARRY_REQUIRE_DASK=1, which makes a missing cluster
//! a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polars::prelude::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Cluster {
    python: PathBuf,
    scheduler_file: PathBuf,
}

/// The test cluster, or `None` (with a note) when there is none.
fn cluster() -> Option<Cluster> {
    let python = std::env::var_os("QUARRY_TEST_PYTHON").map(PathBuf::from);
    let file = std::env::var_os("QUARRY_TEST_SCHEDULER_FILE").map(PathBuf::from);
    match (python, file) {
        (Some(python), Some(scheduler_file)) if scheduler_file.is_file() => Some(Cluster {
            python,
            scheduler_file,
        }),
        _ => {
            assert!(
                std::env::var_os("QUARRY_REQUIRE_DASK").is_none(),
                "QUARRY_REQUIRE_DASK is set but there is no test cluster (QUARRY_TEST_PYTHON, QUARRY_TEST_SCHEDULER_FILE)"
            );
            eprintln!("no Dask test cluster: run scripts/test.sh for the Dask tests");
            None
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A private cache directory: the bridge script and the scratch directory
/// live under it, so each test can find (and count) its own.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        quarry::demo::write_demo(dir.path(), 120_000).unwrap();
        Env { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn cache(&self) -> PathBuf {
        self.path("cache")
    }
    fn scratch(&self) -> PathBuf {
        self.path("scratch")
    }
    fn quarry(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
        c.env("XDG_CACHE_HOME", self.cache())
            .env_remove("QUARRY_SCHEDULER")
            .env_remove("QUARRY_SCHEDULER_FILE");
        c
    }
    /// `quarry run arcos.toml --blocksize B -o OUT`, to which a test adds
    /// its executor flags.
    fn run_arcos(&self, blocksize: &str, out: &Path) -> Command {
        let mut c = self.quarry();
        c.args([
            "run",
            self.path("arcos.toml").to_str().unwrap(),
            "--blocksize",
            blocksize,
            "-o",
            out.to_str().unwrap(),
        ]);
        c
    }
    fn dask_args(&self, c: &Cluster) -> Vec<String> {
        vec![
            "--scheduler-file".into(),
            c.scheduler_file.display().to_string(),
            "--python".into(),
            c.python.display().to_string(),
            "--scratch".into(),
            self.scratch().display().to_string(),
        ]
    }
    /// Job directories left in the scratch root.
    fn scratch_left(&self) -> Vec<String> {
        std::fs::read_dir(self.scratch())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run quarry")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_sorted(path: &Path) -> DataFrame {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    let cols: Vec<PlSmallStr> = df
        .get_column_names()
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    df.sort(cols, SortMultipleOptions::default()).unwrap()
}

/// Frames equal in shape, names and dtypes; floats within 1e-9 relative
/// (sums over partitions add in another order).
fn assert_same(a: &DataFrame, b: &DataFrame) {
    assert_eq!(a.shape(), b.shape());
    assert_eq!(a.schema(), b.schema());
    for (x, y) in a.columns().iter().zip(b.columns()) {
        let (x, y) = (x.as_materialized_series(), y.as_materialized_series());
        if x.dtype().is_float() {
            let (x, y) = (
                x.cast(&DataType::Float64).unwrap(),
                y.cast(&DataType::Float64).unwrap(),
            );
            for (p, q) in x.f64().unwrap().iter().zip(y.f64().unwrap().iter()) {
                match (p, q) {
                    (Some(p), Some(q)) => assert!(
                        (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                        "{p} vs {q}"
                    ),
                    (p, q) => assert_eq!(p, q),
                }
            }
        } else {
            assert!(x.equals_missing(y), "column {} differs", x.name());
        }
    }
}

/// A running `quarry run --json-events`, its events read as they come.
struct Live {
    child: Child,
    events: Receiver<serde_json::Value>,
    seen: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Live {
    fn start(mut cmd: Command) -> Live {
        let mut child = cmd
            .arg("--json-events")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let all = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
                let v = serde_json::from_str::<serde_json::Value>(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "event": "text", "line": line }));
                all.lock().unwrap().push(v.clone());
                let _ = tx.send(v);
            }
        });
        Live {
            child,
            events: rx,
            seen,
        }
    }

    /// Wait (at most `limit`) for an event that satisfies `want`.
    fn wait_for(
        &self,
        limit: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) if want(&v) => return v,
                Ok(_) => {}
                Err(_) => panic!(
                    "event not seen within {limit:?}; events so far:\n{}",
                    self.text()
                ),
            }
        }
    }

    /// Wait for the process to end (at most `limit`); its exit code.
    fn finish(mut self, limit: Duration) -> (Option<i32>, Vec<serde_json::Value>) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader drain what is left.
                std::thread::sleep(Duration::from_millis(200));
                let seen = self.seen.lock().unwrap().clone();
                return (status.code(), seen);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("quarry did not end within {limit:?}:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn is(event: &str) -> impl Fn(&serde_json::Value) -> bool + '_ {
    move |v| v["event"] == event
}

/// Processes whose command line contains `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && pid != std::process::id() {
            out.push(pid);
        }
    }
    out
}

fn wait_until(limit: Duration, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Ask the scheduler something (a Python expression over `c`, a Client).
fn ask_scheduler(c: &Cluster, code: &str) -> String {
    let script = format!(
        "from distributed import Client\nwith Client(scheduler_file={:?}, timeout=10) as c:\n    print({code})\n",
        c.scheduler_file.display().to_string()
    );
    let o = Command::new(&c.python)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Task keys of quarry jobs the scheduler still holds.
fn quarry_keys_on_scheduler(c: &Cluster) -> usize {
    ask_scheduler(
        c,
        "len([k for k in c.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks]) if k.startswith('quarry-')])",
    )
    .parse()
    .unwrap()
}

#[test]
fn the_arcos_and_reviews_recipes_give_the_local_executors_result() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    for recipe in ["arcos.toml", "reviews.toml"] {
        let local = env.path(&format!("{recipe}.local.parquet"));
        let dask = env.path(&format!("{recipe}.dask.parquet"));
        let o = run(env.quarry().args([
            "run",
            env.path(recipe).to_str().unwrap(),
            "--blocksize",
            "512KiB",
            "-o",
            local.to_str().unwrap(),
        ]));
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(env
            .quarry()
            .args([
                "run",
                env.path(recipe).to_str().unwrap(),
                "--blocksize",
                "512KiB",
                "-o",
                dask.to_str().unwrap(),
                "--json-events",
            ])
            .args(env.dask_args(&c)));
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        // Tasks ran on the cluster's workers, named as Dask names them.
        for w in ["\"worker\":\"w1\"", "\"worker\":\"w2\""] {
            assert!(err.contains(w), "no task finished on {w}:\n{err}");
        }
        assert!(err.contains("\"event\":\"job_finished\""));
        assert_same(&read_sorted(&local), &read_sorted(&dask));
    }
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());

    // A map-only pipeline streams its partitions into the output file.
    let recipe = env.path("maponly.toml");
    std::fs::write(
        &recipe,
        "[source]\npath = 'arcos.csv'\n[[steps]]\nop = 'filter'\nexpr = \"Measure = 'TAB'\"\n[[steps]]\nop = 'select'\ncolumns = ['BUYER_STATE', 'DOSAGE_UNIT']\n",
    )
    .unwrap();
    let (local, dask) = (env.path("m.local.parquet"), env.path("m.dask.parquet"));
    for (out, extra) in [(&local, vec![]), (&dask, env.dask_args(&c))] {
        let o = run(env
            .quarry()
            .args([
                "run",
                recipe.to_str().unwrap(),
                "--blocksize",
                "1MiB",
                "-o",
                out.to_str().unwrap(),
            ])
            .args(extra));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // Streamed in partition order: equal row for row, not only as sets.
    let read = |p: &Path| {
        ParquetReader::new(std::fs::File::open(p).unwrap())
            .finish()
            .unwrap()
    };
    assert!(read(&local).equals_missing(&read(&dask)));
}

#[test]
fn a_persist_step_on_the_cluster_keeps_its_partitions_where_the_driver_looks() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    let recipe = env.path("kept.toml");
    std::fs::write(
        &recipe,
        "[source]\npath = 'arcos.csv'\n[[steps]]\nop = 'filter'\nexpr = \"Measure = 'TAB'\"\n[[steps]]\nop = 'persist'\n[[steps]]\nop = 'group_by'\nkeys = ['BUYER_STATE']\naggs = { n = 'count(*)' }\n",
    )
    .unwrap();
    let out = env.path("kept.parquet");
    let o = run(env
        .quarry()
        .args(["run", recipe.to_str().unwrap(), "--blocksize", "1MiB", "-o"])
        .arg(&out)
        .args(env.dask_args(&c)));
    assert!(o.status.success(), "{}", stderr(&o));
    // The workers (their own environment, their own home) wrote the kept
    // partitions into the driver's cache directory.
    let persist = env.cache().join("quarry").join("persist");
    let parts: Vec<_> = std::fs::read_dir(&persist)
        .unwrap_or_else(|e| panic!("{}: {e}", persist.display()))
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("part-") && n.ends_with(".arrow"))
        .collect();
    let csv = std::fs::metadata(env.path("arcos.csv")).unwrap().len();
    assert_eq!(parts.len() as u64, csv.div_ceil(1 << 20), "{parts:?}");
    // A local run of the same recipe starts from them and agrees.
    let again = env.path("again.parquet");
    let o = run(env
        .quarry()
        .args(["run", recipe.to_str().unwrap(), "--blocksize", "1MiB", "-o"])
        .arg(&again));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same(&read_sorted(&out), &read_sorted(&again));
}

#[test]
fn a_killed_worker_does_not_change_the_result_and_is_reported() {
    killed_worker_case(None);
}

/// Without a shared filesystem, finished outputs live in worker memory: a
/// killed worker takes some with it, and Dask recomputes them.
#[test]
fn a_killed_worker_without_a_shared_filesystem_is_survived_too() {
    killed_worker_case(Some("dask"));
}

fn killed_worker_case(transport: Option<&str>) {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    // A third worker, without a nanny so that a kill is final.
    let mut doomed = Command::new(&c.python)
        .args(["-m", "distributed.cli.dask_worker", "--scheduler-file"])
        .arg(&c.scheduler_file)
        .args([
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--name",
            "doomed",
            "--no-nanny",
            "--dashboard-address",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let joined = ask_scheduler(&c, "c.wait_for_workers(3, timeout=60) or 'ok'");
    assert_eq!(joined, "ok");

    let local = env.path("local.parquet");
    let o = run(&mut env.run_arcos("128KiB", &local));
    assert!(o.status.success(), "{}", stderr(&o));

    let dask = env.path("dask.parquet");
    let mut cmd = env.run_arcos("128KiB", &dask);
    cmd.args(env.dask_args(&c));
    if let Some(t) = transport {
        cmd.args(["--transport", t]);
    }
    let live = Live::start(cmd);
    live.wait_for(Duration::from_secs(60), |v| {
        v["event"] == "task_started" && v["worker"] == "doomed"
    });
    doomed.kill().unwrap();
    let _ = doomed.wait();
    let (code, events) = live.finish(Duration::from_secs(120));
    let text: Vec<String> = events.iter().map(|v| v.to_string()).collect();
    assert_eq!(code, Some(0), "{}", text.join("\n"));
    assert!(
        events
            .iter()
            .any(|v| v["event"] == "worker_lost" && v["worker"] == "doomed"),
        "no worker_lost event for the killed worker:\n{}",
        text.join("\n")
    );
    assert_same(&read_sorted(&local), &read_sorted(&dask));
}

#[test]
fn a_task_that_fails_every_retry_fails_the_job_with_its_error() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    // The workers run this instead of quarry: task 3 crashes every time.
    let wrapper = env.path("flaky-quarry");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$3\" = 3 ]; then echo 'boom: simulated crash in task 3' >&2; exit 3; fi\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_quarry")
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", wrapper.to_str().unwrap()])
        .status()
        .unwrap();
    let out = env.path("never.parquet");
    let t0 = Instant::now();
    let o = run(env
        .run_arcos("512KiB", &out)
        .args(["--worker-binary", wrapper.to_str().unwrap()])
        .args(env.dask_args(&c)));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("task 3") && err.contains("boom"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    assert!(!out.exists());
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());

    // A data error is the partition's own message, with its fix, and is
    // not retried (it would fail the same way).
    // (At 90% of the rows, where no schema sample looks.)
    let mut csv = String::from("id,amount\n");
    for i in 0..400_000 {
        if i == 360_000 {
            csv.push_str(&format!("{i},n/a\n"));
        } else {
            csv.push_str(&format!("{i},{}\n", i % 977));
        }
    }
    std::fs::write(env.path("late.csv"), csv).unwrap();
    std::fs::write(
        env.path("late.toml"),
        "[source]\npath = 'late.csv'\nblocksize = '256KiB'\n[[steps]]\nop = 'group_by'\nkeys = []\naggs = { s = 'sum(amount)' }\n",
    )
    .unwrap();
    let o = run(env
        .quarry()
        .args(["run", env.path("late.toml").to_str().unwrap()])
        .args(env.dask_args(&c)));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("amount") && err.contains("n/a") && err.contains("--dtype amount="),
        "{err}"
    );
}

#[test]
fn a_scheduler_that_does_not_answer_is_a_clear_error_within_10_s() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    // Accepts connections (the kernel does) but never speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("tcp://{}", silent.local_addr().unwrap());
    let t0 = Instant::now();
    let o = run(env.quarry().args([
        "run",
        env.path("arcos.toml").to_str().unwrap(),
        "--scheduler",
        &addr,
        "--python",
        c.python.to_str().unwrap(),
        "--scratch",
        env.scratch().to_str().unwrap(),
    ]));
    let took = t0.elapsed();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(err.contains(&addr) && err.contains("--scheduler"), "{err}");
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());

    // And a Python without dask says which one and how to fix it.
    let o = run(env.quarry().args([
        "run",
        env.path("arcos.toml").to_str().unwrap(),
        "--scheduler",
        &addr,
        "--python",
        "/usr/bin/python3",
    ]));
    let err = stderr(&o);
    if !Command::new("/usr/bin/python3")
        .args(["-c", "import distributed"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("dask[distributed]") && err.contains("--python"),
            "{err}"
        );
    }
}

/// A run of many small tasks on the cluster, writing `out`, once its first
/// task finished; with the output path and the bridge's script directory
/// (which names the bridge process).
fn slow_run_under_way(env: &Env, c: &Cluster, out: &str) -> (Live, PathBuf, PathBuf) {
    let out = env.path(out);
    let mut cmd = env.run_arcos("64KiB", &out);
    cmd.args(env.dask_args(c));
    let live = Live::start(cmd);
    live.wait_for(Duration::from_secs(60), is("task_finished"));
    (live, out, env.cache().join("quarry").join("bridge"))
}

#[test]
fn cancel_mid_run_cancels_the_futures_and_the_bridge_exits() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    let (live, out, bridge) = slow_run_under_way(&env, &c, "cancelled.parquet");
    assert!(
        !pids_with(bridge.to_str().unwrap()).is_empty(),
        "no bridge process"
    );
    let pid = live.child.id();
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let (code, events) = live.finish(Duration::from_secs(20));
    assert_eq!(code, Some(130));
    assert!(events.iter().any(|v| v["event"] == "job_cancelled"));
    assert!(!out.exists());
    assert!(
        pids_with(bridge.to_str().unwrap()).is_empty(),
        "the bridge is still running"
    );
    // Running tasks are stopped, queued ones cancelled on the scheduler.
    let scratch = env.scratch();
    wait_until(Duration::from_secs(5), "exec-task processes end", || {
        pids_with(&format!("exec-task {}", scratch.display())).is_empty()
    });
    wait_until(
        Duration::from_secs(10),
        "the scheduler forgets the job",
        || quarry_keys_on_scheduler(&c) == 0,
    );
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());
}

#[test]
fn the_bridge_dying_is_reported_and_quarry_exits_cleanly() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    let (live, out, bridge) = slow_run_under_way(&env, &c, "orphan.parquet");
    for pid in pids_with(bridge.to_str().unwrap()) {
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
    }
    let (code, events) = live.finish(Duration::from_secs(20));
    let text: Vec<String> = events.iter().map(|v| v.to_string()).collect();
    assert_eq!(code, Some(1), "{}", text.join("\n"));
    assert!(
        events.iter().any(|v| v["event"] == "job_failed"
            && v["error"]
                .as_str()
                .is_some_and(|e| e.contains("bridge stopped"))),
        "{}",
        text.join("\n")
    );
    assert!(!out.exists());
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());
    // Its futures die with its client; nothing of the job stays scheduled.
    wait_until(
        Duration::from_secs(15),
        "the scheduler forgets the job",
        || quarry_keys_on_scheduler(&c) == 0,
    );
}

#[test]
fn the_explorer_runs_its_computes_on_the_cluster() {
    use quarry::app::compute::{JobKind, JobView};
    use quarry::app::Msg;
    use quarry::engine::recipe::Recipe;
    use quarry::engine::run::exec::dask::{DaskExecutor, DaskTarget};

    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    let (recipe, base) = Recipe::load(&env.path("arcos.toml")).unwrap();
    let mut spec = recipe.source.to_spec(&base).unwrap();
    spec.blocksize = 1 << 20;
    let source = Arc::new(quarry::engine::Source::open(spec).unwrap());
    let mut dask = DaskExecutor::new(DaskTarget::SchedulerFile(c.scheduler_file.clone()));
    dask.python = c.python.clone();
    dask.worker_binary = PathBuf::from(env!("CARGO_BIN_EXE_quarry"));
    dask.scratch = env.scratch();
    let got: Arc<Mutex<Vec<Msg>>> = Arc::default();
    let sink = Arc::clone(&got);
    // The same work the explorer's runtime runs for a compute.
    let work = quarry::tui::effects::Work::Job {
        id: 1,
        kind: JobKind::Compute,
        recipe,
        base,
        source,
        from_result: None,
        executor: Arc::new(dask),
    };
    let emit: quarry::tui::effects::Emit = Arc::new(move |m| sink.lock().unwrap().push(m));
    let done = work.run(&emit, &quarry::engine::run::exec::CancelToken::new());
    let quarry::tui::effects::Done::Msg(Msg::JobDone { result, .. }) = done else {
        panic!("a job ends with JobDone")
    };
    let outcome = result.unwrap();
    assert!(outcome.frame.is_some_and(|f| f.height() > 100));
    // The progress view's model sees the cluster's workers as lanes.
    let msgs = std::mem::take(&mut *got.lock().unwrap());
    let mut view: Option<JobView> = None;
    for m in msgs {
        match m {
            Msg::JobPrepared { graph, .. } => view = Some(JobView::new(1, JobKind::Compute, graph)),
            Msg::JobEvent { event, .. } => view.as_mut().unwrap().apply(&event),
            _ => {}
        }
    }
    let view = view.unwrap();
    let lanes = &view.workers;
    assert!(
        lanes.iter().any(|l| l == "w1") && lanes.iter().any(|l| l == "w2"),
        "{lanes:?}"
    );
    // The view names the executor: the scheduler it ran on.
    assert_eq!(
        view.executor,
        format!("dask ({}) · shared filesystem", c.scheduler_file.display())
    );
}

/// Without a cluster: the tasks of a job run one by one through
/// `exec_task` (what each Dask worker runs), reading and writing the
/// scratch directory, give the local executor's result. The CSV has quoted
/// newlines across block cuts, so the worker must use the driver's cuts.
#[test]
fn tasks_run_one_by_one_from_the_scratch_directory_equal_the_local_run() {
    use quarry::engine::input::storage::remote::options::StoreOptions;
    use quarry::engine::recipe::Recipe;
    use quarry::engine::run::exec::local::LocalExecutor;
    use quarry::engine::run::exec::remote::{exec_task, read_frame, Scratch};
    use quarry::engine::run::exec::{CancelToken, Executor};
    use quarry::engine::run::job::{Job, JobOptions};

    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("k,note,v\n");
    for i in 0..20_000 {
        csv.push_str(&format!(
            "{},\"line one {i}\nline, two\",{}\n",
            ["a", "b", "c"][i % 3],
            i % 101
        ));
    }
    std::fs::write(dir.path().join("q.csv"), csv).unwrap();
    let recipe = Recipe::parse(
        "[source]\npath = 'q.csv'\n[[steps]]\nop = 'filter'\nexpr = 'v > 3'\n[[steps]]\nop = 'group_by'\nkeys = ['k']\naggs = { s = 'sum(v)', n = 'count(*)', notes = 'count(distinct note)' }\n",
    )
    .unwrap();
    let opts = JobOptions {
        blocksize: Some(16 * 1024),
        split_every: 3,
        ..JobOptions::default()
    };
    let job = Arc::new(Job::prepare(recipe, dir.path(), &opts).unwrap());
    assert!(job.source.partitions.len() > 20);
    let options = StoreOptions::default();
    let scratch = Scratch::create(&dir.path().join("scratch"), &job, false, &options).unwrap();
    // Task ids are in dependency order.
    for t in 0..job.graph.tasks.len() {
        exec_task(&scratch.dir.to_string_lossy(), t, &options).unwrap();
    }
    let last = job.graph.tasks.len() - 1;
    let remote = read_frame(&scratch.store, last).unwrap();
    let local = LocalExecutor::new(2, 1 << 30)
        .execute(Arc::clone(&job), None, Arc::new(|_| {}), CancelToken::new())
        .unwrap()
        .frame
        .unwrap();
    let sort = |df: DataFrame| df.sort(["k"], SortMultipleOptions::default()).unwrap();
    assert_same(&sort(local), &sort(remote));
    let dir_path = scratch.dir.clone();
    drop(scratch);
    assert!(!dir_path.exists(), "the scratch directory outlived its job");
}

/// Listening TCP sockets (`/proc/net/tcp` and `tcp6`, state LISTEN) as
/// (local address in hex, port).
fn listeners() -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 3 && cols[3] == "0A" {
                if let Some((addr, port)) = cols[1].split_once(':') {
                    out.insert((addr.to_string(), port.to_string()));
                }
            }
        }
    }
    out
}

fn is_loopback(hex: &str) -> bool {
    // 127.x.x.x little-endian in tcp; ::1 or ::ffff:127.x in tcp6.
    hex.len() == 8 && hex.ends_with("7F")
        || hex == "00000000000000000000000001000000"
        || (hex.len() == 32 && hex.starts_with("0000000000000000FFFF0000") && hex.ends_with("7F"))
}

#[test]
fn a_local_dask_cluster_gives_the_same_result_and_listens_only_on_loopback() {
    let _g = lock();
    let Some(c) = cluster() else { return };
    let env = Env::new();
    let local = env.path("local.parquet");
    let o = run(&mut env.run_arcos("256KiB", &local));
    assert!(o.status.success(), "{}", stderr(&o));

    let before = listeners();
    let dask = env.path("dask.parquet");
    let mut cmd = env.run_arcos("256KiB", &dask);
    cmd.args([
        "--local-dask",
        "2",
        "--python",
        c.python.to_str().unwrap(),
        "--scratch",
        env.scratch().to_str().unwrap(),
    ]);
    let live = Live::start(cmd);
    live.wait_for(Duration::from_secs(90), is("task_started"));
    // While the cluster runs: its scheduler, workers and nannies listen,
    // on 127.0.0.1 only.
    let during = listeners();
    let opened: Vec<_> = during.difference(&before).collect();
    assert!(!opened.is_empty(), "the local cluster opened no listener?");
    let exposed: Vec<_> = opened.iter().filter(|(a, _)| !is_loopback(a)).collect();
    assert!(exposed.is_empty(), "listening beyond loopback: {exposed:?}");
    // The job's scratch directory is the owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let jobs = env.scratch_left();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let mode = std::fs::metadata(env.scratch().join(&jobs[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }
    let (code, events) = live.finish(Duration::from_secs(120));
    let text: Vec<String> = events.iter().map(|v| v.to_string()).collect();
    assert_eq!(code, Some(0), "{}", text.join("\n"));
    assert_same(&read_sorted(&local), &read_sorted(&dask));
    assert!(env.scratch_left().is_empty(), "{:?}", env.scratch_left());
}
