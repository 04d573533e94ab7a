//! The interactive runtime: terminal setup, the event loop, and effects run
//! in the background. The UI thread never waits on polars: previews run on a
//! worker thread, the newest request wins, stale answers are dropped, and the
//! screen is redrawn only when state changed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::app::compute::JobKind;
use crate::app::state::{Focus, PlannedGraph};
use crate::app::update::{request_preview, JobOutcome, PreviewData, SourceInfo};
use crate::app::{update, Action, Effect, Msg, State};
use crate::config::{Config, Mode};
use crate::engine::apply::load_joins;
use crate::engine::exec::{CancelToken, EventSink, Executor};
use crate::engine::job::{Job, JobOptions};
use crate::engine::output::{write_result, OutputTarget, PartSink};
use crate::engine::recipe::{Recipe, SourceConfig, Step};
use crate::engine::{Previewer, QuarryError, Result, Source, SourceSpec};

/// What background work sends the loop: messages for the app, and a new
/// previewer (the source reopened) delivered before the message about it.
enum Inbox {
    App(Msg),
    Reopened(Arc<Previewer>, Msg),
    /// A terminal event and when it was read.
    Term(Event, Instant),
    TermError(String),
    /// A termination signal.
    Stop,
}

/// The job thread and how to stop it.
struct RunningJob {
    cancel: CancelToken,
    handle: std::thread::JoinHandle<()>,
}

/// Engine handles the effects run against.
struct Runtime {
    previewer: Arc<Previewer>,
    executor: Arc<dyn Executor>,
    tx: Sender<Inbox>,
    job: Option<RunningJob>,
}

impl Runtime {
    /// Cancel the running job and wait for it: a write's temporary files
    /// are removed before the process exits.
    fn stop_job(&mut self) {
        if let Some(j) = self.job.take() {
            j.cancel.cancel();
            let _ = j.handle.join();
        }
    }
}

pub struct TuiOptions {
    pub keymap: String,
    pub theme: String,
    pub mouse: bool,
    /// Runs computes and writes (local, or a Dask cluster).
    pub executor: Arc<dyn Executor>,
}

/// Open the explorer on `spec` (and the steps of `recipe`, if any).
pub fn run(spec: SourceSpec, recipe: Option<(Recipe, PathBuf)>, opts: TuiOptions) -> Result<()> {
    let config = Config::load(&opts.keymap, &opts.theme).map_err(QuarryError::Usage)?;
    let (recipe, base) = match recipe {
        Some(r) => r,
        None => (
            Recipe::new(SourceConfig::from_spec(&spec)),
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        ),
    };
    let source = Arc::new(Source::open(spec)?);
    let joins = Arc::new(load_joins(&recipe, &base)?);
    let previewer = Arc::new(Previewer::new(Arc::clone(&source)));
    let mut state = State::new(
        recipe,
        base,
        source.describe(),
        Arc::clone(&source.schema),
        source.partitions.len(),
        joins,
    );
    if !config.warnings.is_empty() {
        state.status = Some((config.warnings.join("; "), true));
    }

    let mut terminal = ratatui::init();
    // ratatui's hook restores the terminal on any panic; a task's panic is
    // caught and reported by the executor, so the screen must stay.
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::engine::exec::local::in_task() {
            restore_and_report(info);
        }
    }));
    if std::env::var_os("QUARRY_PANIC_FOR_TESTS").is_some() {
        // The crash path, exercised by the terminal tests.
        panic!("QUARRY_PANIC_FOR_TESTS is set");
    }
    if opts.mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let (tx, rx) = channel();
    let mut rt = Runtime {
        previewer,
        executor: Arc::clone(&opts.executor),
        tx,
        job: None,
    };
    let result = event_loop(&mut terminal, &mut state, &config, &mut rt, rx);
    rt.stop_job();
    if opts.mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    config: &Config,
    rt: &mut Runtime,
    rx: Receiver<Inbox>,
) -> Result<()> {
    // SIGTERM/SIGHUP (an SSH session dropping): leave the loop so the
    // terminal is restored and a running job cleans up.
    let stop_tx = rt.tx.clone();
    crate::signals::on_termination(move || {
        let _ = stop_tx.send(Inbox::Stop);
    });
    spawn_input_reader(rt.tx.clone());
    let size = terminal
        .size()
        .map_err(|e| QuarryError::Engine(e.to_string()))?;
    let mut effects = update(
        state,
        Msg::Resize {
            rows: table_rows(size.height),
            width: size.width,
        },
    );
    effects.extend(request_preview(state));
    let mut dirty = true;
    // QUARRY_LATENCY_LOG=FILE records, per key, microseconds from reading the
    // key to the end of the frame that shows its effect.
    let mut latency_log = std::env::var_os("QUARRY_LATENCY_LOG").and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let mut key_at: Option<Instant> = None;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        for e in effects.drain(..) {
            if perform(e, state, rt) {
                return Ok(());
            }
        }
        if state.should_quit {
            return Ok(());
        }
        // A key is answered at once; engine events (thousands a second
        // during a job) are coalesced into at most one frame per FRAME.
        if dirty && (key_at.is_some() || last_draw.elapsed() >= FRAME) {
            terminal
                .draw(|f| crate::ui::draw(state, &config.theme, &config.keymap, f))
                .map_err(|e| QuarryError::Engine(format!("cannot draw: {e}")))?;
            dirty = false;
            last_draw = Instant::now();
            if let (Some(t), Some(log)) = (key_at.take(), latency_log.as_mut()) {
                let _ = writeln!(log, "{}", t.elapsed().as_micros());
            }
        }
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            Duration::from_secs(1)
        };
        let first = match rx.recv_timeout(wait) {
            Ok(m) => m,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for inbox in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            let msg = match inbox {
                Inbox::App(m) => m,
                Inbox::Reopened(p, m) => {
                    rt.previewer = p;
                    m
                }
                Inbox::Stop => return Ok(()),
                Inbox::Term(ev, read_at) => {
                    let is_key = matches!(ev, Event::Key(_));
                    let size = terminal.size().unwrap_or_default();
                    match translate(ev, state, config, size) {
                        Some(msg) => {
                            if is_key && key_at.is_none() {
                                key_at = Some(read_at);
                            }
                            msg
                        }
                        None => continue,
                    }
                }
                Inbox::TermError(e) => return Err(QuarryError::Engine(e)),
            };
            if matches!(msg, Msg::JobDone { .. }) {
                if let Some(j) = rt.job.take() {
                    let _ = j.handle.join();
                }
            }
            effects.extend(update(state, msg));
            dirty = true;
        }
    }
}

