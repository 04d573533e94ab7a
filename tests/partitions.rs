//! The partition rule as a property: for any file and any blocksize, the
//! concatenation of all partitions equals a single-shot read of the file,
//! row for row and dtype for dtype.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use proptest::prelude::*;
use quarry::engine::input::records::Grammar;
use quarry::engine::input::storage::local::LocalStorage;
use quarry::engine::input::storage::memory::MemoryStorage;
use quarry::engine::input::storage::Storage;
use quarry::engine::{RecordSeparator, Source, SourceSpec};

fn read_all(spec: SourceSpec) -> quarry::engine::Result<DataFrame> {
    read_all_in(&LocalStorage, spec)
}

/// Every partition read through `storage`, concatenated.
fn read_all_in(storage: &dyn Storage, spec: SourceSpec) -> quarry::engine::Result<DataFrame> {
    let source = Source::open_in(storage, spec)?;
    let mut out = DataFrame::empty_with_schema(&source.schema);
    for p in &source.partitions {
        let df = source.read_partition(p.index)?;
        out.vstack_mut(&df)?;
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

fn polars_csv(path: &str) -> PolarsResult<DataFrame> {
    CsvReadOptions::default()
        .with_infer_schema_length(None)
        .try_into_reader_with_file_path(Some(path.into()))?
        .finish()
}

/// polars reading a whole NDJSON file, every record inferred.
fn polars_ndjson(path: &str) -> DataFrame {
    JsonReader::new(std::fs::File::open(path).unwrap())
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish()
        .unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Float,
    Text,
}

fn field(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Int => prop_oneof![
            9 => (-100_000i64..100_000).prop_map(|v| v.to_string()),
            1 => Just(String::new()),
        ]
        .boxed(),
        Kind::Float => prop_oneof![
            9 => (-1e6f64..1e6).prop_map(|v| format!("{v:?}")),
            1 => Just(String::new()),
        ]
        .boxed(),
        Kind::Text => prop_oneof![
            // Plain words, including multi-byte characters.
            4 => "[a-zA-Z é日本語🦀]{1,12}",
            // Quoted with delimiters, newlines and escaped quotes inside.
            3 => "[a-z,\n\r\"é日🦀 ]{0,16}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
            1 => Just(String::new()),
        ]
        .boxed(),
    }
}

fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let kinds = prop::collection::vec(
        prop_oneof![Just(Kind::Int), Just(Kind::Float), Just(Kind::Text)],
        1..5,
    );
    (kinds, any::<bool>(), any::<bool>(), 0usize..40)
        .prop_flat_map(|(kinds, crlf, final_newline, nrows)| {
            let row = kinds.iter().map(|&k| field(k)).collect::<Vec<_>>();
            let rows = prop::collection::vec(row, nrows);
            (Just(kinds), rows, Just(crlf), Just(final_newline))
        })
        .prop_map(|(kinds, rows, crlf, final_newline)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let header: Vec<String> = (0..kinds.len()).map(|i| format!("c{i}")).collect();
            let mut lines = vec![header.join(",")];
            for r in rows {
                // A row of one empty field would be a blank line, which CSV
                // readers skip; give it a value so the row count is well defined.
                if r.len() == 1 && r[0].is_empty() {
                    lines.push("\"\"".to_string());
                } else {
                    lines.push(r.join(","));
                }
            }
            let mut text = lines.join(eol);
            if final_newline {
                text.push_str(eol);
            }
            text.into_bytes()
        })
}

