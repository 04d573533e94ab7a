//! Literal-anchored field patterns, matched without a regex engine.
//!
//! A `parse` pattern for text records is mostly literals joined by class
//! repetitions: `(?s)helpfulness: (?P<n>\d+)/(?P<d>\d+).*score:
//! (?P<s>[0-9.]+).*text: (?P<t>.*)`. The regex crate resolves such captures
//! with a backtracker over the whole match, which was most of the reviews
//! workload. Here each repetition takes its highest-priority option
//! directly: a greedy one its longest run, a lazy one its shortest, and one
//! followed by a literal the last (greedy) or first (lazy) place in its run
//! where that literal occurs — one memmem search. Options skipped that way
//! fail at the literal anyway. When every item then matches, this path is
//! the first successful one the backtracker would try from the leftmost
//! possible start (every match begins with the first literal), so the
//! captures are the regex's own. When an item fails, a lower-priority
//! option might still succeed: the caller asks the regex
//! (`Outcome::Unsure`). Only "the first literal does not occur" is a sure
//! no-match.

use memchr::memmem::Finder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// What one haystack gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The slots hold the regex's captures.
    Match,
    /// The regex finds no match either.
    NoMatch,
    /// Undecided here: run the regex.
    Unsure,
}

pub struct SegmentMatcher {
    /// The pattern starts with `^`: the match starts at 0.
    anchored: bool,
    items: Vec<Item>,
    /// For each item, the index of the literal that directly follows it
    /// (capture markers in between do not consume anything).
    next_literal: Vec<Option<usize>>,
    /// Capture slots (group 0 is the whole match).
    groups: usize,
}

enum Item {
    Lit(Box<Literal>),
    Rep(Rep),
    Open(usize),
    Close(usize),
}

struct Literal {
    bytes: Vec<u8>,
    fwd: Finder<'static>,
}

impl Literal {
    fn new(bytes: Vec<u8>) -> Literal {
        Literal {
            fwd: Finder::new(&bytes).into_owned(),
            bytes,
        }
    }

    /// The start of the last occurrence in `hay` (overlapping ones count).
    /// Found going forward: memchr's forward search is vectorised, its
    /// reverse one is not, and was half the reviews workload.
    fn rfind(&self, hay: &[u8]) -> Option<usize> {
        let mut last = self.fwd.find(hay)?;
        while let Some(next) = self.fwd.find(&hay[last + 1..]) {
            last += 1 + next;
        }
        Some(last)
    }
}

struct Rep {
    set: CharSet,
    min: u32,
    max: Option<u32>,
    greedy: bool,
}

enum CharSet {
    /// Every char (`.` under `(?s)`).
    Any,
    /// Every char but `\n` (`.`).
    AnyButNewline,
    Ranges {
        ascii: [bool; 128],
        /// Inclusive ranges of code points, sorted.
        wide: Vec<(u32, u32)>,
    },
}

impl CharSet {
    fn from_ranges(ranges: Vec<(u32, u32)>) -> CharSet {
        let missing = gaps(&ranges);
        if missing.is_empty() {
            return CharSet::Any;
        }
        if missing == [(10, 10)] {
            return CharSet::AnyButNewline;
        }
        let mut ascii = [false; 128];
        for &(lo, hi) in &ranges {
            for c in lo..=hi.min(127) {
                ascii[c as usize] = true;
            }
        }
        let wide = ranges.into_iter().filter(|&(_, hi)| hi >= 128).collect();
        CharSet::Ranges { ascii, wide }
    }

    fn contains_ascii(&self, b: u8) -> bool {
        match self {
            CharSet::Any => true,
            CharSet::AnyButNewline => b != b'\n',
            CharSet::Ranges { ascii, .. } => ascii[b as usize],
        }
    }

    fn contains(&self, c: char) -> bool {
        let c = c as u32;
        match self {
            CharSet::Any => true,
            CharSet::AnyButNewline => c != 10,
            CharSet::Ranges { ascii, wide } => {
                if c < 128 {
                    return ascii[c as usize];
                }
                let i = wide.partition_point(|&(_, hi)| hi < c);
                wide.get(i).is_some_and(|&(lo, _)| lo <= c)
            }
        }
    }
}

