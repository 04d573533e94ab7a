//! `quarry PATH`: the interactive explorer, after the checks that need no
//! terminal (the recipe, the path count, stdout being a terminal).

use crate::cli::args::{ExecArgs, TuiArgs};
use crate::engine::input::spec::{RecordSeparator, SourceSpec};
use crate::engine::recipe::Recipe;
use crate::engine::{QuarryError, Result};

fn tui_options(t: &TuiArgs) -> Result<crate::tui::TuiOptions> {
    Ok(crate::tui::TuiOptions {
        keymap: t.keymap.clone(),
        theme: t.theme.clone().unwrap_or_else(auto_theme),
        mouse: !t.no_mouse,
        executor: t.exec.executor()?,
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
    let opts = tui_options(&t)?;
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
            let mut spec = SourceSpec::new(path);
            spec.format = t.input_format;
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
        return Err(QuarryError::Usage(
            "the explorer needs a terminal; for scripts use quarry head, schema, run (see quarry --help)".into(),
        ));
    }
    crate::tui::run(spec, recipe, opts)
}

/// Explorer options for the demo: the default keymap and dark theme.
pub fn demo_options() -> Result<crate::tui::TuiOptions> {
    Ok(crate::tui::TuiOptions {
        keymap: "default".into(),
        theme: "dark".into(),
        mouse: true,
        executor: ExecArgs::default().executor()?,
    })
}
