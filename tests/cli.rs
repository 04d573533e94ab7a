//! The headless commands, run as a user runs them: the real binary, real
//! files, exit codes and messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

fn quarry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .output()
        .expect("run quarry")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a clean user error: exit 1, no panic, a message containing all of `needles`.
fn assert_user_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic:\n{err}");
    for n in needles {
        assert!(
            err.to_lowercase().contains(&n.to_lowercase()),
            "stderr lacks {n:?}:\n{err}"
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn sample_csv(rows: usize) -> String {
    let mut t = String::from("id,name,score\n");
    for i in 0..rows {
        t.push_str(&format!("{i},name {i},{}.5\n", i % 10));
    }
    t
}

#[test]
fn head_prints_a_table_with_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", sample_csv(100).as_bytes());
    let o = quarry(&["head", s(&f), "-n", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("id") && lines[0].contains("score"));
    assert!(lines[1].contains("i64") && lines[1].contains("str") && lines[1].contains("f64"));
    assert_eq!(lines.len(), 3 + 3, "{out}");
    assert!(lines[5].contains("name 2"));
}

#[test]
fn head_json_and_csv_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", b"a,b\n1,x\n2,\n3,z\n");
    let o = quarry(&["head", s(&f), "-n", "2", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"a": 1, "b": "x"}, {"a": 2, "b": null}])
    );

    let o = quarry(&["head", s(&f), "--format", "csv"]);
    assert_eq!(stdout(&o), "a,b\n1,x\n2,\n3,z\n");
}

#[test]
fn head_reads_across_small_partitions_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", sample_csv(500).as_bytes());
    let o = quarry(&[
        "head",
        s(&f),
        "-n",
        "300",
        "--blocksize",
        "1KiB",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let ids: Vec<usize> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (0..300).collect::<Vec<_>>());
}

#[test]
fn take_is_seeded_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", sample_csv(2000).as_bytes());
    let run = |seed: &str| {
        let o = quarry(&[
            "take",
            s(&f),
            "-n",
            "10",
            "--seed",
            seed,
            "--blocksize",
            "4KiB",
            "--format",
            "csv",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let a = run("1");
    assert_eq!(a, run("1"), "same seed, same rows");
    assert_ne!(a, run("2"), "another seed, other rows");
    assert_eq!(a.lines().count(), 11);
}

#[test]
fn schema_reports_files_bytes_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let body = sample_csv(1000);
    write(dir.path(), "p1.csv", body.as_bytes());
    write(dir.path(), "p2.csv", body.as_bytes());
    let glob = format!("{}/p*.csv", dir.path().display());
    let o = quarry(&["schema", &glob, "--format", "json", "--blocksize", "8KiB"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["file_count"], 2);
    assert_eq!(v["total_bytes"], 2 * body.len());
    let per_file = body.len().div_ceil(8192);
    assert_eq!(v["partitions"], 2 * per_file);
    assert_eq!(
        v["columns"][0],
        serde_json::json!({"name": "id", "dtype": "i64", "overridden": false})
    );

    // The directory form reads the same files, and head spans them in order.
    let o = quarry(&["head", s(dir.path()), "-n", "1500", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1501);
}

#[test]
fn dtype_override_changes_schema_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "z.csv", b"zip,n\n01234,1\n90210,2\n");
    let o = quarry(&["head", s(&f), "--dtype", "zip=str", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["zip"], "01234");
    let o = quarry(&["head", s(&f), "--dtype", "nope=str"]);
    assert_user_error(&o, &["nope", "Columns: zip, n"]);
}

#[test]
fn text_records_separated_by_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "r.dat",
        b"review/score: 5.0\nreview/text: good\n\nreview/score: 1.0\nreview/text: bad\n\n",
    );
    let o = quarry(&["head", s(&f), "--format", "text", "--record-sep", "blank"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = quarry(&[
        "head",
        s(&f),
        "--input-format",
        "text",
        "--record-sep",
        "blank",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"text": "review/score: 5.0\nreview/text: good"},
            {"text": "review/score: 1.0\nreview/text: bad"}
        ])
    );
}