/// Longest time between frames while engine events stream in.
const FRAME: Duration = Duration::from_millis(16);

/// Terminal input on its own thread, so the loop waits on one channel for
/// keys and engine answers alike and never sits inside a terminal read
/// (which, once the terminal is gone, may not return).
fn spawn_input_reader(tx: Sender<Inbox>) {
    std::thread::spawn(move || loop {
        match event::read() {
            Ok(ev) => {
                if tx.send(Inbox::Term(ev, Instant::now())).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Inbox::TermError(format!("cannot read the terminal: {e}")));
                return;
            }
        }
    });
}

/// Rows of table body for a terminal height (title, borders, header, dtype
/// row, cell line, status).
fn table_rows(height: u16) -> usize {
    (height as usize).saturating_sub(8).max(1)
}

fn translate(
    ev: Event,
    state: &State,
    config: &Config,
    size: ratatui::layout::Size,
) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press || k.kind == KeyEventKind::Repeat => {
            if state.confirm.is_some() {
                return Some(Msg::Key(k));
            }
            let mode = if state.prompt.is_some() {
                Mode::Prompt
            } else if state.focus == Focus::Pipeline {
                Mode::Pipeline
            } else {
                Mode::Table
            };
            match config.keymap.lookup(mode, k) {
                Some(a) => Some(Msg::Action(a)),
                None if state.prompt.is_some() => Some(Msg::Key(k)),
                None if state.show_help => Some(Msg::Action(Action::ToggleHelp)),
                None => None,
            }
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Msg::Action(Action::MoveDown)),
            MouseEventKind::ScrollUp => Some(Msg::Action(Action::MoveUp)),
            MouseEventKind::Down(event::MouseButton::Left) => {
                let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                crate::ui::hit_test(state, area, m.column, m.row).map(Msg::Click)
            }
            _ => None,
        },
        Event::Resize(w, h) => Some(Msg::Resize {
            rows: table_rows(h),
            width: w,
        }),
        _ => None,
    }
}

