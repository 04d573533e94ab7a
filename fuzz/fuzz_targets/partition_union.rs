#![no_main]
//! See quarry::checks::partition_union for the property.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry::checks::partition_union(data));
