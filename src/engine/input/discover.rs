//! Turning what the user typed (a file, a directory or a glob) into a sorted
//! list of data files, with a clear error for every way that can go wrong.

use std::path::{Path, PathBuf};

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::spec::Format;
use crate::engine::input::storage::{Entry, Storage};

/// Expand `path` into data files, sorted by name so partitions are stable.
pub fn discover(storage: &dyn Storage, path: &str, format: Option<Format>) -> Result<Vec<PathBuf>> {
    let p = PathBuf::from(path);
    let entry = storage.entry(&p);
    if has_glob_chars(path) && entry.is_err() {
        return expand_glob(storage, path);
    }
    match entry? {
        Entry::Directory => {}
        Entry::File { .. } => return Ok(vec![p]),
        // Reading a FIFO would block (and it cannot be split into
        // partitions); a device could be endless.
        Entry::Other => {
            return Err(QuarryError::Usage(format!(
                "{}: not a regular file (a FIFO, socket or device). quarry reads files at any offset to split them into partitions: save the stream to a file first.",
                p.display()
            )))
        }
    }
    let mut files = Vec::new();
    for child in storage.list(&p)? {
        if is_hidden(&child) {
            continue;
        }
        let fits = match format {
            Some(f) => Format::from_path(&child).is_none_or(|g| g == f),
            None => Format::from_path(&child).is_some(),
        };
        if fits {
            files.push(child);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(QuarryError::EmptyDirectory { path: p });
    }
    Ok(files)
}

fn expand_glob(storage: &dyn Storage, pattern: &str) -> Result<Vec<PathBuf>> {
    let mut files = storage.glob(pattern)?;
    files.sort();
    if files.is_empty() {
        return Err(QuarryError::GlobEmpty {
            pattern: pattern.to_string(),
        });
    }
    Ok(files)
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

/// The single format of a list of files: the override, or what every file's
/// name says (they must agree).
pub fn resolve_format(files: &[PathBuf], format: Option<Format>) -> Result<Format> {
    if let Some(f) = format {
        return Ok(f);
    }
    let first = &files[0];
    let f = Format::from_path(first).ok_or_else(|| QuarryError::UnknownFormat {
        path: first.clone(),
    })?;
    for other in &files[1..] {
        let g = Format::from_path(other).ok_or_else(|| QuarryError::UnknownFormat {
            path: other.clone(),
        })?;
        if g != f {
            return Err(QuarryError::MixedFormats {
                path: first.clone(),
                other: other.clone(),
                a: f.to_string(),
                b: g.to_string(),
            });
        }
    }
    Ok(f)
}