/// Run one effect; returns true when the app should exit.
fn perform(e: Effect, state: &State, rt: &mut Runtime) -> bool {
    let send = |tx: &Sender<Inbox>, m: Msg| {
        let _ = tx.send(Inbox::App(m));
    };
    match e {
        Effect::Quit => return true,
        Effect::Preview(req) => {
            let pv = Arc::clone(&rt.previewer);
            let joins = Arc::clone(&state.joins);
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let t0 = Instant::now();
                let result = pv
                    .preview_steps(&req.steps, &joins, req.rows, req.take)
                    .map(|p| PreviewData {
                        frame: p.frame,
                        partial: p.partial,
                        partitions_read: p.partitions_read,
                        elapsed_ms: t0.elapsed().as_millis() as u64,
                    })
                    .map_err(|e| e.to_string());
                send(
                    &tx,
                    Msg::PreviewDone {
                        request: req.request,
                        result,
                    },
                );
            });
        }
        Effect::Save { path, text } => {
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let r = save_atomic(&path, &text)
                    .map(|_| path.clone())
                    .map_err(|e| format!("cannot save {}: {e}", path.display()));
                send(&tx, Msg::Saved(r));
            });
        }
        Effect::Load { path } => {
            let tx = rt.tx.clone();
            let current = rt.previewer.source().spec.path.clone();
            std::thread::spawn(move || {
                send(&tx, Msg::Loaded(load_recipe(&path, &current)));
            });
        }
        Effect::LoadJoin { step, at } => {
            let tx = rt.tx.clone();
            let base = state.base.clone();
            std::thread::spawn(move || {
                send(&tx, load_join(step, at, &base));
            });
        }
        Effect::Copy(text) => {
            // OSC 52: the terminal (even over SSH) puts it on the clipboard.
            let mut out = std::io::stdout();
            let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
            let _ = out.flush();
        }
        Effect::StartJob { id, kind, recipe } => {
            // A queued job starts from JobDone, after the previous one ended.
            rt.stop_job();
            let cancel = CancelToken::new();
            let source = Arc::clone(rt.previewer.source());
            let base = state.base.clone();
            let tx = rt.tx.clone();
            let token = cancel.clone();
            let executor = Arc::clone(&rt.executor);
            let handle = std::thread::spawn(move || {
                let events_tx = tx.clone();
                let emit: Arc<dyn Fn(Msg) + Send + Sync> = Arc::new(move |m| {
                    let _ = events_tx.send(Inbox::App(m));
                });
                let result = run_job(
                    id,
                    kind,
                    recipe,
                    &base,
                    source,
                    emit,
                    token,
                    executor.as_ref(),
                );
                send(&tx, Msg::JobDone { id, result });
            });
            rt.job = Some(RunningJob { cancel, handle });
        }
        Effect::CancelJob => {
            if let Some(j) = &rt.job {
                j.cancel.cancel();
            }
        }
        Effect::PlanGraph { request, recipe } => {
            let source = Arc::clone(rt.previewer.source());
            let base = state.base.clone();
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let result = plan_graph(recipe, &base, source);
                send(&tx, Msg::GraphReady { request, result });
            });
        }
        Effect::WriteResult { path } => {
            let Some(r) = &state.result else {
                return false;
            };
            let mut frame = r.frame.clone();
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let t0 = Instant::now();
                let result = OutputTarget::parse(&path)
                    .and_then(|t| write_result(&t, &mut frame).map(|_| t))
                    .map(|t| (t.path, frame.height(), t0.elapsed().as_millis() as u64))
                    .map_err(|e| e.to_string());
                send(&tx, Msg::Written(result));
            });
        }
        Effect::Reopen { source } => {
            let base = state.base.clone();
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let opened = source
                    .to_spec(&base)
                    .and_then(Source::open)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                let _ = match opened {
                    Ok(src) => {
                        let info = SourceInfo {
                            line: src.describe(),
                            schema: Arc::clone(&src.schema),
                            partitions: src.partitions.len(),
                        };
                        tx.send(Inbox::Reopened(
                            Arc::new(Previewer::new(src)),
                            Msg::Reopened(Ok(info)),
                        ))
                    }
                    Err(e) => tx.send(Inbox::App(Msg::Reopened(Err(e)))),
                };
            });
        }
    }
    false
}

/// Prepare the job on the open source, then run it on `executor`; every
/// message about it (graph ready, events) goes to `emit`. Public so tests
/// drive the same path the explorer does.
#[allow(clippy::too_many_arguments)]
pub fn run_job(
    id: u64,
    kind: JobKind,
    recipe: Recipe,
    base: &Path,
    source: Arc<Source>,
    emit: Arc<dyn Fn(Msg) + Send + Sync>,
    cancel: CancelToken,
    executor: &dyn Executor,
) -> std::result::Result<JobOutcome, String> {
    let opts = JobOptions {
        writes_output: matches!(kind, JobKind::Write { .. }),
        ..JobOptions::default()
    };
    let mut job = Job::prepare_on(recipe, base, source, &opts).map_err(|e| e.to_string())?;
    if matches!(
        kind,
        JobKind::Insight(crate::app::insight::Insight::Describe)
    ) {
        job.observe_partial = Some(live_describe(
            id,
            job.blocking_input.clone(),
            job.source.partitions.len(),
            Arc::clone(&emit),
        ));
    }
    let labels = (0..job.source.partitions.len())
        .map(|p| job.source.describe_partition(p))
        .collect();
    emit(Msg::JobPrepared {
        id,
        graph: Arc::new(job.graph.clone()),
        labels: Arc::new(labels),
    });
    let sink = match &kind {
        JobKind::Write { path } => {
            let target = OutputTarget::parse(path).map_err(|e| e.to_string())?;
            Some(PartSink::create(&target, job.output_part_bytes()).map_err(|e| e.to_string())?)
        }
        JobKind::Compute | JobKind::Insight(_) => None,
    };
    let events: EventSink = Arc::new(move |event| emit(Msg::JobEvent { id, event }));
    let r = executor
        .execute(Arc::new(job), sink, events, cancel)
        .map_err(|e| e.to_string())?;
    Ok(JobOutcome {
        frame: r.frame,
        rows_out: r.rows_out,
        elapsed_ms: r.elapsed_ms,
    })
}

