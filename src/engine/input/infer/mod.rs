//! Schema inference: what each column of a source holds, read as its
//! author meant (codes with leading zeros stay text, null spellings are
//! null, ISO dates are dates), with the reason for every choice a reader
//! would not expect. One rule a file; `sample` is what they all read.

mod csv;
pub mod date_layouts;
pub mod drift;
mod leading_zeros;
mod ndjson;
mod null_tokens;
mod sample;
mod temporal;

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::source::{FileDrift, Source};
use crate::engine::input::spec::{parse_dtype, Format};

pub use leading_zeros::has_leading_zero;
pub use null_tokens::NULL_TOKENS;

use csv::infer_csv_parts;
use leading_zeros::keep_leading_zeros;
use null_tokens::read_null_tokens;
use sample::sample;
use temporal::read_iso_dates;

/// Why a column was read as it was, when inference chose differently from
/// what the values first suggest (shown by the schema view and `quarry
/// schema`).
pub const LEADING_ZEROS: &str = "leading zeros: kept as text";

/// The schema of a source (before dtype overrides), and per column the
/// reason for a choice a reader would not expect.
pub struct Inferred {
    pub schema: Schema,
    pub notes: BTreeMap<String, String>,
    /// Per numeric column, the spellings read as null in it.
    pub null_tokens: BTreeMap<String, Vec<String>>,
    /// The schema the format's reader produces, when a rule changed a
    /// column's type after reading (NDJSON text read as dates, or as
    /// numbers with null spellings): each partition is read as this, then
    /// converted. `None`: the reader produces `schema` itself.
    pub read_as: Option<Schema>,
    /// Files of a glob whose columns differ from `schema` (the union).
    pub drift: Vec<FileDrift>,
    /// Columns whose values are all dates in another layout (a cast offered).
    pub date_layouts: BTreeMap<String, date_layouts::DateLayout>,
}

impl Inferred {
    /// A schema as its reader gives it: no rule changed anything.
    pub fn plain(schema: Schema) -> Inferred {
        Inferred {
            schema,
            notes: BTreeMap::new(),
            null_tokens: BTreeMap::new(),
            read_as: None,
            drift: Vec::new(),
            date_layouts: BTreeMap::new(),
        }
    }
}

/// Infer the schema of a source (before dtype overrides).
pub fn infer(source: &Source) -> Result<Schema> {
    Ok(infer_with_notes(source)?.schema)
}

/// Like [`infer`], with the reasons for the choices it made.
pub fn infer_with_notes(source: &Source) -> Result<Inferred> {
    let plain = Inferred::plain;
    match source.format {
        Format::Csv | Format::Tsv => infer_csv_files(source),
        Format::Ndjson => ndjson::infer_ndjson_files(source),
        Format::Text => Ok(plain(Schema::from_iter([Field::new(
            "text".into(),
            DataType::String,
        )]))),
        Format::Parquet | Format::Ipc => {
            let read = match source.format {
                Format::Parquet => crate::engine::input::parse::parquet_schema,
                _ => crate::engine::input::parse::ipc_schema,
            };
            let first = read(&source.files[0])?;
            let mut groups: Vec<(Vec<usize>, Inferred)> = vec![(vec![0], plain(first))];
            for (i, f) in source.files.iter().enumerate().skip(1) {
                let own = read(f)?;
                match groups.iter_mut().find(|(_, g)| g.schema == own) {
                    Some((files, _)) => files.push(i),
                    None => groups.push((vec![i], plain(own))),
                }
            }
            Ok(drift::union(groups))
        }
    }
}

/// CSV: one inference when every file has the same header; else one per
/// group of files that share a header, and their union.
fn infer_csv_files(source: &Source) -> Result<Inferred> {
    if source.files.len() > 1 {
        let groups = drift::group_by_columns(&drift::csv_headers(source)?);
        if groups.len() > 1 {
            let mut inferred = Vec::with_capacity(groups.len());
            for files in groups {
                let group = drift::subset(source, &files);
                inferred.push((files, infer_csv(&group)?));
            }
            return Ok(drift::union(inferred));
        }
    }
    infer_csv(source)
}

/// CSV inference over a source whose files share one header.
fn infer_csv(source: &Source) -> Result<Inferred> {
    let parts = sample(source)?;
    let (schema, frame, covered) = infer_csv_parts(source, &parts)?;
    let mut inferred = keep_leading_zeros(source, schema, &parts);
    read_iso_dates(source, &mut inferred, &frame, &parts[covered..]);
    if source.spec.null_tokens && source.spec.null_values.is_empty() {
        read_null_tokens(
            source,
            &mut inferred,
            &frame,
            &parts[covered..],
            &NULL_TOKENS,
        );
    }
    date_layouts::offer_date_casts(&mut inferred, &frame);
    Ok(inferred)
}

/// Apply `--dtype COL=TYPE` overrides. An override naming a column the
/// source lacks is an error that lists the real ones, unless `may_add`
/// (NDJSON, whose reader goes by key: a key no sample saw becomes a column).
pub fn apply_overrides(
    mut schema: Schema,
    dtypes: &BTreeMap<String, String>,
    may_add: bool,
) -> Result<(Schema, Vec<String>)> {
    let mut changed = Vec::new();
    for (col, ty) in dtypes {
        let dt = parse_dtype(ty)?;
        match schema.get_mut(col.as_str()) {
            Some(slot) => *slot = dt,
            None if may_add => {
                schema.with_column(col.as_str().into(), dt);
            }
            None => {
                let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
                return Err(QuarryError::Usage(format!(
                    "a dtype override names column `{col}`, which the source does not have.\nColumns: {}",
                    names.join(", ")
                )));
            }
        }
        changed.push(col.clone());
    }
    Ok((schema, changed))
}

