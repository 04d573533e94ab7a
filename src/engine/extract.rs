//! The `parse` step's capture groups, record by record.
//!
//! Why not polars' `extract_groups` as is: a text-record pattern such as
//! `(?s)helpfulness: (?P<n>\d+).*score: (?P<s>[0-9.]+).*text: (?P<t>.*)`
//! joins its fields with greedy `.*`, and resolving its captures makes the
//! regex engine try every split of a ~650-byte record (78 % of the reviews
//! workload). With the gaps lazy (`.*?`) the same engine is five times
//! faster — and gives the very same captures whenever each literal that
//! follows a gap occurs at most once in the record: the segment after a
//! gap must start at an occurrence of its literal, so exactly one gap
//! length can lead to a match, and greedy and lazy differ only in the
//! order they try lengths in. Both patterns match the same strings, so the
//! leftmost match starts at the same place. Records where a literal
//! repeats take the pattern as written.

use std::sync::Arc;

use memchr::memmem::Finder;
use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;
use regex::Regex;
use regex_syntax::hir::{Hir, HirKind, Repetition};

pub struct Extractor {
    greedy: Regex,
    /// The pattern with its gaps lazy, and the literal after each gap.
    lazy: Option<(Regex, Vec<Finder<'static>>)>,
    /// Named groups: (capture index, name).
    groups: Vec<(usize, PlSmallStr)>,
}

impl Extractor {
    pub fn new(pattern: &str) -> std::result::Result<Extractor, regex::Error> {
        let greedy = Regex::new(pattern)?;
        let groups = greedy
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, PlSmallStr::from(n))))
            .collect();
        let lazy = lazy_gaps(pattern).and_then(|(text, literals)| {
            let re = Regex::new(&text).ok()?;
            // The rewrite keeps every group where it was.
            (re.capture_names().eq(greedy.capture_names())).then(|| {
                let finders = literals
                    .into_iter()
                    .map(|l| Finder::new(&l).into_owned())
                    .collect();
                (re, finders)
            })
        });
        Ok(Extractor {
            greedy,
            lazy,
            groups,
        })
    }

    /// Whether `text`'s captures may be resolved with the lazy pattern.
    fn lazy_is_exact(&self, text: &str) -> bool {
        self.lazy
            .as_ref()
            .is_some_and(|(_, literals)| literals.iter().all(|f| at_most_once(f, text.as_bytes())))
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
        let mut greedy_locs = self.greedy.capture_locations();
        let mut lazy_locs = self.lazy.as_ref().map(|(re, _)| re.capture_locations());
        for value in ca.iter() {
            let matched = value.and_then(|s| {
                let (re, locs) = match (&self.lazy, &mut lazy_locs) {
                    (Some((lazy, _)), Some(l)) if self.lazy_is_exact(s) => (lazy, l),
                    _ => (&self.greedy, &mut greedy_locs),
                };
                re.captures_read(locs, s)?;
                Some((s, &*locs))
            });
            match matched {
                Some((s, locs)) => {
                    for ((i, _), b) in self.groups.iter().zip(&mut builders) {
                        b.push(locs.get(*i).map(|(a, z)| &s[a..z]));
                    }
                }
                None => builders.iter_mut().for_each(|b| b.push_null()),
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

fn at_most_once(finder: &Finder, hay: &[u8]) -> bool {
    match finder.find(hay) {
        None => true,
        // Overlapping occurrences count too.
        Some(at) => finder.find(&hay[at + 1..]).is_none(),
    }
}

/// The pattern with each top-level greedy `X*` that is directly followed
/// by a literal made lazy, and those literals; `None` when there is none.
fn lazy_gaps(pattern: &str) -> Option<(String, Vec<Vec<u8>>)> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut literals = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let HirKind::Repetition(rep) = item.kind() {
            let next_literal = match items.get(i + 1).map(Hir::kind) {
                Some(HirKind::Literal(l)) if !l.0.is_empty() => Some(l.0.to_vec()),
                _ => None,
            };
            if let (Some(lit), true) = (
                next_literal,
                rep.greedy
                    && rep.min == 0
                    && rep.max.is_none()
                    && matches!(rep.sub.kind(), HirKind::Class(_)),
            ) {
                literals.push(lit);
                out.push(Hir::repetition(Repetition {
                    greedy: false,
                    ..rep.clone()
                }));
                continue;
            }
        }
        out.push(item.clone());
    }
    if literals.is_empty() {
        return None;
    }
    Some((Hir::concat(out).to_string(), literals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATTERN: &str =
        r"(?s)help: (?P<num>\d+)/(?P<den>\d+).*score: (?P<score>[0-9.]+).*text: (?P<body>.*)";

    #[test]
    fn gaps_before_literals_become_lazy() {
        let (text, literals) = lazy_gaps(PATTERN).unwrap();
        assert_eq!(literals, vec![b"score: ".to_vec(), b"text: ".to_vec()]);
        assert_eq!(text.matches("*?").count(), 2, "{text}");
        // The last group's `.*` is not a gap: it stays greedy.
        assert!(lazy_gaps(r"a(?P<x>.*)").is_none());
    }

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
            let ours = ex.extract(&Series::new("t".into(), &records).into_column()).unwrap();
            let ours = ours.struct_().unwrap().clone().unnest();
            let theirs = polars_groups(&records);
            prop_assert!(ours.equals_missing(&theirs), "ours {:?}\ntheirs {:?}", ours, theirs);
        }
    }

    #[test]
    fn records_with_a_repeated_literal_take_the_greedy_pattern() {
        let ex = Extractor::new(PATTERN).unwrap();
        let once = "help: 1/2 score: 3 text: t";
        let twice = "help: 1/2 score: 3 text: a score: 4 text: b";
        assert!(ex.lazy_is_exact(once));
        assert!(!ex.lazy_is_exact(twice));
    }
}
