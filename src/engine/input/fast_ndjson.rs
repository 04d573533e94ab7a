//! A reader for NDJSON partitions that builds only the keys asked for and
//! skips the values of all others without building them, as the CSV reader
//! skips unread columns. It answers only when sure to give what polars'
//! reader gives (flat values of the types below, strings without odd
//! escapes); anything else — a nested value in a wanted key, an integer
//! column holding `2.5`, a number where text is wanted, a key written twice,
//! bytes that are not UTF-8 — returns `None`, and polars' reader reads the
//! partition (and reports what is wrong with it).

use polars::prelude::*;

use crate::engine::input::json_keys::{skip_value, string_end};

/// A column being built.
enum Builder {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(StringChunkedBuilder),
}

impl Builder {
    fn new(dtype: &DataType, name: &str, capacity: usize) -> Option<Builder> {
        Some(match dtype {
            DataType::Int64 => Builder::Int(Vec::with_capacity(capacity)),
            DataType::Float64 => Builder::Float(Vec::with_capacity(capacity)),
            DataType::Boolean => Builder::Bool(Vec::with_capacity(capacity)),
            DataType::String => Builder::Text(StringChunkedBuilder::new(name.into(), capacity)),
            _ => return None,
        })
    }

    fn push_null(&mut self) {
        match self {
            Builder::Int(v) => v.push(None),
            Builder::Float(v) => v.push(None),
            Builder::Bool(v) => v.push(None),
            Builder::Text(b) => b.append_null(),
        }
    }

    /// Parse the value at `line[i..]` into this column; its end, or `None`
    /// when this reader is not sure of polars' reading.
    fn push(&mut self, line: &[u8], i: usize, scratch: &mut String) -> Option<usize> {
        if line[i..].starts_with(b"null") {
            self.push_null();
            return Some(i + 4);
        }
        match self {
            Builder::Int(v) => {
                let end = scalar_end(line, i);
                let text = std::str::from_utf8(&line[i..end]).ok()?;
                // Digits only (an optional sign): `2.0` or `1e3` are not
                // integers to polars' reader either.
                if !text
                    .bytes()
                    .enumerate()
                    .all(|(k, c)| c.is_ascii_digit() || (k == 0 && c == b'-'))
                {
                    return None;
                }
                v.push(Some(
                    json_number_ok(text).then(|| text.parse::<i64>().ok())??,
                ));
                Some(end)
            }
            Builder::Float(v) => {
                let end = scalar_end(line, i);
                let text = std::str::from_utf8(&line[i..end]).ok()?;
                if !json_number_ok(text) {
                    return None;
                }
                v.push(Some(text.parse::<f64>().ok()?));
                Some(end)
            }
            Builder::Bool(v) => {
                if line[i..].starts_with(b"true") {
                    v.push(Some(true));
                    Some(i + 4)
                } else if line[i..].starts_with(b"false") {
                    v.push(Some(false));
                    Some(i + 5)
                } else {
                    None
                }
            }
            Builder::Text(b) => {
                if line.get(i) != Some(&b'"') {
                    return None; // a number or object as text: polars formats it
                }
                let end = string_end(line, i + 1)?;
                let raw = &line[i + 1..end];
                if memchr::memchr(b'\\', raw).is_none() {
                    b.append_value(std::str::from_utf8(raw).ok()?);
                } else {
                    unescape(raw, scratch)?;
                    b.append_value(scratch.as_str());
                }
                Some(end + 1)
            }
        }
    }

    fn finish(self, name: &str) -> Column {
        match self {
            Builder::Int(v) => Column::new(name.into(), v),
            Builder::Float(v) => Column::new(name.into(), v),
            Builder::Bool(v) => Column::new(name.into(), v),
            Builder::Text(b) => b.finish().into_column(),
        }
    }
}

/// Where a scalar (number or literal) starting at `i` ends.
fn scalar_end(line: &[u8], i: usize) -> usize {
    i + line[i..]
        .iter()
        .position(|c| matches!(c, b',' | b'}' | b' ' | b'\t' | b'\r'))
        .unwrap_or(line.len() - i)
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number_ok(text: &str) -> bool {
    let b = text.as_bytes();
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
/// per key: two overlapping 8-byte loads cover up to 16 bytes.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    if word(a, 0) != word(b, 0) || word(a, n - 8) != word(b, n - 8) {
        return false;
    }
    n <= 16 || a == b
}

fn skip_space(line: &[u8], mut i: usize) -> usize {
    while line
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r'))
    {
        i += 1;
    }
    i
}

/// Parse `bytes` (whole NDJSON records) into the columns of `schema`, in
/// its order; `None` when unsure (see the module comment).
pub fn try_parse(bytes: &[u8], schema: &Schema) -> Option<DataFrame> {
    std::str::from_utf8(bytes).ok()?;
    let estimate = bytecount::count(bytes, b'\n') + 1;
    let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    let mut builders: Vec<Builder> = schema
        .iter()
        .map(|(n, dt)| Builder::new(dt, n.as_str(), estimate))
        .collect::<Option<_>>()?;
    let mut seen = vec![false; names.len()];
    // The previous record's keys by position, and the column each names:
    // records usually repeat them, so a byte comparison finds the column.
    let mut layout: Vec<(Vec<u8>, Option<usize>)> = Vec::new();
    let mut scratch = String::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |e| start + e);
        let line = &bytes[start..end];
        start = end + 1;
        let mut i = skip_space(line, 0);
        if i == line.len() {
            continue; // a blank line: polars skips it too
        }
        if line[i] != b'{' {
            return None;
        }
        seen.iter_mut().for_each(|s| *s = false);
        i = skip_space(line, i + 1);
        let mut position = 0;
        if line.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                if line.get(i) != Some(&b'"') {
                    return None;
                }
                let key_end = string_end(line, i + 1)?;
                let key = &line[i + 1..key_end];
                let column = match layout.get(position) {
                    Some((k, c)) if same_bytes(k, key) => *c,
                    _ => {
                        if memchr::memchr(b'\\', key).is_some() {
                            return None;
                        }
                        let c = names.iter().position(|n| n.as_bytes() == key);
                        if position < layout.len() {
                            layout[position] = (key.to_vec(), c);
                        } else {
                            layout.push((key.to_vec(), c));
                        }
                        c
                    }
                };
                position += 1;
                i = skip_space(line, key_end + 1);
                if line.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_space(line, i + 1);
                if i >= line.len() {
                    return None;
                }
                i = match column {
                    Some(c) if !seen[c] => {
                        seen[c] = true;
                        builders[c].push(line, i, &mut scratch)?
                    }
                    Some(_) => return None, // a key written twice
                    None => skip_value(line, i)?,
                };
                i = skip_space(line, i);
                match line.get(i) {
                    Some(b',') => i = skip_space(line, i + 1),
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if skip_space(line, i) != line.len() {
            return None;
        }
        for (b, s) in builders.iter_mut().zip(&seen) {
            if !s {
                b.push_null();
            }
        }
    }
    let columns: Vec<Column> = builders
        .into_iter()
        .zip(&names)
        .map(|(b, n)| b.finish(n))
        .collect();
    DataFrame::new_infer_height(columns).ok()
}