/// The code points (surrogates aside) that sorted `ranges` leave out.
fn gaps(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut next = 0u32;
    for &(lo, hi) in ranges {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = next.max(hi + 1);
    }
    if next <= 0x10FFFF {
        out.push((next, 0x10FFFF));
    }
    out.retain(|&(lo, hi)| !(lo >= 0xD800 && hi <= 0xDFFF));
    out
}

impl Rep {
    /// The byte offsets after `min` and after the most chars of the set
    /// (at most `max`) from `pos`; `None` when fewer than `min` are there.
    fn window(&self, s: &str, pos: usize) -> Option<(usize, usize)> {
        let hay = s.as_bytes();
        match (&self.set, self.min, self.max) {
            (CharSet::Any, 0, None) => return Some((pos, hay.len())),
            (CharSet::AnyButNewline, 0, None) => {
                let end = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |n| pos + n);
                return Some((pos, end));
            }
            _ => {}
        }
        let mut count = 0u32;
        let mut at = pos;
        let mut lo = (self.min == 0).then_some(pos);
        while self.max.is_none_or(|m| count < m) && at < hay.len() {
            let b = hay[at];
            let (member, width) = if b < 0x80 {
                (self.set.contains_ascii(b), 1)
            } else {
                // `at` is always on a char boundary: it moves by whole chars
                // from a boundary.
                let c = s[at..].chars().next().expect("a char at a boundary");
                (self.set.contains(c), c.len_utf8())
            };
            if !member {
                break;
            }
            at += width;
            count += 1;
            if count == self.min {
                lo = Some(at);
            }
        }
        Some((lo?, at))
    }
}

impl SegmentMatcher {
    /// `None` when the pattern is not a sequence of literals, class
    /// repetitions and capture groups starting with a literal or `^`.
    pub fn new(pattern: &str) -> Option<SegmentMatcher> {
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let mut items = Vec::new();
        let mut anchored = false;
        let mut groups = 1;
        flatten(&hir, &mut items, &mut anchored, &mut groups)?;
        let first_real = items
            .iter()
            .find(|i| matches!(i, Item::Lit(_) | Item::Rep(_)));
        if !anchored && !matches!(first_real, Some(Item::Lit(_))) {
            return None;
        }
        let next_literal = (0..items.len())
            .map(|i| {
                let j = i
                    + 1
                    + items[i + 1..]
                        .iter()
                        .position(|x| !matches!(x, Item::Open(_) | Item::Close(_)))?;
                matches!(items[j], Item::Lit(_)).then_some(j)
            })
            .collect();
        Some(SegmentMatcher {
            anchored,
            items,
            next_literal,
            groups,
        })
    }

    /// Capture slots `find` fills: start and end of each group.
    pub fn slots(&self) -> Vec<usize> {
        vec![0; self.groups * 2]
    }

    /// Group `i`'s span after a `Match`.
    pub fn group(slots: &[usize], i: usize) -> (usize, usize) {
        (slots[2 * i], slots[2 * i + 1])
    }

    pub fn find(&self, s: &str, slots: &mut [usize]) -> Outcome {
        let hay = s.as_bytes();
        let mut pos = 0;
        if !self.anchored {
            let first = self.items.iter().find_map(|i| match i {
                Item::Lit(l) => Some(l),
                _ => None,
            });
            match first.and_then(|l| l.fwd.find(hay)) {
                Some(at) => pos = at,
                None => return Outcome::NoMatch,
            }
        }
        slots[0] = pos;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Open(g) => slots[2 * g] = pos,
                Item::Close(g) => slots[2 * g + 1] = pos,
                Item::Lit(l) => {
                    if !hay[pos..].starts_with(&l.bytes) {
                        return Outcome::Unsure;
                    }
                    pos += l.bytes.len();
                }
                Item::Rep(r) => {
                    let Some((lo, hi)) = r.window(s, pos) else {
                        return Outcome::Unsure;
                    };
                    pos = match self.next_literal[i].map(|j| &self.items[j]) {
                        Some(Item::Lit(l)) => {
                            let window = &hay[lo..(hi + l.bytes.len()).min(hay.len())];
                            let found = if r.greedy {
                                l.rfind(window)
                            } else {
                                l.fwd.find(window)
                            };
                            match found {
                                Some(at) => lo + at,
                                None => return Outcome::Unsure,
                            }
                        }
                        _ if r.greedy => hi,
                        _ => lo,
                    };
                }
            }
        }
        slots[1] = pos;
        Outcome::Match
    }
}

