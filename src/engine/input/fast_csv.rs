//! A vectorised reader for the common shape of CSV partition: `\n` line
//! ends, string / integer / float columns, well-formed quoting.
//!
//! Why: half of a CSV job's time was polars' scalar line and field
//! splitter, which walks every byte of every column even when the job needs
//! two of fifteen. Here one pass classifies 64 bytes at a time into bit
//! masks (delimiter, line end, quote), quoting is resolved with a prefix-xor
//! over the quote mask, and only the fields of the columns the job reads are
//! looked at; the others cost one bit each. A partition is read from the
//! file a chunk at a time and each chunk parsed while it is in cache, so a
//! partition in flight holds its parsed columns, not its raw bytes.
//!
//! It only ever answers when it is sure to give exactly what polars gives
//! for the same bytes (a property test holds it to that): any byte it is
//! not sure about — a `\r`, a ragged or empty line, a quote inside an
//! unquoted field, a number in an unusual spelling, invalid UTF-8, a dtype
//! it does not build — makes it decline, and the caller parses the
//! partition with polars, which also produces the precise error.

use polars::prelude::*;
use polars_arrow::array::MutableBinaryViewArray;

use crate::engine::error::Result;
use crate::engine::input::bitmask::{flatten, prefix_xor, BLOCK};
use crate::engine::input::dialect::CsvDialect;
use crate::engine::input::numbers::Numbers;
use crate::engine::input::spec::Encoding;

/// Bytes indexed at a time: the records of a window are consumed while its
/// bytes are still in cache, and the position index stays small.
const WINDOW: usize = 128 * 1024;

/// What to parse: the dialect and, per schema column, whether it is kept.
pub struct Request<'a> {
    pub dialect: &'a CsvDialect,
    pub encoding: Encoding,
    pub schema: &'a Schema,
    /// Kept columns (all when `None`); the frame has them in schema order.
    pub columns: Option<&'a [String]>,
    /// The bytes start with the header record, to be skipped.
    pub skip_header: bool,
}

impl Request<'_> {
    /// Per schema column, whether it is kept; `None` when the request is
    /// outside what this reader does.
    fn wanted(&self) -> Option<Vec<bool>> {
        let d = self.dialect;
        if self.encoding != Encoding::Utf8
            || !d.null_values.is_empty()
            || matches!(d.delimiter, b'\n' | b'\r' | 0)
            || d.quote
                .is_some_and(|q| matches!(q, b'\n' | b'\r' | 0) || q == d.delimiter)
            || self.schema.is_empty()
        {
            return None;
        }
        match self.columns {
            None => Some(vec![true; self.schema.len()]),
            Some(cols) => {
                if cols.is_empty() || cols.iter().any(|c| self.schema.get(c.as_str()).is_none()) {
                    return None;
                }
                Some(
                    self.schema
                        .iter_names()
                        .map(|n| cols.iter().any(|c| c.as_str() == n.as_str()))
                        .collect(),
                )
            }
        }
    }

    fn reader(&self, quote: Option<u8>, size_hint: usize) -> Option<Reader> {
        let wanted = self.wanted()?;
        let rows = size_hint / 64 + 1;
        let sinks = self
            .schema
            .iter()
            .zip(&wanted)
            .map(|((_, dtype), &want)| Sink::new(dtype, want, rows))
            .collect::<Option<Vec<_>>>()?;
        Some(Reader {
            indexer: Indexer::new(self.dialect.delimiter, quote),
            sinks,
            positions: Vec::with_capacity(WINDOW / 4),
            scanned: 0,
            row_start: 0,
            rows: 0,
        })
    }
}

/// Parse `bytes` (whole records; the last ends with `\n`). `None` means
/// "not sure": parse with polars instead.
pub fn try_parse(bytes: &[u8], req: &Request) -> Option<DataFrame> {
    parse_in_windows(bytes, req, WINDOW)
}

