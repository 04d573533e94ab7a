//! The explorer without a terminal: the pure reducer (state + message ->
//! state + effects), rendering on ratatui's TestBackend, and the real binary
//! under tmux.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quarry::app::compute::{JobKind, JobView, Phase, TaskState};
use quarry::app::state::View;
use quarry::app::{update, Action, Effect, Msg, State};
use quarry::config::{Config, Keymap, Mode};
use quarry::engine::error::Fix;
use quarry::engine::plan::graph::{StageKind, TaskGraph};
use quarry::engine::recipe::{Recipe, SourceConfig, Step};
use quarry::engine::run::events::Event;
use quarry::engine::run::exec::local::LocalExecutor;
use quarry::engine::run::exec::CancelToken;
use quarry::engine::steps::apply::JoinTables;
use quarry::engine::{Previewer, Source, SourceSpec};
use quarry::tui::effects::{work_for, Done, Emit, Engine, Work};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn csv(dir: &Path) -> String {
    let mut t = String::from("city,kind,amount\n");
    for i in 0..500 {
        let city = ["Oslo", "Lima", "Pune", "Kyiv"][i % 4];
        let kind = if i % 3 == 0 { "TAB" } else { "ML" };
        t.push_str(&format!("{city},{kind},{}\n", i * 10));
    }
    let p = dir.join("d.csv");
    std::fs::File::create(&p)
        .unwrap()
        .write_all(t.as_bytes())
        .unwrap();
    p.to_string_lossy().into_owned()
}

/// A value_counts step on the current column, through the palette (`F`
/// opens the frequency sheet instead).
fn count_current(app: &mut App) {
    let column = app.state.current_column().unwrap();
    app.act(Action::CommandPalette);
    app.state
        .prompt
        .as_mut()
        .unwrap()
        .set_text(&format!("count {column}"));
    app.act(Action::Submit);
    assert!(app.state.prompt.is_none(), "the count step was accepted");
}

struct App {
    state: State,
    engine: Engine,
    /// Prompt-history kinds the reducer asked to store, in order.
    history_saves: Vec<quarry::app::prompt_history::HistoryKind>,
}

impl App {
    fn new(dir: &Path) -> App {
        App::open(dir, SourceSpec::new(csv(dir)))
    }

    fn open(dir: &Path, spec: SourceSpec) -> App {
        let source = Arc::new(Source::open(spec.clone()).unwrap());
        let mut state = State::new(
            Recipe::new(SourceConfig::from_spec(&spec)),
            dir.to_path_buf(),
            source.describe(),
            Arc::clone(&source.schema),
            source.partitions.len(),
            Arc::new(JoinTables::new()),
        );
        state.source_notes = source.inference_notes.clone();
        state.source_drift = source.drift_report();
        state.source_date_layouts = source.date_layouts.clone();
        let mut app = App {
            state,
            engine: Engine {
                previewer: Arc::new(Previewer::new(source)),
                executor: Arc::new(LocalExecutor::new(2, 1 << 30)),
            },
            history_saves: Vec::new(),
        };
        let fx = quarry::app::update::request_preview(&mut app.state);
        app.run(fx);
        app
    }

    /// Perform engine effects inline, through the same functions the
    /// terminal runtime runs on its threads; the rest are returned.
    fn run(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let mut rest = Vec::new();
        for e in effects {
            if let Effect::SaveHistory(kind) = e {
                self.history_saves.push(kind);
                continue;
            }
            let keep = matches!(
                e,
                Effect::Preview(_)
                    | Effect::StartJob { .. }
                    | Effect::PlanGraph { .. }
                    | Effect::ShapeChart { .. }
            );
            if !keep {
                rest.push(e);
                continue;
            }
            let Some(work) = work_for(e, &self.state, &self.engine) else {
                continue;
            };
            let got: Arc<Mutex<Vec<Msg>>> = Arc::default();
            let sink = Arc::clone(&got);
            let emit: Emit = Arc::new(move |m| sink.lock().unwrap().push(m));
            let done = work.run(&emit, &CancelToken::new());
            let mut msgs: Vec<Msg> = std::mem::take(&mut *got.lock().unwrap());
            match done {
                // Timings vary run to run; the snapshots show none.
                Done::Msg(Msg::PreviewDone { request, result }) => msgs.push(Msg::PreviewDone {
                    request,
                    result: result.map(|mut d| {
                        d.elapsed_ms = 0;
                        d
                    }),
                }),
                Done::Msg(m) => msgs.push(m),
                Done::Reopened(p, m) => {
                    self.engine.previewer = p;
                    msgs.push(m);
                }
            }
            for m in msgs {
                let more = update(&mut self.state, m);
                rest.extend(self.run(more));
            }
        }
        rest
    }

    fn act(&mut self, a: Action) -> Vec<Effect> {
        let fx = update(&mut self.state, Msg::Action(a));
        self.run(fx)
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let k = ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Char(c),
            );
            update(&mut self.state, Msg::Key(k));
        }
    }

    fn screen(&self, w: u16, h: u16) -> String {
        let config = Config::load("default", "dark").unwrap();
        self.screen_with(&config.keymap, w, h)
    }

    fn screen_themed(&self, theme: &str, w: u16, h: u16) -> String {
        let config = Config::load("default", theme).unwrap();
        self.screen_in(&config, &config.keymap, w, h)
    }

    fn screen_with(&self, keymap: &Keymap, w: u16, h: u16) -> String {
        let config = Config::load("default", "dark").unwrap();
        self.screen_in(&config, keymap, w, h)
    }

    fn screen_in(&self, config: &Config, keymap: &Keymap, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| quarry::ui::draw(&self.state, &config.theme, keymap, f))
            .unwrap();
        let buf = term.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Run one piece of effect work inline and return its final message.
fn run_work(work: Work) -> Msg {
    let emit: Emit = Arc::new(|_| {});
    match work.run(&emit, &CancelToken::new()) {
        Done::Msg(m) | Done::Reopened(_, m) => m,
    }
}

#[test]
fn filter_verb_prefills_the_current_value_and_adds_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    assert_eq!(app.state.frame_height(), 200);
    app.act(Action::MoveRight); // kind
    app.act(Action::FilterPrompt);
    assert_eq!(app.state.prompt.as_ref().unwrap().text(), "kind = 'TAB'");
    app.act(Action::Submit);
    assert!(app.state.prompt.is_none());
    assert_eq!(
        app.state.recipe.steps,
        vec![Step::Filter {
            expr: "kind = 'TAB'".into()
        }]
    );
    let df = app.state.preview.frame.clone().unwrap();
    assert_eq!(df.height(), 167, "every third of 500 rows");
    // Undo and redo restore the pipeline and the preview.
    app.act(Action::Undo);
    assert!(app.state.recipe.steps.is_empty());
    assert_eq!(app.state.frame_height(), 200);
    app.act(Action::Redo);
    assert_eq!(app.state.recipe.steps.len(), 1);
}

#[test]
fn a_bad_expression_stays_in_the_prompt_with_the_engine_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    app.act(Action::DerivePrompt);
    app.type_text("amt * 2");
    let fx = app.act(Action::Submit);
    assert!(fx.is_empty());
    let p = app.state.prompt.as_ref().expect("prompt stays open");
    let err = p.error.as_ref().unwrap();
    assert!(
        err.contains("unknown column `amt`") && err.contains("did you mean `amount`"),
        "{err}"
    );
    assert!(app.state.recipe.steps.is_empty());
    // Tab completes column names.
    app.act(Action::CancelPrompt);
    app.act(Action::DerivePrompt);
    app.type_text("amo");
    app.act(Action::Complete);
    assert_eq!(
        app.state.prompt.as_ref().unwrap().text(),
        "new_column = amount"
    );
}

#[test]
fn prompt_history_recalls_per_kind_newest_first_and_keeps_the_draft() {
    use quarry::app::prompt_history::HistoryKind;
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let text = |app: &App| app.state.prompt.as_ref().unwrap().text();
    // Two filters submitted (one rejected: still worth recalling), a search.
    for f in ["amount > 10", "amout > 5"] {
        app.act(Action::FilterPrompt);
        app.state.prompt.as_mut().unwrap().set_text(f);
        app.act(Action::Submit);
        app.state.prompt = None;
    }
    app.act(Action::SearchPrompt);
    app.state.prompt.as_mut().unwrap().set_text("Boston");
    app.act(Action::Submit);
    assert_eq!(
        app.history_saves,
        [
            HistoryKind::Filter,
            HistoryKind::Filter,
            HistoryKind::Search
        ]
    );
    assert_eq!(
        app.state.prompt_history.entries(HistoryKind::Filter),
        ["amount > 10", "amout > 5"]
    );

    app.act(Action::FilterPrompt);
    app.state.prompt.as_mut().unwrap().set_text("city = 'X'");
    app.act(Action::HistoryOlder);
    assert_eq!(text(&app), "amout > 5");
    app.act(Action::HistoryOlder);
    assert_eq!(text(&app), "amount > 10");
    app.act(Action::HistoryOlder);
    assert_eq!(text(&app), "amount > 10", "the oldest stays");
    app.act(Action::HistoryNewer);
    app.act(Action::HistoryNewer);
    assert_eq!(text(&app), "city = 'X'", "past the newest: the draft");
    app.act(Action::HistoryNewer);
    assert_eq!(text(&app), "city = 'X'");
    // Resubmitting the newest entry does not store it again.
    app.state.prompt.as_mut().unwrap().set_text("amout > 5");
    app.act(Action::Submit);
    assert_eq!(app.history_saves.len(), 3);
    // The write prompt keeps paths apart from filters.
    app.state.prompt = None;
    app.act(Action::WriteResult);
    app.act(Action::HistoryOlder);
    assert!(text(&app).ends_with("-result.parquet"), "{}", text(&app));
}

#[test]
fn frequency_sort_drop_and_pipeline_navigation() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    count_current(&mut app);
    let df = app.state.preview.frame.clone().unwrap();
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        ["city", "count"]
    );
    assert_eq!(df.height(), 4);
    app.act(Action::FocusPipeline);
    app.act(Action::MoveUp); // preview the source again
    assert_eq!(app.state.at_step, 0);
    assert_eq!(app.state.frame_height(), 200);
    app.act(Action::FocusTable);
    app.act(Action::LastColumn);
    app.act(Action::SortDescending);
    assert_eq!(app.state.at_step, 1, "inserted at the previewed position");
    assert!(matches!(app.state.recipe.steps[0], Step::Sort { .. }));
    let first = app
        .state
        .preview
        .frame
        .as_ref()
        .unwrap()
        .column("amount")
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    assert_eq!(first, "4990");
    app.act(Action::FocusPipeline);
    app.act(Action::DeleteStep);
    assert_eq!(app.state.recipe.steps.len(), 1);
}

#[test]
fn stale_previews_are_dropped_and_quit_asks_about_unsaved_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let fx = update(&mut app.state, Msg::Action(Action::SortAscending));
    let old = app.state.request;
    let _newer = update(&mut app.state, Msg::Action(Action::ToggleTake));
    assert!(app.state.request > old);
    let Effect::Preview(req) = &fx[0] else {
        panic!()
    };
    update(
        &mut app.state,
        Msg::PreviewDone {
            request: req.request,
            result: Err("stale".into()),
        },
    );
    assert!(
        app.state.preview.error.is_none(),
        "a stale answer changes nothing"
    );
    assert!(app.act(Action::Quit).is_empty(), "first q warns");
    assert!(app
        .state
        .status
        .as_ref()
        .unwrap()
        .text()
        .contains("unsaved"));
    assert_eq!(app.act(Action::Quit), vec![Effect::Quit]);
}

