//! Turning what the user typed (a file, a directory or a glob) into a sorted
//! list of data files, with a clear error for every way that can go wrong.

use std::path::{Path, PathBuf};

use super::error::{QuarryError, Result};
use super::spec::Format;

/// Expand `path` into data files, sorted by name so partitions are stable.
pub fn discover(path: &str, format: Option<Format>) -> Result<Vec<PathBuf>> {
    if has_glob_chars(path) && !Path::new(path).exists() {
        return expand_glob(path);
    }
    let p = PathBuf::from(path);
    let meta = std::fs::metadata(&p).map_err(|e| QuarryError::io(&p, e))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&p).map_err(|e| QuarryError::io(&p, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| QuarryError::io(&p, e))?;
            let child = entry.path();
            let is_file = std::fs::metadata(&child)
                .map(|m| m.is_file())
                .unwrap_or(false);
            if !is_file || is_hidden(&child) {
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
        return Ok(files);
    }
    if !meta.is_file() {
        // Reading a FIFO would block (and it cannot be split into
        // partitions); a device could be endless.
        return Err(QuarryError::Usage(format!(
            "{}: not a regular file (a FIFO, socket or device). quarry reads files at any offset to split them into partitions: save the stream to a file first.",
            p.display()
        )));
    }
    Ok(vec![p])
}

fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).map_err(|e| QuarryError::BadGlob {
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in paths {
        match entry {
            Ok(p) if p.is_file() => files.push(p),
            Ok(_) => {}
            Err(e) => {
                let path = e.path().to_path_buf();
                return Err(QuarryError::io(path, e.into()));
            }
        }
    }
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