#[cfg(test)]
mod tests {
    use super::csv::{read_sample, spots_fit};
    use super::sample::{join_samples, SMALL_TOTAL};
    use super::temporal::iso_temporal;
    use super::*;
    use crate::engine::input::spec::SourceSpec;

    #[test]
    fn iso_dates_and_datetimes_are_recognised_and_nothing_else() {
        let dt = Some(DataType::Datetime(TimeUnit::Microseconds, None));
        assert_eq!(iso_temporal("2014-05-13"), Some(DataType::Date));
        assert_eq!(iso_temporal("2014-05-13T23:58:30.457"), dt);
        assert_eq!(iso_temporal("2014-05-13 23:58:30"), dt);
        assert_eq!(iso_temporal("2014-05-13T23:58"), dt);
        let utc = Some(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        ));
        for v in [
            "2014-05-13T23:58:30Z",
            "2014-05-13T23:58:30.457+02:00",
            "2014-05-13 23:58-0530",
            "2014-05-13T23:58:30+02",
        ] {
            assert_eq!(iso_temporal(v), utc, "{v}");
        }
        for v in [
            "2014-13-01",
            "2014-05-32",
            "05/13/2014",
            "13.05.2014",
            "20140513",
            "2014-05-13T23:58:30+2",
            "2014-05-13T23:58:30 UTC",
            "2014-05-13T23:58:30.Z",
            "2014-05-13T",
            "2014-05-13 x",
            "",
        ] {
            assert_eq!(iso_temporal(v), None, "{v}");
        }
    }

    #[test]
    fn leading_zeros_mark_codes_not_quantities() {
        for v in ["08123", "007", "-007", "+01", "00"] {
            assert!(has_leading_zero(v), "{v}");
        }
        for v in ["0", "-0", "0.5", "10", "8123", "", "0x1", "0e5", "-"] {
            assert!(!has_leading_zero(v), "{v}");
        }
    }

    fn infer_csv(source: &Source, sample: &[u8]) -> Result<Schema> {
        Ok(read_sample(source, sample)?.schema().as_ref().clone())
    }

    /// The schema of `sample`, and whether every column had a value in it.
    fn infer_csv_with_coverage(source: &Source, sample: &[u8]) -> Result<(Schema, bool)> {
        let df = read_sample(source, sample)?;
        let complete = df.columns().iter().all(|c| c.null_count() < c.len());
        Ok((df.schema().as_ref().clone(), complete))
    }

    /// The schema inference over every sample gives: what `infer` must
    /// agree with whichever way it takes.
    fn joint(source: &Source) -> Schema {
        infer_csv(source, &join_samples(&sample(source).unwrap())).unwrap()
    }

    fn open(rows: impl Fn(usize) -> String) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("id,a,b,c\n");
        for i in 0..200_000 {
            text.push_str(&rows(i));
            text.push('\n');
        }
        assert!(text.len() as u64 > SMALL_TOTAL * 2);
        std::fs::write(&path, text).unwrap();
        let source = Source::open(SourceSpec::new(path.to_str().unwrap())).unwrap();
        (dir, source)
    }

    #[test]
    fn the_spots_confirm_the_head_schema_or_inference_reads_them_all() {
        let late = 120_000; // after the head sample, before the 75 % spot
        type Rows = Box<dyn Fn(usize) -> String>;
        let cases: Vec<(&str, Rows)> = vec![
            (
                "consistent",
                Box::new(|i| format!("{i},{},x{i},{}.5", i % 7, i % 3)),
            ),
            (
                "ints turn float",
                Box::new(move |i| {
                    let a = if i < late {
                        format!("{}", i % 7)
                    } else {
                        format!("{}.25", i % 7)
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "ints turn text",
                Box::new(move |i| {
                    let a = if i < late {
                        format!("{}", i % 7)
                    } else {
                        // Not a null spelling (`n/a` would make it one).
                        "unknown".into()
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "empty in the head",
                Box::new(move |i| {
                    let a = if i < late {
                        String::new()
                    } else {
                        format!("{i}")
                    };
                    format!("{i},{a},x,1.5")
                }),
            ),
            (
                "quoted text",
                Box::new(|i| format!("{i},{},\"x, {i}\",\"\"\"q\"\"\"", i % 5)),
            ),
        ];
        for (name, rows) in cases {
            let (_dir, source) = open(rows);
            assert_eq!(infer(&source).unwrap(), joint(&source), "{name}");
        }
        // The cases do reach both ways.
        let (_dir, consistent) = open(|i| format!("{i},{},x,1.5", i % 7));
        let parts = sample(&consistent).unwrap();
        let (head, complete) = infer_csv_with_coverage(&consistent, &parts[0]).unwrap();
        assert!(complete && spots_fit(&consistent, &head, &parts[1..]));
        let (_dir, widened) = open(|i| format!("{i},{},x,1.5", if i < late { "1" } else { "1.5" }));
        let parts = sample(&widened).unwrap();
        let (head, _) = infer_csv_with_coverage(&widened, &parts[0]).unwrap();
        assert!(!spots_fit(&widened, &head, &parts[1..]));
        assert_eq!(infer(&widened).unwrap().get("a"), Some(&DataType::Float64));
    }
}