#[test]
fn command_palette_saves_a_recipe_that_run_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    count_current(&mut app);
    app.act(Action::CommandPalette);
    let out = dir.path().join("saved.toml");
    app.type_text(&format!("w {}", out.display()));
    let fx = app.act(Action::Submit);
    let Some(Effect::Save { path, text }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert_eq!(path, &out);
    std::fs::write(path, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["run", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Oslo"));
}

#[test]
fn renders_at_full_and_tiny_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let big = app.screen(120, 40);
    assert!(
        big.contains("city") && big.contains("str") && big.contains("Oslo"),
        "{big}"
    );
    assert!(big.contains("pipeline"), "side panel at 120 columns");
    assert!(big.contains("HEAD · step 0/0"));
    let small = app.screen(40, 12);
    assert!(small.contains("city"), "{small}");
    assert!(!small.contains("pipeline ─"), "panel collapses at 40×12");
    let tiny = app.screen(20, 5);
    assert!(tiny.contains("city"), "{tiny}");
    let tinier = app.screen(12, 4);
    assert!(tinier.contains("too"), "{tinier}");
    app.act(Action::ToggleHelp);
    let help = app.screen(120, 40);
    assert!(
        help.contains("filter rows") && help.contains("table keys"),
        "{help}"
    );
    app.act(Action::ToggleHelp);
    app.act(Action::ViewSchema);
    let schema = app.screen(120, 40);
    assert!(
        schema.contains("amount") && schema.contains("1990"),
        "{schema}"
    );
}

#[test]
fn clicks_select_cells_and_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    count_current(&mut app);
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    // The table block starts at y=1: border, header, dtype row, then rows.
    let hit = quarry::ui::hit_test(&app.state, area, 8, 6).unwrap();
    assert_eq!(hit, quarry::ui::Hit::Cell { row: 2, col: 1 });
    let fx = update(&mut app.state, Msg::Click(hit));
    app.run(fx);
    assert_eq!((app.state.table.row, app.state.table.col), (2, 1));
    // The side panel: line 1 is the source, then two lines per step.
    let step0 = quarry::ui::hit_test(&app.state, area, 100, 2).unwrap();
    assert_eq!(step0, quarry::ui::Hit::Step(0));
    let fx = update(&mut app.state, Msg::Click(step0));
    app.run(fx);
    assert_eq!(app.state.at_step, 0);
    assert_eq!(app.state.frame_height(), 200, "the source is previewed");
}

#[test]
fn every_default_binding_is_reachable_in_help() {
    let km = Keymap::load(Keymap::preset("default").unwrap(), None).0;
    let named: Vec<Action> = km
        .bindings(Mode::Table)
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    for a in [
        Action::FilterPrompt,
        Action::Frequency,
        Action::Undo,
        Action::Quit,
        Action::ToggleHelp,
    ] {
        assert!(named.contains(&a), "{a:?}");
    }
}

/// The quarry binary running in its own tmux server; the server (and the
/// program in it) is killed when this is dropped, even when a test fails.
struct Tmux {
    sock: std::path::PathBuf,
    session: String,
}

impl Tmux {
    /// Start `quarry ARGS` in a `width`×`height` terminal; the shell prints
    /// `EXITED <code>` when quarry ends.
    fn start(dir: &Path, args: &str, width: u16, height: u16) -> Tmux {
        Tmux::start_with_env(dir, "", args, width, height)
    }

    /// Like `start`, with `env` (e.g. `TERM=dumb`) before the command.
    fn start_with_env(dir: &Path, env: &str, args: &str, width: u16, height: u16) -> Tmux {
        // A socket of its own: a test that starts several servers in turn
        // must not reach the previous one while it is still shutting down
        // (its session would vanish with it, leaving an empty screen).
        // Prompt history goes to the test's directory, never the user's.
        let cmd = format!(
            "QUARRY_STATE_DIR={} {env} {} {args}",
            dir.join("state").display(),
            env!("CARGO_BIN_EXE_quarry")
        );
        Tmux::start_shell(dir, &cmd, width, height)
    }

    /// Run the shell line `cmd` (which starts quarry) in a terminal.
    fn start_shell(dir: &Path, cmd: &str, width: u16, height: u16) -> Tmux {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "tmux is needed for this test (scripts/test.sh installs it)"
        );
        // A socket of its own: a test that starts several servers in turn
        // must not reach the previous one while it is still shutting down
        // (its session would vanish with it, leaving an empty screen).
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux {
            sock: dir.join(format!("tmux-{n}.sock")),
            session: "quarry-test".into(),
        };
        let cmd = format!("{cmd}; echo EXITED $?; sleep 5");
        let (w, h) = (width.to_string(), height.to_string());
        let started = t.run(&[
            "new-session",
            "-d",
            "-c",
            dir.to_str().unwrap(),
            "-s",
            &t.session,
            "-x",
            &w,
            "-y",
            &h,
            &cmd,
        ]);
        assert!(
            started.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        t
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .unwrap()
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// The screen once it shows `needle`, failing after `secs` seconds.
    fn wait_for(&self, needle: &str, secs: u64) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "never saw {needle:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The release binary in a real terminal.
#[test]
fn tmux_open_filter_save_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 120, 40);
    t.wait_for("Oslo", 15);
    t.send(&["l", "|"]);
    t.wait_for("kind = 'TAB'", 15);
    t.send(&["Enter"]);
    t.wait_for("1. filter kind = 'TAB'", 15);
    let recipe = dir.path().join("r.toml");
    t.send(&[":", &format!("w {}", recipe.display()), "Enter"]);
    t.wait_for(" saved /", 15); // the status line, not "(unsaved: ...)"
    t.send(&["q"]);
    let s = t.wait_for("EXITED", 15);
    assert!(s.contains("EXITED 0"), "{s}");
    let o = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["run", recipe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("done: 167 rows"));
}

/// A derived column typed in one session is recalled with Up in the next;
/// with `--no-history` nothing is read or written.
#[test]
fn tmux_prompt_history_survives_a_restart_unless_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 120, 40);
    t.wait_for("Oslo", 15);
    t.send(&["="]);
    t.wait_for("new_column = ", 15);
    t.send(&["amount * 2", "Enter"]);
    t.wait_for("1. with_columns", 15);
    // Quit, and quit again past the question about the unsaved step.
    t.send(&["q"]);
    t.wait_for("unsaved", 15);
    t.send(&["q"]);
    t.wait_for("EXITED 0", 15);
    drop(t);
    let saved = std::fs::read_to_string(dir.path().join("state/history/derive")).unwrap();
    assert_eq!(saved, "\"new_column = amount * 2\"\n");

    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 120, 40);
    t.wait_for("Oslo", 15);
    t.send(&["="]);
    t.wait_for("new_column = ", 15);
    t.send(&["Up"]);
    t.wait_for("new_column = amount * 2", 15);
    // A lone escape, not the start of an alt-key sequence.
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(500));
    t.send(&["q"]);
    t.wait_for("EXITED 0", 15);
    drop(t);

    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let t = Tmux::start(
        dir.path(),
        &format!("{data} --no-mouse --no-history"),
        120,
        40,
    );
    t.wait_for("Oslo", 15);
    t.send(&["|"]);
    t.wait_for("city = 'Oslo'", 15);
    t.send(&["Enter"]);
    t.wait_for("1. filter city = 'Oslo'", 15);
    t.send(&["q"]);
    t.wait_for("unsaved", 15);
    t.send(&["q"]);
    t.wait_for("EXITED 0", 15);
    assert!(
        !dir.path().join("state").exists(),
        "--no-history wrote the state directory"
    );
}

/// `some-command | quarry`: the first lines are on screen while the
/// producer is still running, and all rows once it ends.
#[test]
fn tmux_piped_input_shows_rows_before_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    let cmd = format!(
        "(head -3 {data}; sleep 3; tail -n +4 {data}) | QUARRY_STATE_DIR={state} QUARRY_CACHE_DIR={cache} {bin} --no-mouse",
        state = dir.path().join("state").display(),
        cache = dir.path().join("cache").display(),
        bin = env!("CARGO_BIN_EXE_quarry"),
    );
    let t0 = Instant::now();
    let t = Tmux::start_shell(dir.path(), &cmd, 120, 40);
    let first = t.wait_for("Oslo", 15);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "shown only after the producer ended"
    );
    assert!(first.contains("while the rest arrives"), "{first}");
    let all = t.wait_for("standard input ended", 20);
    assert!(t0.elapsed() >= Duration::from_secs(3));
    assert!(all.contains("city"), "{all}");
    t.send(&["q"]);
    t.wait_for("EXITED 0", 15);
    drop(t);
    let left: Vec<_> = std::fs::read_dir(dir.path().join("cache/stdin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "spooled input outlived the session: {left:?}"
    );
}

/// In a real terminal: compute a group-by, sort its result (previewed on
/// the result, no second job), drill into the top group (as many rows as a
/// headless filter finds), and chart a date column.
#[test]
fn tmux_computed_result_drill_down_and_a_date_chart() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("day,city,amount\n");
    for i in 0..600 {
        let city = ["Oslo", "Lima", "Pune", "Kyiv", "Oslo", "Oslo"][i % 6];
        t.push_str(&format!("2024-01-{:02},{city},{}\n", 1 + i % 28, i * 3));
    }
    let data = dir.path().join("days.csv");
    std::fs::write(&data, t).unwrap();
    let term = Tmux::start(
        dir.path(),
        &format!("{} --no-mouse", data.display()),
        140,
        40,
    );
    term.wait_for("2024-01-01", 15);
    term.send(&["l", "b"]); // group by city
    term.wait_for("n = count(*)", 15);
    term.send(&["Enter"]);
    term.wait_for("1. group_by", 15);
    term.send(&["c"]);
    term.wait_for("computed 4 rows", 30);
    term.send(&["1", "$", "]"]); // the table; sort by n, descending
    let screen = term.wait_for("on the computed result of step 1", 15);
    assert!(
        screen.contains("│1 Oslo 300"),
        "the largest group on top: {screen}"
    );
    assert!(screen.contains("step 2/2"), "{screen}");
    // Enter on Oslo: its rows.
    term.send(&["g", "Enter"]);
    term.wait_for("the rows where city = 'Oslo'", 15);
    let screen = term.wait_for("table · 200 rows", 15);
    assert!(screen.contains("▶ 1. filter city = 'Oslo'"), "{screen}");
    let recipe = dir.path().join("oslo.toml");
    std::fs::write(
        &recipe,
        format!(
            "[source]\npath = \"{}\"\n[[steps]]\nop = \"filter\"\nexpr = \"city = 'Oslo'\"\n",
            data.display()
        ),
    )
    .unwrap();
    let headless = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["run", recipe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&headless.stderr).contains("done: 300 rows"));
    term.send(&["c"]);
    term.wait_for("computed 300 rows", 30);
    term.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(500));
    term.send(&["1"]);
    term.wait_for("1. group_by", 15);
    // A line chart over the date column, at the source.
    term.send(&["Tab", "g", "Tab"]);
    term.wait_for("step 0/2", 15);
    term.send(&[":"]);
    term.wait_for("command", 15);
    term.send(&["chart line day amount", "Enter"]);
    let screen = term.wait_for("line chart · amount by day", 15);
    assert!(
        screen.contains("2024-01-01") && screen.contains("2024-01-28"),
        "{screen}"
    );
    assert!(
        screen
            .chars()
            .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
        "braille: {screen}"
    );
}

#[test]
fn readme_keys_table_matches_the_default_keymap() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("<!-- keys:begin -->").unwrap();
    let end = readme.find("<!-- keys:end -->").unwrap();
    let table = &readme[start..end];
    let km = Keymap::load(Keymap::preset("default").unwrap(), None).0;
    for (action, keys) in km.bindings(Mode::Table) {
        if matches!(
            action,
            Action::ViewTable | Action::ViewPipeline | Action::ViewSchema
        ) {
            assert!(table.contains("`1` `2` `3`"));
            continue;
        }
        let documented = keys.iter().any(|k| {
            let k = match k.as_str() {
                "↓" | "↑" | "←" | "→" => "arrows",
                "pgdn" => "pagedown",
                "pgup" => "pageup",
                "|" => "\\|",
                other => other,
            };
            table.contains(&format!("`{k}`")) || table.contains(k)
        });
        assert!(
            documented,
            "{action:?} ({keys:?}) is not in the README keys table"
        );
    }
}

