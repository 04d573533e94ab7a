//! Record grammars: where records start in a byte stream, for each text format.
//!
//! The partition rule is "a partition owns every record whose first byte lies
//! in its byte range". Everything here works on plain byte slices so it can be
//! property-tested without files.
//!
//! CSV quoting follows polars' own line splitter: every quote byte toggles the
//! "inside a quoted field" state (escaped quotes are doubled, so they cancel).
//! The state at any offset is therefore the parity of the quote bytes before
//! it — exact, and computable block by block.

use memchr::{memchr, memmem};

/// How records are delimited in a byte-splittable format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grammar {
    /// Newline-terminated records; `\n` inside quotes does not end a record.
    Csv { quote: Option<u8> },
    /// One record per line (NDJSON, text lines).
    Lines,
    /// Records separated by one or more blank lines.
    Blank,
    /// Records separated by a literal byte string.
    Separator(Vec<u8>),
}

impl Grammar {
    /// Number of quote bytes in `data` (0 when the grammar has no quoting).
    pub fn quote_count(&self, data: &[u8]) -> u64 {
        match self {
            Grammar::Csv { quote: Some(q) } => count_byte(data, *q),
            _ => 0,
        }
    }

    /// Whether a record start can be found locally, from the bytes after a cut,
    /// without knowing anything about the bytes before it.
    pub fn is_local(&self) -> bool {
        match self {
            Grammar::Csv { quote: Some(_) } => false,
            Grammar::Separator(sep) => !self_overlaps(sep),
            _ => true,
        }
    }

    /// The first record start at or after `from` (an offset into `data`),
    /// or `None` when no record starts in `data[from..]`.
    ///
    /// `data` must begin at a record start (offset 0 of the file's data, or an
    /// earlier known boundary). For CSV, `in_quote` is the quote state at
    /// `from` (the parity of quote bytes in `data[..from]`). For a separator
    /// grammar, `data` must reach back far enough before `from` to contain a
    /// separator that ends at `from` (the caller passes the whole window).
    pub fn next_record_start(&self, data: &[u8], from: usize, in_quote: bool) -> Option<usize> {
        if from == 0 {
            return Some(0);
        }
        if from > data.len() {
            return None;
        }
        match self {
            Grammar::Csv { quote } => csv_next_start(data, from, *quote, in_quote),
            Grammar::Lines => line_next_start(data, from),
            Grammar::Blank => blank_next_start(data, from),
            Grammar::Separator(sep) => sep_next_start(data, from, sep),
        }
    }

    /// Split `data` (which starts at a record start) into record byte ranges
    /// `(start, end)` with separators and terminators removed. Used for text
    /// records and for locating the k-th record when reporting errors.
    pub fn records(&self, data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        match self {
            Grammar::Csv { quote } => {
                let mut start = 0;
                let mut in_q = false;
                let mut i = 0;
                while i < data.len() {
                    let b = data[i];
                    if Some(b) == *quote {
                        in_q = !in_q;
                    } else if b == b'\n' && !in_q {
                        out.push((start, trim_cr(data, start, i)));
                        start = i + 1;
                    }
                    i += 1;
                }
                if start < data.len() {
                    out.push((start, trim_cr(data, start, data.len())));
                }
            }
            Grammar::Lines => {
                let mut start = 0;
                for nl in memchr::memchr_iter(b'\n', data) {
                    out.push((start, trim_cr(data, start, nl)));
                    start = nl + 1;
                }
                if start < data.len() {
                    out.push((start, trim_cr(data, start, data.len())));
                }
            }
            Grammar::Blank => {
                // Records are maximal runs of non-blank lines.
                let mut rec: Option<(usize, usize)> = None;
                let mut start = 0;
                loop {
                    let end = memchr(b'\n', &data[start..]).map_or(data.len(), |p| start + p);
                    let content_end = trim_cr(data, start, end);
                    let blank = content_end == start;
                    if blank {
                        if let Some(r) = rec.take() {
                            out.push(r);
                        }
                    } else {
                        rec = Some(match rec {
                            Some((s, _)) => (s, content_end),
                            None => (start, content_end),
                        });
                    }
                    if end >= data.len() {
                        break;
                    }
                    start = end + 1;
                    if start >= data.len() {
                        break;
                    }
                }
                if let Some(r) = rec {
                    out.push(r);
                }
            }
            Grammar::Separator(sep) => {
                let mut start = 0;
                for pos in memmem::find_iter(data, sep) {
                    if pos < start {
                        continue; // overlapping occurrence
                    }
                    out.push((start, pos));
                    start = pos + sep.len();
                }
                if start < data.len() {
                    out.push((start, data.len()));
                }
            }
        }
        out
    }
}

