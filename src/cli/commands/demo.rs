//! `quarry demo`: write the deterministic demo data, then open it in the
//! explorer (or print its first rows when stdout is not a terminal).

use std::sync::Arc;

use crate::cli::args::{DemoArgs, OutputFormat};
use crate::cli::print::{emit, print_frame};
use crate::demo;
use crate::engine::input::spec::{format_bytes, SourceSpec};
use crate::engine::{Previewer, Result, Source};

pub fn run(a: DemoArgs) -> Result<()> {
    let dir = a.dir.unwrap_or_else(demo::default_dir);
    let files = demo::write_demo(&dir, a.rows)?;
    emit(|w| {
        writeln!(
            w,
            "{} demo data in {}:",
            if files.reused { "reusing" } else { "wrote" },
            files.dir.display()
        )?;
        for p in [
            &files.arcos,
            &files.reviews,
            &files.arcos_recipe,
            &files.reviews_recipe,
        ] {
            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            writeln!(w, "  {}  ({})", p.display(), format_bytes(size))?;
        }
        Ok(())
    })?;
    if a.no_tui {
        return Ok(());
    }
    use std::io::IsTerminal;
    let spec = SourceSpec::new(files.arcos.to_string_lossy().into_owned());
    if std::io::stdout().is_terminal() {
        return crate::tui::run(spec, None, super::explore::demo_options()?);
    }
    // Not a terminal: show the first rows instead.
    let df = Previewer::new(Arc::new(Source::open(spec)?)).head(10)?;
    print_frame(df, OutputFormat::Table)
}