/// [`try_parse`] indexing `window` bytes at a time (tests use small ones to
/// put records across window edges).
fn parse_in_windows(bytes: &[u8], req: &Request, window: usize) -> Option<DataFrame> {
    debug_assert!(window.is_multiple_of(BLOCK));
    let begin = if req.skip_header {
        header_end(bytes, req.dialect.quote)?
    } else {
        0
    };
    let body = &bytes[begin..];
    if body.last().is_some_and(|&b| b != b'\n') || body.starts_with(UTF8_BOM) {
        return None;
    }
    // Without a quote in sight the quote masks need not be built.
    let quote = req
        .dialect
        .quote
        .filter(|&q| memchr::memchr(q, body).is_some());
    let mut reader = req.reader(quote, body.len())?;
    let mut upto = 0;
    while upto < body.len() {
        upto = (upto + window).min(body.len());
        reader.feed(body, upto, upto == body.len())?;
    }
    reader.finish(req.schema)
}

/// Bytes read from the file at a time by [`try_parse_chunks`].
pub const CHUNK: usize = 256 * 1024;

/// Parse records arriving in chunks: `read_more` appends the next chunk to
/// the buffer and says whether it was the last (which ends with `\n`).
/// Records cut by a chunk's end are completed by the next. `Ok(None)`:
/// declined, parse the whole range with polars.
pub fn try_parse_chunks(
    mut read_more: impl FnMut(&mut Vec<u8>) -> Result<bool>,
    size_hint: usize,
    req: &Request,
) -> Result<Option<DataFrame>> {
    let Some(mut reader) = req.reader(req.dialect.quote, size_hint) else {
        return Ok(None);
    };
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    let mut first = true;
    loop {
        let last = read_more(&mut buf)?;
        if std::mem::take(&mut first) {
            if req.skip_header {
                match header_end(&buf, req.dialect.quote) {
                    Some(end) => reader.skip_to(end),
                    None => return Ok(None), // a header longer than a chunk
                }
            } else if buf.starts_with(UTF8_BOM) {
                return Ok(None);
            }
        }
        if last && buf.last().is_some_and(|&b| b != b'\n') {
            return Ok(None);
        }
        if reader.feed(&buf, buf.len(), last).is_none() {
            return Ok(None);
        }
        if last {
            return Ok(reader.finish(req.schema));
        }
        // Keep only the record the chunk's end cut.
        let done = reader.row_start;
        buf.drain(..done);
        reader.shift(done);
    }
}

/// polars drops a byte-order mark at the start of a file; declined.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the header record ends (just past its `\n`). A blank first line
/// declines: polars skips blank lines before the header.
fn header_end(bytes: &[u8], quote: Option<u8>) -> Option<usize> {
    if bytes.starts_with(UTF8_BOM) {
        return None;
    }
    let mut inside = false;
    for (i, &b) in bytes.iter().enumerate() {
        if Some(b) == quote {
            inside = !inside;
        } else if b == b'\n' && !inside {
            return (i > 0).then_some(i + 1);
        }
    }
    None
}

/// Indexes and consumes records from a buffer the caller fills and drains.
struct Reader {
    indexer: Indexer,
    sinks: Vec<Sink>,
    /// Field ends indexed but not yet consumed (offsets in the buffer).
    positions: Vec<u32>,
    /// Offset in the buffer up to which it is indexed.
    scanned: usize,
    /// Offset in the buffer where the next unconsumed record starts.
    row_start: usize,
    rows: usize,
}

impl Reader {
    fn skip_to(&mut self, at: usize) {
        self.scanned = at;
        self.row_start = at;
    }

