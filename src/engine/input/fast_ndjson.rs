//! A reader for NDJSON partitions that builds only the keys asked for and
//! skips the values of all others without building them, as the CSV reader
//! skips unread columns. It walks the structural positions
//! [`Structure`] lists (`{ } [ ] , :` and line ends outside strings): a key
//! lies between a separator and a colon, a value between a colon and a
//! separator, so an unread string, however long, costs a step. Each line's
//! quote count must equal two per key and per string found, so a skipped
//! string holding a stray quote is still caught.
//!
//! It answers only when sure to give what polars' reader gives (flat
//! values of the types below, strings without odd escapes); anything else —
//! a nested value in a wanted key, an integer column holding `2.5`, a number
//! where text is wanted, a key written twice, two records on a line, bytes
//! that are not UTF-8 — returns `None`, and polars' reader reads the
//! partition (and reports what is wrong with it).

use polars::prelude::*;

use crate::engine::input::json_structure::Structure;
use crate::engine::input::numbers::Numbers;

/// A column being built.
enum Builder {
    Int(Numbers<i64>),
    Float(Numbers<f64>),
    Bool(Vec<Option<bool>>),
    Text(StringChunkedBuilder),
}

impl Builder {
    fn new(dtype: &DataType, name: &str, capacity: usize) -> Option<Builder> {
        Some(match dtype {
            DataType::Int64 => Builder::Int(Numbers::new(capacity)),
            DataType::Float64 => Builder::Float(Numbers::new(capacity)),
            DataType::Boolean => Builder::Bool(Vec::with_capacity(capacity)),
            DataType::String => Builder::Text(StringChunkedBuilder::new(name.into(), capacity)),
            _ => return None,
        })
    }

    fn push_null(&mut self) {
        match self {
            Builder::Int(v) => v.push_null(),
            Builder::Float(v) => v.push_null(),
            Builder::Bool(v) => v.push(None),
            Builder::Text(b) => b.append_null(),
        }
    }

    /// Add a number or literal (`text`, spaces trimmed); `None` when this
    /// reader is not sure of polars' reading.
    #[inline]
    fn push_scalar(&mut self, text: &[u8]) -> Option<()> {
        if text == b"null" {
            self.push_null();
            return Some(());
        }
        match self {
            Builder::Int(v) => v.push(json_int(text)?),
            Builder::Float(v) => {
                if !json_number_ok(text) {
                    return None;
                }
                v.push(fast_float2::parse(text).ok()?);
            }
            Builder::Bool(v) => match text {
                b"true" => v.push(Some(true)),
                b"false" => v.push(Some(false)),
                _ => return None,
            },
            Builder::Text(_) => return None, // a number as text: polars formats it
        }
        Some(())
    }

    /// Add a string value (`raw`, between its quotes, escapes as written;
    /// `escapes`: whether it may hold a backslash).
    #[inline]
    fn push_string(&mut self, raw: &[u8], escapes: bool, scratch: &mut String) -> Option<()> {
        let Builder::Text(b) = self else {
            return None; // text in a number column: polars decides
        };
        if !escapes || memchr::memchr(b'\\', raw).is_none() {
            // SAFETY: `try_parse` checked all its bytes to be UTF-8, and
            // `raw` lies between two quotes, ASCII bytes, which are never
            // part of a longer character: it is whole characters.
            b.append_value(unsafe { std::str::from_utf8_unchecked(raw) });
        } else {
            unescape(raw, scratch)?;
            b.append_value(scratch.as_str());
        }
        Some(())
    }

    fn finish(self, name: &str) -> Column {
        match self {
            Builder::Int(v) => v.finish_int(name.into()),
            Builder::Float(v) => v.finish_float(name.into()),
            Builder::Bool(v) => Column::new(name.into(), v),
            Builder::Text(b) => b.finish().into_column(),
        }
    }
}