fn assert_same(ours: &DataFrame, theirs: &DataFrame) {
    assert_eq!(ours.schema(), theirs.schema(), "dtypes differ");
    assert_eq!(ours.height(), theirs.height(), "row counts differ");
    assert!(
        ours.equals_missing(theirs),
        "rows differ:\nours {ours}\ntheirs {theirs}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn csv_partitions_union_equals_single_shot(
        bytes in csv_file(),
        blocksizes in prop::collection::vec(1u64..200, 3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", &bytes);
        let expected = polars_csv(&path);
        let mut sizes = blocksizes;
        sizes.push(bytes.len() as u64 + 7);
        // The same bytes behind the second storage backend read the same.
        let mut memory = MemoryStorage::new();
        memory.insert(path.clone(), bytes.clone());
        for bs in sizes {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = bs;
            let ours = read_all(spec.clone());
            match (&ours, &expected) {
                (Ok(o), Ok(t)) => assert_same(o, t),
                (Err(_), Err(_)) => {}
                (o, t) => panic!("blocksize {bs}: ours {o:?}, polars {t:?}"),
            }
            match (&ours, read_all_in(&memory, spec)) {
                (Ok(o), Ok(m)) => assert_same(o, &m),
                (Err(o), Err(m)) => prop_assert_eq!(o.to_string(), m.to_string()),
                (o, m) => panic!("blocksize {bs}: local {o:?}, memory {m:?}"),
            }
        }
    }

    #[test]
    fn text_partitions_union_equals_single_shot(
        records in prop::collection::vec("[a-z é日🦀\n\r]{0,30}", 0..30),
        sep in prop_oneof![
            Just("line".to_string()),
            Just("blank".to_string()),
            Just("</r>".to_string()),
            Just("--".to_string()),
        ],
        blocksizes in prop::collection::vec(1u64..120, 3),
    ) {
        let joiner = match sep.as_str() {
            "line" => "\n",
            "blank" => "\n\n",
            other => other,
        };
        let content = records.join(joiner).into_bytes();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.txt", &content);
        let rs = RecordSeparator::parse(&sep).unwrap();
        let grammar = match &rs {
            RecordSeparator::Line => Grammar::Lines,
            RecordSeparator::Blank => Grammar::Blank,
            RecordSeparator::Custom(s) => Grammar::Separator(s.clone()),
        };
        let expected: Vec<String> = grammar
            .records(&content)
            .into_iter()
            .map(|(s, e)| String::from_utf8(content[s..e].to_vec()).unwrap())
            .collect();
        for bs in blocksizes {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = bs;
            spec.record_separator = rs.clone();
            let ours = match read_all(spec) {
                Ok(df) => df,
                Err(quarry::engine::QuarryError::EmptyFile { .. }) if content.is_empty() => continue,
                Err(e) => panic!("blocksize {bs}: {e}"),
            };
            let got: Vec<String> = ours
                .column("text")
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect();
            prop_assert_eq!(&got, &expected, "blocksize {}", bs);
        }
    }

    #[test]
    fn ndjson_partitions_union_equals_single_shot(
        rows in prop::collection::vec((any::<i32>(), "[a-z é\"\\\\]{0,10}", any::<bool>()), 1..40),
        blocksizes in prop::collection::vec(1u64..150, 3),
    ) {
        let mut content = String::new();
        for (a, b, flag) in &rows {
            let v = serde_json::json!({"a": a, "b": b, "flag": flag});
            content.push_str(&v.to_string());
            content.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.ndjson", content.as_bytes());
        let expected = polars_ndjson(&path);
        for bs in blocksizes {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = bs;
            let ours = read_all(spec).unwrap();
            assert_same(&ours, &expected);
        }
    }
}

#[test]
fn csv_edge_cases_union_equals_single_shot() {
    let huge = "x".repeat(300_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("header only", b"a,b,c\n".to_vec()),
        ("header only, no newline", b"a,b,c".to_vec()),
        ("no final newline", b"a,b\n1,2\n3,4".to_vec()),
        ("crlf", b"a,b\r\n1,\"x\r\ny\"\r\n3,z\r\n".to_vec()),
        (
            "quoted newlines and quotes",
            b"a,b\n1,\"he said \"\"hi\"\"\nbye\"\n2,\"\"\"\"\n".to_vec(),
        ),
        (
            "a single huge line",
            format!("a,b\n1,{huge}\n2,y\n").into_bytes(),
        ),
        (
            "multi-byte across cuts",
            "a,b\n1,日本語日本語\n2,🦀🦀🦀\n".as_bytes().to_vec(),
        ),
        ("utf-8 bom", b"\xEF\xBB\xBFa,b\n1,2\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", &bytes);
        let expected = polars_csv(&path).unwrap();
        for bs in [1, 2, 3, 5, 8, 13, 64, 4096, 1 << 20] {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = bs;
            let ours = read_all(spec).unwrap_or_else(|e| panic!("{name}, blocksize {bs}: {e}"));
            assert_eq!(ours.schema(), expected.schema(), "{name}, blocksize {bs}");
            assert!(
                ours.equals_missing(&expected),
                "{name}, blocksize {bs}:\n{ours}\n{expected}"
            );
        }
    }
}

/// A repeatable stream of pseudo-random numbers from `seed`.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Megabytes of CSV, so partitions are read in several chunks and records
/// (quoted newlines and delimiters among them) straddle chunk and block
/// edges: the union still equals polars reading the file in one go.
#[test]
fn large_csv_read_in_chunks_equals_single_shot() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let mut text = String::from("id,name,score,note\n");
    for i in 0..120_000u64 {
        let r = next();
        let name = match r % 5 {
            0 => "\"Smith, John\"".to_string(),
            1 => "\"two\nlines\"".to_string(),
            2 => "\"say \"\"hi\"\"\"".to_string(),
            3 => String::new(),
            _ => format!("name{}", r % 977),
        };
        let score = if r.is_multiple_of(11) {
            String::new()
        } else {
            format!("{}.{}", (r >> 8) % 1000, (r >> 20) % 100)
        };
        let note = "n".repeat((r >> 32) as usize % 40);
        text.push_str(&format!("{i},{name},{score},{note}\n"));
    }
    assert!(text.len() > 4 << 20, "{} bytes", text.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.csv", text.as_bytes());
    let expected = polars_csv(&path).unwrap();
    for bs in [1 << 20, 3 << 19, 64 << 20] {
        let mut spec = SourceSpec::new(path.clone());
        spec.blocksize = bs;
        let ours = read_all(spec).unwrap();
        assert_same(&ours, &expected);
    }
}

#[test]
fn empty_csv_is_an_error_for_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "t.csv", b"");
    assert!(polars_csv(&path).is_err());
    let err = Source::open(SourceSpec::new(path)).unwrap_err();
    assert!(err.to_string().contains("is empty"), "{err}");
}

