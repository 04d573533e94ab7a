//! The source tree's shape: no import cycles among the crate's files, and
//! README's Layout section names every module, so the map a newcomer reads
//! first cannot drift from the tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate: its path (`["engine", "input", "source"]`)
/// and its file. `mod.rs` and `lib.rs` name their folder's module.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                let mut sub = prefix.to_vec();
                sub.push(name);
                walk(&p, &sub, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut m = prefix.to_vec();
                if !matches!(stem, "mod" | "lib" | "main") {
                    m.push(stem.to_string());
                }
                out.insert(m, p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The code of a file without comments, string literals and its test
/// module (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Expand `a::{b, c::{d, e}}` into full paths.
fn expand(prefix: &[String], body: &str, out: &mut Vec<Vec<String>>) {
    let mut depth = 0;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut item));
        } else {
            item.push(c);
        }
    }
    items.push(item);
    for it in items {
        let it = it.trim();
        if it.is_empty() {
            continue;
        }
        if let Some(open) = it.find("::{") {
            let mut p = prefix.to_vec();
            p.extend(it[..open].split("::").map(str::to_string));
            expand(&p, &it[open + 3..it.len() - 1], out);
        } else {
            let path = it.split(" as ").next().unwrap();
            let mut p = prefix.to_vec();
            p.extend(path.split("::").map(str::to_string));
            out.push(p);
        }
    }
}

/// Paths a file names: its `use` items and inline `crate::…` / `super::…`.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        let item: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
        expand(&[], &item, &mut out);
    }
    for start in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = code[at..].find(start) {
            let i = at + i;
            at = i + start.len();
            if code[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            {
                continue;
            }
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.split("::").map(str::to_string).collect());
        }
    }
    out
}

/// The module edges of the crate: `a -> b` when a file of `a` names `b`.
/// Naming an ancestor (a folder's `mod.rs`, which only declares and
/// re-exports) is not an edge.
fn edges(mods: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges = BTreeMap::new();
    for (m, file) in mods {
        let text = std::fs::read_to_string(file).unwrap();
        let is_folder = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let parent: Module = if is_folder {
            m.clone()
        } else {
            m[..m.len().saturating_sub(1)].to_vec()
        };
        let mut deps = BTreeSet::new();
        for path in paths_in(&code_of(&text)) {
            let full: Module = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => {
                    let ups = path.iter().take_while(|p| *p == "super").count();
                    let mut base = parent.clone();
                    base.truncate(base.len().saturating_sub(ups - 1));
                    base.extend(path[ups..].iter().cloned());
                    base
                }
                Some("self") => {
                    let mut base = m.clone();
                    base.extend(path[1..].iter().cloned());
                    base
                }
                _ => continue,
            };
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|p| mods.contains_key(p));
            if let Some(t) = target {
                if t != *m && !m.starts_with(&t) {
                    deps.insert(t);
                }
            }
        }
        edges.insert(m.clone(), deps);
    }
    edges
}

/// Every cycle's members (strongly connected components of size > 1).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    fn visit(
        v: &Module,
        g: &BTreeMap<Module, BTreeSet<Module>>,
        seen: &mut BTreeSet<Module>,
        out: &mut Vec<Module>,
    ) {
        if !seen.insert(v.clone()) {
            return;
        }
        for w in g.get(v).into_iter().flatten() {
            visit(w, g, seen, out);
        }
        out.push(v.clone());
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for v in edges.keys() {
        visit(v, edges, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (a, bs) in edges {
        for b in bs {
            reversed.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        let mut comp = Vec::new();
        visit(v, &reversed, &mut seen, &mut comp);
        if comp.len() > 1 {
            out.push(comp);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycles_among_the_crates_files() {
    let mods = modules(&src());
    let g = edges(&mods);
    // The checker itself must see edges, or it would pass on anything.
    let cli_run = vec!["cli".to_string(), "commands".into(), "run".into()];
    assert!(
        g.get(&cli_run).is_some_and(|d| d.contains(&vec![
            "engine".to_string(),
            "run".into(),
            "job".into()
        ])),
        "the edge cli/commands/run -> engine/run/job was not found; the import scanner is broken"
    );
    let found = cycles(&g);
    let text: Vec<String> = found
        .iter()
        .map(|c| {
            let names: Vec<String> = c.iter().map(|m| m.join("/")).collect();
            let inner: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    g[a].iter()
                        .filter(|b| c.contains(b))
                        .map(move |b| format!("{} -> {}", a.join("/"), b.join("/")))
                })
                .collect();
            format!("{}: {}", names.join(", "), inner.join("; "))
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", text.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let m = |s: &str| s.split('/').map(str::to_string).collect::<Module>();
    let mut g: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    g.insert(m("a/x"), [m("a/y")].into());
    g.insert(m("a/y"), [m("b")].into());
    g.insert(m("b"), [m("a/x")].into());
    g.insert(m("c"), [m("b")].into());
    let found = cycles(&g);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    let mut paths = Vec::new();
    expand(&[], "crate::engine::{a::B,c::{d,e as f}}", &mut paths);
    assert_eq!(paths.len(), 3);
    assert_eq!(paths[2], ["crate", "engine", "c", "e"]);
}

/// README's Layout section.
fn layout_section() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("\n## Layout")
        .expect("README has a Layout section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map(|e| e + 3).unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn readme_layout_names_every_module_and_folder() {
    let layout = layout_section();
    let words: BTreeSet<String> = layout
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '/' || c == '.'))
        .flat_map(|w| {
            let w = w.trim_end_matches('.');
            let mut out = vec![w.to_string()];
            out.extend(w.split('/').filter(|p| !p.is_empty()).map(str::to_string));
            out
        })
        .collect();
    let mut missing = Vec::new();
    for (m, file) in modules(&src()) {
        let Some(name) = m.last() else { continue };
        let is_folder = file.ends_with("mod.rs");
        let wanted = if is_folder {
            format!("{name}/")
        } else {
            name.clone()
        };
        let found = if is_folder {
            layout.contains(&wanted)
        } else {
            words.contains(name) || words.contains(&format!("{name}.rs"))
        };
        if !found {
            missing.push(format!("{} ({})", m.join("/"), wanted));
        }
    }
    assert!(
        missing.is_empty(),
        "README's Layout section does not name: {}",
        missing.join(", ")
    );
}
