//! The `parse` step's capture groups, record by record.
//!
//! Why not polars' `extract_groups` as is: a text-record pattern such as
//! `(?s)helpfulness: (?P<n>\d+).*score: (?P<s>[0-9.]+).*text: (?P<t>.*)`
//! joins its fields with greedy `.*`, and resolving its captures makes the
//! regex engine try every split of a ~650-byte record (78 % of the reviews
//! workload). Patterns of that shape go through `SegmentMatcher` (memmem
//! searches, exactly the regex's captures); whatever it cannot decide, and
//! every other pattern, goes to the regex crate, as in polars.

use std::sync::Arc;

use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;
use regex::Regex;

use crate::engine::steps::segments::{Outcome, SegmentMatcher};

pub struct Extractor {
    regex: Regex,
    segments: Option<SegmentMatcher>,
    /// Named groups: (capture index, name).
    groups: Vec<(usize, PlSmallStr)>,
}

impl Extractor {
    pub fn new(pattern: &str) -> std::result::Result<Extractor, regex::Error> {
        let regex = Regex::new(pattern)?;
        let groups = regex
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, PlSmallStr::from(n))))
            .collect();
        Ok(Extractor {
            regex,
            segments: SegmentMatcher::new(pattern),
            groups,
        })
    }

    /// One string column -> a struct of the named groups (null fields for a
    /// null value or no match), as polars' `extract_groups` gives them.
    pub fn extract(&self, column: &Column) -> PolarsResult<Column> {
        let ca = column.str()?;
        let mut builders: Vec<MutableBinaryViewArray<str>> = self
            .groups
            .iter()
            .map(|_| MutableBinaryViewArray::with_capacity(ca.len()))
            .collect();
        let mut locs = self.regex.capture_locations();
        let mut slots = self
            .segments
            .as_ref()
            .map_or_else(Vec::new, SegmentMatcher::slots);
        for value in ca.iter() {
            let Some(s) = value else {
                builders.iter_mut().for_each(|b| b.push_null());
                continue;
            };
            let decided = self.segments.as_ref().map(|m| m.find(s, &mut slots));
            match decided {
                Some(Outcome::Match) => {
                    for ((i, _), b) in self.groups.iter().zip(&mut builders) {
                        let (a, z) = SegmentMatcher::group(&slots, *i);
                        b.push(Some(&s[a..z]));
                    }
                }
                Some(Outcome::NoMatch) => builders.iter_mut().for_each(|b| b.push_null()),
                Some(Outcome::Unsure) | None => {
                    if self.regex.captures_read(&mut locs, s).is_some() {
                        for ((i, _), b) in self.groups.iter().zip(&mut builders) {
                            b.push(locs.get(*i).map(|(a, z)| &s[a..z]));
                        }
                    } else {
                        builders.iter_mut().for_each(|b| b.push_null());
                    }
                }
            }
        }
        let fields: Vec<Series> = self
            .groups
            .iter()
            .zip(builders)
            .map(|((_, name), b)| StringChunked::with_chunk(name.clone(), b.freeze()).into_series())
            .collect();
        Ok(
            StructChunked::from_series(column.name().clone(), ca.len(), fields.iter())?
                .into_series()
                .into_column(),
        )
    }

    /// The struct dtype `extract` returns.
    pub fn dtype(&self) -> DataType {
        DataType::Struct(
            self.groups
                .iter()
                .map(|(_, n)| Field::new(n.clone(), DataType::String))
                .collect(),
        )
    }
}

/// `parse`'s expression: `column` through `extractor`.
pub fn extract_expr(column: &str, extractor: Arc<Extractor>) -> Expr {
    let dtype = extractor.dtype();
    col(column).map(
        move |c| extractor.extract(&c),
        move |_, f| Ok(Field::new(f.name().clone(), dtype.clone())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATTERN: &str =
        r"(?s)help: (?P<num>\d+)/(?P<den>\d+).*score: (?P<score>[0-9.]+).*text: (?P<body>.*)";

    fn polars_groups(values: &[Option<String>]) -> DataFrame {
        let s = Series::new("t".into(), values);
        let df = DataFrame::new_infer_height(vec![s.into_column()]).unwrap();
        let out = df
            .lazy()
            .select([col("t").str().extract_groups(PATTERN).unwrap().alias("g")])
            .collect()
            .unwrap();
        out.column("g").unwrap().struct_().unwrap().clone().unnest()
    }

    proptest! {
        /// Whatever the record — keys once, twice or missing, in any order
        /// — the captures are polars' own.
        #[test]
        fn captures_equal_polars_extract_groups(
            records in proptest::collection::vec(
                proptest::option::of(proptest::collection::vec(
                    proptest::sample::select(vec![
                        "help: 3/4", "help: 10/0", "score: 4.5", "score: 1",
                        "text: great", "text: so-so score: 2", "\n", "noise", "help: x/1",
                    ]),
                    0..8,
                ).prop_map(|parts| parts.join(" "))),
                1..20,
            )
        ) {
            let ex = Extractor::new(PATTERN).unwrap();
            prop_assert!(ex.segments.is_some(), "the pattern takes the memmem path");
            let ours = ex.extract(&Series::new("t".into(), &records).into_column()).unwrap();
            let ours = ours.struct_().unwrap().clone().unnest();
            let theirs = polars_groups(&records);
            prop_assert!(ours.equals_missing(&theirs), "ours {:?}\ntheirs {:?}", ours, theirs);
        }
    }
}