#[test]
fn compressed_files_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let body = sample_csv(300);
    let gz = dir.path().join("a.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(body.as_bytes()).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("b.csv.zst");
    std::fs::write(&zst, zstd::encode_all(body.as_bytes(), 3).unwrap()).unwrap();
    for f in [&gz, &zst] {
        let o = quarry(&["head", s(f), "-n", "300", "--format", "csv"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), body);
        let o = quarry(&["schema", s(f)]);
        assert!(
            stdout(&o).contains("compressed: one per file"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn parquet_row_groups_become_partitions_and_ipc_reads() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000i64;
    let mut df = df!(
        "a" => (0..n).collect::<Vec<_>>(),
        "b" => (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>()
    )
    .unwrap();
    let pq = dir.path().join("t.parquet");
    ParquetWriter::new(std::fs::File::create(&pq).unwrap())
        .with_row_group_size(Some(1000))
        .finish(&mut df)
        .unwrap();
    let o = quarry(&["schema", s(&pq), "--format", "json", "--blocksize", "1"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["partitions"], 10,
        "one partition per row group at a tiny blocksize"
    );
    let o = quarry(&[
        "take",
        s(&pq),
        "-n",
        "5",
        "--format",
        "json",
        "--blocksize",
        "1",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for r in rows.as_array().unwrap() {
        assert_eq!(r["b"], format!("v{}", r["a"]));
    }
    let ipc = dir.path().join("t.arrow");
    IpcWriter::new(std::fs::File::create(&ipc).unwrap())
        .finish(&mut df)
        .unwrap();
    let o = quarry(&["head", s(&ipc), "-n", "2", "--format", "csv"]);
    assert_eq!(stdout(&o), "a,b\n0,v0\n1,v1\n");
}

#[test]
fn ndjson_head() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "e.jsonl",
        b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":null}\n",
    );
    let o = quarry(&["head", s(&f), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"a": 1, "b": "x"}, {"a": 2, "b": null}])
    );
}

#[test]
fn late_non_numeric_values_are_caught_by_the_spread_sample() {
    // The last 10% of rows turn non-numeric: sampling only the start (what
    // burns Dask users) would infer i64; the end-of-file sample sees text.
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("id,code\n");
    let rows = 200_000;
    for i in 0..rows {
        if i < rows * 9 / 10 {
            t.push_str(&format!("{i},{}\n", i % 1000));
        } else {
            t.push_str(&format!("{i},X{}\n", i % 1000));
        }
    }
    let f = write(dir.path(), "late.csv", t.as_bytes());
    let o = quarry(&["schema", s(&f), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["columns"][1]["dtype"], "str");
}

#[test]
fn a_late_bad_value_names_file_partition_line_column_value_and_fix() {
    // One bad value at 90% that no sample spot covers.
    let dir = tempfile::tempdir().unwrap();
    let rows = 400_000;
    let bad_row = rows * 9 / 10;
    let mut t = String::from("id,amount\n");
    for i in 0..rows {
        if i == bad_row {
            t.push_str(&format!("{i},n/a\n"));
        } else {
            t.push_str(&format!("{i},{}\n", i % 977));
        }
    }
    let f = write(dir.path(), "amounts.csv", t.as_bytes());
    // `take` with every partition forces a full read; head -n all does too.
    let o = quarry(&["head", s(&f), "-n", "1000000", "--blocksize", "256KiB"]);
    let line = (bad_row + 2).to_string(); // header is line 1
    assert_user_error(
        &o,
        &[
            "amounts.csv",
            "partition",
            &format!("line {line}"),
            "`amount`",
            "\"n/a\"",
            "--dtype amount=str",
        ],
    );
    let o = quarry(&[
        "head",
        s(&f),
        "-n",
        "1000000",
        "--blocksize",
        "256KiB",
        "--dtype",
        "amount=str",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

// ---- bad input: one test per case, each a clear message and exit 1 ----

#[test]
fn bad_missing_path() {
    assert_user_error(&quarry(&["head", "/nonexistent/x.csv"]), &["no such file"]);
}

#[test]
fn bad_glob_matching_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pat = format!("{}/*.csv", dir.path().display());
    assert_user_error(&quarry(&["head", &pat]), &["matched no files"]);
}

#[test]
fn bad_directory_without_data_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.md", b"# hi\n");
    assert_user_error(
        &quarry(&["schema", s(dir.path())]),
        &["holds no data files"],
    );
}

#[test]
fn bad_permission_denied() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "secret.csv", b"a\n1\n");
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let is_root = unsafe_geteuid() == 0;
    let o = if is_root {
        // Root reads anything; drop the capabilities that let it.
        let o = Command::new("setpriv")
            .args([
                "--bounding-set=-dac_override,-dac_read_search",
                "--inh-caps=-all",
                env!("CARGO_BIN_EXE_quarry"),
                "head",
                s(&f),
            ])
            .output()
            .expect("setpriv (util-linux) is needed to test permissions as root");
        o
    } else {
        quarry(&["head", s(&f)])
    };
    assert_user_error(&o, &["permission denied"]);
}

fn unsafe_geteuid() -> u32 {
    // /proc/self/status: "Uid: real effective saved fs"
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn bad_binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let f = write(dir.path(), "garbage.csv", &bytes);
    assert_user_error(&quarry(&["head", s(&f)]), &["binary", "NUL byte"]);
}

#[test]
fn bad_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "latin1.csv", b"name,n\nok,1\ncaf\xe9,2\n");
    assert_user_error(
        &quarry(&["head", s(&f)]),
        &["invalid UTF-8", "line 3", "utf8-lossy"],
    );
    let o = quarry(&["head", s(&f), "--encoding", "utf8-lossy", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("caf\u{FFFD}"));
}

#[test]
fn bad_ragged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ragged.csv", b"a,b\n1,2\n3,4,5,6\n");
    assert_user_error(
        &quarry(&["head", s(&f)]),
        &["line 3", "4 fields", "header has 2"],
    );
}

#[test]
fn bad_unknown_format() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "data.xyz", b"a,b\n1,2\n");
    assert_user_error(
        &quarry(&["head", s(&f)]),
        &["cannot tell the format", "--format"],
    );
    // ... and naming it fixes it.
    assert!(quarry(&["head", s(&f), "--input-format", "csv"])
        .status
        .success());
}