/// Merge describe partials as map tasks make them and send the table so far
/// (at most every 250 ms; the merge runs on the worker that made the
/// partial, never on the UI thread).
fn live_describe(
    id: u64,
    schema: polars::prelude::Schema,
    partitions: usize,
    emit: Arc<dyn Fn(Msg) + Send + Sync>,
) -> crate::engine::job::PartialObserver {
    use crate::engine::describe::{finish, merge};
    struct Live {
        pending: Vec<polars::prelude::DataFrame>,
        merged: Option<polars::prelude::DataFrame>,
        seen: usize,
        last: Option<Instant>,
    }
    let live = std::sync::Mutex::new(Live {
        pending: Vec::new(),
        merged: None,
        seen: 0,
        last: None,
    });
    Arc::new(move |states| {
        let Ok(mut l) = live.lock() else { return };
        l.pending.push(states.clone());
        l.seen += 1;
        if l.last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
        {
            return;
        }
        l.last = Some(Instant::now());
        let mut all: Vec<polars::prelude::DataFrame> = l.merged.take().into_iter().collect();
        all.append(&mut l.pending);
        let Ok(states) = crate::engine::job::concat_frames(all).and_then(|f| merge(&f)) else {
            return;
        };
        if let Ok(table) = finish(&states, &schema) {
            emit(Msg::InsightPartial {
                id,
                table,
                partitions: (l.seen, partitions),
            });
        }
        l.merged = Some(states);
    })
}

/// Plan (without running) the graph of `recipe`, with polars' plan of one
/// map task and what each partition covers.
/// Read the right side of a `:join` step (on a worker thread).
pub fn load_join(step: Step, at: usize, base: &Path) -> Msg {
    let result = match &step {
        Step::Join { source, .. } => crate::engine::apply::load_join_table(source, base)
            .map(|t| (crate::engine::apply::join_key(source), t))
            .map_err(|e| format!("join {}: {e}", source.path)),
        other => Err(format!("not a join step: {}", other.op())),
    };
    Msg::JoinLoaded { step, at, result }
}

pub fn plan_graph(
    recipe: Recipe,
    base: &Path,
    source: Arc<Source>,
) -> std::result::Result<PlannedGraph, String> {
    let steps = recipe.steps.clone();
    let job =
        Job::prepare_on(recipe, base, source, &JobOptions::default()).map_err(|e| e.to_string())?;
    let plan_text = job
        .map_plan_text()
        .unwrap_or_else(|e| format!("polars could not describe the plan: {e}"));
    let labels = (0..job.source.partitions.len())
        .map(|p| job.source.describe_partition(p))
        .collect();
    Ok(PlannedGraph {
        steps,
        graph: Arc::new(job.graph),
        plan_text,
        partition_labels: Arc::new(labels),
    })
}

fn load_recipe(
    path: &Path,
    current: &str,
) -> std::result::Result<(Recipe, PathBuf, Arc<crate::engine::apply::JoinTables>), String> {
    let (recipe, base) = Recipe::load(path).map_err(|e| e.to_string())?;
    let spec = recipe.source.to_spec(&base).map_err(|e| e.to_string())?;
    let same = std::fs::canonicalize(&spec.path).ok() == std::fs::canonicalize(current).ok();
    if !same {
        return Err(format!(
            "{} reads {}, not the open source; open it with: quarry --recipe {}",
            path.display(),
            spec.path,
            path.display()
        ));
    }
    let joins = load_joins(&recipe, &base).map_err(|e| e.to_string())?;
    Ok((recipe, base, Arc::new(joins)))
}

fn save_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("recipe.toml");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc() {
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"f"), "Zg==");
    }
}