/// `hir` as items; `None` for anything outside the supported shapes.
fn flatten(
    hir: &Hir,
    items: &mut Vec<Item>,
    anchored: &mut bool,
    groups: &mut usize,
) -> Option<()> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Look(Look::Start) if items.is_empty() && !*anchored => *anchored = true,
        HirKind::Literal(l) => match items.last_mut() {
            Some(Item::Lit(prev)) => {
                let mut bytes = std::mem::take(&mut prev.bytes);
                bytes.extend_from_slice(&l.0);
                **prev = Literal::new(bytes);
            }
            _ => items.push(Item::Lit(Box::new(Literal::new(l.0.to_vec())))),
        },
        HirKind::Class(c) => items.push(Item::Rep(Rep {
            set: char_set(c)?,
            min: 1,
            max: Some(1),
            greedy: true,
        })),
        HirKind::Repetition(r) => {
            let set = match r.sub.kind() {
                HirKind::Class(c) => char_set(c)?,
                HirKind::Literal(l) => {
                    let s = std::str::from_utf8(&l.0).ok()?;
                    let mut chars = s.chars();
                    let c = chars.next()? as u32;
                    if chars.next().is_some() {
                        return None;
                    }
                    CharSet::from_ranges(vec![(c, c)])
                }
                _ => return None,
            };
            items.push(Item::Rep(Rep {
                set,
                min: r.min,
                max: r.max,
                greedy: r.greedy,
            }));
        }
        HirKind::Capture(c) => {
            let g = c.index as usize;
            *groups = (*groups).max(g + 1);
            items.push(Item::Open(g));
            flatten(&c.sub, items, anchored, groups)?;
            items.push(Item::Close(g));
        }
        HirKind::Concat(xs) => {
            for x in xs {
                flatten(x, items, anchored, groups)?;
            }
        }
        _ => return None,
    }
    Some(())
}

