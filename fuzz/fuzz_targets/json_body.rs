//! `JsonBody::parse` → `set_str("model", …)` → `to_bytes`: still valid, everything else byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::json_body(data));
