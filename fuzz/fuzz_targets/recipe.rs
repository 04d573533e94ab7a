#![no_main]
//! See quarry::checks::recipe for the property.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry::checks::recipe(data));