#[test]
fn help_scrolls_to_the_palette_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    app.act(Action::ToggleHelp);
    assert!(!app.screen(100, 30).contains("sql QUERY"));
    for _ in 0..200 {
        app.act(Action::MoveDown);
    }
    let screen = app.screen(100, 30);
    assert!(
        screen.contains("sql QUERY") && screen.contains("q / q!"),
        "{screen}"
    );
    assert_eq!(
        app.state.table.row, 0,
        "movement scrolled the help, not the table"
    );
    app.act(Action::ToggleHelp);
    app.act(Action::ToggleHelp);
    assert!(
        app.screen(100, 30).contains("table keys"),
        "reopened at the top"
    );
}

#[test]
fn readme_lists_every_palette_step_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("<!-- commands:begin -->").unwrap();
    let end = readme.find("<!-- commands:end -->").unwrap();
    let table = readme[start..end].replace("\\|", "|");
    for (cmd, what) in quarry::app::commands::STEP_COMMANDS {
        assert!(
            table.contains(&format!("| `:{cmd}` | {what} |")),
            ":{cmd} is not in the README commands table"
        );
    }
}

/// insta snapshots of every view at 120×40 and 40×12 (paths and timings filtered).
#[test]
fn view_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/d\.csv", "[DATA]");
    settings.add_filter(r"\d+ ms", "[T] ms");
    settings.add_filter(r"\d+(\.\d+)? KiB", "[SIZE]");
    settings.bind(|| {
        insta::assert_snapshot!("table_120x40", app.screen(120, 40));
        insta::assert_snapshot!("table_40x12", app.screen(40, 12));
        app.act(Action::MoveRight);
        count_current(&mut app);
        app.act(Action::ViewPipeline);
        insta::assert_snapshot!("pipeline_120x40", app.screen(120, 40));
        insta::assert_snapshot!("pipeline_40x12", app.screen(40, 12));
        app.act(Action::ViewSchema);
        insta::assert_snapshot!("schema_120x40", app.screen(120, 40));
        app.act(Action::ViewTable);
        app.act(Action::DerivePrompt);
        app.type_text("amt * 2");
        app.act(Action::Submit);
        insta::assert_snapshot!("prompt_error_120x40", app.screen(120, 40));
        app.act(Action::CancelPrompt);
        app.act(Action::ToggleHelp);
        insta::assert_snapshot!("help_120x40", app.screen(120, 40));
    });
}

/// An SSH session dropping (SIGHUP) or a SIGTERM: the explorer exits and
/// restores the terminal.
#[test]
fn tmux_hangup_restores_the_terminal() {
    // SIGHUP (an SSH session dropping), SIGTERM and SIGINT on an idle explorer.
    for sig in ["-HUP", "-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let data = csv(dir.path());
        let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 100, 30);
        t.wait_for("Oslo", 15);
        let pid = quarry_pid(&data);
        Command::new("kill").args([sig, &pid]).status().unwrap();
        let s = t.wait_for("EXITED", 10);
        assert!(s.contains("EXITED 0"), "{sig}: {s}");
        assert!(
            !s.contains("Oslo"),
            "{sig}: the alternate screen is gone:\n{s}"
        );
    }
}

#[test]
fn compute_runs_the_selected_step_and_shows_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    app.act(Action::MoveRight); // kind
    app.act(Action::FilterPrompt);
    app.act(Action::Submit); // kind = 'TAB'
    app.act(Action::FirstColumn);
    count_current(&mut app);
    let fx = app.act(Action::Compute);
    assert!(fx.is_empty(), "the job ran in the harness: {fx:?}");
    let job = app.state.jobs.current.as_ref().unwrap();
    assert_eq!(
        job.phase,
        Phase::Finished {
            rows_out: 4,
            elapsed_ms: match job.phase {
                Phase::Finished { elapsed_ms, .. } => elapsed_ms,
                _ => 0,
            }
        }
    );
    assert!(job.tasks.iter().all(|t| t.state == TaskState::Done));
    assert_eq!(app.state.view, View::Result);
    let r = app.state.jobs.result.as_ref().unwrap();
    assert_eq!(r.frame.height(), 4);
    use polars::prelude::ChunkAgg;
    let counts: u64 = r
        .frame
        .column("count")
        .unwrap()
        .cast(&polars::prelude::DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .sum()
        .unwrap();
    assert_eq!(counts, 167, "every third of 500 rows is TAB");
    // The graph view shows the job's graph with its live counts.
    app.act(Action::ViewGraph);
    let screen = app.screen(120, 40);
    assert!(
        screen.contains("read-csv+filter+value-counts-chunk ×1"),
        "{screen}"
    );
    assert!(screen.contains("last run"), "{screen}");
    // Previewing an earlier step shows its own (planned) graph.
    app.act(Action::ViewPipeline);
    let fx = app.act(Action::MoveUp);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(app.state.at_step, 1);
    app.act(Action::ViewGraph);
    let screen = app.screen(120, 40);
    assert!(screen.contains("planned"), "{screen}");
}

#[test]
fn write_streams_to_a_file_and_a_computed_result_is_written_directly() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let out = dir.path().join("out.csv");
    app.act(Action::WriteResult);
    let p = app.state.prompt.as_mut().unwrap();
    p.input = ratatui_textarea::TextArea::new(vec![out.to_string_lossy().into_owned()]);
    app.act(Action::Submit);
    let job = app.state.jobs.current.as_ref().unwrap();
    assert!(matches!(job.kind, JobKind::Write { .. }));
    assert!(
        matches!(job.phase, Phase::Finished { rows_out: 500, .. }),
        "{:?}",
        job.phase
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 501);
    // With a computed result for the same steps, w writes that frame.
    app.act(Action::Compute);
    app.act(Action::WriteResult);
    app.act(Action::Submit);
    let fx = app.act(Action::WriteResult);
    assert!(fx.is_empty());
    let p = app.state.prompt.as_mut().unwrap();
    p.input = ratatui_textarea::TextArea::new(vec!["again.parquet".into()]);
    let fx = app.act(Action::Submit);
    assert_eq!(
        fx,
        vec![Effect::WriteResult {
            path: "again.parquet".into()
        }]
    );
}

#[test]
fn steps_after_a_computed_result_preview_and_compute_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = SourceSpec::new(csv(dir.path()));
    spec.blocksize = 1024;
    let mut app = App::open(dir.path(), spec);
    count_current(&mut app);
    assert!(
        app.state.preview.partial,
        "a blocking step previews partially"
    );
    app.act(Action::Compute);
    assert_eq!(app.state.jobs.result.as_ref().unwrap().frame.height(), 4);
    // Back to the table; sort the counts: a preview on the result, exact.
    app.act(Action::ViewTable);
    app.act(Action::FirstColumn);
    app.act(Action::SortAscending);
    assert_eq!(app.state.recipe.steps.len(), 2);
    assert_eq!(app.state.preview.from_result, Some(1));
    assert!(!app.state.preview.partial);
    let df = app.state.preview.frame.clone().unwrap();
    let city_of = |df: &polars::prelude::DataFrame, i: usize| -> String {
        let c = df.column("city").unwrap().str().unwrap().get(i);
        c.unwrap_or_default().to_string()
    };
    let cities: Vec<String> = (0..df.height()).map(|i| city_of(&df, i)).collect();
    assert_eq!(cities, ["Kyiv", "Lima", "Oslo", "Pune"]);
    let counts: Vec<u64> = df
        .column("count")
        .unwrap()
        .cast(&polars::prelude::DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(counts, [125, 125, 125, 125], "all rows, not one partition");
    // Compute at the sort: the job starts from the result.
    let fx = update(&mut app.state, Msg::Action(Action::Compute));
    let [Effect::StartJob {
        recipe,
        from_result: Some(base),
        ..
    }] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    assert_eq!(base.steps, 1);
    assert_eq!(recipe.steps.len(), 1, "only the sort runs");
    app.run(fx);
    let result = &app.state.jobs.result.as_ref().unwrap().frame;
    assert!(result.equals_missing(&df));
    assert_eq!(
        app.state.jobs.current.as_ref().unwrap().from_result,
        Some(1)
    );
    // A change at or before the computed step voids it.
    app.act(Action::ViewTable);
    app.state.recipe.steps.remove(1);
    app.state.recipe.steps[0] = quarry::engine::recipe::Step::ValueCounts {
        column: "kind".into(),
    };
    app.state.at_step = 1;
    let fx = quarry::app::update::request_preview(&mut app.state);
    let [Effect::Preview(p), ..] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(p.base.is_none());
}

#[test]
fn drill_down_opens_a_groups_rows_goes_back_and_keeps_the_filter() {
    use quarry::engine::recipe::Step;
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/d\.csv", "[DATA]");
    settings.add_filter(r"\d+ ms", "[T] ms");
    let _bound = settings.bind_to_scope();
    app.act(Action::GroupByPrompt); // on `city`
    app.state.prompt.as_mut().unwrap().set_text("n = count(*)");
    app.act(Action::Submit);
    assert_eq!(app.state.recipe.steps.len(), 1);
    let groups = app.state.preview.frame.clone().unwrap();
    app.act(Action::MoveDown);
    let city = groups.column("city").unwrap().get(1).unwrap().to_string();
    let city = city.trim_matches('"').to_string();
    app.act(Action::OpenRow);
    assert_eq!(
        app.state.recipe.steps[0],
        Step::Filter {
            expr: format!("city = '{city}'")
        }
    );
    assert_eq!(app.state.at_step, 1, "the rows behind the group are shown");
    let rows = app.state.preview.frame.clone().unwrap();
    assert_eq!(rows.height(), 125);
    let column = rows.column("city").unwrap().str().unwrap();
    assert!((0..rows.height()).all(|i| column.get(i) == Some(city.as_str())));
    // Back: the group-by at the row where we were.
    app.act(Action::DrillBack);
    assert_eq!(app.state.recipe.steps.len(), 1);
    assert_eq!(app.state.at_step, 1);
    assert_eq!(app.state.table.row, 1);
    assert!(app.state.drill.is_none());
    // Enter on a plain row is the record view.
    app.act(Action::OpenRow);
    app.act(Action::KeepDrill);
    assert!(app.state.drill.is_none());
    assert_eq!(app.state.recipe.steps.len(), 2, "the filter is a step now");
    app.act(Action::Undo);
    assert_eq!(app.state.recipe.steps.len(), 1);
    app.state.at_step = 0;
    let fx = quarry::app::update::request_preview(&mut app.state);
    app.run(fx);
    app.act(Action::OpenRow);
    assert!(app.state.record_open, "a plain row opens the record view");
    assert!(app.state.drill.is_none());
    app.act(Action::OpenRow);
    assert!(!app.state.record_open, "enter again closes it");

    // The frequency sheet of `kind`: enter on its first value (the most
    // frequent, ML) opens those rows; back returns to the sheet.
    app.act(Action::MoveRight);
    app.act(Action::Frequency);
    assert_eq!(app.state.view, View::Frequency);
    snapshot_in_themes(&app, "frequency_sheet");
    app.act(Action::OpenRow);
    assert_eq!(app.state.view, View::Table);
    assert_eq!(
        app.state.recipe.steps[0],
        Step::Filter {
            expr: "kind = 'ML'".into()
        }
    );
    let rows = app.state.preview.frame.clone().unwrap();
    assert_eq!(rows.height(), 200, "the preview's rows, all of them ML");
    let kinds = rows.column("kind").unwrap().str().unwrap().clone();
    assert!((0..rows.height()).all(|i| kinds.get(i) == Some("ML")));
    // The drilled view (the sheet's order is by count, so it is fixed):
    // its title says what it drilled into and how to go back or keep it.
    snapshot_in_themes(&app, "drill_down");
    app.act(Action::DrillBack);
    assert_eq!(app.state.view, View::Frequency);
    assert_eq!(app.state.recipe.steps.len(), 1);
}

