//! The interactive runtime: terminal setup, the event loop, and effects run
//! in the background. The UI thread never waits on polars: the engine work
//! of each effect (`effects`) runs on a worker thread, previews on one of
//! their own where the newest request wins (`preview_worker`), stale answers
//! are dropped, and the screen is redrawn only when state changed.

pub mod chart_svg;
mod clipboard;
pub mod effects;
pub mod history_file;
pub mod preview_worker;

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::app::mode::Mode;
use crate::app::status::Status;
use crate::app::update::request_preview;
use crate::app::{update, Action, Effect, Msg, State};
use crate::config::Config;
use crate::engine::recipe::{Recipe, SourceConfig};
use crate::engine::run::exec::{CancelToken, Executor};
use crate::engine::steps::apply::load_joins;
use crate::engine::{Previewer, QuarryError, Result, Source, SourceSpec};
use effects::{work_for, Done, Emit, Engine};
use preview_worker::PreviewWorker;

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

impl From<Done> for Inbox {
    fn from(d: Done) -> Inbox {
        match d {
            Done::Msg(m) => Inbox::App(m),
            Done::Reopened(p, m) => Inbox::Reopened(p, m),
        }
    }
}

/// The job thread and how to stop it.
struct RunningJob {
    cancel: CancelToken,
    handle: std::thread::JoinHandle<()>,
}

/// Engine handles and the threads effects run on.
struct Runtime {
    engine: Engine,
    tx: Sender<Inbox>,
    previews: PreviewWorker,
    job: Option<RunningJob>,
    /// Where prompt history is written (`None`: history is off).
    history: Option<history_file::HistoryFiles>,
    /// History writes under way, waited for before the process exits.
    history_saves: Vec<std::thread::JoinHandle<()>>,
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

    fn emitter(&self) -> Emit {
        let tx = self.tx.clone();
        Arc::new(move |m| {
            let _ = tx.send(Inbox::App(m));
        })
    }
}

pub struct TuiOptions {
    pub keymap: String,
    pub theme: String,
    pub mouse: bool,
    /// Runs computes and writes (local, or a Dask cluster).
    pub executor: Arc<dyn Executor>,
    /// Neither read nor write prompt history (`--no-history`).
    pub no_history: bool,
    /// Piped input: the explorer opens on its first lines while the rest
    /// arrives, then on all of it. Its files go with it at exit.
    pub stdin: Option<crate::engine::input::spool::Spool>,
}

/// Open the explorer on `spec` (and the steps of `recipe`, if any).
pub fn run(
    spec: SourceSpec,
    recipe: Option<(Recipe, PathBuf)>,
    mut opts: TuiOptions,
) -> Result<()> {
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
    state.source_notes = source.inference_notes.clone();
    state.source_drift = source.drift_report();
    state.source_date_layouts = source.date_layouts.clone();
    let history = history_file::HistoryFiles::locate(opts.no_history);
    if let Some(files) = &history {
        state.prompt_history = files.load(crate::app::prompt_history::DEFAULT_CAP);
    }
    if !config.warnings.is_empty() {
        state.status = Some(Status::error(config.warnings.join("; ")));
    }

    let mut terminal = ratatui::init();
    // ratatui's hook restores the terminal on any panic; a task's panic is
    // caught and reported by the executor, so the screen must stay.
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::engine::run::exec::local::in_task() {
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
    let preview_tx = tx.clone();
    if let Some(spool) = opts.stdin.as_mut() {
        if let Some(end) = spool.take_end() {
            state.status = Some(Status::info(
                "standard input: its first lines, while the rest arrives",
            ));
            let path = spool.path.to_string_lossy().into_owned();
            let ended_tx = tx.clone();
            std::thread::spawn(move || {
                let result = end
                    .recv()
                    .unwrap_or_else(|_| {
                        Err(QuarryError::Engine(
                            "the thread reading standard input stopped".into(),
                        ))
                    })
                    .map_err(|e| e.to_string());
                let _ = ended_tx.send(Inbox::App(Msg::InputEnded { path, result }));
            });
        }
    }
    let mut rt = Runtime {
        engine: Engine {
            previewer,
            executor: Arc::clone(&opts.executor),
        },
        previews: PreviewWorker::start(Arc::new(|_| {}), move |done| {
            let _ = preview_tx.send(Inbox::from(done));
        }),
        tx,
        job: None,
        history,
        history_saves: Vec::new(),
    };
    let result = event_loop(&mut terminal, &mut state, &config, &mut rt, rx);
    rt.stop_job();
    // What was typed last is kept even when quit follows at once.
    for save in rt.history_saves.drain(..) {
        let _ = save.join();
    }
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
                    rt.engine.previewer = p;
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
            let mode = state.mode();
            match config.keymap.lookup(mode, k) {
                Some(a) => Some(Msg::Action(a)),
                // Unbound keys are text in a prompt, and close the help.
                None if mode == Mode::Prompt => Some(Msg::Key(k)),
                None if state.show_help && mode != Mode::Confirm => {
                    Some(Msg::Action(Action::ToggleHelp))
                }
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
    match e {
        Effect::Quit => return true,
        Effect::Copy(text) => clipboard::copy(&text),
        Effect::CancelJob => {
            if let Some(j) = &rt.job {
                j.cancel.cancel();
            }
        }
        Effect::SaveHistory(kind) => {
            if let Some(files) = rt.history.clone() {
                let entries = state.prompt_history.entries(kind).to_vec();
                // Off the UI thread: a home directory may be on NFS.
                rt.history_saves.retain(|h| !h.is_finished());
                rt.history_saves.push(std::thread::spawn(move || {
                    let _ = files.save(kind, &entries);
                }));
            }
        }
        Effect::Preview(_) => {
            if let Some(work) = work_for(e, state, &rt.engine) {
                rt.previews.submit(work);
            }
        }
        Effect::StartJob { .. } => {
            // A queued job starts from JobDone, after the previous one ended.
            rt.stop_job();
            let Some(work) = work_for(e, state, &rt.engine) else {
                return false;
            };
            let cancel = CancelToken::new();
            let token = cancel.clone();
            let emit = rt.emitter();
            let tx = rt.tx.clone();
            let handle = std::thread::spawn(move || {
                let _ = tx.send(Inbox::from(work.run(&emit, &token)));
            });
            rt.job = Some(RunningJob { cancel, handle });
        }
        other => {
            let Some(work) = work_for(other, state, &rt.engine) else {
                return false;
            };
            let emit = rt.emitter();
            let tx = rt.tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send(Inbox::from(work.run(&emit, &CancelToken::new())));
            });
        }
    }
    false
}