/// A directory of CSV, gzipped CSV and Parquet files read through the
/// in-memory storage equals the same files read from disk: nothing above
/// the byte-access traits reads files directly.
#[test]
fn every_format_reads_the_same_through_another_storage_backend() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,name,score\n");
    for i in 0..3000 {
        csv.push_str(&format!("{i},\"n, {}\",{}.5\n", i % 17, i % 101));
    }
    let mut gz = Vec::new();
    {
        let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        enc.write_all(csv.as_bytes()).unwrap();
        enc.finish().unwrap();
    }
    let mut frame = CsvReadOptions::default()
        .into_reader_with_file_handle(std::io::Cursor::new(csv.as_bytes().to_vec()))
        .finish()
        .unwrap();
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet)
        .with_row_group_size(Some(500))
        .finish(&mut frame)
        .unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("a.csv", csv.clone().into_bytes()),
        ("b.csv.gz", gz),
        ("c.parquet", parquet),
    ];
    let mut memory = MemoryStorage::new();
    for (name, bytes) in &cases {
        let path = write(dir.path(), name, bytes);
        memory.insert(path, bytes.clone());
    }
    for (name, _) in &cases {
        let path = dir.path().join(name).to_string_lossy().into_owned();
        for blocksize in [4096, 50_000, 1 << 20] {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = blocksize;
            let local = read_all(spec.clone()).unwrap();
            let mem = read_all_in(&memory, spec).unwrap();
            assert_eq!(local.height(), 3000, "{name}");
            assert_same(&local, &mem);
        }
    }
    // A glob over the store lists its objects like files on disk.
    let pattern = dir.path().join("*.csv").to_string_lossy().into_owned();
    let source = Source::open_in(&memory, SourceSpec::new(pattern)).unwrap();
    assert_eq!(source.files.len(), 1);
}