/// Snapshots `NAME_THEME_WxH` at 120×40 and 40×12 in the dark and mono
/// themes.
fn snapshot_in_themes(app: &App, name: &str) {
    // A job's wall time depends on the machine's load: shown as zero (the
    // same width, so the frame's layout is still checked).
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"done in \d\.\d\d s", "done in 0.00 s");
    let _bound = settings.bind_to_scope();
    for theme in ["dark", "mono"] {
        for (w, h) in [(120, 40), (40, 12)] {
            insta::assert_snapshot!(
                format!("{name}_{theme}_{w}x{h}"),
                app.screen_themed(theme, w, h)
            );
        }
    }
}

#[test]
fn charts_of_the_preview_and_of_a_computed_result() {
    use quarry::app::chart::{ChartKind, XAxis};
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/d\.csv", "[DATA]");
    settings.add_filter(r"/[^ ]*/scatter\.svg", "[SVG]");
    let _bound = settings.bind_to_scope();
    // `amount` (numeric) against `city`: bars of the first rows.
    app.act(Action::LastColumn);
    app.act(Action::Chart);
    assert_eq!(app.state.view, View::Chart);
    let c = app.state.chart.clone().unwrap();
    assert_eq!((c.spec.kind, c.spec.x.as_str()), (ChartKind::Bar, "city"));
    let data = c.data.unwrap();
    assert!(matches!(data.x_axis, XAxis::Categories(ref l) if l.len() == 60));
    assert_eq!(data.note.as_deref(), Some("the first 60 of 200 rows"));
    snapshot_in_themes(&app, "chart_bar");
    // A scatter with one series per kind, then as lines, then a log scale.
    app.act(Action::ViewTable);
    app.act(Action::DerivePrompt);
    app.state
        .prompt
        .as_mut()
        .unwrap()
        .set_text("i = amount / 10");
    app.act(Action::Submit);
    command(&mut app, "chart scatter i amount by kind");
    let data = app.state.chart.as_ref().unwrap().data.clone().unwrap();
    let names: Vec<&str> = data.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ML", "TAB"], "the larger group first");
    assert_eq!(
        data.series[0].points.len() + data.series[1].points.len(),
        200
    );
    snapshot_in_themes(&app, "chart_scatter");
    // Written as SVG for a report.
    app.act(Action::WriteResult);
    let p = app.state.prompt.as_mut().unwrap();
    assert!(p.text().ends_with("-chart.svg"), "{}", p.text());
    let svg = dir.path().join("scatter.svg");
    p.set_text(&svg.to_string_lossy());
    let fx = app.act(Action::Submit);
    let [Effect::WriteChart { path }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let work = work_for(
        Effect::WriteChart { path: path.clone() },
        &app.state,
        &app.engine,
    )
    .unwrap();
    let msg = run_work(work);
    let Msg::ChartWritten(written) = msg else {
        panic!("not a chart-written message")
    };
    assert_eq!(written, Ok(svg.clone()));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("amount by i") && text.contains(">\nTAB\n<"));
    app.act(Action::ChartKind);
    assert_eq!(app.state.chart.as_ref().unwrap().spec.kind, ChartKind::Bar);
    app.act(Action::ChartKind);
    app.act(Action::ToggleLogScale);
    let c = app.state.chart.clone().unwrap();
    assert_eq!(c.spec.kind, ChartKind::Line);
    assert!(c.spec.log_y);
    let data = c.data.unwrap();
    assert!(
        data.note.unwrap().contains("values ≤ 0 left out"),
        "amount 0 has no log"
    );
    snapshot_in_themes(&app, "chart_line");
    // A bad column is said, with the command to fix it.
    command(&mut app, "chart line i nosuch");
    let err = app.state.chart.as_ref().unwrap().data.clone().unwrap_err();
    assert!(err.contains("no column `nosuch`"), "{err}");

    // Of a computed result: the whole group-by, not the preview's part.
    app.act(Action::ViewTable);
    app.act(Action::FirstColumn);
    app.act(Action::GroupByPrompt);
    app.state
        .prompt
        .as_mut()
        .unwrap()
        .set_text("n = count(*), total = sum(amount)");
    app.act(Action::Submit);
    app.act(Action::Compute);
    assert_eq!(app.state.view, View::Result);
    app.act(Action::LastColumn);
    app.act(Action::Chart);
    let c = app.state.chart.clone().unwrap();
    assert!(c.of_result);
    assert_eq!(c.data.unwrap().rows, 4);
}

/// A chart of many rows is shaped on a worker: the action asks for it and
/// returns at once; the answer fills the chart; an answer to an older
/// request is dropped; a few rows are shaped at once.
#[test]
fn a_chart_of_many_rows_is_shaped_off_the_ui_thread() {
    use quarry::app::update::SHAPE_INLINE_ROWS;
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("x,y\n");
    for i in 0..(SHAPE_INLINE_ROWS + 10_000) {
        t.push_str(&format!("{i},{}\n", i % 97));
    }
    let path = dir.path().join("many.csv");
    std::fs::write(&path, t).unwrap();
    let mut app = App::open(
        dir.path(),
        SourceSpec::new(path.to_string_lossy().into_owned()),
    );
    app.act(Action::Chart);
    assert!(
        app.state.chart.as_ref().unwrap().data.is_ok(),
        "the preview's rows: at once"
    );
    assert!(app.state.chart.as_ref().unwrap().shaping.is_none());
    app.act(Action::ViewTable);
    app.act(Action::Compute);
    assert_eq!(app.state.view, View::Result);
    let fx = update(&mut app.state, Msg::Action(Action::Chart));
    let [Effect::ShapeChart { request }] = fx[..] else {
        panic!(
            "a worker shapes {} rows: {fx:?}",
            SHAPE_INLINE_ROWS + 10_000
        );
    };
    assert_eq!(app.state.chart.as_ref().unwrap().shaping, Some(request));
    let screen = app.screen(120, 40);
    assert!(screen.contains("shaping"), "{screen}");
    // A newer request (the kind changed) makes the first answer stale.
    let newer = update(&mut app.state, Msg::Action(Action::ChartKind));
    let Some(quarry::tui::effects::Work::ShapeChart { .. }) =
        work_for(fx[0].clone(), &app.state, &app.engine)
    else {
        panic!("shaping work");
    };
    update(
        &mut app.state,
        Msg::ChartShaped {
            request,
            result: Err("stale".into()),
        },
    );
    assert!(
        app.state.chart.as_ref().unwrap().shaping.is_some(),
        "stale answer dropped"
    );
    app.run(newer);
    let c = app.state.chart.as_ref().unwrap();
    assert!(c.shaping.is_none());
    let data = c.data.as_ref().unwrap();
    assert_eq!(data.rows, SHAPE_INLINE_ROWS + 10_000);
    assert!(c.of_result);
}

#[test]
fn pivot_and_unpivot_from_the_palette_preview() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/d\.csv", "[DATA]");
    settings.add_filter(r"\d+ ms", "[T] ms");
    let _bound = settings.bind_to_scope();
    command(&mut app, "pivot city on kind values amount in TAB, ML");
    assert!(
        app.state.prompt.is_none(),
        "{:?}",
        app.state.prompt.as_ref().map(|p| p.error.clone())
    );
    let df = app.state.preview.frame.clone().unwrap();
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["city", "TAB", "ML"]
    );
    assert_eq!(df.height(), 4);
    snapshot_in_themes(&app, "pivot_preview");
    command(&mut app, "unpivot TAB, ML keep city");
    let df = app.state.preview.frame.clone().unwrap();
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["city", "variable", "value"]
    );
    assert_eq!(df.height(), 8, "back to long: a row per city and kind");
}

/// `:pivot` without `in` runs a job over all rows for the values of the
/// pivot column, then inserts the pivot with them as its columns (sorted);
/// a missing column is refused at once, before any pass.
#[test]
fn pivot_without_columns_finds_them_over_all_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    command(&mut app, "pivot kind on nope values amount");
    let error = app.state.prompt.as_ref().and_then(|p| p.error.clone());
    assert!(
        error.as_deref().is_some_and(|e| e.contains("nope")),
        "{error:?}"
    );
    assert!(app.state.jobs.current.is_none(), "no pass for a bad step");
    app.act(Action::CancelPrompt);

    app.act(Action::CommandPalette);
    replace_prompt_text(&mut app, "pivot kind on city values amount agg max");
    let fx = update(&mut app.state, Msg::Action(Action::Submit));
    let start = fx.iter().find(|e| matches!(e, Effect::StartJob { .. }));
    let Some(Effect::StartJob { kind, recipe, .. }) = start.cloned() else {
        panic!("a values pass starts: {fx:?}");
    };
    assert!(
        matches!(kind, JobKind::PivotValues { at: 0, .. }),
        "{kind:?}"
    );
    assert_eq!(
        recipe.steps,
        quarry::engine::steps::pivot::values_steps("city"),
        "the steps before the pivot (none), then the distinct values"
    );
    app.run(fx);
    assert_eq!(app.state.recipe.steps.len(), 1);
    let Step::Pivot { columns, agg, .. } = &app.state.recipe.steps[0] else {
        panic!("{:?}", app.state.recipe.steps);
    };
    assert_eq!(columns, &["Kyiv", "Lima", "Oslo", "Pune"]);
    assert_eq!(agg, "max");

    // The pivot key opens the palette prefilled on the current column.
    app.act(Action::Undo);
    app.act(Action::MoveRight);
    app.act(Action::PivotPrompt);
    assert_eq!(
        app.state.prompt.as_ref().unwrap().text(),
        "pivot city on kind values amount"
    );
    app.act(Action::CancelPrompt);
    app.act(Action::UnpivotPrompt);
    assert_eq!(
        app.state.prompt.as_ref().unwrap().text(),
        "unpivot kind keep city"
    );
    app.act(Action::CancelPrompt);
    app.act(Action::PivotPrompt);
    app.act(Action::Submit);
    let Step::Pivot { columns, .. } = &app.state.recipe.steps[0] else {
        panic!("{:?}", app.state.recipe.steps);
    };
    assert_eq!(columns, &["ML", "TAB"]);
    app.act(Action::Undo);
    command(&mut app, "pivot kind on city values amount agg max");
    let df = app.state.preview.frame.clone().unwrap();
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["kind", "Kyiv", "Lima", "Oslo", "Pune"]
    );
    assert_eq!(app.state.view, View::Table);
}

#[test]
fn cancel_cancels_a_running_job_and_quits_when_none_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    // A job as the runtime leaves it while it runs.
    let fx = update(&mut app.state, Msg::Action(Action::Compute));
    assert!(matches!(fx.as_slice(), [Effect::StartJob { id: 1, .. }]));
    assert!(app.state.job_running());
    assert_eq!(app.state.view, View::Progress);
    // Compute again asks; `q` queues.
    let fx = update(&mut app.state, Msg::Action(Action::Compute));
    assert!(fx.is_empty() && app.state.confirm.is_some());
    update(&mut app.state, Msg::Action(Action::QueueJob));
    assert!(app.state.confirm.is_none() && app.state.jobs.queued.is_some());
    let fx = update(&mut app.state, Msg::Action(Action::Cancel));
    assert_eq!(fx, vec![Effect::CancelJob]);
    assert!(!app.state.should_quit);
    update(
        &mut app.state,
        Msg::JobEvent {
            id: 1,
            event: Event::JobCancelled { elapsed_ms: 5 },
        },
    );
    // The job ends; the queued one starts.
    let fx = update(
        &mut app.state,
        Msg::JobDone {
            id: 1,
            result: Err("cancelled".into()),
        },
    );
    assert!(
        matches!(fx.as_slice(), [Effect::StartJob { id: 2, .. }]),
        "{fx:?}"
    );
    update(
        &mut app.state,
        Msg::JobDone {
            id: 2,
            result: Err("cancelled".into()),
        },
    );
    assert!(!app.state.job_running());
    let fx = update(&mut app.state, Msg::Action(Action::Cancel));
    assert_eq!(fx, vec![Effect::Quit]);
}