    /// Index `buf[scanned..upto]` — whole blocks only, unless `last` — and
    /// consume the complete records. `None` declines.
    fn feed(&mut self, buf: &[u8], upto: usize, last: bool) -> Option<()> {
        if buf.len() >= u32::MAX as usize {
            return None;
        }
        let end = if last {
            upto
        } else {
            self.scanned + (upto - self.scanned) / BLOCK * BLOCK
        };
        self.indexer
            .scan(buf, self.scanned, end, &mut self.positions)?;
        self.scanned = end;
        let ncols = self.sinks.len();
        let complete = self.positions.len() / ncols;
        let used = complete * ncols;
        if complete > 0 {
            let next = self.positions[used - 1] as usize + 1;
            let ascii = buf[self.row_start..next].is_ascii();
            consume(
                buf,
                &self.positions[..used],
                ncols,
                self.row_start,
                self.indexer.quote,
                ascii,
                &mut self.sinks,
            )?;
            self.row_start = next;
            self.positions.drain(..used);
            self.rows += complete;
        }
        if last {
            // As many line ends as records, each record ending in one: no
            // record holds a stray line end, and none is left open.
            let whole = self.positions.is_empty()
                && self.indexer.newlines == self.rows
                && self.indexer.inside_carry == 0
                && self.row_start == upto;
            return whole.then_some(());
        }
        Some(())
    }

    /// The caller dropped the first `by` bytes of the buffer.
    fn shift(&mut self, by: usize) {
        let by32 = by as u32;
        for p in &mut self.positions {
            *p -= by32;
        }
        self.scanned -= by;
        self.row_start -= by;
    }

    fn finish(self, schema: &Schema) -> Option<DataFrame> {
        let columns = schema
            .iter_names()
            .zip(self.sinks)
            .filter_map(|(name, sink)| sink.finish(name.clone()))
            .collect();
        DataFrame::new(self.rows, columns).ok()
    }
}

/// Phase one: the positions of every delimiter and line end outside
/// quotes, 64 bytes at a time, checking that quotes are well formed.
struct Indexer {
    delimiter: u8,
    quote: Option<u8>,
    /// All ones while the previous block ended inside quotes.
    inside_carry: u64,
    /// Bit 0 set when the byte before this block ends a field or closes a
    /// quote (or this is the start): a quote may open here.
    may_open_carry: u64,
    /// Bit 0 set when the previous block ended with a closing quote.
    close_carry: u64,
    newlines: usize,
}

impl Indexer {
    fn new(delimiter: u8, quote: Option<u8>) -> Self {
        Indexer {
            delimiter,
            quote,
            inside_carry: 0,
            may_open_carry: 1,
            close_carry: 0,
            newlines: 0,
        }
    }

    fn scan(&mut self, body: &[u8], from: usize, to: usize, out: &mut Vec<u32>) -> Option<()> {
        let mut tail;
        let mut at = from;
        while at < to {
            let block: &[u8; BLOCK] = if at + BLOCK <= body.len() {
                body[at..at + BLOCK].try_into().expect("64 bytes")
            } else {
                // Zero padding classifies as nothing (0 is never a delimiter).
                tail = [0u8; BLOCK];
                tail[..body.len() - at].copy_from_slice(&body[at..]);
                &tail
            };
            let m = classify(block, self.delimiter, self.quote.unwrap_or(0));
            if m.cr != 0 {
                return None;
            }
            let mut structural = m.delimiter | m.newline;
            if self.quote.is_some() {
                let inside = prefix_xor(m.quote) ^ self.inside_carry;
                self.inside_carry = ((inside as i64) >> 63) as u64;
                structural &= !inside;
                let open = m.quote & inside;
                let close = m.quote & !inside;
                // Quotes as RFC 4180 has them, the only way polars and this
                // reader surely agree: a quote opens a field right after a
                // delimiter, a line end or a closing quote (`""`), and a
                // closing quote is followed by a delimiter, a line end or
                // another quote.
                let may_open = (structural << 1) | (close << 1) | self.may_open_carry;
                let after_close = (close << 1) | self.close_carry;
                if open & !may_open != 0 || after_close & !(structural | open) != 0 {
                    return None;
                }
                self.may_open_carry = (structural | close) >> 63;
                self.close_carry = close >> 63;
            }
            self.newlines += (m.newline & structural).count_ones() as usize;
            flatten(structural, at as u32, out);
            at += BLOCK;
        }
        Some(())
    }
}

