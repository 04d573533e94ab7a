//! Where NDJSON's structure is, found 64 bytes at a time (simdjson's first
//! stage): the `{ } [ ] , :` and line ends outside strings, in order, and
//! how many quotes each line holds. A reader walking these positions finds
//! each key and value between a separator and the next, and skips a value
//! it does not want without looking at its bytes; the quote count tells it
//! that no string it skipped held a stray quote.
//!
//! Each block is classified into bit masks (quote, backslash, structural,
//! line end); escaped quotes are taken out; a prefix-xor over the quotes
//! marks what lies inside strings. Quotes are counted, not listed: a
//! record's keys and strings are most of its positions. The positions of a
//! window of blocks are listed at a time, so the list stays in cache.

use crate::engine::input::bitmask::{flatten, prefix_xor, BLOCK};

/// Bytes indexed at a time (at least; a window ends at a line end).
const WINDOW: usize = 64 * 1024;

/// The structural positions of `bytes` outside strings, in order, a
/// window of whole lines at a time. A line end inside a string (which JSON
/// does not allow) ends the windows early and sets [`Structure::broken`].
pub struct Structure<'a> {
    bytes: &'a [u8],
    /// Where the next window starts: a line start, where no string or
    /// escape is open.
    next: usize,
    found: Vec<u32>,
    line_quotes: Vec<u32>,
    /// Whether the current window holds a backslash.
    escapes: bool,
    /// Quotes after the last line end of the bytes (once they are all
    /// indexed).
    trailing_quotes: u32,
    broken: bool,
}

/// One window: the positions of its structure (relative to `base`) and the
/// unescaped quotes of each line that ends in it, in order. Every line in
/// it is whole: the last position is a line end, unless the window ends
/// the bytes.
pub struct Window<'w> {
    pub base: usize,
    pub positions: &'w [u32],
    pub line_quotes: &'w [u32],
    /// Whether a backslash is anywhere in the window (when not, no string
    /// in it needs its escapes decoded).
    pub escapes: bool,
}

impl<'a> Structure<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Structure {
            bytes,
            next: 0,
            found: Vec::with_capacity(WINDOW / 8),
            line_quotes: Vec::new(),
            escapes: false,
            trailing_quotes: 0,
            broken: false,
        }
    }

    /// A line end was found inside a string: the bytes are not NDJSON
    /// whose structure this lists.
    pub fn broken(&self) -> bool {
        self.broken
    }

    /// The unescaped quotes after the last line end, once every window was
    /// returned: the quotes of a last line with no line end.
    pub fn quotes_after_last_line(&self) -> u32 {
        self.trailing_quotes
    }

    /// The next window of whole lines; `None` past the end (or once
    /// broken).
    pub fn next_window(&mut self) -> Option<Window<'_>> {
        if self.next >= self.bytes.len() || self.broken {
            return None;
        }
        let base = self.next;
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has the instruction.
            unsafe { self.index_window_popcnt() }
        } else {
            self.index_window();
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.index_window();
        if self.broken {
            return None;
        }
        Some(Window {
            base,
            positions: &self.found,
            line_quotes: &self.line_quotes,
            escapes: self.escapes,
        })
    }

    /// Index blocks from `self.next` until a window's worth ends at a line
    /// end (or the bytes end), then drop what follows that line end: the
    /// next window starts there, with no string or escape open.
    /// [`Self::index_window`] with the CPU's population count (the
    /// x86-64 baseline counts bits in a dozen instructions).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn index_window_popcnt(&mut self) {
        self.index_window();
    }

    #[inline(always)]
    fn index_window(&mut self) {
        self.found.clear();
        self.line_quotes.clear();
        // Blocks past the window's cut count too: a false alarm, never a
        // missed backslash.
        self.escapes = false;
        let base = self.next;
        let len = self.bytes.len();
        let mut inside_carry = 0u64;
        let mut escape_carry = false;
        let mut quote_run = 0u32;
        // The last line end seen: where to cut, with the list lengths then.
        let mut cut: Option<(usize, usize, usize)> = None;
        let mut at = base;
        let mut tail;
        while at < len && (at - base < WINDOW || cut.is_none()) {
            let block: &[u8; BLOCK] = if at + BLOCK <= len {
                self.bytes[at..at + BLOCK].try_into().expect("64 bytes")
            } else {
                // Zero padding classifies as nothing.
                tail = [0u8; BLOCK];
                tail[..len - at].copy_from_slice(&self.bytes[at..]);
                &tail
            };
            let m = classify(block);
            self.escapes |= m.backslash != 0;
            let escaped = if m.backslash != 0 || escape_carry {
                escaped_bytes(m.backslash, &mut escape_carry)
            } else {
                0
            };
            let quote = m.quote & !escaped;
            let inside = prefix_xor(quote) ^ inside_carry;
            inside_carry = ((inside as i64) >> 63) as u64;
            if m.newline & inside != 0 {
                self.broken = true;
                return;
            }
            // Split the block's quotes among the lines its line ends close.
            let mut rest = quote;
            let mut newline = m.newline;
            while newline != 0 {
                let before = rest & ((1u64 << newline.trailing_zeros()) - 1);
                self.line_quotes.push(quote_run + before.count_ones());
                quote_run = 0;
                rest &= !before;
                newline &= newline - 1;
            }
            quote_run += rest.count_ones();
            flatten(
                (m.structural | m.newline) & !inside,
                (at - base) as u32,
                &mut self.found,
            );
            if m.newline != 0 {
                let last = at + 63 - m.newline.leading_zeros() as usize;
                let positions = self
                    .found
                    .iter()
                    .rposition(|&p| p as usize == last - base)
                    .expect("a line end is a position")
                    + 1;
                cut = Some((last, positions, self.line_quotes.len()));
            }
            at += BLOCK;
        }
        if at >= len {
            self.next = len;
            self.trailing_quotes = quote_run;
        } else {
            let (last, positions, lines) = cut.expect("a window ends at a line end");
            self.found.truncate(positions);
            self.line_quotes.truncate(lines);
            self.next = last + 1;
        }
    }
}