#[test]
fn a_dtype_failure_offers_a_one_key_fix_that_reopens_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    update(&mut app.state, Msg::Action(Action::Compute));
    let mut g = TaskGraph::default();
    let m = g.add_stage("read-csv", StageKind::Map);
    g.add_task(m, Some(0), vec![], 10);
    update(
        &mut app.state,
        Msg::JobPrepared {
            id: 1,
            graph: Arc::new(g),
            labels: Arc::new(vec!["d.csv bytes 0–10".into()]),
        },
    );
    let fix = Fix::SetDtype {
        column: "amount".into(),
        dtype: "str".into(),
    };
    for event in [
        Event::TaskFailed {
            task: 0,
            stage: 0,
            partition: Some(0),
            worker: "local-0".into(),
            error: "column `amount` has a value that does not fit".into(),
            fix: Some(fix),
        },
        Event::JobFailed {
            error: "column `amount` has a value that does not fit".into(),
        },
    ] {
        update(&mut app.state, Msg::JobEvent { id: 1, event });
    }
    update(
        &mut app.state,
        Msg::JobDone {
            id: 1,
            result: Err("column `amount` has a value that does not fit".into()),
        },
    );
    assert!(app
        .state
        .status
        .as_ref()
        .unwrap()
        .text()
        .contains("⟨apply_fix⟩ in the progress view applies the fix"));
    let screen = app.screen(120, 40);
    assert!(
        screen.contains("f: set [source.dtypes] amount = \"str\""),
        "{screen}"
    );
    let fx = update(&mut app.state, Msg::Action(Action::ApplyFix));
    assert!(
        matches!(fx.as_slice(), [Effect::Reopen { source }] if source.dtypes["amount"] == "str")
    );
    assert!(app.state.dirty(), "the recipe changed");
    // The reopened source arrives; the job runs again.
    let src = Source::open({
        let mut s = SourceSpec::new(dir.path().join("d.csv").to_string_lossy().into_owned());
        s.dtypes.insert("amount".into(), "str".into());
        s
    })
    .unwrap();
    let fx = update(
        &mut app.state,
        Msg::Reopened(Ok(quarry::app::update::SourceInfo {
            line: src.describe(),
            schema: Arc::clone(&src.schema),
            partitions: 1,
            notes: src.inference_notes.clone(),
            drift: src.drift_report(),
            date_layouts: src.date_layouts.clone(),
        })),
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::StartJob { id: 2, .. })),
        "{fx:?}"
    );
    assert_eq!(
        app.state.source_schema.get("amount"),
        Some(&polars::prelude::DataType::String)
    );
}

/// A job view folded from a recorded event sequence over `parts`
/// partitions: a third done, some running, one failed, the rest queued.
fn recorded_job(parts: usize) -> JobView {
    let mut g = TaskGraph::default();
    let m = g.add_stage("read-csv+filter+groupby-chunk", StageKind::Map);
    let maps: Vec<usize> = (0..parts)
        .map(|p| g.add_task(m, Some(p), vec![], 64 << 20))
        .collect();
    let c = g.add_stage("combine", StageKind::Combine);
    let combines: Vec<usize> = maps
        .chunks(8)
        .map(|ch| g.add_task(c, None, ch.to_vec(), 0))
        .collect();
    let f = g.add_stage("groupby-agg", StageKind::Finalize);
    g.add_task(f, None, combines, 0);
    let mut j = JobView::new(1, JobKind::Compute, Arc::new(g));
    j.labels = Arc::new(
        (0..parts)
            .map(|p| format!("a.csv bytes {p}–{}", p + 1))
            .collect(),
    );
    j.apply(&Event::JobStarted {
        executor: "local".into(),
        tasks: j.tasks.len(),
        stages: 3,
        partitions: parts,
        input_bytes: parts as u64 * (64 << 20),
        workers: 2,
        memory_budget: 6 << 30,
    });
    let done = parts / 3;
    for p in 0..done {
        let w = format!("local-{}", p % 2);
        j.apply(&Event::TaskStarted {
            task: p,
            stage: 0,
            partition: Some(p),
            worker: w.clone(),
            at_ms: p as u64 * 100,
        });
        j.apply(&Event::TaskFinished {
            task: p,
            stage: 0,
            partition: Some(p),
            worker: w,
            rows_in: 1000,
            rows_out: 10,
            bytes_read: 64 << 20,
            elapsed_ms: 180,
            at_ms: p as u64 * 100 + 180,
        });
    }
    for p in done..(done + 2).min(parts) {
        j.apply(&Event::TaskStarted {
            task: p,
            stage: 0,
            partition: Some(p),
            worker: format!("local-{}", p % 2),
            at_ms: done as u64 * 100 + 200,
        });
    }
    if parts > 5 {
        j.apply(&Event::TaskFailed {
            task: parts - 1,
            stage: 0,
            partition: Some(parts - 1),
            worker: "local-1".into(),
            error: "partition 9: boom".into(),
            fix: None,
        });
    }
    j.apply(&Event::Progress(quarry::engine::run::events::Progress {
        done,
        total: j.tasks.len(),
        partitions_done: done,
        partitions: parts,
        rows_in: done as u64 * 1000,
        bytes_read: done as u64 * (64 << 20),
        input_bytes: parts as u64 * (64 << 20),
        rows_per_s: 5000.0,
        bytes_per_s: 300e6,
        eta_s: Some(12.0),
        bytes_in_flight: 128 << 20,
        bytes_fetched: 0,
        elapsed_ms: done as u64 * 100 + 250,
    }));
    j
}

/// The progress and graph views rendered from recorded events, for 1, 7,
/// 128 and 5,000 partitions (the last aggregates cells).
#[test]
fn progress_and_graph_snapshots_from_recorded_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/d\.csv", "[DATA]");
    let _guard = settings.bind_to_scope();
    for parts in [1usize, 7, 128, 5000] {
        let j = recorded_job(parts);
        let c = j.stage_counts(0);
        assert_eq!(c.done, parts / 3);
        app.state.jobs.current = Some(j);
        app.state.view = View::Progress;
        app.state.jobs.progress_cursor = parts / 3;
        let screen = app.screen(120, 40);
        if parts == 5000 {
            assert!(screen.contains("a cell is"), "{screen}");
        }
        insta::assert_snapshot!(format!("progress_{parts}_120x40"), screen);
        if parts == 128 {
            insta::assert_snapshot!("progress_128_40x12", app.screen(40, 12));
            app.state.view = View::Graph;
            // The graph view draws the job's graph when it ran these steps.
            insta::assert_snapshot!("graph_128_120x40", app.screen(120, 40));
            insta::assert_snapshot!("graph_128_40x12", app.screen(40, 12));
        }
    }
}

/// `key -> (value, count)` of the ARCOS result CSV (year, state, county,
/// morphine_equivalent_g, shipments).
fn arcos_rows(path: &Path) -> std::collections::BTreeMap<String, (f64, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "year,BUYER_STATE,BUYER_COUNTY,morphine_equivalent_g,shipments"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[..3].join(","),
                (f[3].parse().unwrap(), f[4].parse().unwrap()),
            )
        })
        .collect()
}

/// The demo data under tmux: load the ARCOS recipe with `:e`, compute, watch
/// the progress view fill, see the result, write it; it equals `quarry run`
/// of the same recipe. Then a long write cancelled with ctrl-c leaves no file.
#[test]
fn tmux_compute_progress_result_write_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = env!("CARGO_BIN_EXE_quarry");
    let o = Command::new(bin)
        .args([
            "demo",
            "--dir",
            d.to_str().unwrap(),
            "--rows",
            "1000000",
            "--no-tui",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Small partitions so the grid has many cells.
    let recipe = std::fs::read_to_string(d.join("arcos.toml"))
        .unwrap()
        .replace("16MiB", "512KiB");
    std::fs::write(d.join("r.toml"), recipe).unwrap();
    let t = Tmux::start(
        d,
        "arcos.csv --blocksize 512KiB --dtype BUYER_ZIP=str --no-mouse",
        130,
        40,
    );
    t.wait_for("REPORTER_DEA_NO", 20);
    t.send(&[":", "e r.toml", "Enter"]);
    t.wait_for("recipe loaded", 20);
    t.send(&["c"]);
    // Poll the progress view while it runs.
    let t0 = Instant::now();
    let mut saw_running = false;
    let mut done_counts = std::collections::BTreeSet::new();
    let screen = loop {
        let s = t.screen();
        if s.contains("progress · compute on local · running") {
            saw_running = true;
            if let Some(line) = s
                .lines()
                .find(|l| l.contains("read-csv+with_columns+filter+groupby-chunk "))
            {
                done_counts.insert(line.to_string());
            }
        }
        if s.contains("result · ") {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no result:\n{s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(saw_running, "the progress view showed the running job");
    assert!(
        !done_counts.is_empty(),
        "stage counters were shown while running"
    );
    let rows: usize = screen
        .split("result · ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    t.send(&["5"]);
    let s = t.wait_for("progress · compute on local · done", 10);
    assert!(s.contains("190/190 partitions"), "{s}");
    // Write the computed result.
    t.send(&["6", "w"]);
    t.wait_for("arcos-result.parquet", 10);
    for _ in 0.."parquet".len() {
        t.send(&["BSpace"]);
    }
    t.send(&["csv", "Enter"]);
    t.wait_for("wrote ", 20);
    let o = Command::new(bin)
        .args(["run", "r.toml", "-o", "run.csv"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ui, run) = (
        arcos_rows(&d.join("arcos-result.csv")),
        arcos_rows(&d.join("run.csv")),
    );
    assert_eq!(ui.len(), rows);
    assert_eq!(ui.len(), run.len());
    for (k, (v, n)) in &run {
        let (uv, un) = ui[k];
        assert_eq!(un, *n, "{k}");
        assert!(
            (uv - v).abs() <= 1e-9 * v.abs().max(1.0),
            "{k}: {uv} vs {v}"
        );
    }
    // A long write of the whole map-only pipeline, cancelled.
    t.send(&["2", "k", "k", "w"]);
    t.wait_for("write the result to", 10);
    t.send(&["C-a", "C-k", "big.parquet", "Enter"]);
    t.wait_for("progress · write big.parquet", 10);
    t.send(&["C-c"]);
    let s = t.wait_for("nothing was written", 30);
    assert!(
        s.contains("progress · write big.parquet on local · cancelled"),
        "{s}"
    );
    assert!(!d.join("big.parquet").exists());
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("quarry-tmp")), "{names:?}");
    // The loaded recipe is unchanged: q quits at once.
    t.send(&["q"]);
    let s = t.wait_for("EXITED", 15);
    assert!(s.contains("EXITED 0"), "{s}");
}

/// The terminal going away (tmux killed: the pty closes and SIGHUP
/// arrives) ends the explorer; it must not hang or spin on a dead terminal.
#[test]
fn tmux_closed_terminal_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 100, 30);
    t.wait_for("Oslo", 15);
    let alive = || {
        let o = Command::new("pgrep").args(["-f", &data]).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .is_ok_and(|s| s.contains("(quarry)") && !s.contains(") Z "))
            })
            .count()
    };
    assert_eq!(alive(), 1);
    drop(t); // kill-server
    let t0 = Instant::now();
    while alive() > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "quarry still runs after its terminal closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tab_completes_paths_in_the_write_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    std::fs::create_dir(dir.path().join("outputs")).unwrap();
    std::fs::write(dir.path().join("outputs").join("arcos-2019.parquet"), b"").unwrap();
    app.act(Action::WriteResult);
    let base = dir.path().to_string_lossy().into_owned();
    app.state.prompt.as_mut().unwrap().input =
        ratatui_textarea::TextArea::new(vec![format!("{base}/out")]);
    app.act(Action::Complete);
    assert_eq!(
        app.state.prompt.as_ref().unwrap().text(),
        format!("{base}/outputs/")
    );
    app.act(Action::Complete);
    assert_eq!(
        app.state.prompt.as_ref().unwrap().text(),
        format!("{base}/outputs/arcos-2019.parquet")
    );
}

