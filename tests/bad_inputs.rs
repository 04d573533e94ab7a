//! The bad-input corpus: every file in `tests/fixtures/bad/`, plus inputs
//! made here because they are too big to commit or not plain files (a FIFO,
//! a symlink loop, a file cut short while it is read). Through `head`,
//! `schema` and `describe` each gives either a correct result or a clear
//! error that names the file (exit 1), never a panic (101), a signal or a
//! hang; and no command changes its input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad");

/// What a bad input must produce.
enum Expect {
    /// Success, and stdout of `schema --format json` names these columns.
    Columns(&'static [&'static str]),
    /// Success with this many columns (names not checked).
    Width(usize),
    /// Exit 1 with every needle in stderr.
    Error(&'static [&'static str]),
    /// `schema` (which reads only a sample, leniently) succeeds; reading
    /// rows fails with every needle in stderr.
    ErrorOnRead(usize, &'static [&'static str]),
}

/// Run quarry with a time limit: a hang is a failure, not a stuck test.
/// (Output is collected on a thread so a full pipe never blocks quarry.)
fn quarry(args: &[&str], limit: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run quarry");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("quarry {args:?} hung for {limit:?}");
        }
    }
}

/// A cheap fingerprint of a file's bytes (FNV-1a), or of what a path is.
fn fingerprint(p: &Path) -> String {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_file() => {
            let bytes = std::fs::read(p).unwrap();
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            format!("{h:x} {} {:?}", m.len(), m.modified().ok())
        }
        Ok(m) => format!("{:?} {:?}", m.file_type(), m.modified().ok()),
        Err(e) => format!("{e}"),
    }
}

fn check(name: &str, path: &Path, expect: &Expect, extra: &[&str]) {
    let p = path.to_str().unwrap();
    let before = fingerprint(path);
    let limit = Duration::from_secs(60);
    for cmd in [
        vec!["head", p, "-n", "3"],
        vec!["schema", p, "--format", "json"],
        vec!["describe", p, "--format", "json"],
    ] {
        let mut args = cmd.clone();
        args.extend_from_slice(extra);
        let o = quarry(&args, limit);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{name}: {args:?} panicked: {err}"
        );
        let expect = match expect {
            Expect::ErrorOnRead(w, _) if cmd[0] == "schema" => &Expect::Width(*w),
            Expect::ErrorOnRead(_, n) => &Expect::Error(n),
            other => other,
        };
        match expect {
            Expect::Error(needles) => {
                assert_eq!(o.status.code(), Some(1), "{name}: {args:?}: {err}");
                for n in *needles {
                    assert!(err.contains(n), "{name}: {args:?}: no `{n}` in: {err}");
                }
                let file = path.file_name().unwrap().to_string_lossy();
                assert!(
                    err.contains(file.as_ref()),
                    "{name}: the error names the file: {err}"
                );
            }
            Expect::Columns(_) | Expect::Width(_) | Expect::ErrorOnRead(..) => {
                assert_eq!(o.status.code(), Some(0), "{name}: {args:?}: {err}");
                if cmd[0] == "schema" {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    let cols: Vec<String> = v["columns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["name"].as_str().unwrap().to_string())
                        .collect();
                    match expect {
                        Expect::Columns(want) => assert_eq!(cols, *want, "{name}"),
                        Expect::Width(n) => assert_eq!(cols.len(), *n, "{name}"),
                        _ => unreachable!(),
                    }
                }
            }
        }
    }
    assert_eq!(before, fingerprint(path), "{name}: the input changed");
}