/// An integer as JSON writes one (`-?(0|[1-9][0-9]*)`) that fits an
/// `i64`; `None` for anything else (`2.0` or `1e3` are not integers to
/// polars' reader either).
#[inline]
fn json_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    // Summed as a negative number, which reaches `i64::MIN`.
    let mut value: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number_ok(b: &[u8]) -> bool {
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Decode a JSON string's escapes into `out`; `None` for any escape this
/// reader does not decode exactly (then polars reads the partition).
fn unescape(raw: &[u8], out: &mut String) -> Option<()> {
    out.clear();
    let text = std::str::from_utf8(raw).ok()?;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex = |chars: &mut std::str::Chars| -> Option<u32> {
                    let h: String = chars.by_ref().take(4).collect();
                    (h.len() == 4).then(|| u32::from_str_radix(&h, 16).ok())?
                };
                let code = hex(&mut chars)?;
                let code = match code {
                    // A UTF-16 surrogate pair: `\ud83e\udd80` is one character.
                    0xD800..=0xDBFF => {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = hex(&mut chars)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    // A lone low surrogate: left to polars.
                    0xDC00..=0xDFFF => return None,
                    c => c,
                };
                out.push(char::from_u32(code)?);
            }
            _ => return None,
        }
    }
    Some(())
}

/// `a == b` for the short byte strings keys are, without a call into libc
/// per key: overlapping 8-byte loads cover up to 32 bytes.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let differ = |at: usize| word_at(a, at) != word_at(b, at);
    if differ(0) || differ(n - 8) {
        return false;
    }
    if n <= 16 {
        true
    } else if n <= 32 {
        !differ(8) && !differ(n - 16)
    } else {
        a == b
    }
}

/// The 8 bytes of `s` from `at` (which the caller keeps in bounds).
#[inline(always)]
fn word_at(s: &[u8], at: usize) -> u64 {
    match s.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
        None => unreachable!("a word within the key"),
    }
}

/// Only spaces (JSON's whitespace within a line).
#[inline]
fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// `text` without the spaces around it.
#[inline(always)]
fn trim(text: &[u8]) -> &[u8] {
    // Writers rarely put spaces there: one compare per end (spaces, tabs
    // and carriage returns are all at or below 0x20) says so.
    match text {
        [first, .., last] if *first > b' ' && *last > b' ' => text,
        _ => trim_spaces(text),
    }
}

fn trim_spaces(mut text: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = text {
        text = rest;
    }
    text
}

/// A number or literal's characters (an unread value is checked this far,
/// as polars' reader would refuse anything else). `token` is a slice of
/// `bytes`, whose bytes after it may be loaded with it.
#[inline]
fn scalar_like(bytes: &[u8], token: &[u8]) -> bool {
    match token.first() {
        Some(b't' | b'f' | b'n') => matches!(token, b"true" | b"false" | b"null"),
        Some(_) => number_spelling(bytes, token),
        None => false,
    }
}

/// Only the bytes a JSON number is spelt with (`0-9 + - . e E`).
#[inline]
fn number_spelling(bytes: &[u8], token: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if token.len() <= 16 {
        // Most numbers fit one 16-byte load: a few vector instructions and
        // no loop whose length the branch predictor would have to guess.
        let start = token.as_ptr() as usize - bytes.as_ptr() as usize;
        debug_assert!(start + token.len() <= bytes.len(), "token within bytes");
        if let Some(block) = bytes.get(start..start + 16) {
            return number_spelling_sse2(block.try_into().expect("16 bytes"), token.len());
        }
    }
    token.iter().all(|&c| NUMBER[c as usize])
}

/// The bytes a JSON number is spelt with.
const NUMBER: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b'-' as usize] = true;
    t[b'+' as usize] = true;
    t[b'.' as usize] = true;
    t[b'e' as usize] = true;
    t[b'E' as usize] = true;
    t
};

/// [`number_spelling`] of the first `len` (at most 16) bytes of `block`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn number_spelling_sse2(block: &[u8; 16], len: usize) -> bool {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the load is unaligned
    // and within the 16-byte block.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let is = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        // A digit is a byte whose distance above `0` is at most 9.
        let above_zero = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(above_zero, _mm_set1_epi8(9)), above_zero);
        // `E` is `e` without bit 0x20.
        let exponent = _mm_cmpeq_epi8(
            _mm_or_si128(v, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'e' as i8),
        );
        let ok = _mm_or_si128(
            _mm_or_si128(digit, exponent),
            _mm_or_si128(_mm_or_si128(is(b'+'), is(b'-')), is(b'.')),
        );
        let wanted = (1u32 << len) - 1;
        _mm_movemask_epi8(ok) as u32 & wanted == wanted
    }
}