#[test]
fn a_disabled_step_is_kept_in_the_recipe_but_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    app.act(Action::MoveRight);
    app.act(Action::FilterPrompt);
    app.act(Action::Submit); // kind = 'TAB'
    assert_eq!(app.state.frame_height(), 167);
    app.act(Action::FocusPipeline);
    app.act(Action::ToggleStep);
    assert!(matches!(app.state.recipe.steps[0], Step::Disabled { .. }));
    assert_eq!(
        app.state.frame_height(),
        200,
        "all rows again (the first 200)"
    );
    // It survives a save and load, and a run skips it.
    let text = app.state.recipe.to_toml();
    assert!(text.contains("op = \"disabled\""), "{text}");
    assert_eq!(Recipe::parse(&text).unwrap().steps, app.state.recipe.steps);
    app.act(Action::ToggleStep);
    assert_eq!(
        app.state.recipe.steps,
        vec![Step::Filter {
            expr: "kind = 'TAB'".into()
        }]
    );
    assert_eq!(app.state.frame_height(), 167);
    app.act(Action::Undo);
    assert!(matches!(app.state.recipe.steps[0], Step::Disabled { .. }));
}

fn replace_prompt_text(app: &mut App, text: &str) {
    let p = app.state.prompt.as_mut().expect("a prompt is open");
    p.input = ratatui_textarea::TextArea::new(vec![text.to_string()]);
}

#[test]
fn every_step_kind_is_edited_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    app.act(Action::MoveRight);
    app.act(Action::MoveRight); // amount
    app.act(Action::SortAscending);
    assert_eq!(app.state.recipe.steps.len(), 1);
    app.act(Action::FocusPipeline);
    app.act(Action::EditStep);
    let p = app.state.prompt.as_ref().expect("sort opens an editor");
    assert_eq!(p.kind.label(), "edit step 1 (sort)");
    assert!(p.text().contains("by = "), "{}", p.text());

    // A field that names a missing column stays in the prompt with the error.
    replace_prompt_text(&mut app, r#"by = "nope""#);
    app.act(Action::Submit);
    let p = app.state.prompt.as_ref().expect("still editing");
    assert!(
        p.error.as_deref().unwrap_or("").contains("nope"),
        "{:?}",
        p.error
    );
    // Not TOML at all: named as such.
    replace_prompt_text(&mut app, "by amount");
    app.act(Action::Submit);
    let err = app.state.prompt.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("key = value"), "{err}");

    replace_prompt_text(&mut app, r#"by = ["amount"], descending = true"#);
    app.act(Action::Submit);
    assert!(app.state.prompt.is_none());
    assert_eq!(
        app.state.recipe.steps,
        vec![Step::Sort {
            by: quarry::engine::recipe::OneOrMany::Many(vec!["amount".into()]),
            descending: Some(quarry::engine::recipe::BoolOrMany::One(true)),
        }]
    );
    let top = app
        .state
        .preview
        .frame
        .as_ref()
        .unwrap()
        .column("amount")
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    assert_eq!(top, "4990", "sorted descending after the edit");
    app.act(Action::Undo);
    assert!(matches!(
        app.state.recipe.steps[0],
        Step::Sort {
            descending: None,
            ..
        }
    ));

    app.act(Action::Redo);

    // A disabled step edits its inner step and stays disabled.
    app.act(Action::ToggleStep);
    app.act(Action::EditStep);
    replace_prompt_text(&mut app, r#"by = "city""#);
    app.act(Action::Submit);
    let Step::Disabled { step } = &app.state.recipe.steps[0] else {
        panic!("{:?}", app.state.recipe.steps)
    };
    assert!(matches!(**step, Step::Sort { .. }));
    assert_eq!(app.state.prompt.as_ref().map(|p| p.text()), None);
}

fn command(app: &mut App, text: &str) {
    app.act(Action::CommandPalette);
    replace_prompt_text(app, text);
    app.act(Action::Submit);
}

#[test]
fn command_palette_adds_every_step_kind_and_joins_load_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    command(
        &mut app,
        "sql SELECT city, sum(amount) AS total FROM self GROUP BY city",
    );
    assert!(
        app.state.prompt.is_none(),
        "{:?}",
        app.state.prompt.as_ref().map(|p| p.error.clone())
    );
    assert!(matches!(app.state.recipe.steps[0], Step::Sql { .. }));
    assert_eq!(app.state.frame_height(), 4);
    // The sql step is edited as its query.
    app.act(Action::FocusPipeline);
    app.act(Action::EditStep);
    assert!(app
        .state
        .prompt
        .as_ref()
        .unwrap()
        .text()
        .starts_with("SELECT city"));
    app.act(Action::CancelPrompt);

    // A step that does not check against the schema stays in the prompt.
    command(&mut app, "explode amount");
    let err = app
        .state
        .prompt
        .as_ref()
        .map(|p| p.error.clone().unwrap_or_default());
    assert!(err.as_deref().unwrap_or("").contains("amount"), "{err:?}");
    app.act(Action::CancelPrompt);
    command(&mut app, "frobnicate");
    let err = app.state.prompt.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("sql select drop"), "{err}");
    app.act(Action::CancelPrompt);

    // A join: the right side loads (an effect the runtime runs on a thread),
    // then the step is inserted and checked.
    std::fs::write(
        dir.path().join("cities.csv"),
        "city,country\nOslo,NO\nLima,PE\nPune,IN\n",
    )
    .unwrap();
    app.act(Action::Top);
    app.act(Action::CommandPalette);
    replace_prompt_text(&mut app, "join cities.csv on city left");
    let fx = update(&mut app.state, Msg::Action(Action::Submit));
    let fx: Vec<Effect> = fx
        .into_iter()
        .filter(|e| !matches!(e, Effect::SaveHistory(_)))
        .collect();
    let [Effect::LoadJoin { step, at }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let msg = run_work(Work::LoadJoin {
        step: step.clone(),
        at: *at,
        base: app.state.base.clone(),
    });
    let fx = update(&mut app.state, msg);
    app.run(fx);
    assert!(
        matches!(app.state.recipe.steps[0], Step::Join { .. }),
        "{:?}",
        app.state.status
    );
    assert_eq!(app.state.at_step, 1);
    let f = app.state.preview.frame.clone().unwrap();
    assert_eq!(f.width(), 4, "city, kind, amount, country");
    assert_eq!(
        f.column("country").unwrap().null_count(),
        50,
        "Kyiv has no match (left join)"
    );
    // Moving the join below the sql step's output and back keeps its table.
    app.act(Action::MoveStepDown);
    app.act(Action::MoveStepUp);
    assert!(matches!(app.state.recipe.steps[0], Step::Join { .. }));
    assert!(app.state.step_schemas.len() == 2, "{:?}", app.state.status);

    // A missing file is a status message, not a step.
    let msg = run_work(Work::LoadJoin {
        step: quarry::engine::recipe::Step::Join {
            source: SourceConfig {
                path: "nope.csv".into(),
                ..SourceConfig::default()
            },
            on: quarry::engine::recipe::OneOrMany::One("city".into()),
            how: "inner".into(),
        },
        at: 0,
        base: app.state.base.clone(),
    });
    update(&mut app.state, msg);
    let status = app.state.status.clone().unwrap();
    let (text, is_err) = (status.text(), status.error);
    assert!(is_err && text.contains("nope.csv"), "{text}");
    assert_eq!(app.state.recipe.steps.len(), 2);
    // So is a corrupt one from the bad-input corpus; the session goes on.
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bad/truncated.parquet"
    );
    let msg = run_work(Work::LoadJoin {
        step: quarry::engine::recipe::Step::Join {
            source: SourceConfig {
                path: bad.into(),
                ..SourceConfig::default()
            },
            on: quarry::engine::recipe::OneOrMany::One("city".into()),
            how: "inner".into(),
        },
        at: 0,
        base: app.state.base.clone(),
    });
    update(&mut app.state, msg);
    let status = app.state.status.clone().unwrap();
    let (text, is_err) = (status.text(), status.error);
    assert!(is_err && text.contains("not a valid Parquet"), "{text}");
    assert_eq!(app.state.recipe.steps.len(), 2);
    app.act(Action::MoveDown);
    assert!(
        app.state.preview.frame.is_some(),
        "the explorer still works"
    );
}

#[test]
fn describe_frequency_and_histogram_views_over_all_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    // The preview holds 200 of the 500 rows; the views compute on all 500.
    app.act(Action::Describe);
    assert_eq!(app.state.view, View::Describe);
    let full = app
        .state
        .insight
        .results
        .last()
        .expect("the describe job ran");
    assert_eq!(full.frame.height(), 3, "one row per column");
    let count = full.frame.column("count").unwrap().get(0).unwrap();
    assert_eq!(count, polars::prelude::AnyValue::UInt64(500));
    let screen = app.screen(140, 30);
    assert!(screen.contains("describe · all rows"), "{screen}");
    assert!(screen.contains("Kyiv (125)"), "{screen}");

    // A narrow screen cuts the statistics; l scrolls them, the name stays.
    assert!(!app.screen(80, 30).contains("Kyiv (125)"));
    for _ in 0..13 {
        app.act(Action::MoveRight);
    }
    let screen = app.screen(80, 30);
    assert!(
        screen.contains("Kyiv (125)") && screen.contains("city"),
        "{screen}"
    );
    // Moving left scrolls back (it never opens a histogram).
    app.act(Action::MoveLeft);
    assert_eq!(app.state.view, View::Describe);
    assert_eq!(app.state.insight.col, 12);
    app.act(Action::FirstColumn);
    assert!(app.screen(80, 30).contains("dtype"));

    // F on the `kind` row: frequencies over all rows, with shares.
    app.act(Action::MoveDown);
    app.act(Action::Frequency);
    assert_eq!(app.state.view, View::Frequency);
    let screen = app.screen(100, 30);
    assert!(
        screen.contains("frequencies of kind · all rows"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("ML") && l.contains("333") && l.contains("66.6%")),
        "{screen}"
    );

    // Back to describe (kept: no second job), then h on `amount`.
    let job_before = app.state.jobs.seq;
    app.act(Action::Describe);
    assert_eq!(
        app.state.jobs.seq, job_before,
        "the describe result was reused"
    );
    app.act(Action::MoveDown);
    app.act(Action::MoveDown);
    app.act(Action::Histogram);
    assert_eq!(app.state.view, View::Histogram);
    let r = app.state.insight.results.last().unwrap();
    let counts = quarry::app::insight::histogram_counts(&r.frame);
    assert_eq!(counts.iter().sum::<u64>(), 500, "every value in a bin");
    assert!(
        counts.iter().all(|c| (12..=13).contains(c)),
        "uniform 0..4990: {counts:?}"
    );
    let screen = app.screen(120, 30);
    assert!(
        screen.contains("histogram of amount · all rows"),
        "{screen}"
    );
    assert!(
        screen.contains("4990"),
        "the last edge is the max: {screen}"
    );
    // L: a log scale; amount has a 0, which is left out.
    app.act(Action::ToggleLogScale);
    let r = app.state.insight.results.last().unwrap();
    assert!(matches!(
        r.insight,
        quarry::app::insight::Insight::Histogram { log: true, .. }
    ));
    let counts = quarry::app::insight::histogram_counts(&r.frame);
    assert_eq!(counts.iter().sum::<u64>(), 499);
    assert!(
        counts[counts.len() - 1] > counts[0],
        "log bins widen: {counts:?}"
    );
    // h on a string column explains itself instead.
    app.act(Action::Describe);
    app.act(Action::Top);
    app.act(Action::Histogram);
    assert_eq!(app.state.view, View::Describe);
    assert!(app
        .state
        .status
        .as_ref()
        .unwrap()
        .text()
        .contains("not numeric"));
}