/// Phase two: the complete records in `pos` (`ncols` positions each, the
/// first starting at `row_start`), column by column.
fn consume(
    body: &[u8],
    pos: &[u32],
    ncols: usize,
    row_start: usize,
    quote: Option<u8>,
    ascii: bool,
    sinks: &mut [Sink],
) -> Option<()> {
    let rows = pos.len() / ncols;
    if pos
        .chunks_exact(ncols)
        .any(|row| body[row[ncols - 1] as usize] != b'\n')
    {
        return None; // a ragged record: polars decides
    }
    let column = |c: usize| {
        (0..rows).map(move |r| {
            let end = pos[r * ncols + c] as usize;
            let start = if c > 0 {
                pos[r * ncols + c - 1] as usize + 1
            } else if r > 0 {
                pos[r * ncols - 1] as usize + 1
            } else {
                row_start
            };
            &body[start..end]
        })
    };
    // A one-column file's empty line: polars may skip it or read a null.
    if ncols == 1 && column(0).any(|f| f.is_empty()) {
        return None;
    }
    for (c, sink) in sinks.iter_mut().enumerate() {
        if !matches!(sink, Sink::Skip) {
            sink.extend(column(c), quote, ascii)?;
        }
    }
    Some(())
}

struct Masks {
    delimiter: u64,
    newline: u64,
    quote: u64,
    cr: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify(block: &[u8; BLOCK], delimiter: u8, quote: u8) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and
    // within the 64-byte block.
    unsafe {
        let d = _mm_set1_epi8(delimiter as i8);
        let n = _mm_set1_epi8(b'\n' as i8);
        let q = _mm_set1_epi8(quote as i8);
        let r = _mm_set1_epi8(b'\r' as i8);
        let mut m = Masks {
            delimiter: 0,
            newline: 0,
            quote: 0,
            cr: 0,
        };
        for i in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * i) as *const __m128i);
            let bits = |c| (_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)) as u16 as u64) << (16 * i);
            m.delimiter |= bits(d);
            m.newline |= bits(n);
            m.quote |= bits(q);
            m.cr |= bits(r);
        }
        if quote == 0 {
            m.quote = 0;
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classify(block: &[u8; BLOCK], delimiter: u8, quote: u8) -> Masks {
    let mut m = Masks {
        delimiter: 0,
        newline: 0,
        quote: 0,
        cr: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        m.delimiter |= u64::from(b == delimiter) * bit;
        m.newline |= u64::from(b == b'\n') * bit;
        m.quote |= u64::from(quote != 0 && b == quote) * bit;
        m.cr |= u64::from(b == b'\r') * bit;
    }
    m
}

/// One column's builder; `Skip` for columns the job does not read.
enum Sink {
    Skip,
    Int(Numbers<i64>),
    Float(Numbers<f64>),
    Str {
        values: MutableBinaryViewArray<str>,
        scratch: Vec<u8>,
    },
}

impl Sink {
    fn new(dtype: &DataType, wanted: bool, rows: usize) -> Option<Sink> {
        if !wanted {
            return Some(Sink::Skip);
        }
        Some(match dtype {
            DataType::Int64 => Sink::Int(Numbers::new(rows)),
            DataType::Float64 => Sink::Float(Numbers::new(rows)),
            DataType::String => Sink::Str {
                values: MutableBinaryViewArray::with_capacity(rows),
                scratch: Vec::new(),
            },
            _ => return None,
        })
    }

    /// Append one column's fields. Quoted fields were checked well formed
    /// by the indexer: they start and end with the quote.
    fn extend<'a>(
        &mut self,
        fields: impl Iterator<Item = &'a [u8]>,
        quote: Option<u8>,
        ascii: bool,
    ) -> Option<()> {
        let unquote = |f: &'a [u8]| match quote {
            Some(q) if f.first() == Some(&q) => (&f[1..f.len() - 1], true),
            _ => (f, false),
        };
        match self {
            Sink::Skip => {}
            Sink::Int(n) => {
                for f in fields {
                    n.push_field(unquote(f).0, parse_int)?;
                }
            }
            Sink::Float(n) => {
                for f in fields {
                    n.push_field(unquote(f).0, parse_float)?;
                }
            }
            Sink::Str { values, scratch } => {
                for f in fields {
                    let (value, quoted) = unquote(f);
                    // polars: an empty unquoted field is null, `""` is "".
                    if value.is_empty() && !quoted {
                        values.push_null();
                        continue;
                    }
                    let text = match quote {
                        Some(q) if quoted && memchr::memchr(q, value).is_some() => {
                            unescape(value, q, scratch)?;
                            scratch.as_slice()
                        }
                        _ => value,
                    };
                    if ascii {
                        // SAFETY: these records were checked to be ASCII and
                        // unescaping only removes bytes.
                        values.push_value(unsafe { std::str::from_utf8_unchecked(text) });
                    } else {
                        values.push_value(std::str::from_utf8(text).ok()?);
                    }
                }
            }
        }
        Some(())
    }

    fn finish(self, name: PlSmallStr) -> Option<Column> {
        match self {
            Sink::Skip => None,
            Sink::Int(n) => Some(n.finish_int(name)),
            Sink::Float(n) => Some(n.finish_float(name)),
            Sink::Str { values, .. } => {
                Some(StringChunked::with_chunk(name, values.freeze()).into_column())
            }
        }
    }
}