/// The bytes of a block escaped by a backslash before them (rare: worked
/// out a byte at a time). A run of backslashes escapes every other one.
fn escaped_bytes(backslash: u64, escape_carry: &mut bool) -> u64 {
    let mut escaped = 0u64;
    let mut escape_next = *escape_carry;
    for i in 0..BLOCK {
        if escape_next {
            escaped |= 1 << i;
            escape_next = false;
        } else if backslash >> i & 1 == 1 {
            escape_next = true;
        }
    }
    *escape_carry = escape_next;
    escaped
}

struct Masks {
    quote: u64,
    backslash: u64,
    /// `{ } [ ] , :`
    structural: u64,
    newline: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify(block: &[u8; BLOCK]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and
    // within the 64-byte block.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let newline = _mm_set1_epi8(b'\n' as i8);
        let comma = _mm_set1_epi8(b',' as i8);
        let colon = _mm_set1_epi8(b':' as i8);
        // `[` and `]` are `{` and `}` without bit 0x20: one compare each.
        let case = _mm_set1_epi8(0x20);
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            structural: 0,
            newline: 0,
        };
        for i in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * i) as *const __m128i);
            let bits = |eq: __m128i| (_mm_movemask_epi8(eq) as u16 as u64) << (16 * i);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            m.newline |= bits(_mm_cmpeq_epi8(v, newline));
            let folded = _mm_or_si128(v, case);
            let structural = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, colon)),
                _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)),
            );
            m.structural |= bits(structural);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classify(block: &[u8; BLOCK]) -> Masks {
    classify_bytes(block)
}