#[test]
fn describe_shows_provisional_preview_figures_until_the_job_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    // Do not run the job: only the reducer's immediate answer.
    let fx = update(&mut app.state, Msg::Action(Action::Describe));
    assert!(matches!(fx.as_slice(), [Effect::StartJob { .. }]), "{fx:?}");
    let screen = app.screen(140, 30);
    assert!(
        screen.contains("provisional: the 200 preview rows"),
        "{screen}"
    );
    assert!(
        screen.contains("Kyiv (50)"),
        "counts of the preview rows: {screen}"
    );
}

#[test]
fn date_columns_get_histograms_with_date_edges() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("day,n\n");
    for i in 0..400 {
        text.push_str(&format!("2020-{:02}-{:02},{i}\n", 1 + i % 12, 1 + i % 28));
    }
    let path = dir.path().join("days.csv");
    std::fs::write(&path, text).unwrap();
    let mut spec = SourceSpec::new(path.to_string_lossy().into_owned());
    spec.dtypes.insert("day".into(), "date".into());
    let mut app = App::open(dir.path(), spec);
    app.act(Action::Describe);
    app.act(Action::Histogram); // on the `day` row
    assert_eq!(app.state.view, View::Histogram, "{:?}", app.state.status);
    let r = app.state.insight.results.last().unwrap();
    let counts = quarry::app::insight::histogram_counts(&r.frame);
    assert_eq!(counts.iter().sum::<u64>(), 400);
    let screen = app.screen(120, 30);
    assert!(
        screen.contains("2020-01-01") && screen.contains("2020-12-28"),
        "{screen}"
    );
}

/// Datetimes with a zone, inferred (no dtype given), get a time axis too.
#[test]
fn inferred_zoned_datetimes_get_a_time_axis() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("at,n\n");
    for i in 0..300 {
        text.push_str(&format!(
            "2021-03-{:02}T{:02}:30:00+02:00,{i}\n",
            1 + i % 28,
            i % 24
        ));
    }
    let path = dir.path().join("at.csv");
    std::fs::write(&path, text).unwrap();
    let mut app = App::open(
        dir.path(),
        SourceSpec::new(path.to_string_lossy().into_owned()),
    );
    assert!(matches!(
        app.state.source_schema.get("at"),
        Some(polars::prelude::DataType::Datetime(_, Some(_)))
    ));
    app.act(Action::Describe);
    app.act(Action::Histogram); // on the `at` row
    assert_eq!(app.state.view, View::Histogram, "{:?}", app.state.status);
    let screen = app.screen(140, 30);
    assert!(
        screen.contains("2021-02-28 22:30:00 UTC") && screen.contains("2021-03-28"),
        "{screen}"
    );
}

#[test]
fn describe_fills_in_live_from_the_partitions_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = SourceSpec::new(csv(dir.path()));
    spec.blocksize = 1024;
    let mut app = App::open(dir.path(), spec);
    let fx = update(&mut app.state, Msg::Action(Action::Describe));
    let [Effect::StartJob {
        id, kind, recipe, ..
    }] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    let got: Arc<Mutex<Vec<Msg>>> = Arc::default();
    let sink = Arc::clone(&got);
    let emit: Emit = Arc::new(move |m| sink.lock().unwrap().push(m));
    let work = work_for(
        Effect::StartJob {
            id: *id,
            kind: kind.clone(),
            recipe: recipe.clone(),
            from_result: None,
        },
        &app.state,
        &app.engine,
    )
    .unwrap();
    let Done::Msg(job_done) = work.run(&emit, &CancelToken::new()) else {
        panic!("a job does not reopen the source")
    };
    let msgs: Vec<Msg> = std::mem::take(&mut *got.lock().unwrap());
    let first = msgs
        .iter()
        .position(|m| matches!(m, Msg::InsightPartial { .. }))
        .expect("a partial table while the job ran");
    let Msg::InsightPartial {
        partitions: (done, total),
        table,
        ..
    } = &msgs[first]
    else {
        unreachable!()
    };
    assert!(*total > 3 && *done < *total, "{done}/{total}");
    let counted = table.column("count").unwrap().get(0).unwrap();
    assert!(
        counted.extract::<u64>().unwrap() < 500,
        "only the partitions done so far: {counted}"
    );
    let (done, total) = (*done, *total);
    let mut msgs = msgs.into_iter();
    for m in msgs.by_ref().take(first + 1) {
        update(&mut app.state, m);
    }
    let screen = app.screen(140, 30);
    assert!(
        screen.contains(&format!("provisional: {done} of {total} partitions")),
        "{screen}"
    );
    for m in msgs {
        update(&mut app.state, m);
    }
    update(&mut app.state, job_done);
    assert!(app.screen(140, 30).contains("describe · all rows"));
}

#[test]
fn tmux_a_panic_restores_the_terminal_and_says_how_to_report_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    let t = Tmux::start_with_env(
        dir.path(),
        "QUARRY_PANIC_FOR_TESTS=1",
        &format!("{data} --no-mouse"),
        100,
        30,
    );
    let s = t.wait_for("EXITED", 15);
    assert!(s.contains("EXITED 101"), "{s}");
    assert!(s.contains("hit a bug") && s.contains("report"), "{s}");
    let alt = t.run(&["display-message", "-p", "-t", &t.session, "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alt.stdout).trim(),
        "0",
        "left the alternate screen"
    );
}

#[test]
fn tmux_hostile_terminals_dumb_tiny_huge_and_resize_storms() {
    let dir = tempfile::tempdir().unwrap();
    let data = csv(dir.path());
    // TERM=dumb: the mono theme (ASCII borders), still usable.
    let t = Tmux::start_with_env(
        dir.path(),
        "TERM=dumb",
        &format!("{data} --no-mouse"),
        100,
        30,
    );
    let s = t.wait_for("Oslo", 15);
    assert!(s.contains("+-"), "ASCII borders for a dumb terminal:\n{s}");
    t.send(&["q"]);
    assert!(t.wait_for("EXITED", 10).contains("EXITED 0"));
    drop(t);
    // A non-UTF-8 locale: still draws, still quits cleanly.
    let t = Tmux::start_with_env(
        dir.path(),
        "LC_ALL=C LANG=C",
        &format!("{data} --no-mouse"),
        100,
        30,
    );
    t.wait_for("Oslo", 15);
    t.send(&["j", "q"]);
    assert!(t.wait_for("EXITED", 10).contains("EXITED 0"));
    drop(t);
    // 20×5: a readable message, keys still work.
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 20, 5);
    let s = t.wait_for("quarry", 15);
    assert!(!s.contains("panicked"), "{s}");
    t.send(&["q"]);
    assert!(t.wait_for("EXITED", 10).contains("EXITED 0"));
    drop(t);
    // 400×120, then a storm of resizes down to 10×3 and back.
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 400, 120);
    t.wait_for("Oslo", 15);
    for (w, h) in [
        (10, 3),
        (400, 120),
        (33, 7),
        (1, 1),
        (250, 60),
        (20, 5),
        (120, 40),
    ]
    .iter()
    .cycle()
    .take(60)
    {
        t.run(&[
            "resize-window",
            "-t",
            &t.session,
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
    }
    t.run(&["resize-window", "-t", &t.session, "-x", "120", "-y", "40"]);
    t.wait_for("Oslo", 15);
    t.send(&["j", "l", "q"]);
    let s = t.wait_for("EXITED", 10);
    assert!(s.contains("EXITED 0"), "{s}");
}

/// The quarry process running `needle` (not the shell or tmux around it).
fn quarry_pid(needle: &str) -> String {
    let pids = Command::new("pgrep").args(["-f", needle]).output().unwrap();
    String::from_utf8_lossy(&pids.stdout)
        .split_whitespace()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "quarry")
        })
        .map(str::to_string)
        .expect("the quarry process")
}

/// SIGTERM and SIGHUP while the explorer writes a result: the terminal is
/// restored, the half-written temp file is removed, the output is absent
/// (or complete, if the write won the race).
#[test]
fn tmux_termination_during_a_write_leaves_no_output() {
    for sig in ["-TERM", "-HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut f = std::io::BufWriter::new(std::fs::File::create(d.join("big.csv")).unwrap());
        quarry::demo::write_arcos(&mut f, 1_500_000, 7).unwrap();
        drop(f);
        let t = Tmux::start(
            d,
            "big.csv --blocksize 256KiB --dtype BUYER_ZIP=str --no-mouse",
            120,
            40,
        );
        t.wait_for("REPORTER_DEA_NO", 20);
        t.send(&["w"]);
        t.wait_for("write the result", 10);
        t.send(&["C-a", "C-k", "out.csv", "Enter"]);
        t.wait_for("progress · write", 15);
        let pid = quarry_pid("big.csv");
        Command::new("kill").args([sig, &pid]).status().unwrap();
        let s = t.wait_for("EXITED", 20);
        assert!(
            !s.contains("REPORTER_DEA_NO"),
            "{sig}: the alternate screen is gone:\n{s}"
        );
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains("quarry-tmp")),
            "{sig}: {names:?}"
        );
        // Absent, or (if the write beat the signal) complete.
        if let Ok(text) = std::fs::read_to_string(d.join("out.csv")) {
            assert_eq!(text.lines().count(), 1_500_001, "{sig}: a torn output");
        }
    }
}

/// A keymap that binds every action, in every mode, to a key no preset
/// uses (f100, f101, …): under it, a key name written into the code shows
/// up as a key the keymap does not bind.
fn probe_keymap() -> Keymap {
    let mut text = String::new();
    for mode in Mode::ALL {
        text.push_str(&format!("[{}]\n", mode.section()));
        for (i, a) in Action::ALL.iter().enumerate() {
            text.push_str(&format!("\"f{}\" = \"{}\"\n", 100 + i, a.name()));
        }
    }
    let (km, warning) = Keymap::load(&text, None);
    assert!(warning.is_none(), "{warning:?}");
    km
}

/// Every screen a walk through the explorer shows: each view, the help,
/// the confirm question, and statuses that name keys.
fn walk_screens(keymap: &Keymap) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    let mut out = Vec::new();
    let mut shot = |app: &App, name: &str| {
        for (w, h) in [(120, 40), (60, 20)] {
            out.push((format!("{name} {w}x{h}"), app.screen_with(keymap, w, h)));
        }
    };
    shot(&app, "table");
    app.act(Action::ViewPipeline);
    shot(&app, "pipeline, no steps");
    app.act(Action::ViewSchema);
    shot(&app, "schema");
    app.act(Action::ViewGraph);
    shot(&app, "graph");
    app.act(Action::TogglePlan);
    shot(&app, "graph plan");
    app.act(Action::ViewProgress);
    shot(&app, "progress, no job");
    app.act(Action::ViewResult);
    shot(&app, "no result status");
    app.act(Action::ToggleHelp);
    shot(&app, "help");
    app.act(Action::ToggleHelp);
    app.act(Action::ViewTable);
    app.act(Action::MoveRight);
    app.act(Action::Histogram);
    shot(&app, "histogram before describe");
    app.act(Action::Describe);
    shot(&app, "describe");
    app.act(Action::MoveDown);
    app.act(Action::MoveDown);
    app.act(Action::Histogram);
    shot(&app, "histogram");
    app.act(Action::ToggleLogScale);
    app.act(Action::Describe);
    app.act(Action::MoveDown);
    app.act(Action::Frequency);
    shot(&app, "frequencies");
    app.act(Action::ViewTable);
    app.act(Action::ToggleLogScale);
    shot(&app, "log scale outside a histogram");
    app.act(Action::Persist);
    app.act(Action::EditStep);
    shot(&app, "persist has nothing to edit");
    // A job as the runtime leaves it while it runs, then a second one.
    update(&mut app.state, Msg::Action(Action::Compute));
    shot(&app, "computing");
    update(&mut app.state, Msg::Action(Action::Compute));
    shot(&app, "confirm");
    update(&mut app.state, Msg::Action(Action::CancelPrompt));
    update(&mut app.state, Msg::Action(Action::Cancel));
    shot(&app, "cancelling");
    update(
        &mut app.state,
        Msg::JobDone {
            id: 1,
            result: Err("cancelled".into()),
        },
    );
    app.act(Action::Quit);
    shot(&app, "quit with unsaved changes");
    out
}