#[test]
fn the_committed_corpus() {
    let cases: &[(&str, Expect)] = &[
        ("binary.csv", Expect::Error(&["binary"])),
        ("nul_bytes.csv", Expect::Error(&["NUL byte"])),
        ("bom.csv", Expect::Columns(&["id", "name"])),
        ("mixed_line_endings.csv", Expect::Columns(&["id", "name"])),
        (
            "latin1.csv",
            Expect::ErrorOnRead(2, &["invalid UTF-8", "utf8-lossy"]),
        ),
        ("dup_empty_header.csv", Expect::Width(4)),
        (
            "ragged.csv",
            Expect::ErrorOnRead(3, &["fields", "header has 3"]),
        ),
        (
            "unbalanced_quote.csv",
            Expect::Error(&["never to close", "--no-quote"]),
        ),
        ("only_header.csv", Expect::Columns(&["a", "b", "c"])),
        ("truncated.csv.gz", Expect::Error(&["truncated"])),
        ("truncated.parquet", Expect::Error(&["not a valid Parquet"])),
        (
            "corrupt_footer.parquet",
            Expect::Error(&["not a valid Parquet"]),
        ),
        (
            "stray_quote.ndjson",
            Expect::Error(&[
                "line 2 is not valid JSON",
                "\"b\"c\"",
                "--input-format text",
            ]),
        ),
        (
            "array.json",
            Expect::Error(&["one JSON array", "jq -c '.[]'"]),
        ),
        (
            "latin1.ndjson",
            Expect::Error(&["invalid UTF-8 at line 3", "--encoding windows-1252"]),
        ),
    ];
    let mut seen: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    seen.sort();
    let mut listed: Vec<String> = cases.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(seen, listed, "every fixture has an expectation");
    for (name, expect) in cases {
        check(name, &Path::new(FIXTURES).join(name), expect, &[]);
    }
    // Values come out right where the file is readable.
    let o = quarry(
        &[
            "head",
            &format!("{FIXTURES}/mixed_line_endings.csv"),
            "--format",
            "csv",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "id,name\n1,a\n2,b\n3,c\n"
    );
    // Latin-1 with the lossy encoding: read, bad byte replaced.
    let o = quarry(
        &[
            "head",
            &format!("{FIXTURES}/latin1.csv"),
            "--encoding",
            "utf8-lossy",
            "--format",
            "csv",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "id,name\n1,Jos\u{fffd}\n2,Ana\n"
    );
}

#[test]
fn inputs_made_here() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // 10,000 columns.
    let wide = d.join("wide.csv");
    let mut t = (0..10_000)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    t.push('\n');
    for r in 0..3 {
        t.push_str(
            &(0..10_000)
                .map(|i| (i * r).to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        t.push('\n');
    }
    std::fs::write(&wide, t).unwrap();
    check("wide.csv", &wide, &Expect::Width(10_000), &[]);

    // One 200 MB line, read as a text record.
    let long = d.join("long.txt");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
    }
    check("long.txt", &long, &Expect::Columns(&["text"]), &[]);

    // A FIFO: refused at once, not read (which would block forever).
    let fifo = d.join("stream.csv");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    check(
        "stream.csv",
        &fifo,
        &Expect::Error(&["not a regular file"]),
        &[],
    );

    // A symlink loop.
    let a = d.join("a.csv");
    let b = d.join("b.csv");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    check("a.csv", &a, &Expect::Error(&["symbolic links"]), &[]);
}

#[test]
fn a_file_cut_short_or_grown_while_it_is_read() {
    use quarry::engine::{Source, SourceSpec};
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("d.csv");
    let mut t = String::from("id,v\n");
    for i in 0..20_000 {
        t.push_str(&format!("{i},{}\n", i * 3));
    }
    std::fs::write(&path, &t).unwrap();
    let mut spec = SourceSpec::new(path.to_string_lossy().into_owned());
    spec.blocksize = 16 * 1024;
    let source = Source::open(spec.clone()).unwrap();
    let last = source.partitions.len() - 1;
    assert!(last > 3);

    // Grown: partitions cover the bytes there were at open; reads still work.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"99999,1\n")
        .unwrap();
    let rows: usize = (0..=last)
        .map(|p| source.read_partition(p).unwrap().height())
        .sum();
    assert_eq!(rows, 20_000);

    // Cut short: the partitions past the new end fail with a message that
    // says the file changed, instead of a panic or garbage.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(1000).unwrap();
    let err = source.read_partition(last).unwrap_err().to_string();
    assert!(err.contains("d.csv"), "{err}");
    assert!(
        err.contains("shrank") && err.contains("stable copy"),
        "{err}"
    );
}