/// ISO-8601 dates and datetimes (with `T` or a space, with or without
/// fractional seconds) are read as `date` / `datetime`, in every partition
/// alike; other layouts, and columns mixing in anything else, stay text.
#[test]
fn iso_dates_and_datetimes_are_read_as_temporal_columns_in_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,day,at,us_day,mixed\n");
    for i in 0..3000u32 {
        let day = format!("20{:02}-{:02}-{:02}", 10 + i % 15, 1 + i % 12, 1 + i % 28);
        let sep = if i % 2 == 0 { 'T' } else { ' ' };
        let at = format!(
            "{day}{sep}{:02}:{:02}:{:02}.{:03}",
            i % 24,
            i % 60,
            (i * 7) % 60,
            i % 1000
        );
        let us = format!("{:02}/{:02}/20{:02}", 1 + i % 12, 1 + i % 28, 10 + i % 15);
        let mixed = if i == 2500 {
            "soon".to_string()
        } else {
            day.clone()
        };
        text.push_str(&format!("{i},{day},{at},{us},{mixed}\n"));
    }
    let path = write(dir.path(), "dates.csv", text.as_bytes());
    let expected = CsvReadOptions::default()
        .with_schema_overwrite(Some(std::sync::Arc::new(Schema::from_iter([
            Field::new("day".into(), DataType::Date),
            Field::new(
                "at".into(),
                DataType::Datetime(TimeUnit::Microseconds, None),
            ),
        ]))))
        .try_into_reader_with_file_path(Some(path.clone().into()))
        .unwrap()
        .finish()
        .unwrap();
    for blocksize in [2048, 20_000, 1 << 20] {
        let mut spec = SourceSpec::new(path.clone());
        spec.blocksize = blocksize;
        let ours = read_all(spec).unwrap();
        assert_eq!(ours.column("day").unwrap().dtype(), &DataType::Date);
        assert_eq!(
            ours.column("at").unwrap().dtype(),
            &DataType::Datetime(TimeUnit::Microseconds, None)
        );
        assert_eq!(ours.column("us_day").unwrap().dtype(), &DataType::String);
        assert_eq!(ours.column("mixed").unwrap().dtype(), &DataType::String);
        assert_same(&ours, &expected);
    }
}

/// In a file larger than the sample, the spots spread through it decide
/// too: a non-date value that only a spot sees keeps the column text.
#[test]
fn a_late_non_date_value_seen_by_a_spot_keeps_the_column_text() {
    let dir = tempfile::tempdir().unwrap();
    for (name, late) in [("plain.csv", None), ("late.csv", Some("unknown"))] {
        let mut text = String::from("id,day\n");
        let n = 200_000u32;
        for i in 0..n {
            let day = match late {
                Some(v) if i > n / 2 && i % 101 == 0 => v.to_string(),
                _ => format!("2020-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            };
            text.push_str(&format!("{i},{day}\n"));
        }
        let path = write(dir.path(), name, text.as_bytes());
        let source = Source::open(SourceSpec::new(path)).unwrap();
        let want = if late.is_some() {
            DataType::String
        } else {
            DataType::Date
        };
        assert_eq!(source.schema.get("day"), Some(&want), "{name}");
        let last = source.read_partition(source.partitions.len() - 1).unwrap();
        assert_eq!(last.column("day").unwrap().dtype(), &want, "{name}");
    }
}

/// Null spellings placed anywhere in numeric columns read as null in every
/// partition at every blocksize, equal to polars told those spellings; a
/// value that is neither a number nor a null spelling, where no sample
/// sees it, fails with the column, the value and the fix.
#[test]
fn null_tokens_read_as_null_in_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=4u64 {
        let mut rng = seed;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 33
        };
        let mut text = String::from("id,x,y,name\n");
        for i in 0..4000 {
            let x = match next() % 9 {
                0 => "NA".to_string(),
                1 => "N/A".to_string(),
                _ => format!("{}", next() % 1000),
            };
            let y = match next() % 7 {
                0 => "-".to_string(),
                _ => format!("{}.5", next() % 100),
            };
            text.push_str(&format!("{i},{x},{y},n{}\n", next() % 50));
        }
        let path = write(dir.path(), &format!("na{seed}.csv"), text.as_bytes());
        let expected = CsvReadOptions::default()
            .with_schema_overwrite(Some(std::sync::Arc::new(Schema::from_iter([
                Field::new("x".into(), DataType::Int64),
                Field::new("y".into(), DataType::Float64),
            ]))))
            .map_parse_options(|o| {
                o.with_null_values(Some(NullValues::AllColumns(vec![
                    "NA".into(),
                    "N/A".into(),
                    "-".into(),
                ])))
            })
            .try_into_reader_with_file_path(Some(path.clone().into()))
            .unwrap()
            .finish()
            .unwrap();
        for blocksize in [1500, 16_000, 1 << 20] {
            let mut spec = SourceSpec::new(path.clone());
            spec.blocksize = blocksize;
            let ours = read_all(spec).unwrap();
            assert_same(&ours, &expected);
        }
    }
    // `oops` 40 % into a 3 MB file: between the head and spot samples.
    let mut text = String::from("id,x\n");
    let n = 300_000;
    for i in 0..n {
        let x = match i {
            _ if i % 10 == 3 => "NA".to_string(),
            _ if i == n * 2 / 5 => "oops".to_string(),
            _ => (i % 977).to_string(),
        };
        text.push_str(&format!("{i},{x}\n"));
    }
    let path = write(dir.path(), "late.csv", text.as_bytes());
    let mut spec = SourceSpec::new(path);
    spec.blocksize = 256 * 1024;
    let err = read_all(spec).unwrap_err().to_string();
    assert!(
        err.contains("`x`") && err.contains("\"oops\"") && err.contains("--dtype x=str"),
        "{err}"
    );
}

