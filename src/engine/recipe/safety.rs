//! `--safe`: a recipe is data, but data that names files. What a recipe can
//! read: its `[source]` path, the sources of its `join` steps, and — inside
//! `sql` steps — polars' table functions (`read_csv('…')`, `read_parquet`,
//! `read_ipc`, `read_json`). Under `--safe` every path must resolve (after
//! symlinks) inside the recipe's own directory and `sql` steps may not call
//! table functions, so a recipe from someone else cannot read your files.

use std::path::{Path, PathBuf};

use crate::engine::error::{QuarryError, Result};
use crate::engine::recipe::{Recipe, SourceConfig, Step};

/// Refuse what a `--safe` run must not read.
pub fn check(recipe: &Recipe, base: &Path) -> Result<()> {
    let root = base.canonicalize().map_err(|e| QuarryError::io(base, e))?;
    check_source(&recipe.source, base, &root, "[source]")?;
    for (i, step) in recipe.steps.iter().enumerate() {
        let step = match step {
            Step::Disabled { step } => step.as_ref(),
            other => other,
        };
        match step {
            Step::Join { source, .. } => {
                check_source(source, base, &root, &format!("step {} (join)", i + 1))?
            }
            Step::Sql { query } => {
                if let Some(f) = table_function(query) {
                    return Err(QuarryError::Usage(format!(
                        "--safe: step {} (sql) calls {f}(…), which reads any file; in a safe run a recipe reads only its source and joins",
                        i + 1
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_source(source: &SourceConfig, base: &Path, root: &Path, what: &str) -> Result<()> {
    if crate::engine::input::storage::remote::url::is_remote(&source.path) {
        return Err(QuarryError::Usage(format!(
            "--safe: {what} reads {}, a remote object, with your credentials; run without --safe if you trust the recipe",
            source.path
        )));
    }
    let p = Path::new(&source.path);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    // A glob: check the directory part before the first wildcard.
    let fixed: PathBuf = full
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    let real = fixed
        .canonicalize()
        .map_err(|e| QuarryError::io(&fixed, e))?;
    if !real.starts_with(root) {
        return Err(QuarryError::Usage(format!(
            "--safe: {what} reads {} ({}), outside the recipe's directory {}; copy the data next to the recipe, or run without --safe if you trust it",
            source.path,
            real.display(),
            root.display()
        )));
    }
    Ok(())
}

/// The first polars SQL table function a query calls, if any (case and
/// spacing as SQL allows, comments skipped).
fn table_function(query: &str) -> Option<&'static str> {
    let re = regex::Regex::new(
        r"(?is)\b(read_csv|read_parquet|read_ipc|read_json|read_ndjson|scan_csv|scan_parquet)\b(\s|/\*.*?\*/|--[^\n]*\n)*\(",
    )
    .expect("valid regex");
    let name = re.captures(query)?.get(1)?.as_str().to_ascii_lowercase();
    [
        "read_csv",
        "read_parquet",
        "read_ipc",
        "read_json",
        "read_ndjson",
        "scan_csv",
        "scan_parquet",
    ]
    .into_iter()
    .find(|f| *f == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_functions_are_found_through_case_spaces_and_comments() {
        assert_eq!(
            table_function("SELECT * FROM read_csv('/etc/passwd')"),
            Some("read_csv")
        );
        assert_eq!(
            table_function("select * from READ_PARQUET /* x */ ('a')"),
            Some("read_parquet")
        );
        assert_eq!(
            table_function("select * from read_ipc -- c\n ('a')"),
            Some("read_ipc")
        );
        assert_eq!(table_function("SELECT read_csv_count FROM self"), None);
        assert_eq!(
            table_function("SELECT * FROM self WHERE x = 'read_csv('"),
            Some("read_csv")
        );
    }
}