/// The masks a byte at a time: the reference the vector version is
/// tested against, and the version other targets use.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_bytes(block: &[u8; BLOCK]) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        structural: 0,
        newline: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        m.quote |= u64::from(b == b'"') * bit;
        m.backslash |= u64::from(b == b'\\') * bit;
        m.newline |= u64::from(b == b'\n') * bit;
        m.structural |= u64::from(matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':')) * bit;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positions a byte-by-byte walk finds, the quotes per line (the
    /// last entry: after the last line end), and whether a line end sat
    /// inside a string. A backslash escapes the next byte wherever it is
    /// (outside strings JSON has none, and the reader declines those bytes).
    fn naive(bytes: &[u8]) -> (Vec<usize>, Vec<u32>, bool) {
        let mut out = Vec::new();
        let mut quotes = vec![0];
        let mut inside = false;
        let mut escaped = false;
        for (i, &b) in bytes.iter().enumerate() {
            let was_escaped = escaped;
            escaped = !was_escaped && b == b'\\';
            if b == b'"' && !was_escaped {
                inside = !inside;
                *quotes.last_mut().unwrap() += 1;
            } else if inside && b == b'\n' {
                return (out, quotes, true);
            } else if !inside && matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'\n') {
                out.push(i);
                if b == b'\n' {
                    quotes.push(0);
                }
            }
        }
        (out, quotes, false)
    }

    /// Every position, and the quote count of each line as its end is
    /// returned, then the count after the last.
    fn listed(bytes: &[u8]) -> (Vec<usize>, Vec<u32>, bool) {
        let mut s = Structure::new(bytes);
        let mut out = Vec::new();
        let mut quotes = Vec::new();
        while let Some(w) = s.next_window() {
            let ends = w
                .positions
                .iter()
                .filter(|&&p| bytes[w.base + p as usize] == b'\n')
                .count();
            assert_eq!(ends, w.line_quotes.len());
            if let Some(&last) = w.positions.last() {
                let last = w.base + last as usize;
                assert!(bytes[last] == b'\n' || !bytes[last + 1..].contains(&b'\n'));
            }
            // A window that says it has no backslash has none before its
            // last line end.
            let window_end = w.positions.last().map_or(w.base, |&p| w.base + p as usize);
            assert!(w.escapes || !bytes[w.base..window_end].contains(&b'\\'));
            out.extend(w.positions.iter().map(|&p| w.base + p as usize));
            quotes.extend_from_slice(w.line_quotes);
        }
        quotes.push(s.quotes_after_last_line());
        (out, quotes, s.broken())
    }

    fn random_bytes(seed: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(*seed >> 33) as usize % alphabet.len()]
            })
            .collect()
    }

    /// Quotes, runs of backslashes and structure at every offset, across
    /// block and window edges: the same positions as the byte walk, up to
    /// a line end inside a string, which breaks the listing.
    #[test]
    fn positions_equal_a_byte_walk() {
        let mut seed = 11u64;
        let alphabet = b"ab\"\\\\{}[],: \xC3\xA9";
        for round in 0..3_000 {
            let len = (round * 37) % 700;
            let mut bytes = random_bytes(&mut seed, len, alphabet);
            if round % 3 == 0 {
                for k in (0..len).step_by(97) {
                    bytes[k] = b'\n';
                }
            }
            let (expected, quotes, broken) = naive(&bytes);
            let (got, got_quotes, got_broken) = listed(&bytes);
            assert_eq!(got_broken, broken, "{bytes:?}");
            if broken {
                // Positions stop at the block before the one that broke.
                assert!(expected.starts_with(&got), "{bytes:?}");
            } else {
                assert_eq!((got, got_quotes), (expected, quotes), "{bytes:?}");
            }
        }
        // Longer than a window, with escaped quotes on a window's edge.
        let mut long = Vec::new();
        while long.len() < 3 * WINDOW {
            long.extend_from_slice(b"{\"k\":\"v\\\\\",\"e\":\"\\\"x\"}\n");
        }
        let expected = naive(&long);
        assert!(!expected.2);
        assert_eq!(listed(&long), expected);
    }

    #[test]
    fn vector_masks_equal_byte_masks() {
        let mut seed = 5u64;
        let mut alphabet: Vec<u8> = (0u8..=255).collect();
        alphabet.extend_from_slice(b"\"\\{}[],:\n;;[[]]{{}}");
        for _ in 0..20_000 {
            let block: [u8; BLOCK] = random_bytes(&mut seed, BLOCK, &alphabet)
                .try_into()
                .unwrap();
            let (v, b) = (classify(&block), classify_bytes(&block));
            assert_eq!(
                (v.quote, v.backslash, v.structural, v.newline),
                (b.quote, b.backslash, b.structural, b.newline),
                "{block:?}"
            );
        }
    }
}
