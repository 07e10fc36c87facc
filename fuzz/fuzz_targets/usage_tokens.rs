//! Any upstream answer → the usage reader (whole body and SSE stream, every format): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::usage_tokens(data));