/// Rows to reserve for in `size` bytes: the newlines of the first 64 KiB
/// of `bytes`, scaled.
fn estimate_rows(bytes: &[u8], size: usize) -> usize {
    let probe = &bytes[..bytes.len().min(64 * 1024)];
    let lines = bytecount::count(probe, b'\n').max(1);
    size / probe.len().max(1) * lines + lines
}

/// The keys of the previous record by position, as written, and the column
/// each names: records usually repeat them, so a byte comparison finds the
/// column.
struct Layout<'s> {
    names: Vec<&'s str>,
    previous: Vec<(Vec<u8>, Option<usize>)>,
}

impl Layout<'_> {
    /// The column the key written as `raw` (quotes and any spaces around
    /// it included) names, when the previous record wrote the same bytes at
    /// this position: the common case, one comparison.
    #[inline(always)]
    fn known(&self, position: usize, raw: &[u8]) -> Option<Option<usize>> {
        match self.previous.get(position) {
            Some((k, c)) if same_bytes(k, raw) => Some(*c),
            _ => None,
        }
    }

    /// The column `key` (written as `raw`) names, remembered for the next
    /// record (`Ok(None)`: not wanted); `Err` for an escaped key, which
    /// polars compares after decoding.
    fn learn(&mut self, position: usize, raw: &[u8], key: &[u8]) -> Result<Option<usize>, ()> {
        if memchr::memchr(b'\\', key).is_some() {
            return Err(());
        }
        let c = self.names.iter().position(|n| n.as_bytes() == key);
        if position < self.previous.len() {
            self.previous[position] = (raw.to_vec(), c);
        } else {
            self.previous.push((raw.to_vec(), c));
        }
        Ok(c)
    }
}

/// Parse `bytes` (whole NDJSON records) into the columns of `schema`, in
/// its order; `None` when unsure (see the module comment).
pub fn try_parse(bytes: &[u8], schema: &Schema) -> Option<DataFrame> {
    let mut parser = Parser::new(schema, estimate_rows(bytes, bytes.len()))?;
    parser.feed(bytes)?;
    parser.finish()
}

/// Bytes read at a time by [`try_parse_chunks`]: small enough that a chunk
/// is still in the core's cache while it is checked, indexed and walked,
/// so the bytes come from memory once.
pub const CHUNK: usize = 256 * 1024;

/// Parse records arriving in chunks: `read_more` appends the next chunk to
/// the buffer and says whether it was the last. The lines a chunk's end
/// cuts are completed by the next. `Ok(None)`: declined (see the module
/// comment), or `check` refused a chunk's whole lines.
pub fn try_parse_chunks<E>(
    mut read_more: impl FnMut(&mut Vec<u8>) -> Result<bool, E>,
    size_hint: usize,
    schema: &Schema,
    mut check: impl FnMut(&[u8]) -> bool,
) -> Result<Option<DataFrame>, E> {
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    let mut parser = None;
    loop {
        let last = read_more(&mut buf)?;
        // Whole lines only: a line is never split between two feeds.
        let whole = if last {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(end) => end + 1,
                None => continue, // a line longer than a chunk: read on
            }
        };
        let lines = &buf[..whole];
        if parser.is_none() {
            parser = Parser::new(schema, estimate_rows(lines, size_hint));
        }
        let Some(p) = parser.as_mut() else {
            return Ok(None);
        };
        if !check(lines) || p.feed(lines).is_none() {
            return Ok(None);
        }
        if last {
            return Ok(parser.and_then(Parser::finish));
        }
        buf.drain(..whole);
    }
}

/// Records parsed into columns, fed whole lines at a time.
struct Parser<'s> {
    layout: Layout<'s>,
    builders: Vec<Builder>,
    seen: Vec<bool>,
    scratch: String,
}