/// Key names on screen come from the active keymap: under the default, the
/// simple and a probe keymap, every `KEY verb` hint names a key that keymap
/// binds, and no hint refers to an unbound action.
#[test]
fn every_hint_names_a_key_the_active_keymap_binds() {
    // What a key label looks like: a named key, or one printable ASCII
    // character (box drawing and prose words are not keys).
    let label = r"(?:ctrl-|alt-)?(?:f\d{1,3}|shift-tab|backspace|delete|enter|space|pgup|pgdn|home|end|esc|tab|[←→↑↓]|[!-~&&[^/(]])";
    let verbs = "closes|scroll|select|toggles|shows|cancels|computes|writes|describes|frequencies|histogram|filter|derive|frequency|queue|quits|removes|applies|back|never|again|stages|polars|cancel|help|quit|undo|delete|table|pipeline|schema|graph|progress|compute|write|sort|freq";
    let hint = regex::Regex::new(&format!(
        r"(?:^|[\s(·,:])({label})(?:/({label}))?:?\s+(?:{verbs})\b"
    ))
    .unwrap();
    let presets =
        ["default", "simple"].map(|n| (n, Keymap::load(Keymap::preset(n).unwrap(), None).0));
    let probe = ("probe", probe_keymap());
    let mut checked = 0;
    for (name, km) in presets.iter().chain(std::iter::once(&probe)) {
        for (what, screen) in walk_screens(km) {
            assert!(
                !screen.contains('⟨'),
                "{name} keymap, {what}: a hint names an action the keymap does not bind\n{screen}"
            );
            for line in screen.lines() {
                for c in hint.captures_iter(line) {
                    for key in [c.get(1), c.get(2)].into_iter().flatten() {
                        let key = key.as_str();
                        // An English article, not a key.
                        if key == "a" {
                            continue;
                        }
                        checked += 1;
                        assert!(
                            km.binds_label(key),
                            "{name} keymap, {what}: `{key}` is not a key it binds, in\n{line}"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 50, "the hint pattern found only {checked} hints");
}

/// The schema view says why a column of ZIP codes is text.
#[test]
fn the_schema_view_says_why_a_column_was_kept_as_text() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fidelity/leading_zeros.csv"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path(), SourceSpec::new(fixture));
    app.act(Action::ViewSchema);
    let screen = app.screen(140, 20);
    let zip = screen.lines().find(|l| l.contains("zip")).unwrap();
    assert!(
        zip.contains("str") && zip.contains("leading zeros: kept as text"),
        "{screen}"
    );
    assert!(
        app.state
            .preview
            .frame
            .as_ref()
            .unwrap()
            .column("zip")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            == Some("08123")
    );
}

/// A saved recipe pins the types inference chose, so replayed on data that
/// has since changed it reads the same types (and keeps saying why).
#[test]
fn a_saved_recipe_pins_the_inferred_types() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fidelity.csv");
    std::fs::write(
        &data,
        "zip,amount,day\n08123,1.5,2024-01-02\n10001,NA,2024-01-03\n",
    )
    .unwrap();
    let mut app = App::open(dir.path(), SourceSpec::new(data.to_str().unwrap()));
    app.act(Action::CommandPalette);
    let out = dir.path().join("pinned.toml");
    app.type_text(&format!("w {}", out.display()));
    let fx = app.act(Action::Submit);
    let Some(Effect::Save { path, text }) = fx.first() else {
        panic!("{fx:?}")
    };
    for pin in [r#"zip = "str""#, r#"amount = "f64""#, r#"day = "date""#] {
        assert!(text.contains(pin), "{pin} not pinned:\n{text}");
    }
    std::fs::write(path, text).unwrap();
    // The data changes: no zero-padded zip, whole amounts, no null spelling.
    std::fs::write(&data, "zip,amount,day\n10001,2,2024-01-02\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["run", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout);
    let dtypes = printed.lines().nth(1).unwrap_or_default();
    assert!(
        dtypes.split_whitespace().eq(["str", "f64", "date"]),
        "{printed}"
    );
}

/// A column of dates written 05/13/2014 stays text, the schema view offers
/// the cast with its key, and the action reads the column as dates.
#[test]
fn dates_in_another_layout_are_offered_as_a_cast() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("us.csv");
    std::fs::write(&data, "when,n\n05/13/2014,1\n12/31/2015,2\n1/2/2016,3\n").unwrap();
    let mut app = App::open(dir.path(), SourceSpec::new(data.to_str().unwrap()));
    app.act(Action::ViewSchema);
    let screen = app.screen(180, 30);
    assert!(
        screen.contains("dates written MM/DD/YYYY") && screen.contains("when (MM/DD/YYYY)"),
        "{screen}"
    );
    let key = Keymap::load(Keymap::preset("default").unwrap(), None)
        .0
        .key_for(Mode::Table, Action::CastToDate)
        .unwrap();
    assert!(
        screen.contains(&format!("{key} reads the current column")),
        "{screen}"
    );
    app.act(Action::CastToDate);
    let schema = app.state.current_schema();
    assert_eq!(schema.get("when"), Some(&polars::prelude::DataType::Date));
    let frame = app.state.preview.frame.clone().unwrap();
    assert_eq!(
        frame
            .column("when")
            .unwrap()
            .cast(&polars::prelude::DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .get(2),
        Some("2016-01-02")
    );
}

/// Structs and lists show as compact JSON in the table, and whole in the
/// cell line.
#[test]
fn nested_values_show_as_json_in_the_table_and_cell_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fidelity/nested.ndjson"
    );
    let mut app = App::open(dir.path(), SourceSpec::new(fixture));
    app.act(Action::MoveRight); // stripe
    let screen = app.screen(140, 20);
    assert!(screen.contains(r#"["x","y"]"#), "{screen}");
    assert!(
        screen.contains(r#"stripe[1]: {"count":3,"name":"a"}"#),
        "{screen}"
    );
}

/// The text of a screen's framed area, border and indent stripped, joined
/// without separators: a wrapped value reads back whole.
fn unwrapped(screen: &str) -> String {
    screen
        .lines()
        .map(|l| {
            l.trim_matches(|c: char| c == '│' || c == '|' || c.is_whitespace())
                .to_string()
        })
        .collect::<Vec<_>>()
        .concat()
}

fn record_data(dir: &Path) -> String {
    let long: String = (0..30).map(|i| format!("{:010}", i * 7919)).collect();
    let p = dir.join("r.ndjson");
    std::fs::write(
        &p,
        format!(
            "{{\"id\": 1, \"note\": \"{long}END\", \"stripe\": {{\"count\": 3, \"tags\": [\"a\", \"b\"]}}, \"missing\": null}}\n{{\"id\": 2, \"note\": \"short\", \"stripe\": {{\"count\": 4, \"tags\": []}}, \"missing\": null}}\n"
        ),
    )
    .unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn record_view_shows_every_field_whole_and_moves_between_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = record_data(dir.path());
    let long: String = (0..30).map(|i| format!("{:010}", i * 7919)).collect();
    let mut app = App::open(dir.path(), SourceSpec::new(data));
    app.act(Action::ViewRecord);
    let screen = app.screen(120, 40);
    assert!(screen.contains("record 1 of 2"), "{screen}");
    assert!(
        unwrapped(&screen).contains(&format!("{long}END")),
        "the long field is on screen whole:\n{screen}"
    );
    // The struct, pretty-printed: one field per line.
    assert!(screen.contains("\"count\": 3"), "{screen}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^ ]*/r\.ndjson", "[DATA]");
    settings.bind(|| {
        insta::assert_snapshot!("record_120x40", screen.clone());
        insta::assert_snapshot!("record_40x12", app.screen(40, 12));
        insta::assert_snapshot!("record_mono_120x40", app.screen_themed("mono", 120, 40));
        insta::assert_snapshot!("record_mono_40x12", app.screen_themed("mono", 40, 12));
    });
    // Down selects the next field; copy takes it whole.
    app.act(Action::MoveDown);
    let fx = app.act(Action::CopyCell);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Copy(t) if t == &format!("{long}END"))),
        "{fx:?}"
    );
    // Right is the next record, and the selected field stays.
    app.act(Action::MoveRight);
    let screen = app.screen(120, 40);
    assert!(screen.contains("record 2 of 2"), "{screen}");
    assert!(screen.contains("short"), "{screen}");
    // Again: back to the table, at that row.
    app.act(Action::ViewRecord);
    let screen = app.screen(120, 40);
    assert!(!screen.contains("record 2 of 2"), "{screen}");
    assert_eq!(app.state.table.row, 1);
}

#[test]
fn tmux_record_view_shows_a_long_field_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = record_data(dir.path());
    let long: String = (0..30).map(|i| format!("{:010}", i * 7919)).collect();
    let t = Tmux::start(dir.path(), &format!("{data} --no-mouse"), 100, 30);
    t.wait_for("short", 15);
    t.send(&["Space"]);
    let s = t.wait_for("record 1 of 2", 15);
    assert!(
        unwrapped(&s).contains(&format!("{long}END")),
        "the long field is on screen whole:\n{s}"
    );
    t.send(&["q"]);
    t.wait_for("EXITED", 15);
}

/// The table's header line: the first line holding a column name.
fn header_of(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("city") || l.contains("kind") || l.contains("amount"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reading_comfort_grouping_widths_frozen_and_hidden_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(dir.path());
    // Digit grouping: the amounts at the bottom are in the thousands.
    let grouped = regex::Regex::new(r"\b\d,\d{3}\b").unwrap();
    let plain = regex::Regex::new(r"\b\d{4}\b").unwrap();
    app.act(Action::Bottom);
    let s = app.screen(120, 40);
    assert!(plain.is_match(&s) && !grouped.is_match(&s), "{s}");
    app.act(Action::ToggleDigitGrouping);
    let s = app.screen(120, 40);
    assert!(grouped.is_match(&s) && !plain.is_match(&s), "{s}");
    app.act(Action::ToggleDigitGrouping);
    app.act(Action::Top);

    // Narrow the city column below its values: they are cut with a mark;
    // widen it back and they are whole again.
    app.act(Action::NarrowColumn);
    let s = app.screen(120, 40);
    assert!(s.contains("Os…") || s.contains("O…"), "{s}");
    app.act(Action::WidenColumn);
    assert!(app.screen(120, 40).contains("Oslo"));

    // Hide kind: gone from the header, right skips over it, and the
    // pipeline is untouched.
    app.act(Action::MoveRight);
    app.act(Action::HideColumn);
    let header = header_of(&app.screen(120, 40));
    assert!(
        !header.contains("kind") && header.contains("amount"),
        "{header}"
    );
    assert_eq!(app.state.recipe.steps.len(), 0, "hiding is not a step");
    app.act(Action::FirstColumn);
    app.act(Action::MoveRight);
    assert_eq!(app.state.column_names()[app.state.table.col], "amount");
    app.act(Action::ShowColumns);
    assert!(header_of(&app.screen(120, 40)).contains("kind"));

    // Freeze a widened city, then scroll right in a narrow terminal: city
    // stays, kind scrolls out of view.
    app.act(Action::FirstColumn);
    app.act(Action::WidenColumn);
    app.act(Action::WidenColumn);
    app.act(Action::FreezeColumns);
    app.act(Action::LastColumn);
    let header = header_of(&app.screen(24, 12));
    assert!(
        header.contains("city") && header.contains("amount") && !header.contains("kind"),
        "{header}"
    );
    app.act(Action::FreezeColumns);
    let header = header_of(&app.screen(24, 12));
    assert!(!header.contains("city"), "unfrozen: {header}");
}
