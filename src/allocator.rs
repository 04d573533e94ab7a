//! Tuning for the allocator the binary uses (mimalloc, set in `main.rs`).
//!
//! Why mimalloc: columns are built in buffers of several MiB that live for
//! one partition each; glibc returns such buffers to the kernel at once, so
//! every partition paid page faults and zeroing for fresh pages.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the Rust bindings
/// do not name it; the test below checks the index against its default).
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// How long freed memory is kept before it goes back to the kernel (ms).
/// mimalloc 3's default, a second, holds several partitions' worth of freed
/// columns: ~200 MiB more peak memory on the 2 GB group-by, no faster.
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Call once at start-up.
pub fn tune() {
    // SAFETY: sets a plain integer option, read by mimalloc when it purges.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    #[test]
    fn purge_delay_index_names_the_purge_delay() {
        // SAFETY: plain option reads.
        let before = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1000, "not mimalloc 3's purge_delay default");
        tune();
        assert_eq!(
            unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) },
            PURGE_DELAY_MS
        );
    }
}