impl<'s> Parser<'s> {
    /// `None` for a schema with a type this reader does not build.
    fn new(schema: &'s Schema, rows: usize) -> Option<Self> {
        let builders: Vec<Builder> = schema
            .iter()
            .map(|(n, dt)| Builder::new(dt, n.as_str(), rows))
            .collect::<Option<_>>()?;
        Some(Parser {
            layout: Layout {
                names: schema.iter_names().map(|n| n.as_str()).collect(),
                previous: Vec::new(),
            },
            seen: vec![false; builders.len()],
            builders,
            scratch: String::new(),
        })
    }

    /// Parse `bytes`, whole lines (the last may lack its line end);
    /// `None` when unsure.
    fn feed(&mut self, bytes: &[u8]) -> Option<()> {
        simdutf8::basic::from_utf8(bytes).ok()?;
        let mut structure = Structure::new(bytes);
        // Where the current line's unread bytes start, and the quotes its
        // record's keys and strings account for (`None`: no record yet).
        let mut line_start = 0;
        let mut record_quotes: Option<u32> = None;
        while let Some(window) = structure.next_window() {
            let mut record = Record {
                bytes,
                base: window.base,
                positions: window.positions,
                escapes: window.escapes,
                next: 0,
                layout: &mut self.layout,
                builders: &mut self.builders,
                seen: &mut self.seen,
                scratch: &mut self.scratch,
                quotes: 0,
            };
            let mut lines = window.line_quotes.iter();
            while let Some(t) = record.take() {
                match bytes[t] {
                    b'\n' if blank(&bytes[line_start..t]) => {
                        if lines.next() != Some(&record_quotes.unwrap_or(0)) {
                            return None;
                        }
                        line_start = t + 1;
                        record_quotes = None;
                        continue;
                    }
                    b'{' if record_quotes.is_none() && blank(&bytes[line_start..t]) => {}
                    _ => return None,
                }
                record.seen.iter_mut().for_each(|s| *s = false);
                record.quotes = 0;
                let close = record.parse_object(t)?;
                record_quotes = Some(record.quotes);
                for (b, s) in record.builders.iter_mut().zip(record.seen.iter()) {
                    if !s {
                        b.push_null();
                    }
                }
                line_start = close + 1;
            }
        }
        let whole = !structure.broken()
            && blank(&bytes[line_start..])
            && structure.quotes_after_last_line() == record_quotes.unwrap_or(0);
        whole.then_some(())
    }

    fn finish(self) -> Option<DataFrame> {
        let columns: Vec<Column> = self
            .builders
            .into_iter()
            .zip(&self.layout.names)
            .map(|(b, n)| b.finish(n))
            .collect();
        DataFrame::new_infer_height(columns).ok()
    }
}

/// Records being read into the builders, from one window's positions.
struct Record<'r, 'b, 's> {
    bytes: &'b [u8],
    base: usize,
    positions: &'r [u32],
    /// Whether the window holds a backslash.
    escapes: bool,
    /// The next position to take.
    next: usize,
    layout: &'r mut Layout<'s>,
    builders: &'r mut [Builder],
    seen: &'r mut [bool],
    scratch: &'r mut String,
    /// Quotes the keys and strings read so far account for.
    quotes: u32,
}