#[test]
fn bad_truncated_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = df!("a" => (0..1000i64).collect::<Vec<_>>()).unwrap();
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df).unwrap();
    let f = write(dir.path(), "t.parquet", &buf[..buf.len() / 2]);
    assert_user_error(
        &quarry(&["head", s(&f)]),
        &["not a valid Parquet file", "truncated"],
    );
}

#[test]
fn bad_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "empty.csv", b"");
    assert_user_error(&quarry(&["head", s(&f)]), &["is empty"]);
}

#[test]
fn bad_truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(sample_csv(5000).as_bytes()).unwrap();
    let bytes = enc.finish().unwrap();
    let f = write(dir.path(), "t.csv.gz", &bytes[..bytes.len() / 2]);
    assert_user_error(&quarry(&["take", s(&f)]), &["cannot decompress", "gzip"]);
}

#[test]
fn bad_flags_exit_1_not_2() {
    assert_user_error(
        &quarry(&["head", "x.csv", "--blocksize", "lots"]),
        &["size"],
    );
    assert_user_error(
        &quarry(&["head", "x.csv", "--dtype", "a=complex"]),
        &["unknown dtype"],
    );
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", sample_csv(50_000).as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["head", s(&f), "-n", "50000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn demo_writes_deterministic_files_and_recipes() {
    let dir = tempfile::tempdir().unwrap();
    let o = quarry(&["demo", "--dir", s(dir.path()), "--rows", "5000", "--no-tui"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let arcos = std::fs::read(dir.path().join("arcos.csv")).unwrap();
    assert_eq!(arcos.iter().filter(|&&b| b == b'\n').count(), 5001);
    let o = quarry(&[
        "schema",
        s(&dir.path().join("arcos.csv")),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cols: Vec<(String, String)> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["dtype"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect = [
        ("REPORTER_DEA_NO", "str"),
        // Zero-padded ZIP codes: kept as text, zeros and all.
        ("BUYER_ZIP", "str"),
        ("DOSAGE_UNIT", "f64"),
        ("QUANTITY", "i64"),
        ("MME_Conversion_Factor", "f64"),
        ("TRANSACTION_DATE", "i64"),
        ("dos_str", "f64"),
    ];
    for (n, t) in expect {
        assert!(
            cols.contains(&(n.to_string(), t.to_string())),
            "{n}: {cols:?}"
        );
    }
    assert_eq!(cols.len(), 15);
    // Reviews: blank-line separated records.
    let o = quarry(&[
        "head",
        s(&dir.path().join("reviews.txt")),
        "--record-sep",
        "blank",
        "-n",
        "1",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rec = v[0]["text"].as_str().unwrap();
    assert!(rec.starts_with("product/productId: B00") && rec.contains("review/text: "));
    // Same arguments, same bytes; the second run reuses the files.
    let other = tempfile::tempdir().unwrap();
    quarry(&[
        "demo",
        "--dir",
        s(other.path()),
        "--rows",
        "5000",
        "--no-tui",
    ]);
    assert_eq!(
        arcos,
        std::fs::read(other.path().join("arcos.csv")).unwrap()
    );
    let o = quarry(&["demo", "--dir", s(dir.path()), "--rows", "5000", "--no-tui"]);
    assert!(stdout(&o).starts_with("reusing"));
}

// ---- quarry run / graph ----

fn numbers_csv(dir: &Path, rows: usize) -> PathBuf {
    let mut t = String::from("id,grp,val\n");
    for i in 0..rows {
        t.push_str(&format!("{i},g{},{}\n", i % 5, i % 100));
    }
    write(dir, "n.csv", t.as_bytes())
}

fn recipe(dir: &Path, body: &str) -> PathBuf {
    write(
        dir,
        "r.toml",
        format!("[source]\npath = 'n.csv'\nblocksize = '16KiB'\n{body}").as_bytes(),
    )
}

#[test]
fn run_streams_json_events_and_prints_the_result() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 20_000);
    let r = recipe(
        dir.path(),
        "[[steps]]\nop='group_by'\nkeys=['grp']\naggs={ n = 'count(*)', s = 'sum(val)' }\n[[steps]]\nop='sort'\nby='grp'\n",
    );
    let o = quarry(&["run", s(&r), "--json-events"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "job_started");
    let tasks = events[0]["tasks"].as_u64().unwrap();
    let finished = events
        .iter()
        .filter(|e| e["event"] == "task_finished")
        .count() as u64;
    assert_eq!(finished, tasks);
    assert_eq!(events.last().unwrap()["event"], "job_finished");
    assert!(events
        .iter()
        .any(|e| e["event"] == "progress" && e["eta_s"].is_number()));
    let out = stdout(&o);
    assert!(
        out.contains("g0") && out.contains("4000") && out.contains("198000"),
        "{out}"
    );
}

#[test]
fn run_writes_files_and_balanced_part_directories() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 50_000);
    let r = recipe(dir.path(), "[[steps]]\nop='filter'\nexpr='val = 7'\n");
    let csv = dir.path().join("out.csv");
    let o = quarry(&["run", s(&r), "-o", s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let ids: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (0..50_000).filter(|i| i % 100 == 7).collect::<Vec<_>>(),
        "in order"
    );

    // A selective filter over ~50 partitions: parts are coalesced, not one per partition.
    let out_dir = format!("{}/parts/", dir.path().display());
    let o = quarry(&["run", s(&r), "-o", &out_dir]);
    assert!(o.status.success(), "{}", stderr(&o));
    let parts: Vec<_> = std::fs::read_dir(dir.path().join("parts"))
        .unwrap()
        .collect();
    assert_eq!(parts.len(), 1, "{parts:?}");
    let o = quarry(&["head", &out_dir, "-n", "1000", "--format", "csv"]);
    assert_eq!(stdout(&o), text);

    // Derived columns chunked unlike the parsed ones, into every format.
    let r = recipe(
        dir.path(),
        "[[steps]]\nop='with_columns'\ncolumns={ h = \"upper(grp) || 'x'\" }\n",
    );
    for ext in ["parquet", "arrow", "ndjson", "csv"] {
        let out = dir.path().join(format!("all.{ext}"));
        let o = quarry(&["run", s(&r), "-o", s(&out)]);
        assert!(o.status.success(), "{ext}: {}", stderr(&o));
        let o = quarry(&["schema", s(&out), "--format", "json"]);
        let o2 = quarry(&["take", s(&out), "-n", "3", "--format", "json"]);
        assert!(
            o.status.success() && o2.status.success(),
            "{ext}: {}",
            stderr(&o)
        );
        let rows: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
        for r in rows.as_array().unwrap() {
            assert_eq!(
                r["h"],
                format!("{}X", r["grp"].as_str().unwrap().to_uppercase()).replace("X", "x")
            );
        }
    }
}

#[test]
fn ctrl_c_cancels_a_run_with_exit_130_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 2_000_000);
    let r = write(
        dir.path(),
        "r.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '64KiB'\n[[steps]]\nop='with_columns'\ncolumns={ h = \"upper(grp) || 'x'\" }\n",
    );
    let out = dir.path().join("out.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args([
            "run",
            s(&r),
            "-o",
            s(&out),
            "--json-events",
            "--workers",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished partition, then interrupt.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap();
        assert!(n > 0, "run ended before any partition finished");
        if line.contains("\"task_finished\"") {
            break;
        }
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("job_cancelled"), "{rest}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!out.exists());
    assert!(names.iter().all(|n| !n.contains("quarry-tmp")), "{names:?}");
}

#[test]
fn graph_prints_text_dot_and_json() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 50_000);
    let r = recipe(dir.path(), "[[steps]]\nop='value_counts'\ncolumn='grp'\n");
    let o = quarry(&["graph", s(&r)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("read-csv+value-counts-chunk ×")
            && text.contains("→ combine ×")
            && text.contains("→ value-counts-agg ×1"),
        "{text}"
    );
    let o = quarry(&["graph", s(&r), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages[0]["kind"], "map");
    assert_eq!(stages.last().unwrap()["kind"], "finalize");
    let o = quarry(&["graph", s(&r), "--dot"]);
    assert!(stdout(&o).starts_with("digraph quarry {"));
    let bad = recipe(dir.path(), "[[steps]]\nop='filter'\nexpr='nope > 1'\n");
    assert_user_error(
        &quarry(&["graph", s(&bad)]),
        &["step 1 (filter)", "unknown column `nope`"],
    );
    // A pivot whose columns are left out first runs a pass for them: that
    // job (the distinct values, a tree reduction) is the graph shown.
    let pivot = recipe(
        dir.path(),
        "[[steps]]\nop='pivot'\nindex=['id']\non='grp'\nvalues='val'\n",
    );
    let o = quarry(&["graph", s(&pivot)]);
    let text = stdout(&o);
    assert!(
        text.starts_with("pivot (step 1) first finds the values of `grp` with this job")
            && text.contains("unique"),
        "{text}"
    );
    // A missing column is named as the pivot's, before any pass runs.
    let bad = recipe(
        dir.path(),
        "[[steps]]\nop='pivot'\nindex=['id']\non='nope'\nvalues='val'\n",
    );
    for cmd in ["graph", "run"] {
        assert_user_error(
            &quarry(&[cmd, s(&bad)]),
            &["step 1 (pivot)", "unknown column `nope`"],
        );
    }
}

#[test]
fn explorer_usage_errors_are_clear() {
    assert_user_error(
        &quarry(&["a.csv", "b.csv"]),
        &["opens one path", "Quote a glob"],
    );
    assert_user_error(&quarry(&[]), &["name a file to explore"]);
    // Not a terminal: the explorer says so instead of garbling a pipe.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.csv", b"a\n1\n");
    assert_user_error(&quarry(&[s(&f)]), &["needs a terminal"]);
    assert_user_error(&quarry(&["--theme", "sepia", s(&f)]), &["needs a terminal"]);
}

/// 50 runs of `quarry run -o` killed at random points (SIGKILL, SIGTERM,
/// SIGHUP, SIGINT in turn): the output is absent or byte-identical to a clean
/// run's; after a catchable signal no temp file is left either.
#[test]
fn runs_killed_at_random_points_leave_no_torn_output() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 400_000);
    let r = write(
        dir.path(),
        "r.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '256KiB'\n[[steps]]\nop='with_columns'\ncolumns={ h = \"upper(grp) || 'x'\" }\n",
    );
    let input_before = std::fs::read(dir.path().join("n.csv")).unwrap();
    let clean = dir.path().join("clean.csv");
    let t = std::time::Instant::now();
    let o = quarry(&["run", s(&r), "-o", s(&clean), "--workers", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let clean_ms = t.elapsed().as_millis() as u64;
    let want = std::fs::read(&clean).unwrap();
    // A small deterministic generator for the kill points.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let signals = ["-KILL", "-TERM", "-HUP", "-INT"];
    let (mut complete, mut absent) = (0, 0);
    for i in 0..50 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = x % (clean_ms + 20);
        let out = dir.path().join(format!("out{i}.csv"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args(["run", s(&r), "-o", s(&out), "--workers", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let sig = signals[i % signals.len()];
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert_ne!(status.code(), Some(101), "run {i}: a panic");
        if out.exists() {
            assert_eq!(
                std::fs::read(&out).unwrap(),
                want,
                "run {i} ({sig} after {delay} ms): torn output"
            );
            complete += 1;
        } else {
            absent += 1;
        }
        if sig != "-KILL" {
            let left: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("quarry-tmp"))
                .collect();
            assert!(
                left.is_empty(),
                "run {i} ({sig}): temp files left: {left:?}"
            );
        } else {
            // SIGKILL cannot be caught: remove what the process could not.
            for e in std::fs::read_dir(dir.path()).unwrap() {
                let p = e.unwrap().path();
                if p.to_string_lossy().contains("quarry-tmp") {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
    }
    eprintln!("killed runs: {complete} complete, {absent} absent, none torn");
    assert!(
        absent > 0,
        "some kills landed before the end ({complete} complete)"
    );
    assert_eq!(
        std::fs::read(dir.path().join("n.csv")).unwrap(),
        input_before,
        "input untouched"
    );
}

/// A gather that needs more than the budget stops early with a way out; the
/// same pipeline in bounded memory (a top-k) runs; a tree reduction runs in
/// a small budget under a hard address-space limit.
#[test]
fn memory_budget_failures_are_early_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    numbers_csv(dir.path(), 1_000_000);
    let sort = write(
        dir.path(),
        "sort.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '1MiB'\n[[steps]]\nop='sort'\nby='val'\n",
    );
    let o = quarry(&["run", s(&sort), "--memory", "4MiB", "--workers", "1"]);
    assert_user_error(
        &o,
        &[
            "over the memory budget",
            "step 1 (sort)",
            "add a head step",
            "--memory",
        ],
    );
    let topk = write(
        dir.path(),
        "topk.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '1MiB'\n[[steps]]\nop='sort'\nby='val'\ndescending=true\n[[steps]]\nop='head'\nn=3\n",
    );
    let o = quarry(&["run", s(&topk), "--memory", "4MiB", "--workers", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Showing every row of a map-only pipeline is a gather too; -o streams.
    let all = write(
        dir.path(),
        "all.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '1MiB'\n[[steps]]\nop='filter'\nexpr='val >= 0'\n",
    );
    let o = quarry(&["run", s(&all), "--memory", "4MiB", "--workers", "1"]);
    assert_user_error(&o, &["over the memory budget", "-o"]);
    let out = dir.path().join("all.parquet");
    let o = quarry(&["run", s(&all), "--memory", "4MiB", "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A group-by under a hard 1 GiB address-space limit with a small budget.
    let group = write(
        dir.path(),
        "group.toml",
        b"[source]\npath = 'n.csv'\nblocksize = '1MiB'\n[[steps]]\nop='group_by'\nkeys=['grp']\naggs={ s = 'sum(val)', n = 'count(*)' }\n",
    );
    let o = Command::new("prlimit")
        .args(["--as=1073741824", "--", env!("CARGO_BIN_EXE_quarry")])
        .args(["run", s(&group), "--memory", "16MiB", "--workers", "2"])
        .output()
        .expect("prlimit (util-linux) is installed by scripts/test.sh");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn safe_runs_refuse_reading_outside_the_recipe_directory() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("recipes");
    std::fs::create_dir(&inner).unwrap();
    write(dir.path(), "secret.csv", b"k,v\nx,1\n");
    write(&inner, "ok.csv", b"k,v\na,1\nb,2\n");
    std::os::unix::fs::symlink(dir.path().join("secret.csv"), inner.join("link.csv")).unwrap();
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("fine.toml", "[source]\npath='ok.csv'\n", None),
        ("up.toml", "[source]\npath='../secret.csv'\n", Some("outside the recipe's directory")),
        ("link.toml", "[source]\npath='link.csv'\n", Some("outside the recipe's directory")),
        (
            "join.toml",
            "[source]\npath='ok.csv'\n[[steps]]\nop='join'\non='k'\nsource={ path = '../secret.csv' }\n",
            Some("step 1 (join)"),
        ),
        (
            "sql.toml",
            "[source]\npath='ok.csv'\n[[steps]]\nop='sql'\nquery=\"SELECT * FROM Read_Csv ('../secret.csv')\"\n",
            Some("calls read_csv"),
        ),
    ];
    for (name, text, refused) in cases {
        let r = write(&inner, name, text.as_bytes());
        let o = quarry(&["run", s(&r), "--safe"]);
        match refused {
            None => assert!(o.status.success(), "{name}: {}", stderr(&o)),
            Some(why) => {
                assert_user_error(&o, &["--safe", why]);
                // Without --safe the recipe is trusted.
                if name != "sql.toml" {
                    let o = quarry(&["run", s(&r)]);
                    assert!(o.status.success(), "{name}: {}", stderr(&o));
                }
            }
        }
    }
}

/// ZIP codes with leading zeros are read as text (the zeros are what the
/// author wrote); the schema says why, and `--dtype` still decides.
#[test]
fn leading_zeros_keep_a_column_as_text_and_the_schema_says_why() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fidelity/leading_zeros.csv"
    );
    let o = quarry(&["schema", fixture]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let zip = out.lines().find(|l| l.contains("zip")).unwrap();
    assert!(
        zip.contains("str") && zip.contains("leading zeros: kept as text"),
        "{out}"
    );
    // `0` and `-0` are not leading zeros: amount stays a number.
    let amount = out.lines().find(|l| l.contains("amount")).unwrap();
    assert!(
        amount.contains("i64") && !amount.contains("leading"),
        "{out}"
    );
    let o = quarry(&["head", fixture, "--format", "csv"]);
    assert!(stdout(&o).contains("1,08123,10"), "{}", stdout(&o));
    let o = quarry(&["schema", fixture, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let zip = &doc["columns"][1];
    assert_eq!(zip["dtype"], "str");
    assert_eq!(zip["note"], "leading zeros: kept as text");
    // An override wins, and needs no note.
    let o = quarry(&["schema", fixture, "--dtype", "zip=i64"]);
    let out = stdout(&o);
    let zip = out.lines().find(|l| l.contains("zip")).unwrap();
    assert!(
        zip.contains("i64") && zip.contains("--dtype") && !zip.contains("leading"),
        "{out}"
    );
}

/// A leading-zero value far into a big file (in a spot sample, not the
/// head) still makes the column text, and every partition reads it so.
#[test]
fn a_leading_zero_late_in_the_file_is_found_and_every_partition_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("id,code\n");
    let n = 300_000;
    for i in 0..n {
        // Integers throughout the head; zero-padded codes now and then in
        // the second half, where only the spot samples see them.
        let code = if i > n / 2 && i % 997 == 0 {
            "0042".to_string()
        } else {
            (1000 + i).to_string()
        };
        t.push_str(&format!("{i},{code}\n"));
    }
    let p = write(dir.path(), "late.csv", t.as_bytes());
    let o = quarry(&["schema", s(&p), "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["columns"][1]["dtype"], "str", "{doc}");
    let recipe = write(
        dir.path(),
        "r.toml",
        format!(
            "[source]\npath = \"{}\"\nblocksize = \"256KiB\"\n\n[[steps]]\nop = \"filter\"\nexpr = \"code = '0042'\"\n",
            s(&p)
        )
        .as_bytes(),
    );
    let o = quarry(&["run", s(&recipe)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("0042"), "{}", stdout(&o));
}

/// Files in legacy encodings decode to the right text with `--encoding`
/// (WHATWG labels: latin1 is windows-1252, as in browsers), and without it
/// the error names the line and the encoding to try.
#[test]
fn legacy_encodings_decode_to_the_right_text() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fidelity");
    let cp1252 = format!("{fixtures}/windows1252.csv");
    let o = quarry(&["head", &cp1252, "--format", "csv"]);
    assert_user_error(&o, &["invalid UTF-8", "line 2", "--encoding windows-1252"]);
    for label in ["windows-1252", "cp1252", "latin1"] {
        let o = quarry(&["head", &cp1252, "--encoding", label, "--format", "csv"]);
        assert!(o.status.success(), "{label}: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "id,name,city\n1,José,Köln\n2,Ana,München\n3,“quoted”,Zürich €\n",
            "{label}"
        );
    }
    let o = quarry(&[
        "head",
        &format!("{fixtures}/latin1.csv"),
        "--encoding",
        "iso-8859-1",
        "--format",
        "csv",
    ]);
    assert_eq!(stdout(&o), "id,name\n1,François\n2,Åsa\n", "{}", stderr(&o));
    // Partitions cut at every size read the same text as one read.
    let dir = tempfile::tempdir().unwrap();
    let mut body = b"id,name\n".to_vec();
    for i in 0..2000 {
        body.extend_from_slice(format!("{i},caf").as_bytes());
        body.push(0xe9);
        body.extend_from_slice(b" \x93x\x94\n");
    }
    let p = write(dir.path(), "many.csv", &body);
    let recipe = write(
        dir.path(),
        "r.toml",
        format!(
            "[source]\npath = \"{}\"\nblocksize = \"1KiB\"\nencoding = \"latin1\"\n\n[[steps]]\nop = \"filter\"\nexpr = \"name = 'café “x”'\"\n",
            s(&p)
        )
        .as_bytes(),
    );
    let o = quarry(&["run", s(&recipe)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("done: 2000 rows"), "{}", stderr(&o));
    // A UTF-16 file cannot be cut at newline bytes: said so, with the fix.
    let o = quarry(&["head", &cp1252, "--encoding", "utf-16le"]);
    assert_user_error(&o, &["not ASCII-compatible", "iconv"]);
}

/// An R-style CSV: `NA` (and `N/A`) in numeric columns read as null, the
/// schema says which spellings and how often; `--no-null-tokens` and a
/// user's `--null` list replace the automatic choice.
#[test]
fn null_tokens_in_numeric_columns_read_as_null() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fidelity/r_na.csv"
    );
    let o = quarry(&["schema", fixture]);
    let out = stdout(&o);
    let arr = out.lines().find(|l| l.contains("arr_delay")).unwrap();
    assert!(
        arr.contains("f64") && arr.contains("null tokens: NA ×2"),
        "{out}"
    );
    let dep = out.lines().find(|l| l.contains("dep_delay")).unwrap();
    assert!(
        dep.contains("i64") && dep.contains("N/A ×1, NA ×1"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let recipe = write(
        dir.path(),
        "r.toml",
        format!(
            "[source]\npath = \"{fixture}\"\n\n[[steps]]\nop = \"group_by\"\nkeys = []\naggs = {{ m = \"max(arr_delay)\", n = \"count(arr_delay)\", d = \"sum(dep_delay)\" }}\n"
        )
        .as_bytes(),
    );
    let o = quarry(&["run", s(&recipe), "--json-events"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let row = table.lines().last().unwrap();
    assert!(
        row.split_whitespace().collect::<Vec<_>>() == ["12.0", "3", "6"],
        "max 12.0 over 3 values, sum 6: {table}"
    );
    let o = quarry(&["schema", fixture, "--no-null-tokens"]);
    let arr = stdout(&o);
    assert!(
        arr.lines()
            .any(|l| l.contains("arr_delay") && l.contains("str")),
        "{arr}"
    );
    // The user's list applies to every column, and only it.
    let o = quarry(&["schema", fixture, "--null", "NA"]);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.contains("arr_delay") && l.contains("f64")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("dep_delay") && l.contains("str")),
        "{out}"
    );
}

/// Run quarry with `input` piped to its standard input.
fn quarry_with_stdin(args: &[&str], input: &[u8], cache: &Path) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("QUARRY_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn a_dash_reads_piped_csv_and_ndjson_like_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let csv = sample_csv(50_000);
    let file = write(dir.path(), "d.csv", csv.as_bytes());
    for args in [&["head", "-n", "7"][..], &["schema"][..], &["describe"][..]] {
        let mut from_file = args.to_vec();
        from_file.push(s(&file));
        let mut from_pipe = args.to_vec();
        from_pipe.push("-");
        let expected = stdout(&quarry(&from_file));
        let got = quarry_with_stdin(&from_pipe, csv.as_bytes(), &cache);
        assert!(got.status.success(), "{}", stderr(&got));
        // The spooled file's name differs from the file's; the data does not.
        let without = |t: &str, name: &str| {
            t.lines()
                .filter(|l| !l.contains(name))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let got = without(&String::from_utf8_lossy(&got.stdout), "stdin-");
        let expected = without(&expected, s(&file));
        assert_eq!(got, expected, "{args:?}");
    }
    let ndjson = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": null}\n";
    let got = quarry_with_stdin(&["head", "-", "--format", "csv"], ndjson, &cache);
    assert!(got.status.success(), "{}", stderr(&got));
    assert_eq!(String::from_utf8_lossy(&got.stdout), "a,b\n1,x\n2,\n");
    // The spooled input is gone with the command.
    let left: Vec<_> = std::fs::read_dir(cache.join("stdin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let empty = quarry_with_stdin(&["head", "-"], b"", &cache);
    assert_user_error(&empty, &["standard input is empty"]);
}
