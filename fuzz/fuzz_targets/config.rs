//! Any text (UTF-8, lossily) → `config::load_str`: a config or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::config(data));