impl Record<'_, '_, '_> {
    /// The next structural position (a window holds whole lines, so a
    /// record that runs out of positions is cut short: malformed).
    #[inline(always)]
    fn take(&mut self) -> Option<usize> {
        let p = *self.positions.get(self.next)?;
        self.next += 1;
        Some(self.base + p as usize)
    }

    /// Parse the object opening at `open`; the position of its closing
    /// brace.
    fn parse_object(&mut self, open: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut after = open + 1;
        let mut position = 0;
        loop {
            let colon = self.take()?;
            if bytes[colon] == b'}' && position == 0 && blank(&bytes[after..colon]) {
                return Some(colon); // `{}`
            }
            if bytes[colon] != b':' {
                return None;
            }
            let raw = &bytes[after..colon];
            let column = match self.layout.known(position, raw) {
                Some(c) => c,
                None => {
                    let key = quoted(trim(raw))?;
                    self.layout.learn(position, raw, key).ok()?
                }
            };
            self.quotes += 2;
            position += 1;
            let wanted = match column {
                Some(c) if self.seen[c] => return None, // a key written twice
                Some(c) => {
                    self.seen[c] = true;
                    Some(c)
                }
                None => None,
            };
            let end = self.take()?;
            let separator = match bytes[end] {
                b',' | b'}' => {
                    let value = trim(&bytes[colon + 1..end]);
                    if value.first() == Some(&b'"') {
                        let text = quoted(value)?;
                        self.quotes += 2;
                        if let Some(c) = wanted {
                            self.builders[c].push_string(text, self.escapes, self.scratch)?;
                        }
                    } else {
                        match wanted {
                            Some(c) => self.builders[c].push_scalar(value)?,
                            None if scalar_like(bytes, value) => {}
                            None => return None,
                        }
                    }
                    end
                }
                b'{' | b'[' if wanted.is_none() && blank(&bytes[colon + 1..end]) => {
                    let close = self.skip_nested()?;
                    self.quotes += nested_quotes(&bytes[end..=close])?;
                    let separator = self.take()?;
                    if !blank(&bytes[close + 1..separator]) {
                        return None;
                    }
                    separator
                }
                _ => return None,
            };
            match bytes[separator] {
                b',' => after = separator + 1,
                b'}' => return Some(separator),
                _ => return None,
            }
        }
    }

    /// Past a nested object or array whose opening was just read: the
    /// position of its closing bracket.
    fn skip_nested(&mut self) -> Option<usize> {
        let mut depth = 1usize;
        loop {
            let p = self.take()?;
            match self.bytes[p] {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(p);
                    }
                }
                b'\n' => return None,
                _ => {}
            }
        }
    }
}

/// The text between the quotes of `value` (a key or a string); `None` when
/// it is not quoted at both ends.
#[inline(always)]
fn quoted(value: &[u8]) -> Option<&[u8]> {
    match value {
        [b'"', text @ .., b'"'] => Some(text),
        _ => None,
    }
}

/// The unescaped quotes of a nested value, whose strings must each close
/// before it does (nested values are rare: a byte walk).
fn nested_quotes(value: &[u8]) -> Option<u32> {
    let mut quotes = 0;
    let mut inside = false;
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'\\' if inside => i += 1,
            b'"' => {
                inside = !inside;
                quotes += 1;
            }
            _ => {}
        }
        i += 1;
    }
    (!inside).then_some(quotes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time comparison agrees with `==` at every length up to
    /// 40 and with a difference at every offset.
    #[test]
    fn same_bytes_agrees_with_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!same_bytes(&a, &b), "{n} {at}");
            }
            assert!(!same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    /// The vector check of a number's spelling agrees with the byte table
    /// for every byte at every position and length.
    #[test]
    fn number_spelling_agrees_with_the_table() {
        for len in 1..=16usize {
            for at in 0..len {
                for c in 0..=255u8 {
                    // What follows the token is not a number's.
                    let mut block = *b"1234567890123456";
                    block[len..].fill(b'"');
                    block[at] = c;
                    let token = &block[..len];
                    let by_table = token.iter().all(|&b| NUMBER[b as usize]);
                    assert_eq!(number_spelling(&block, token), by_table, "{len} {at} {c}");
                }
            }
        }
    }

    /// Integers read exactly as Rust's parser reads them, to both ends of
    /// `i64`; JSON's spellings only.
    #[test]
    fn json_ints_are_exact_and_strict() {
        for v in [0i64, 7, -7, 1_000_000, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(json_int(v.to_string().as_bytes()), Some(v));
        }
        assert_eq!(json_int(b"-0"), Some(0));
        for bad in [
            "",
            "-",
            "01",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "9223372036854775808",
            "-9223372036854775809",
        ] {
            assert_eq!(json_int(bad.as_bytes()), None, "{bad}");
        }
    }
}
