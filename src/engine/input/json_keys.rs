//! The top-level keys of NDJSON records, scanned without building values:
//! a key the inferred schema lacks (one record in 2,000 holds it, and no
//! sample did) would otherwise be dropped silently by the reader.

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
fn string_end(line: &[u8], mut i: usize) -> Option<usize> {
    // Eight bytes at a time (most strings are short, too short for a
    // vector search to pay off): a word's lowest byte that is a quote or a
    // backslash is found exactly by the has-zero-byte trick.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    loop {
        while i + 8 <= line.len() {
            let w = u64::from_le_bytes(line[i..i + 8].try_into().expect("8 bytes"));
            let hits = zero_bytes(w ^ (ONES * u64::from(b'"')))
                | zero_bytes(w ^ (ONES * u64::from(b'\\')));
            if hits == 0 {
                i += 8;
                continue;
            }
            let at = i + (hits.trailing_zeros() / 8) as usize;
            if line[at] == b'"' {
                return Some(at);
            }
            i = at + 2; // an escape: skip the escaped byte
        }
        match line.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `i`.
fn skip_value(line: &[u8], i: usize) -> Option<usize> {
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

    /// The word-at-a-time search agrees with a byte-by-byte one on strings
    /// with quotes and escapes at every offset and length.
    #[test]
    fn string_end_agrees_with_a_byte_loop() {
        fn naive(line: &[u8], mut i: usize) -> Option<usize> {
            loop {
                match line.get(i)? {
                    b'"' => return Some(i),
                    b'\\' => i += 2,
                    _ => i += 1,
                }
            }
        }
        let mut seed = 7u64;
        let alphabet = [b'a', b'"', b'\\', b'x', 0xC3, 0xA9, b' ', b'z'];
        for _ in 0..200_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 58) as usize;
            let line: Vec<u8> = (0..len)
                .map(|k| alphabet[((seed >> (k % 50)) as usize + k * 3) % alphabet.len()])
                .collect();
            let start = (seed >> 20) as usize % (len + 1);
            assert_eq!(
                string_end(&line, start),
                naive(&line, start),
                "{line:?} from {start}"
            );
        }
    }
}
