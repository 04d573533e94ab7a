//! Tab in a prompt: column and function names in expressions, paths in the
//! write prompt.

use crate::app::state::{PromptKind, State};

/// Tab: complete the identifier before the cursor with a column name.
pub fn complete(s: &mut State) {
    if s.prompt
        .as_ref()
        .is_some_and(|p| p.kind == PromptKind::Write)
    {
        complete_path(s);
        return;
    }
    let names = s.column_names();
    let Some(p) = &mut s.prompt else { return };
    let ratatui_textarea::DataCursor(row, col) = p.input.cursor();
    let line = p.input.lines()[row].clone();
    let before: String = line.chars().take(col).collect();
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if word.is_empty() {
        return;
    }
    let lw = word.to_lowercase();
    let column = names.iter().find(|n| n.to_lowercase().starts_with(&lw));
    let function = || {
        SQL_FUNCTIONS
            .iter()
            .find(|f| f.starts_with(&lw))
            .map(|f| format!("{f}("))
    };
    if let Some(full) = column.cloned().or_else(function) {
        let rest: String = full.chars().skip(word.chars().count()).collect();
        p.input.insert_str(rest);
    }
}

/// Functions offered by Tab after column names (polars SQL spellings).
const SQL_FUNCTIONS: [&str; 28] = [
    "abs",
    "avg",
    "cast",
    "ceil",
    "coalesce",
    "concat",
    "count",
    "date_part",
    "floor",
    "length",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "min",
    "nullif",
    "regexp_like",
    "replace",
    "round",
    "rtrim",
    "split_part",
    "sqrt",
    "starts_with",
    "strptime",
    "substr",
    "sum",
    "trim",
    "upper",
];

/// Tab in the write prompt: extend the path to the longest prefix shared by
/// the directory entries that start with it (a directory gets its `/`).
/// The one place the reducer reads the filesystem: a directory listing.
fn complete_path(s: &mut State) {
    let Some(p) = &mut s.prompt else { return };
    let text = p.text();
    let (dir, stem) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text.as_str()),
    };
    let listing = if dir.is_empty() { "." } else { dir };
    let Ok(entries) = std::fs::read_dir(listing) else {
        return;
    };
    let matches: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            name.starts_with(stem)
                .then(|| if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    let Some(first) = matches.first() else {
        return;
    };
    let mut common = first.clone();
    for m in &matches[1..] {
        let n = common
            .chars()
            .zip(m.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common = common.chars().take(n).collect();
    }
    if common.len() > stem.len() {
        let full = format!("{dir}{common}");
        let mut input = ratatui_textarea::TextArea::new(vec![full]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        p.input = input;
    }
}
