//! Prompt history on disk: one file per prompt kind in quarry's state
//! directory (`$XDG_STATE_HOME/quarry/history/`), one JSON string per line,
//! oldest first. Written whole to a temporary name and renamed, so a crash
//! or a second explorer never leaves half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::app::prompt_history::{HistoryKind, PromptHistory};

/// Where history lives, or nothing when it is off.
#[derive(Debug, Clone)]
pub struct HistoryFiles {
    dir: PathBuf,
}

impl HistoryFiles {
    /// The history directory: `$QUARRY_STATE_DIR/history`, else the
    /// platform state directory (the local data directory where a platform
    /// has none). `None` when `off` (`--no-history`) or `QUARRY_NO_HISTORY`
    /// is set to anything but `0`.
    pub fn locate(off: bool) -> Option<HistoryFiles> {
        let env_off = std::env::var("QUARRY_NO_HISTORY").is_ok_and(|v| v != "0" && !v.is_empty());
        if off || env_off {
            return None;
        }
        let root = match std::env::var_os("QUARRY_STATE_DIR") {
            Some(d) => PathBuf::from(d),
            None => {
                let dirs = directories::ProjectDirs::from("", "", "quarry")?;
                dirs.state_dir()
                    .unwrap_or_else(|| dirs.data_local_dir())
                    .to_path_buf()
            }
        };
        Some(HistoryFiles {
            dir: root.join("history"),
        })
    }

    pub fn at(dir: &Path) -> HistoryFiles {
        HistoryFiles {
            dir: dir.to_path_buf(),
        }
    }

    fn file(&self, kind: HistoryKind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    /// Every kind's entries. A missing or unreadable file is an empty
    /// history: recall is a convenience, never a reason not to start.
    pub fn load(&self, cap: usize) -> PromptHistory {
        let mut history = PromptHistory::with_cap(cap);
        for &kind in HistoryKind::ALL {
            let Ok(text) = std::fs::read_to_string(self.file(kind)) else {
                continue;
            };
            let entries = text
                .lines()
                .filter_map(|l| serde_json::from_str::<String>(l).ok())
                .collect();
            history.set_entries(kind, entries);
        }
        history
    }

    /// Write `kind`'s entries (oldest first) in place of the old file.
    pub fn save(&self, kind: HistoryKind, entries: &[String]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.file(kind);
        // Saves run on threads of their own: the thread names the file.
        let tmp = self.dir.join(format!(
            ".{}.{}-{:?}.tmp",
            kind.file_name(),
            std::process::id(),
            std::thread::current().id()
        ));
        let written = (|| {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            for e in entries {
                let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
                writeln!(f, "{line}")?;
            }
            f.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        match written.and_then(|_| std::fs::rename(&tmp, &path)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_newlines_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let files = HistoryFiles::at(dir.path());
        let entries = vec![
            "city = 'El Paso'".to_string(),
            "a = \"x\"\nb = 2".to_string(),
        ];
        files.save(HistoryKind::Filter, &entries).unwrap();
        let back = files.load(10);
        assert_eq!(back.entries(HistoryKind::Filter), entries.as_slice());
        assert!(back.entries(HistoryKind::Path).is_empty());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["filter"], "no temporary file is left");
    }

    #[test]
    fn loading_keeps_the_cap_and_skips_damaged_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("search"), "\"a\"\nnot json\n\"b\"\n\"c\"\n").unwrap();
        let back = HistoryFiles::at(dir.path()).load(2);
        assert_eq!(back.entries(HistoryKind::Search), ["b", "c"]);
    }

    #[test]
    fn no_history_asked_for_means_no_location() {
        assert!(HistoryFiles::locate(true).is_none());
    }
}