/// `a""b` -> `a"b` into `out`; a lone quote inside declines.
fn unescape(value: &[u8], quote: u8, out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    let mut i = 0;
    while let Some(k) = memchr::memchr(quote, &value[i..]) {
        let at = i + k;
        if value.get(at + 1) != Some(&quote) {
            return None;
        }
        out.extend_from_slice(&value[i..=at]);
        i = at + 2;
    }
    out.extend_from_slice(&value[i..]);
    Some(())
}

/// `-?[0-9]{1,18}`: anything else (signs, spaces, 19+ digits) is left to
/// polars.
#[inline]
fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// Plain decimal or exponent notation, as polars reads it; `inf`, `nan`,
/// spaces and the like are left to polars.
#[inline]
fn parse_float(b: &[u8]) -> Option<f64> {
    short_decimal(b).or_else(|| {
        if !b
            .iter()
            .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        {
            return None;
        }
        // The routine polars uses.
        fast_float2::parse(b).ok()
    })
}

/// Exact powers of ten: every one up to 1e22 is a double.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `-?digits[.digits]` with at most 15 digits in all: the digits as an
/// integer are exact in a double, so one correctly rounded division gives
/// the correctly rounded value — the same double any correct parser
/// (fast_float's own fast path among them) returns. `None` for anything
/// else.
#[inline]
fn short_decimal(b: &[u8]) -> Option<f64> {
    let (neg, rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction: Option<usize> = None;
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa * 10 + u64::from(d);
            digits += 1;
        } else if c == b'.' && fraction.is_none() {
            fraction = Some(digits);
        } else {
            return None;
        }
    }
    let point = fraction.unwrap_or(digits);
    // Digits on both sides of a point, as `1.5` (polars also takes `.5`
    // and `5.`; those go the general way).
    if digits == 0 || digits > 15 || point == 0 || (fraction.is_some() && point == digits) {
        return None;
    }
    let v = mantissa as f64 / POW10[digits - point];
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The short path gives the very double fast_float gives.
        #[test]
        fn short_decimals_equal_fast_float(int in 0u64..10_000_000_000, frac in 0u64..100_000, width in 0usize..6, neg: bool) {
            let text = if width == 0 {
                format!("{}{int}", if neg { "-" } else { "" })
            } else {
                format!("{}{int}.{:0width$}", if neg { "-" } else { "" }, frac % 10u64.pow(width as u32))
            };
            let expected: f64 = fast_float2::parse(text.as_bytes()).unwrap();
            if let Some(v) = short_decimal(text.as_bytes()) {
                proptest::prop_assert_eq!(v.to_bits(), expected.to_bits(), "{}", text);
            } else {
                proptest::prop_assert!(text.len() > 16, "declined {}", text);
            }
        }
    }

    #[test]
    fn ints_and_floats_parse_strictly() {
        assert_eq!(parse_int(b"-0042"), Some(-42));
        assert_eq!(parse_int(b"+1"), None);
        assert_eq!(parse_int(b" 1"), None);
        assert_eq!(parse_int(b"1234567890123456789"), None);
        assert_eq!(parse_float(b"1.5e3"), Some(1500.0));
        assert_eq!(short_decimal(b"13.891828"), Some(13.891828));
        assert_eq!(
            short_decimal(b"-0.0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(short_decimal(b"1.2.3"), None);
        assert_eq!(short_decimal(b"1234567890123456"), None);
        assert_eq!(parse_float(b"inf"), None);
        assert_eq!(parse_float(b"1.5x"), None);
    }

    #[test]
    fn unescape_doubles_and_declines_lone_quotes() {
        let mut out = Vec::new();
        unescape(b"a\"\"b", b'"', &mut out).unwrap();
        assert_eq!(out, b"a\"b");
        assert!(unescape(b"a\"b", b'"', &mut out).is_none());
    }

    // The oracle: whatever the fast reader answers, polars (the reader it
    // stands in for) answers the same for the same bytes.
    mod oracle {
        use super::super::*;
        use crate::engine::input::dialect::csv_options;
        use proptest::prelude::*;
        use std::io::Cursor;

        #[derive(Debug, Clone, Copy)]
        enum Kind {
            Int,
            Float,
            Str,
        }

        const CLEAN_INT: &[&str] = &["0", "-12", "007", "42", "123456789012345678", ""];
        const ODD_INT: &[&str] = &[
            "+5",
            " 5",
            "5 ",
            "1.5",
            "\"12\"",
            "abc",
            "1234567890123456789",
            "-",
            "\"\"",
        ];
        const CLEAN_FLOAT: &[&str] = &["1.5", "-0.25", "1e3", "7", "-0.0", "2.5E-3", ""];
        const ODD_FLOAT: &[&str] = &[
            "inf", "NaN", " 1", "\"2.5\"", ".5", "5.", "1e", "--1", "1.5.5", "\"\"",
        ];
        const CLEAN_STR: &[&str] = &[
            "abc",
            "\"a,b\"",
            "\"q\"\"q\"",
            "\"\"",
            "a string longer than twelve bytes",
            "é ü",
            "\"line\nbreak\"",
            "",
        ];
        const ODD_STR: &[&str] = &[
            "a\"b",
            "\"x\"y",
            "\"open",
            "x\r",
            "\"\"\"\"",
            "\"a\"\"\"",
            "  spaced ",
            "\t",
        ];

        fn cell(kind: Kind, clean: bool, one_column: bool) -> BoxedStrategy<String> {
            let (good, odd) = match kind {
                Kind::Int => (CLEAN_INT, ODD_INT),
                Kind::Float => (CLEAN_FLOAT, ODD_FLOAT),
                Kind::Str => (CLEAN_STR, ODD_STR),
            };
            // A one-column file's empty line is declined by design.
            let good: Vec<&str> = good
                .iter()
                .copied()
                .filter(|v| !(one_column && v.is_empty()))
                .collect();
            let all: Vec<&str> = good.iter().chain(odd).copied().collect();
            let pick = if clean { good } else { all };
            proptest::sample::select(pick)
                .prop_map(str::to_string)
                .boxed()
        }

        #[derive(Debug)]
        struct Case {
            text: String,
            kinds: Vec<Kind>,
            delimiter: u8,
            header: bool,
            projection: Option<Vec<usize>>,
            window: usize,
            chunk: usize,
            clean: bool,
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                proptest::collection::vec(
                    prop_oneof![Just(Kind::Int), Just(Kind::Float), Just(Kind::Str)],
                    1..5,
                ),
                any::<bool>(),
                any::<bool>(),
                prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
                proptest::sample::select(vec![64usize, 128, 192, WINDOW]),
                1usize..300,
            )
                .prop_flat_map(|(kinds, clean, header, delimiter, window, chunk)| {
                    let one = kinds.len() == 1;
                    let row: Vec<BoxedStrategy<String>> =
                        kinds.iter().map(|&k| cell(k, clean, one)).collect();
                    let n = kinds.len();
                    (
                        Just(kinds),
                        Just(clean),
                        Just(header),
                        Just(delimiter),
                        Just(window),
                        Just(chunk),
                        proptest::collection::vec(row, 0..40),
                        proptest::option::of(proptest::sample::subsequence(
                            (0..n).collect::<Vec<_>>(),
                            1..=n,
                        )),
                    )
                })
                .prop_map(
                    |(kinds, clean, header, delimiter, window, chunk, rows, projection)| {
                        let d = (delimiter as char).to_string();
                        let mut text = String::new();
                        if header {
                            let names: Vec<String> =
                                (0..kinds.len()).map(|i| format!("c{i}")).collect();
                            text.push_str(&names.join(&d));
                            text.push('\n');
                        }
                        for r in rows {
                            text.push_str(&r.join(&d));
                            text.push('\n');
                        }
                        Case {
                            text,
                            kinds,
                            delimiter,
                            header,
                            projection,
                            window,
                            chunk,
                            clean,
                        }
                    },
                )
        }

        fn schema(kinds: &[Kind]) -> Schema {
            kinds
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let dtype = match k {
                        Kind::Int => DataType::Int64,
                        Kind::Float => DataType::Float64,
                        Kind::Str => DataType::String,
                    };
                    Field::new(format!("c{i}").into(), dtype)
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn agrees_with_polars(c in case()) {
                let dialect = CsvDialect {
                    delimiter: c.delimiter,
                    quote: Some(b'"'),
                    has_header: c.header,
                    null_values: vec![],
                };
                let schema = schema(&c.kinds);
                let columns: Option<Vec<String>> = c
                    .projection
                    .as_ref()
                    .map(|p| p.iter().map(|i| format!("c{i}")).collect());
                let bytes = c.text.as_bytes();
                let req = Request {
                    dialect: &dialect,
                    encoding: Encoding::Utf8,
                    schema: &schema,
                    columns: columns.as_deref(),
                    skip_header: c.header,
                };
                let fast = parse_in_windows(bytes, &req, c.window);
                // The same bytes arriving in chunks of `c.chunk` bytes.
                let mut fed = 0;
                let chunked = try_parse_chunks(
                    |buf| {
                        let next = (fed + c.chunk).min(bytes.len());
                        buf.extend_from_slice(&bytes[fed..next]);
                        fed = next;
                        Ok(fed == bytes.len())
                    },
                    bytes.len(),
                    &req,
                )
                .unwrap();
                let header_in_first_chunk =
                    !c.header || c.text.find('\n').is_some_and(|i| i < c.chunk);
                if header_in_first_chunk {
                    prop_assert_eq!(
                        chunked.as_ref().map(|df| format!("{df:?}")),
                        fast.as_ref().map(|df| format!("{df:?}"))
                    );
                }
                // Clean data (no `\r`, RFC quoting, plain numbers) is never
                // declined: the fast reader is not vacuously right.
                let has_cr = c.text.contains('\r');
                if c.clean && !has_cr {
                    prop_assert!(fast.is_some(), "declined clean input {:?}", c.text);
                }
                if let Some(fast) = fast {
                    let polars = csv_options(&dialect, Encoding::Utf8, c.header)
                        .with_schema(Some(Arc::new(schema.clone())))
                        .with_columns(columns.map(|c| c.into_iter().map(Into::into).collect()))
                        .with_raise_if_empty(false)
                        .into_reader_with_file_handle(Cursor::new(bytes))
                        .finish();
                    let polars = match polars {
                        Ok(df) => df,
                        Err(e) => return Err(TestCaseError::fail(format!(
                            "fast reader answered {fast:?} where polars fails: {e}"
                        ))),
                    };
                    prop_assert_eq!(fast.get_column_names(), polars.get_column_names());
                    prop_assert!(
                        fast.equals_missing(&polars),
                        "fast {:?}\npolars {:?}", fast, polars
                    );
                }
            }
        }
    }
}
