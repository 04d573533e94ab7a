#![no_main]
//! See quarry::checks::expression for the property.
libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry::checks::expression(data));
