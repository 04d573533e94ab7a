//! Data read as its author meant, as properties over generated files: for
//! every placement of the values each rule concerns and every blocksize,
//! the union of the partitions equals the table the values were generated
//! from (or polars' reading of it, told what inference found).

use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use proptest::prelude::*;
use quarry::engine::{Source, SourceSpec};

/// Every partition of the source at `blocksize`, concatenated.
fn read_all(path: &str, blocksize: u64) -> quarry::engine::Result<DataFrame> {
    let mut spec = SourceSpec::new(path);
    spec.blocksize = blocksize;
    let source = Source::open(spec)?;
    let mut out = DataFrame::empty_with_schema(&source.schema);
    for p in &source.partitions {
        out.vstack_mut(&source.read_partition(p.index)?)?;
    }
    Ok(out)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_same(ours: &DataFrame, theirs: &DataFrame) {
    assert_eq!(ours.schema(), theirs.schema(), "dtypes differ");
    assert_eq!(ours.height(), theirs.height(), "row counts differ");
    assert!(
        ours.equals_missing(theirs),
        "rows differ:\nours {ours}\ntheirs {theirs}"
    );
}

/// The columns a drifting glob's files draw from: each file holds some of
/// them, in its own order; `d` is an integer in some files and a float in
/// others, `e` an integer in some and text in others.
#[derive(Debug, Clone)]
struct DriftFile {
    columns: Vec<(&'static str, ColumnKind)>,
    rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnKind {
    Int,
    Float,
    Text,
}

fn drift_file() -> impl Strategy<Value = DriftFile> {
    let pool: Vec<BoxedStrategy<(&'static str, ColumnKind)>> = vec![
        Just(("a", ColumnKind::Int)).boxed(),
        Just(("b", ColumnKind::Float)).boxed(),
        Just(("c", ColumnKind::Text)).boxed(),
        prop_oneof![Just(("d", ColumnKind::Int)), Just(("d", ColumnKind::Float))].boxed(),
        prop_oneof![Just(("e", ColumnKind::Int)), Just(("e", ColumnKind::Text))].boxed(),
    ];
    (pool, prop::collection::vec(any::<bool>(), 5), 1usize..25)
        .prop_flat_map(|(columns, keep, rows)| {
            let mut kept: Vec<_> = columns
                .into_iter()
                .zip(keep)
                .filter_map(|(c, k)| k.then_some(c))
                .collect();
            if kept.is_empty() {
                kept.push(("a", ColumnKind::Int));
            }
            (Just(kept).prop_shuffle(), Just(rows))
        })
        .prop_map(|(columns, rows)| DriftFile { columns, rows })
}

fn drift_text(file: &DriftFile, seed: usize) -> String {
    let names: Vec<&str> = file.columns.iter().map(|(n, _)| *n).collect();
    let mut text = names.join(",") + "\n";
    for r in 0..file.rows {
        let k = (r * 7 + seed * 13) % 97;
        let row: Vec<String> = file
            .columns
            .iter()
            .map(|(_, kind)| match kind {
                ColumnKind::Int => format!("{}", k as i64 - 40),
                ColumnKind::Float => format!("{}.25", k),
                // Never a null spelling, never a number.
                ColumnKind::Text => format!("t{}x", k % 11),
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A glob of files with drifting columns reads as one table equal to
    /// polars' diagonal concat of the files with supertypes: the union of
    /// the columns, missing ones null, int + float → float, number + text
    /// → text — at every blocksize.
    #[test]
    fn drifting_csv_files_read_as_polars_diagonal_concat(
        files in prop::collection::vec(drift_file(), 2..5),
        blocksize in 8u64..300,
    ) {
        // Files with the same header are one group to inference (one
        // table, inferred together), as polars would not see them; keep
        // every header distinct so both read file by file.
        let mut headers: Vec<Vec<&str>> = files.iter().map(|f| f.columns.iter().map(|c| c.0).collect()).collect();
        headers.sort();
        headers.dedup();
        prop_assume!(headers.len() == files.len());
        let dir = tempfile::tempdir().unwrap();
        let mut frames = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let path = write(dir.path(), &format!("part{i}.csv"), drift_text(f, i).as_bytes());
            let df = CsvReadOptions::default()
                .with_infer_schema_length(None)
                .try_into_reader_with_file_path(Some(path.into()))
                .unwrap()
                .finish()
                .unwrap();
            frames.push(df.lazy());
        }
        let expected = concat_lf_diagonal(
            frames,
            UnionArgs { to_supertypes: true, diagonal: true, ..Default::default() },
        )
        .unwrap()
        .collect()
        .unwrap();
        let glob = dir.path().join("part*.csv").to_string_lossy().into_owned();
        for size in [blocksize, 1 << 20] {
            let ours = read_all(&glob, size).unwrap();
            assert_same(&ours, &expected);
        }
    }
}

/// Drift in Parquet files: the union of their footers' schemas, widened.
#[test]
fn drifting_parquet_files_read_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = df!("id" => [1i64, 2], "x" => [10i64, 20]).unwrap();
    let mut b = df!("y" => ["p", "q"], "id" => [3i64, 4], "x" => [0.5f64, 1.5]).unwrap();
    for (name, df) in [("a.parquet", &mut a), ("b.parquet", &mut b)] {
        let f = std::fs::File::create(dir.path().join(name)).unwrap();
        ParquetWriter::new(f).finish(df).unwrap();
    }
    let glob = dir.path().join("*.parquet").to_string_lossy().into_owned();
    let ours = read_all(&glob, 1 << 20).unwrap();
    let expected = df!(
        "id" => [1i64, 2, 3, 4],
        "x" => [10.0f64, 20.0, 0.5, 1.5],
        "y" => [None, None, Some("p"), Some("q")],
    )
    .unwrap();
    assert_same(&ours, &expected);
    let source = Source::open(SourceSpec::new(glob.as_str())).unwrap();
    let report = source.drift_report();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report[0].1.contains("lacks y"), "{report:?}");
    assert!(
        report[0].1.contains("x is i64 here (read as f64)"),
        "{report:?}"
    );
    assert!(report[1].1.contains("other column order"), "{report:?}");
}

/// What one generated NDJSON value is, and how it is written.
#[derive(Debug, Clone)]
enum Cell {
    Number(i64),
    Token(&'static str),
    Null,
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        6 => (-500i64..500).prop_map(Cell::Number),
        2 => prop::sample::select(vec!["NA", "N/A", "NULL", "-", "nan"]).prop_map(Cell::Token),
        1 => Just(Cell::Null),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// NDJSON string values: numbers written beside null spellings read as
    /// numbers with those spellings null, ISO dates and datetimes (with a
    /// zone or not) as temporal columns — in every partition, at every
    /// blocksize, equal to the values the file was generated from.
    #[test]
    fn ndjson_null_tokens_and_dates_in_every_partition(
        cells in prop::collection::vec((cell(), 0i64..20_000, 0i64..86_400, any::<bool>()), 2..60),
        blocksize in 16u64..400,
    ) {
        // The rule needs a number and a spelling in the sample.
        prop_assume!(cells.iter().any(|c| matches!(c.0, Cell::Number(_))));
        prop_assume!(cells.iter().any(|c| matches!(c.0, Cell::Token(_))));
        let mut text = String::new();
        let (mut xs, mut days, mut instants) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (x, day, second, zoned)) in cells.iter().enumerate() {
            let x_json = match x {
                // Numbers as JSON numbers and as strings, both.
                Cell::Number(v) if i % 2 == 0 => v.to_string(),
                Cell::Number(v) => format!("\"{v}\""),
                Cell::Token(t) => format!("\"{t}\""),
                Cell::Null => "null".into(),
            };
            xs.push(match x { Cell::Number(v) => Some(*v), _ => None });
            let (y, m, d) = civil(*day);
            days.push(Some(*day as i32));
            let (h, mi, s) = (second / 3600, second / 60 % 60, second % 60);
            // The zone (+01:00) moves the instant back an hour.
            let zone = if *zoned { "+01:00" } else { "Z" };
            let sep = if i % 3 == 0 { 'T' } else { ' ' };
            instants.push(Some((day * 86_400 + second - if *zoned { 3600 } else { 0 }) * 1_000_000));
            text.push_str(&format!(
                "{{\"id\":{i},\"x\":{x_json},\"day\":\"{y:04}-{m:02}-{d:02}\",\"at\":\"{y:04}-{m:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{zone}\"}}\n"
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.ndjson", text.as_bytes());
        let expected = DataFrame::new_infer_height(vec![
            Column::new("id".into(), (0..cells.len() as i64).collect::<Vec<_>>()),
            Column::new("x".into(), xs),
            Int32Chunked::from_iter(days).into_date().into_series().with_name("day".into()).into_column(),
            Int64Chunked::from_iter(instants)
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_series()
                .with_name("at".into())
                .into_column(),
        ])
        .unwrap();
        for size in [blocksize, 1 << 20] {
            let ours = read_all(&path, size).unwrap();
            assert_same(&ours, &expected);
        }
    }
}

/// Year, month, day of a day count since 1970-01-01 (the inverse of the
/// conversion under test, written independently).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A key held by one record in 2,000, where no sample sees it, is not lost:
/// reading every column fails naming the key, its line and the fix, and
/// the fix (a dtype for the key) reads its values.
#[test]
fn a_rare_ndjson_key_is_named_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let n = 400_000;
    let rare_at = 123_457; // between the head and the spot samples
    for i in 0..n {
        if i % 2000 == 0 && i > 110_000 && i < 140_000 {
            text.push_str(&format!(
                "{{\"id\":{i},\"v\":{},\"rare\":\"r{i}\"}}\n",
                i % 13
            ));
        } else if i == rare_at {
            text.push_str(&format!("{{\"id\":{i},\"v\":1,\"rare\":\"here\"}}\n"));
        } else {
            text.push_str(&format!("{{\"id\":{i},\"v\":{}}}\n", i % 13));
        }
    }
    let path = write(dir.path(), "rare.ndjson", text.as_bytes());
    let source = Source::open(SourceSpec::new(path.as_str())).unwrap();
    assert!(!source.schema.contains("rare"), "a sample saw the key");
    let err = read_all(&path, 1 << 20).unwrap_err().to_string();
    assert!(
        err.contains("`rare`") && err.contains("line 112001") && err.contains("--dtype 'rare=str'"),
        "{err}"
    );
    let mut spec = SourceSpec::new(path.as_str());
    spec.dtypes.insert("rare".into(), "str".into());
    spec.blocksize = 1 << 20;
    let source = Source::open(spec).unwrap();
    let mut rare = 0;
    for p in &source.partitions {
        let df = source.read_partition(p.index).unwrap();
        rare += df.column("rare").unwrap().len() - df.column("rare").unwrap().null_count();
    }
    assert_eq!(rare, 15);
}

fn quarry(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .output()
        .expect("run quarry")
}

fn nested_fixture() -> String {
    format!(
        "{}/tests/fixtures/fidelity/nested.ndjson",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Nested NDJSON (objects and arrays) written back as NDJSON is the same
/// text, and as Parquet the same nested table; CSV holds each nested value
/// as its JSON text.
#[test]
fn nested_values_round_trip_through_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = nested_fixture();
    let recipe = write(
        dir.path(),
        "r.toml",
        format!("[source]\npath = {input:?}\n").as_bytes(),
    );
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for name in ["o.ndjson", "o.parquet", "o.csv"] {
        let o = quarry(&["run", &recipe, "-o", &out(name)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(
        std::fs::read_to_string(out("o.ndjson")).unwrap(),
        std::fs::read_to_string(&input).unwrap()
    );
    let original = JsonReader::new(std::fs::File::open(&input).unwrap())
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .unwrap();
    let parquet = ParquetReader::new(std::fs::File::open(out("o.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_same(&parquet, &original);
    let csv = std::fs::read_to_string(out("o.csv")).unwrap();
    assert!(
        csv.contains(r#"1,"{""count"":3,""name"":""a""}","[""x"",""y""]","#),
        "{csv}"
    );
}

/// Struct fields are reachable in expressions; unnest makes them columns
/// named after the struct (or a chosen prefix); json_decode turns JSON text
/// into typed columns the same way.
#[test]
fn nested_fields_unnest_and_json_decode() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = format!(
        r#"[source]
path = {:?}
[[steps]]
op = "filter"
expr = "stripe.count > 3 OR stripe.count IS NULL"
[[steps]]
op = "unnest"
column = "stripe"
prefix = "s_"
[[steps]]
op = "json_decode"
column = "meta"
fields = {{ score = "f64", ok = "bool", who = "str", extra = "str" }}
"#,
        nested_fixture()
    );
    let path = write(dir.path(), "r.toml", recipe.as_bytes());
    let out = dir.path().join("o.parquet").to_string_lossy().into_owned();
    let o = quarry(&["run", &path, "-o", &out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    let names: Vec<&str> = got.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "s_count",
            "s_name",
            "tags",
            "meta_score",
            "meta_ok",
            "meta_who",
            "meta_extra"
        ]
    );
    assert_eq!(
        got.column("id").unwrap().i64().unwrap().to_vec(),
        [Some(2), Some(3), Some(4)]
    );
    assert_eq!(
        got.column("meta_score").unwrap().f64().unwrap().to_vec(),
        [Some(2.0), None, Some(-1.0)]
    );
    assert_eq!(
        got.column("meta_extra").unwrap().str().unwrap().get(2),
        Some(r#"{"k":1}"#)
    );
    // A field whose values do not fit its type fails with the value and the fix.
    let bad = recipe.replace(r#"who = "str""#, r#"who = "i64""#);
    let path = write(dir.path(), "bad.toml", bad.as_bytes());
    let o = quarry(&["run", &path]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("`who`") && err.contains("str"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// CSV, every rule at once at random placements: zero-padded codes
    /// stay text, numbers beside null spellings are numbers with those
    /// spellings null, ISO dates are dates — in every partition at every
    /// blocksize, equal to the values generated.
    #[test]
    fn csv_rules_hold_in_every_partition(
        rows in prop::collection::vec(
            (0u32..100_000, any::<bool>(), cell(), 0i64..30_000),
            1..80,
        ),
        blocksize in 8u64..400,
    ) {
        let padded_any = rows.iter().any(|r| r.1);
        let mut text = String::from("code,amount,day\n");
        let (mut codes, mut code_texts, mut amounts, mut amount_texts, mut days) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (code, padded, amount, day) in &rows {
            let code_text = if *padded { format!("{code:07}") } else { code.to_string() };
            let amount_text = match amount {
                Cell::Number(v) => v.to_string(),
                Cell::Token(t) => t.to_string(),
                Cell::Null => String::new(),
            };
            let (y, m, d) = civil(*day);
            text.push_str(&format!("{code_text},{amount_text},{y:04}-{m:02}-{d:02}\n"));
            codes.push(Some(i64::from(*code)));
            code_texts.push(Some(code_text));
            amounts.push(match amount { Cell::Number(v) => Some(*v), _ => None });
            amount_texts.push((!amount_text.is_empty()).then_some(amount_text));
            days.push(Some(*day as i32));
        }
        let code = if padded_any {
            Column::new("code".into(), code_texts)
        } else {
            Column::new("code".into(), codes)
        };
        // Numbers (with or without null spellings and empty fields) make a
        // number column; spellings or empty fields alone stay text.
        let amount = if amounts.iter().any(Option::is_some) {
            Column::new("amount".into(), amounts)
        } else {
            Column::new("amount".into(), amount_texts)
        };
        let expected = DataFrame::new_infer_height(vec![
            code,
            amount,
            Int32Chunked::from_iter(days).into_date().into_series().with_name("day".into()).into_column(),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", text.as_bytes());
        for size in [blocksize, 1 << 20] {
            let ours = read_all(&path, size).unwrap();
            assert_same(&ours, &expected);
        }
    }
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/fidelity/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The fixtures, read as a user reads them: `quarry schema` says what
/// each column is and why, and `quarry head` shows the values.
#[test]
fn fixtures_read_as_their_authors_meant() {
    let schema = |path: &str| {
        let o = quarry(&["schema", path]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let dtypes = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.contains("column"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.split_whitespace().nth(2).unwrap_or_default().to_string())
            .collect()
    };
    // Drift: three years of files, one table.
    let drift = schema(&fixture("drift/*.csv"));
    assert_eq!(dtypes(&drift), ["i64", "f64", "str", "str"], "{drift}");
    assert!(drift.contains("files that differ: 3 of 3"), "{drift}");
    assert!(drift.contains("2025.csv: lacks city, note"), "{drift}");
    assert!(
        drift.contains("amount is i64 here (read as f64)"),
        "{drift}"
    );
    let o = quarry(&["head", &fixture("drift/*.csv")]);
    let head = String::from_utf8_lossy(&o.stdout);
    assert!(head.contains("Tromsø") && head.contains("30.5"), "{head}");
    // Dates with and without a zone.
    let iso = schema(&fixture("iso_dates.csv"));
    assert_eq!(dtypes(&iso), ["datetime[UTC]", "datetime", "date"], "{iso}");
    // NDJSON: null spellings and dates in string values.
    let nd = schema(&fixture("r_na.ndjson"));
    assert_eq!(dtypes(&nd), ["str", "f64", "datetime[UTC]", "date"], "{nd}");
    assert!(nd.contains("null tokens: NA ×1"), "{nd}");
    // Other date layouts: offered, not guessed.
    let layouts = schema(&fixture("date_layouts.csv"));
    assert_eq!(dtypes(&layouts), ["str", "str", "i64"], "{layouts}");
    for label in ["MM/DD/YYYY", "DD.MM.YYYY", "YYYYMMDD"] {
        assert!(
            layouts.contains(&format!("dates written {label}")),
            "{layouts}"
        );
    }
}

/// `--null` replaces the usual spellings in NDJSON too, in number and text
/// columns alike.
#[test]
fn user_null_values_apply_to_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "u.ndjson",
        b"{\"a\":\"5\",\"b\":\"x\"}\n{\"a\":\"missing\",\"b\":\"missing\"}\n{\"a\":\"NA\",\"b\":\"y\"}\n",
    );
    let o = quarry(&["head", "--null", "missing", "--format", "csv", &path]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // NA is not null when --null names the spellings: `a` stays text.
    assert_eq!(String::from_utf8_lossy(&o.stdout), "a,b\n5,x\n,\nNA,y\n");
    let o = quarry(&[
        "head", "--null", "missing", "--null", "NA", "--format", "csv", &path,
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "a,b\n5,x\n,\n,y\n");
    let o = quarry(&["schema", "--null", "missing", "--null", "NA", &path]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("a       i64"));
}