/// The Parquet head reads only the leading rows of each row-group run it
/// needs: equal to the file's first rows for every count, across row
/// groups and partitions.
#[test]
fn parquet_head_reads_the_leading_rows_of_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5_000i64;
    let mut df = df!(
        "a" => (0..n).collect::<Vec<_>>(),
        "b" => (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>()
    )
    .unwrap();
    let path = dir.path().join("t.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .with_row_group_size(Some(700))
        .finish(&mut df)
        .unwrap();
    for blocksize in [1u64, 20_000, 1 << 30] {
        let mut spec = SourceSpec::new(path.to_str().unwrap());
        spec.blocksize = blocksize;
        let source = std::sync::Arc::new(Source::open(spec).unwrap());
        let previewer = quarry::engine::Previewer::new(source);
        for rows in [1usize, 20, 699, 700, 701, 2_100, 4_999, 5_000, 6_000] {
            let head = previewer.head(rows).unwrap();
            assert_same(&head, &df.head(Some(rows)));
        }
    }
}

/// One generated NDJSON value for the fast reader's property test: flat
/// values of every type it builds (`kind` 0 int, 1 float, 2 text, 3 bool),
/// and, with `any`, the ones it must hand to polars.
fn json_value(kind: usize, any: bool) -> BoxedStrategy<String> {
    let int = (-1_000_000i64..1_000_000)
        .prop_map(|v| v.to_string())
        .boxed();
    let float = prop_oneof![
        (-1e6f64..1e6).prop_map(|v| format!("{v:?}")),
        prop::sample::select(vec![
            "1e3",
            "-0",
            "2.50E-3",
            "0.1",
            "7",
            "123456789012345678"
        ])
        .prop_map(String::from),
    ]
    .boxed();
    let text = prop_oneof![
        3 => "[a-z é日\"\\\\/\n\t]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => prop::sample::select(vec![r#""\u00e9\u0041""#, r#""a\/b""#, r#""\ud83e\udd80""#])
            .prop_map(String::from),
    ]
    .boxed();
    let boolean = prop::sample::select(vec!["true", "false"])
        .prop_map(String::from)
        .boxed();
    let odd = prop::sample::select(vec![r#"{"n":[1,{"x":"}"}]}"#, "[1, 2]"])
        .prop_map(String::from)
        .boxed();
    let own = match kind {
        0 => int,
        1 => float,
        2 => text,
        _ => boolean,
    };
    if any {
        prop_oneof![6 => own, 1 => Just("null".to_string()), 1 => odd, 1 => (-9i64..9).prop_map(|v| format!("{v}.5"))].boxed()
    } else {
        prop_oneof![6 => own, 1 => Just("null".to_string())].boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The NDJSON fast reader gives exactly what polars' reader gives for
    /// the same schema and columns — or declines — on random records
    /// (keys in any order, missing keys, unread keys holding anything,
    /// blank lines, spaces); records clean for their schema half the time.
    #[test]
    fn ndjson_fast_reader_equals_polars(
        (dtypes, records) in prop::collection::vec(0usize..4, 4).prop_flat_map(|dtypes| {
            let d = dtypes.clone();
            let record = prop::collection::vec(
                (0usize..4, any::<bool>(), prop::bool::weighted(0.02)).prop_flat_map(move |(k, space, dirty)| {
                    // Key `d` is never wanted: it may hold anything.
                    (Just(k), json_value(d[k], dirty || k == 3), Just(space))
                }),
                0..5,
            );
            (Just(dtypes), prop::collection::vec(record, 1..30))
        }),
        wanted in prop::collection::vec(0usize..3, 1..3),
        piece in 1usize..48,
    ) {
        let keys = ["a", "b", "c", "d"];
        let mut text = String::new();
        for fields in &records {
            // Each key once per record (a key written twice is declined).
            let mut used = [false; 4];
            let parts: Vec<String> = fields
                .iter()
                .filter(|(k, _, _)| !std::mem::replace(&mut used[*k], true))
                .map(|(k, v, space)| if *space { format!(" \"{}\" : {v} ", keys[*k]) } else { format!("\"{}\":{v}", keys[*k]) })
                .collect();
            text.push_str(&format!("{{{}}}\n", parts.join(",")));
            if fields.len() == 1 {
                text.push_str("  \n");
            }
        }
        let types = [DataType::Int64, DataType::Float64, DataType::String, DataType::Boolean];
        let mut schema = Schema::default();
        for w in &wanted {
            schema.with_column(keys[*w].into(), types[dtypes[*w]].clone());
        }
        let ours = quarry::engine::input::fast_ndjson::try_parse(text.as_bytes(), &schema);
        let theirs = polars::io::ndjson::core::parse_ndjson(text.as_bytes(), None, &schema, false);
        // The same bytes arriving `piece` at a time: lines cut anywhere,
        // even inside a character, read the same (or decline the same).
        let chunked = parse_in_pieces(text.as_bytes(), piece, &schema);
        prop_assert_eq!(chunked.is_some(), ours.is_some());
        if let (Some(chunked), Some(ours)) = (&chunked, &ours) {
            assert_same(chunked, ours);
        }
        if let Some(ours) = ours {
            let theirs = theirs.expect("polars reads what the fast reader reads");
            assert_same(&ours, &theirs);
        }
    }
}

/// `bytes` parsed by the fast NDJSON reader as they arrive `piece` bytes
/// at a time.
fn parse_in_pieces(bytes: &[u8], piece: usize, schema: &Schema) -> Option<DataFrame> {
    let mut at = 0;
    let read_more = |buf: &mut Vec<u8>| -> Result<bool, ()> {
        let next = (at + piece).min(bytes.len());
        buf.extend_from_slice(&bytes[at..next]);
        at = next;
        Ok(at == bytes.len())
    };
    quarry::engine::input::fast_ndjson::try_parse_chunks(read_more, bytes.len(), schema, |_| true)
        .unwrap()
}

/// Megabytes of NDJSON, so each partition is read in many chunks and
/// records (a line longer than a chunk among them) straddle chunk and
/// block edges: the union, whole or projected, equals polars reading the
/// file in one go.
#[test]
fn large_ndjson_read_in_chunks_equals_single_shot() {
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let mut text = String::new();
    for i in 0..100_000u64 {
        let r = next();
        let name = match r % 6 {
            0 => serde_json::json!("say \"hi\", {ok}: [x]"),
            1 => serde_json::json!("日本語🦀é"),
            2 => serde_json::Value::Null,
            3 if i == 31_000 => serde_json::json!("y".repeat(700_000)),
            _ => serde_json::json!(format!("name{}", r % 977)),
        };
        let score = if r.is_multiple_of(11) {
            serde_json::Value::Null
        } else {
            serde_json::json!(((r >> 8) % 100_000) as f64 / 8.0)
        };
        let record = if r.is_multiple_of(7) {
            serde_json::json!({"score": score, "id": i, "name": name})
        } else {
            serde_json::json!({"id": i, "name": name, "flag": r.is_multiple_of(3), "score": score})
        };
        text.push_str(&record.to_string());
        text.push('\n');
    }
    assert!(text.len() > 4 << 20, "{} bytes", text.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.ndjson", text.as_bytes());
    let theirs = polars_ndjson(&path)
        .select(["id", "name", "score", "flag"])
        .unwrap();
    let wanted = ["score".to_string(), "id".to_string()];
    for blocksize in [1u64 << 20, 64 << 20] {
        let mut spec = SourceSpec::new(path.clone());
        spec.blocksize = blocksize;
        let source = Source::open(spec).unwrap();
        let mut whole = DataFrame::empty();
        let mut projected = DataFrame::empty();
        for p in &source.partitions {
            whole
                .vstack_mut(&source.read_partition(p.index).unwrap())
                .unwrap();
            projected
                .vstack_mut(&source.read_columns(p.index, Some(&wanted)).unwrap())
                .unwrap();
        }
        assert_same(
            &whole.select(["id", "name", "score", "flag"]).unwrap(),
            &theirs,
        );
        assert_same(&projected, &theirs.select(["score", "id"]).unwrap());
    }
}

/// A malformed line, a value that does not convert and a key no sample
/// saw, each far past the first chunk of its partition (and between the
/// spots inference samples), are reported at their own lines.
#[test]
fn ndjson_errors_past_the_first_chunk_name_their_lines() {
    let mut good = String::new();
    for i in 0..40_000 {
        good.push_str(&format!(
            "{{\"id\":{i},\"day\":\"2024-01-02\",\"note\":\"n{i}\"}}\n"
        ));
    }
    let cases = [
        (
            "{\"id\":1,\"day\":\"2024-01-02\",\"note\":\"x\"y\"}\n",
            "line 15001",
        ),
        (
            "{\"id\":1,\"day\":\"tomorrow\",\"note\":\"x\"}\n",
            "line 15001",
        ),
        // Read whole (every column), a key no sampled record had.
        (
            "{\"id\":1,\"day\":\"2024-01-02\",\"rare\":2}\n",
            "line 15001 (partition 0 of 1) has the key `rare`",
        ),
    ];
    for (bad, expected) in cases {
        let mut text = good.clone();
        let at = text.match_indices('\n').nth(14_999).unwrap().0 + 1;
        text.insert_str(at, bad);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "e.ndjson", text.as_bytes());
        let mut spec = SourceSpec::new(path);
        spec.dtypes.insert("day".into(), "date".into());
        let source = Source::open(spec).unwrap();
        let wanted = ["day".to_string(), "note".to_string()];
        let read = if bad.contains("rare") {
            source.read_partition(0)
        } else {
            source.read_columns(0, Some(&wanted))
        };
        let err = read.expect_err(bad).to_string();
        assert!(err.contains(expected), "{bad}: {err}");
    }
}

/// The fast reader answers for the records it is built for (so the
/// property above compares something), and declines a nested value in a
/// wanted key, a float in an integer column and a number wanted as text.
#[test]
fn ndjson_fast_reader_answers_plain_records_and_declines_the_rest() {
    let schema = Schema::from_iter([
        Field::new("id".into(), DataType::Int64),
        Field::new("x".into(), DataType::Float64),
        Field::new("s".into(), DataType::String),
    ]);
    let plain = "{\"id\":1,\"skip\":{\"deep\":[1,2]},\"x\":2.5,\"s\":\"a\\\"b\"}\n\n{\"s\":null,\"id\":-2}\n";
    let ours = quarry::engine::input::fast_ndjson::try_parse(plain.as_bytes(), &schema)
        .expect("plain records are read");
    let theirs =
        polars::io::ndjson::core::parse_ndjson(plain.as_bytes(), None, &schema, false).unwrap();
    assert_same(&ours, &theirs);
    for declined in [
        "{\"id\":1,\"x\":{\"a\":1},\"s\":\"a\"}\n",
        "{\"id\":1.5,\"x\":1,\"s\":\"a\"}\n",
        "{\"id\":1,\"x\":1,\"s\":5}\n",
        "{\"id\":1,\"id\":2}\n",
        // Malformed where the job does not read: a stray quote in an
        // unread string, a misspelt literal, two records on one line, a
        // line end inside a string, an unclosed object.
        "{\"id\":1,\"skip\":\"x\"y\"z\",\"s\":\"a\"}\n",
        "{\"id\":1,\"skip\":tru}\n",
        "{\"id\":1}{\"id\":2}\n",
        "{\"id\":1,\"skip\":\"a\nb\"}\n",
        "{\"id\":1,\"skip\":[1,2}\n{\"id\":2}\n",
    ] {
        assert!(
            quarry::engine::input::fast_ndjson::try_parse(declined.as_bytes(), &schema).is_none(),
            "{declined}"
        );
    }
}

/// A row-by-row pipeline is previewed on the first partition's leading rows
/// when they hold enough results: the same rows as reading the partition
/// whole, without reading it. A rare match, an aggregate (which would see
/// only the leading rows) or a cast step read it whole.
#[test]
fn step_previews_come_from_the_leading_rows_when_they_hold_enough() {
    use quarry::engine::recipe::Step;
    use quarry::engine::steps::apply::JoinTables;
    use quarry::engine::Previewer;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("i,k,note\n");
    for i in 0..300_000 {
        text.push_str(&format!("{i},{},n{}\n", i % 7, i % 11));
    }
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, text).unwrap();
    let source =
        Arc::new(Source::open(SourceSpec::new(path.to_string_lossy().into_owned())).unwrap());
    assert_eq!(source.partitions.len(), 1);
    let joins = JoinTables::new();
    let whole = Previewer::new(Arc::clone(&source));
    whole.partition(0).unwrap();
    let filter = |e: &str| Step::Filter { expr: e.into() };
    let derive = |e: &str| {
        let mut columns = indexmap::IndexMap::new();
        columns.insert("d".to_string(), e.to_string());
        Step::WithColumns { columns }
    };
    for (steps, leading) in [
        (vec![filter("k = 3")], true),
        (
            vec![filter("k = 3 AND note = 'n5'"), derive("i * 2 + k")],
            true,
        ),
        (
            vec![
                Step::Select {
                    columns: vec!["note".into(), "i".into()],
                },
                filter("i >= 10"),
            ],
            true,
        ),
        (vec![filter("i > 299000")], false),
        (vec![filter("i > avg(i)")], false),
        (vec![derive("i - avg(i)")], false),
        (
            vec![Step::Cast {
                columns: [("k".to_string(), "str".to_string())].into_iter().collect(),
            }],
            false,
        ),
    ] {
        let fresh = Previewer::new(Arc::clone(&source));
        let ours = fresh.preview_steps(&steps, &joins, 200, None).unwrap();
        let theirs = whole.preview_steps(&steps, &joins, 200, None).unwrap();
        assert!(
            ours.frame.equals_missing(&theirs.frame),
            "{steps:?}\n{}\n{}",
            ours.frame,
            theirs.frame
        );
        assert!(!ours.partial);
        assert_eq!(!fresh.is_cached(0), leading, "{steps:?}");
    }
    // The leading rows are kept once read: an edited step previews on them
    // without reading the source again (here, bytes overwritten in place
    // after the first preview would show otherwise).
    let kept = Previewer::new(Arc::clone(&source));
    let first = kept
        .preview_steps(&[filter("k = 3")], &joins, 50, None)
        .unwrap();
    let garbage = vec![b'x'; std::fs::metadata(&path).unwrap().len() as usize];
    overwrite_in_place(&path, &garbage);
    let edited = kept
        .preview_steps(&[filter("k = 4")], &joins, 50, None)
        .unwrap();
    assert!(!kept.is_cached(0));
    assert_eq!(first.frame.height(), 50);
    let k = |df: &DataFrame| df.column("k").unwrap().i64().unwrap().get(0);
    assert_eq!((k(&first.frame), k(&edited.frame)), (Some(3), Some(4)));
    assert_eq!(
        edited.frame.column("i").unwrap().i64().unwrap().get(0),
        Some(4)
    );
}

/// The first screen reads the first step window with its rows when rows
/// are narrow (so the first step added decodes nothing again), and not when
/// they are wide (2,000 of them would be MiBs the screen does not show).
/// Bytes overwritten in place after the first screen show which happened.
#[test]
fn the_first_screen_keeps_the_step_window_only_for_narrow_rows() {
    use quarry::engine::recipe::Step;
    use quarry::engine::steps::apply::JoinTables;
    use quarry::engine::Previewer;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let joins = JoinTables::new();
    for (name, width, kept) in [("narrow.csv", 10, true), ("wide.csv", 4_000, false)] {
        let mut text = String::from("i,k,note\n");
        for i in 0..3_000 {
            text.push_str(&format!("{i},{},{}\n", i % 7, "n".repeat(width)));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let source =
            Arc::new(Source::open(SourceSpec::new(path.to_string_lossy().into_owned())).unwrap());
        let previewer = Previewer::new(Arc::clone(&source));
        assert_eq!(previewer.head(20).unwrap().height(), 20);
        let garbage = text.replace(|c: char| c.is_ascii_digit(), "x");
        overwrite_in_place(&path, garbage.as_bytes());
        let filter = [Step::Filter {
            expr: "k = 3".into(),
        }];
        let preview = previewer.preview_steps(&filter, &joins, 20, None);
        let read_kept_rows = preview.is_ok_and(|p| {
            p.frame.height() == 20 && p.frame.column("i").unwrap().i64().unwrap().get(0) == Some(3)
        });
        assert_eq!(read_kept_rows, kept, "{name}");
    }
}

/// Write `bytes` over the start of the file at `path`, the same inode (an
/// opened source would see them on its next read).
fn overwrite_in_place(path: &std::path::Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
        .unwrap();
}
