//! Bit tricks shared by the readers that classify 64 bytes at a time into
//! masks (CSV's delimiters and quotes, NDJSON's structure): the running
//! quote parity and the positions of a mask's set bits.

/// Bytes classified at a time: one bit each in a `u64`.
pub const BLOCK: usize = 64;

/// Bit i set when an odd number of quotes sit at or before i: "inside a
/// quoted span" (the opening quote counts as inside, the closing not).
#[inline(always)]
pub fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Append the positions of the set bits of `bits` (offset by `base`).
/// Writes eight at a time without a branch per bit, as simdjson does.
#[inline(always)]
pub fn flatten(mut bits: u64, base: u32, out: &mut Vec<u32>) {
    let n = bits.count_ones() as usize;
    out.reserve(BLOCK);
    let len = out.len();
    // SAFETY: `reserve(64)` made room for 64 more and at most 64 slots
    // (n <= 64 rounded up to 8) are written; only the first `n` become
    // part of the vector.
    let free = unsafe { out.as_mut_ptr().add(len) };
    let mut i = 0;
    while i < n {
        for _ in 0..8 {
            // SAFETY: see above.
            unsafe { free.add(i).write(base + bits.trailing_zeros()) };
            bits &= bits.wrapping_sub(1);
            i += 1;
        }
    }
    // SAFETY: the first `n` new slots were written above.
    unsafe { out.set_len(len + n) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_xor_marks_quoted_spans() {
        // quotes at 1 and 4: bits 1..=3 inside.
        assert_eq!(prefix_xor(0b10010), 0b01110);
    }

    #[test]
    fn flatten_lists_set_bits_in_order() {
        let mut out = vec![7];
        flatten((1 << 63) | (1 << 9) | 1, 100, &mut out);
        assert_eq!(out, [7, 100, 109, 163]);
        flatten(0, 0, &mut out);
        assert_eq!(out.len(), 4);
        flatten(u64::MAX, 0, &mut out);
        assert_eq!(out[4..], (0..64).collect::<Vec<u32>>()[..]);
    }

    proptest::proptest! {
        #[test]
        fn prefix_xor_is_the_running_parity(x: u64) {
            let mut parity = 0u64;
            let mut expected = 0u64;
            for i in 0..64 {
                parity ^= (x >> i) & 1;
                expected |= parity << i;
            }
            proptest::prop_assert_eq!(prefix_xor(x), expected);
        }
    }
}
