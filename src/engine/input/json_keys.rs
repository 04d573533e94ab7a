//! The top-level keys of NDJSON records, scanned without building values:
//! a key the inferred schema lacks (one record in 2,000 holds it, and no
//! sample did) would otherwise be dropped silently by the reader.

use memchr::memchr2;

/// The first record in `bytes` with a top-level key that `known` says is
/// not a column: (byte offset of the record, the key). Records that are not
/// objects, or not valid JSON, are left to the reader to report.
pub fn first_unknown_key(bytes: &[u8], known: impl Fn(&[u8]) -> bool) -> Option<(usize, String)> {
    // Most records repeat the previous one's keys in order: compare with
    // those first, and ask `known` only about a key that differs.
    let mut previous: Vec<(usize, usize)> = Vec::new();
    let mut previous_line: &[u8] = &[];
    let mut current: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |e| start + e);
        let line = &bytes[start..end];
        current.clear();
        if keys(line, &mut current).is_some() {
            for (i, &(ks, ke)) in current.iter().enumerate() {
                let key = &line[ks..ke];
                let same = previous
                    .get(i)
                    .is_some_and(|&(ps, pe)| &previous_line[ps..pe] == key);
                if !same && !known(key) {
                    return Some((start, String::from_utf8_lossy(key).into_owned()));
                }
            }
            std::mem::swap(&mut previous, &mut current);
            previous_line = line;
        }
        start = end + 1;
    }
    None
}

/// The byte ranges of `line`'s top-level keys (as written, escapes kept).
/// `None`: not an object this scanner understands.
fn keys(line: &[u8], out: &mut Vec<(usize, usize)>) -> Option<()> {
    let mut i = skip_space(line, 0);
    if line.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(line, i + 1);
    if line.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        if line.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(line, i + 1)?;
        out.push((i + 1, key_end));
        i = skip_space(line, key_end + 1);
        if line.get(i) != Some(&b':') {
            return None;
        }
        i = skip_value(line, skip_space(line, i + 1))?;
        i = skip_space(line, i);
        match line.get(i) {
            Some(b',') => i = skip_space(line, i + 1),
            Some(b'}') => return Some(()),
            _ => return None,
        }
    }
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

/// Where the string starting after its opening quote at `i` closes.
pub(crate) fn string_end(line: &[u8], mut i: usize) -> Option<usize> {
    // Most strings are short: look at their first bytes one by one before
    // setting up a vector search.
    let near = line.len().min(i + 24);
    while i < near {
        match line[i] {
            b'"' => return Some(i),
            b'\\' => break,
            _ => i += 1,
        }
    }
    loop {
        let at = i + memchr2(b'"', b'\\', &line[i..])?;
        if line[at] == b'"' {
            return Some(at);
        }
        i = at + 2; // an escape: skip the escaped byte
        if i > line.len() {
            return None;
        }
    }
}

/// The end of the value starting at `i`.
pub(crate) fn skip_value(line: &[u8], i: usize) -> Option<usize> {
    match line.get(i)? {
        b'"' => string_end(line, i + 1).map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match line.get(j)? {
                    b'"' => j = string_end(line, j + 1)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while line
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r'))
            {
                j += 1;
            }
            // A literal or a number's characters, not any word.
            let token = &line[i..j];
            let literal = matches!(token, b"true" | b"false" | b"null");
            let number = !token.is_empty()
                && token
                    .iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'));
            (literal || number).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_the_schema_lacks_is_found_past_nested_values_and_escapes() {
        let known = |k: &[u8]| matches!(k, b"a" | b"b" | b"c");
        let data = concat!(
            "{\"a\":1,\"b\":\"x\\\"}y\",\"c\":{\"rare\":1}}\n",
            "{\"a\":[1,{\"q\":2}], \"b\" : null}\n",
            "\n",
            "{\"b\":\"}\",\"a\":2}\n",
            "{\"a\":3,\"rare\":true}\n",
        );
        let at = data.find("{\"a\":3").unwrap();
        assert_eq!(
            first_unknown_key(data.as_bytes(), known),
            Some((at, "rare".into()))
        );
        assert_eq!(first_unknown_key(&data.as_bytes()[..at], known), None);
    }
}
