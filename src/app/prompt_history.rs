//! What was typed into each kind of prompt, newest last, for Up / Down
//! recall. Plain data: the runtime loads it at start and writes a kind back
//! after each submit (`tui::history_file`), unless history is off.

use std::collections::BTreeMap;

/// Entries kept per kind; the oldest go first.
pub const DEFAULT_CAP: usize = 500;

/// The prompts that keep a history (each its own list and file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HistoryKind {
    Filter,
    Derive,
    Group,
    Search,
    /// The command palette, which also takes SQL (`:sql …`).
    Palette,
    /// Paths typed to write a result.
    Path,
}

impl HistoryKind {
    pub const ALL: &'static [HistoryKind] = &[
        HistoryKind::Filter,
        HistoryKind::Derive,
        HistoryKind::Group,
        HistoryKind::Search,
        HistoryKind::Palette,
        HistoryKind::Path,
    ];

    /// The name of its file in the state directory.
    pub fn file_name(self) -> &'static str {
        match self {
            HistoryKind::Filter => "filter",
            HistoryKind::Derive => "derive",
            HistoryKind::Group => "group",
            HistoryKind::Search => "search",
            HistoryKind::Palette => "palette",
            HistoryKind::Path => "path",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptHistory {
    entries: BTreeMap<HistoryKind, Vec<String>>,
    cap: usize,
}

impl Default for PromptHistory {
    fn default() -> Self {
        PromptHistory::with_cap(DEFAULT_CAP)
    }
}

impl PromptHistory {
    pub fn with_cap(cap: usize) -> PromptHistory {
        PromptHistory {
            entries: BTreeMap::new(),
            cap: cap.max(1),
        }
    }

    /// Entries of `kind`, oldest first.
    pub fn entries(&self, kind: HistoryKind) -> &[String] {
        self.entries.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adopt entries read back from storage (oldest first), keeping the
    /// newest `cap`.
    pub fn set_entries(&mut self, kind: HistoryKind, mut entries: Vec<String>) {
        entries.retain(|e| !e.trim().is_empty());
        let extra = entries.len().saturating_sub(self.cap);
        entries.drain(..extra);
        self.entries.insert(kind, entries);
    }

    /// Add `text` as the newest entry of `kind`. An earlier copy moves to
    /// the end instead of repeating; blank text is not kept. Whether the
    /// history changed.
    pub fn record(&mut self, kind: HistoryKind, text: &str) -> bool {
        let text = text.trim();
        if text.is_empty() {
            return false;
        }
        let list = self.entries.entry(kind).or_default();
        if list.last().is_some_and(|last| last == text) {
            return false;
        }
        list.retain(|e| e != text);
        list.push(text.to_string());
        let extra = list.len().saturating_sub(self.cap);
        list.drain(..extra);
        true
    }

    /// The entry `back` steps from the newest (1 = newest).
    pub fn recall(&self, kind: HistoryKind, back: usize) -> Option<&str> {
        let list = self.entries(kind);
        back.checked_sub(1)
            .and_then(|b| list.len().checked_sub(b + 1))
            .map(|i| list[i].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_last_without_repeats_and_capped() {
        let mut h = PromptHistory::with_cap(3);
        assert!(h.record(HistoryKind::Filter, "a > 1"));
        assert!(h.record(HistoryKind::Filter, " b < 2 "));
        assert!(
            !h.record(HistoryKind::Filter, "b < 2"),
            "same as the newest"
        );
        assert!(h.record(HistoryKind::Filter, "a > 1"), "moves to the end");
        assert_eq!(h.entries(HistoryKind::Filter), ["b < 2", "a > 1"]);
        h.record(HistoryKind::Filter, "c");
        h.record(HistoryKind::Filter, "d");
        assert_eq!(h.entries(HistoryKind::Filter), ["a > 1", "c", "d"]);
        assert!(!h.record(HistoryKind::Filter, "   "));
        assert!(h.entries(HistoryKind::Derive).is_empty(), "kinds are apart");
    }

    #[test]
    fn recall_counts_back_from_the_newest() {
        let mut h = PromptHistory::default();
        h.record(HistoryKind::Search, "one");
        h.record(HistoryKind::Search, "two");
        assert_eq!(h.recall(HistoryKind::Search, 1), Some("two"));
        assert_eq!(h.recall(HistoryKind::Search, 2), Some("one"));
        assert_eq!(h.recall(HistoryKind::Search, 3), None);
        assert_eq!(h.recall(HistoryKind::Search, 0), None);
    }

    #[test]
    fn stored_entries_keep_the_newest_within_the_cap() {
        let mut h = PromptHistory::with_cap(2);
        h.set_entries(
            HistoryKind::Path,
            vec!["a".into(), "".into(), "b".into(), "c".into()],
        );
        assert_eq!(h.entries(HistoryKind::Path), ["b", "c"]);
    }

    #[test]
    fn file_names_are_distinct() {
        let names: std::collections::BTreeSet<_> =
            HistoryKind::ALL.iter().map(|k| k.file_name()).collect();
        assert_eq!(names.len(), HistoryKind::ALL.len());
    }
}