fn char_set(class: &Class) -> Option<CharSet> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(u) => u
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        // Byte classes reach a `&str` pattern only as ASCII.
        Class::Bytes(b) => {
            if b.ranges().iter().any(|r| r.end() >= 0x80) {
                return None;
            }
            b.ranges()
                .iter()
                .map(|r| (r.start() as u32, r.end() as u32))
                .collect()
        }
    };
    Some(CharSet::from_ranges(ranges))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REVIEWS: &str =
        r"(?s)help: (?P<num>\d+)/(?P<den>\d+).*score: (?P<score>[0-9.]+).*text: (?P<body>.*)";

    const PATTERNS: &[&str] = &[
        REVIEWS,
        r"help: (?P<num>\d+)/(?P<den>\d+).*score: (?P<score>[0-9.]+)",
        r"(?s)a(?P<x>.*?)b(?P<y>.*)",
        r"^(?P<a>\w+) (?P<b>.*?)x",
        r"k(?P<v>[0-9]*)5",
        r"x(?P<a>\d+)(?P<b>\d)",
        r"é(?P<x>\d+)(?:/)(?P<y>\d{1,2}?)",
        r"score: (?P<s>[0-9.]{2,4})\s*text: (?P<t>[^\n]*)",
        r"(?P<all>help: \d+)/",
    ];

    #[test]
    fn the_reviews_pattern_is_decided_without_the_regex() {
        let m = SegmentMatcher::new(REVIEWS).unwrap();
        let mut slots = m.slots();
        let record = "id: 7\nhelp: 3/12\nscore: 4.0\nsummary: x\ntext: fine, help: high";
        assert_eq!(m.find(record, &mut slots), Outcome::Match);
        let group = |i| {
            let (a, z) = SegmentMatcher::group(&slots, i);
            &record[a..z]
        };
        assert_eq!(
            (group(1), group(2), group(3), group(4)),
            ("3", "12", "4.0", "fine, help: high")
        );
        // The last `score: ` is in the text: the greedy gap's first choice
        // fails at `[0-9.]+`, and only the regex backtracks to the earlier one.
        let tricky = "help: 3/12\nscore: 4.0\ntext: score: high";
        assert_eq!(m.find(tricky, &mut slots), Outcome::Unsure);
        assert_eq!(m.find("no fields", &mut slots), Outcome::NoMatch);
    }

    #[test]
    fn last_occurrences_count_overlapping_ones() {
        let l = Literal::new(b"aa".to_vec());
        assert_eq!(l.rfind(b"xaaax"), Some(2));
        assert_eq!(l.rfind(b"aa"), Some(0));
        assert_eq!(l.rfind(b"a"), None);
        let l = Literal::new(b"score: ".to_vec());
        assert_eq!(l.rfind(b"score: 1 score: 2"), Some(9));
    }

    #[test]
    fn shapes_outside_the_grammar_are_left_to_the_regex() {
        for p in [
            r"(?P<k>[a-z]+)=(?P<v>\d+)",
            r"a(bc|d)",
            r"a\bc",
            r"(?i)score: (?P<s>\S+)",
            r"a(?:bc)+",
        ] {
            assert!(SegmentMatcher::new(p).is_none(), "{p}");
        }
        assert!(SegmentMatcher::new(".").is_none());
        let any = SegmentMatcher::new("(?s)a.*").unwrap();
        assert!(matches!(
            &any.items[1],
            Item::Rep(Rep {
                set: CharSet::Any,
                ..
            })
        ));
        let line = SegmentMatcher::new("a.*").unwrap();
        assert!(matches!(
            &line.items[1],
            Item::Rep(Rep {
                set: CharSet::AnyButNewline,
                ..
            })
        ));
    }

    #[test]
    fn each_pattern_decides_a_typical_haystack() {
        let typical = [
            "id: 1\nhelp: 3/4\nscore: 4.5\ntext: ok",
            "help: 3/4 x score: 4.5\n",
            "za1b2b3",
            "word rest x",
            "k12355",
            "x123",
            "aé٣12/٣",
            "score: 3.5  text: body\nmore",
            "help: 12/3",
        ];
        for (pattern, hay) in PATTERNS.iter().zip(typical) {
            let m = SegmentMatcher::new(pattern).unwrap();
            let mut slots = m.slots();
            let outcome = m.find(hay, &mut slots);
            // A greedy `\d+` directly before `\d` must give one back: only
            // the regex can say how far.
            let expected = if pattern.starts_with("x(") {
                Outcome::Unsure
            } else {
                Outcome::Match
            };
            assert_eq!(outcome, expected, "{pattern} on {hay:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Whenever the matcher decides, it agrees with the regex crate.
        #[test]
        fn decisions_equal_the_regex(
            p in 0..PATTERNS.len(),
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "help: ", "score: ", "text: ", "a", "b", "x", "k", "5", "12", "٣", "é",
                    "\n", " ", "/", "3.5", "=", "Z", "help: 3/4", "score: 4.5",
                ]),
                0..14,
            ),
        ) {
            let pattern = PATTERNS[p];
            let hay = parts.concat();
            let m = SegmentMatcher::new(pattern).expect(pattern);
            let re = regex::Regex::new(pattern).unwrap();
            let mut slots = m.slots();
            match m.find(&hay, &mut slots) {
                Outcome::Match => {
                    let caps = re.captures(&hay);
                    prop_assert!(caps.is_some(), "{pattern} on {hay:?}: regex finds nothing");
                    let caps = caps.unwrap();
                    for i in 0..re.captures_len() {
                        let theirs = caps.get(i).map(|g| (g.start(), g.end()));
                        prop_assert_eq!(Some(SegmentMatcher::group(&slots, i)), theirs, "{} group {} on {:?}", pattern, i, hay);
                    }
                }
                Outcome::NoMatch => prop_assert!(!re.is_match(&hay), "{pattern} on {hay:?}"),
                Outcome::Unsure => {}
            }
        }
    }
}
