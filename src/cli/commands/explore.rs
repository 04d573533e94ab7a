//! `quarry PATH`: the interactive explorer, after the checks that need no
//! terminal (the recipe, the path count, stdout being a terminal).

use crate::cli::args::{ExecArgs, TuiArgs};
use crate::engine::input::spec::{RecordSeparator, SourceSpec};
use crate::engine::input::spool::Spool;
use crate::engine::recipe::Recipe;
use crate::engine::{QuarryError, Result};

fn tui_options(t: &TuiArgs) -> Result<crate::tui::TuiOptions> {
    Ok(crate::tui::TuiOptions {
        keymap: t.keymap.clone(),
        theme: t.theme.clone().unwrap_or_else(auto_theme),
        mouse: !t.no_mouse,
        executor: t.exec.executor()?,
        no_history: t.no_history,
        stdin: None,
    })
}

/// No colour for dumb terminals and NO_COLOR; otherwise light on a light
/// background when the terminal says so (COLORFGBG="fg;bg", bg 7 or 15).
fn auto_theme() -> String {
    if std::env::var("TERM").as_deref() == Ok("dumb") || std::env::var_os("NO_COLOR").is_some() {
        return "mono".into();
    }
    let light = std::env::var("COLORFGBG")
        .ok()
        .and_then(|v| v.rsplit(';').next().map(str::to_string))
        .is_some_and(|bg| bg == "7" || bg == "15");
    if light { "light" } else { "dark" }.into()
}

pub fn run(t: TuiArgs) -> Result<()> {
    use std::io::IsTerminal;
    let mut opts = tui_options(&t)?;
    let piped = stdin_is_piped();
    let (spec, recipe) = match &t.recipe {
        Some(r) => {
            let (recipe, base) = Recipe::load(r)?;
            if t.safe {
                crate::engine::recipe::safety::check(&recipe, &base)?;
            }
            let mut spec = recipe.source.to_spec(&base)?;
            if let Some(b) = t.blocksize {
                spec.blocksize = b;
            }
            (spec, Some((recipe, base)))
        }
        None => {
            let path = match t.path.as_slice() {
                // `some-command | quarry`: the piped data.
                [] if piped => "-".to_string(),
                [] => {
                    return Err(QuarryError::Usage(
                        "name a file to explore (quarry data.csv), or try quarry demo; quarry --help lists the commands".into(),
                    ))
                }
                [one] => one.clone(),
                [first, ..] => {
                    return Err(QuarryError::Usage(format!(
                        "quarry opens one path, got {} (starting with {first}). Quote a glob so the shell does not expand it (quarry 'logs/*.csv'), or name their directory.",
                        t.path.len()
                    )))
                }
            };
            let mut spec = if path == "-" {
                if !std::io::stdout().is_terminal() {
                    return Err(not_a_terminal());
                }
                let spool = Spool::start(
                    std::io::stdin(),
                    &crate::engine::run::persist::cache_root().join("stdin"),
                    t.input_format,
                )?;
                let mut spec = SourceSpec::new(spool.first_view().to_string_lossy().into_owned());
                spec.format = Some(spool.format);
                opts.stdin = Some(spool);
                spec
            } else {
                let mut spec = SourceSpec::new(path);
                spec.format = t.input_format;
                spec
            };
            if let Some(b) = t.blocksize {
                spec.blocksize = b;
            }
            if let Some(r) = &t.record_sep {
                spec.record_separator = RecordSeparator::parse(r)?;
            }
            spec.dtypes = t.dtypes.iter().cloned().collect();
            (spec, None)
        }
    };
    if !std::io::stdout().is_terminal() {
        return Err(not_a_terminal());
    }
    crate::tui::run(spec, recipe, opts)
}

/// Whether data is piped or redirected into standard input (a pipe, a
/// socket or a file: not a terminal, and not the null device a script or
/// a service starts us with).
fn stdin_is_piped() -> bool {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/dev/stdin") {
        Ok(m) => {
            let t = m.file_type();
            t.is_fifo() || t.is_file() || t.is_socket()
        }
        Err(_) => false,
    }
}

fn not_a_terminal() -> QuarryError {
    QuarryError::Usage(
        "the explorer needs a terminal; for scripts use quarry head, schema, run (see quarry --help; - reads standard input)".into(),
    )
}

/// Explorer options for the demo: the default keymap and dark theme.
pub fn demo_options() -> Result<crate::tui::TuiOptions> {
    Ok(crate::tui::TuiOptions {
        keymap: "default".into(),
        theme: "dark".into(),
        mouse: true,
        executor: ExecArgs::default().executor()?,
        no_history: false,
        stdin: None,
    })
}