fn trim_cr(data: &[u8], start: usize, end: usize) -> usize {
    if end > start && data[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Count occurrences of one byte (SIMD).
pub fn count_byte(data: &[u8], needle: u8) -> u64 {
    bytecount::count(data, needle) as u64
}

fn csv_next_start(data: &[u8], from: usize, quote: Option<u8>, in_quote: bool) -> Option<usize> {
    // A record starts right after an unquoted '\n'. Look from the byte before
    // `from` so that `from` itself counts when it is already a record start.
    let mut i = from - 1;
    let mut in_q = if let Some(q) = quote {
        // State at i = state at from, un-toggled by data[i] if it is a quote.
        in_quote ^ (data[i] == q)
    } else {
        false
    };
    let Some(q) = quote else {
        return memchr(b'\n', &data[i..]).map(|p| i + p + 1);
    };
    while i < data.len() {
        // Jump to the next byte of interest.
        let rest = &data[i..];
        let next = if in_q {
            memchr(q, rest)
        } else {
            memchr::memchr2(q, b'\n', rest)
        };
        let p = next?;
        i += p;
        if data[i] == q {
            in_q = !in_q;
        } else {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn line_next_start(data: &[u8], from: usize) -> Option<usize> {
    let i = from - 1;
    memchr(b'\n', &data[i..]).map(|p| i + p + 1)
}

/// Whether the line that ends with the '\n' at `nl` is blank ("" or "\r").
fn line_before_is_blank(data: &[u8], nl: usize) -> bool {
    // The line is data[line_start..nl].
    if nl == 0 {
        return true;
    }
    if data[nl - 1] == b'\n' {
        return true;
    }
    data[nl - 1] == b'\r' && (nl == 1 || data[nl - 2] == b'\n')
}

fn blank_next_start(data: &[u8], from: usize) -> Option<usize> {
    // Candidate record starts are line starts whose line is not blank and whose
    // previous line is blank. A line start is 0 or just after a '\n'.
    let mut ls = if data[from - 1] == b'\n' {
        from
    } else {
        from - 1 + memchr(b'\n', &data[from - 1..])? + 1
    };
    loop {
        if ls >= data.len() {
            return None;
        }
        let line_end = memchr(b'\n', &data[ls..]).map_or(data.len(), |p| ls + p);
        let blank = trim_cr(data, ls, line_end) == ls;
        if !blank && line_before_is_blank(data, ls - 1) {
            return Some(ls);
        }
        if line_end >= data.len() {
            return None;
        }
        ls = line_end + 1;
    }
}

fn sep_next_start(data: &[u8], from: usize, sep: &[u8]) -> Option<usize> {
    // The first separator ending at or after `from` marks the record start.
    let look = from.saturating_sub(sep.len());
    let pos = memmem::find(&data[look..], sep)?;
    Some(look + pos + sep.len())
}

/// Whether a separator can overlap itself ("--" in "---"): then where the
/// separators are depends on what came before, and a cut cannot be resolved
/// locally.
fn self_overlaps(sep: &[u8]) -> bool {
    (1..sep.len()).any(|k| sep[..k] == sep[sep.len() - k..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(g: &Grammar, data: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        let mut from = 0;
        let mut in_q = false;
        let mut prev = 0;
        while let Some(s) = g.next_record_start(data, from, in_q) {
            if s >= data.len() {
                break;
            }
            v.push(s);
            from = s + 1;
            in_q ^= g.quote_count(&data[prev..from]) % 2 == 1;
            prev = from;
        }
        v
    }

    #[test]
    fn csv_quotes_hide_newlines() {
        let g = Grammar::Csv { quote: Some(b'"') };
        let d = b"a,b\n\"x\ny\",1\nz,2\n";
        assert_eq!(starts(&g, d), vec![0, 4, 12]);
    }

    #[test]
    fn blank_records() {
        let g = Grammar::Blank;
        let d = b"a: 1\nb: 2\n\nc: 3\n\n\n\r\nd\n";
        let r: Vec<_> = g.records(d).into_iter().map(|(s, e)| &d[s..e]).collect();
        assert_eq!(r, vec![&b"a: 1\nb: 2"[..], b"c: 3", b"d"]);
        assert_eq!(starts(&g, d), vec![0, 11, 20]);
    }

    #[test]
    fn separator_overlap_is_not_local() {
        assert!(!Grammar::Separator(b"--".to_vec()).is_local());
        assert!(Grammar::Separator(b"</row>".to_vec()).is_local());
    }
}
