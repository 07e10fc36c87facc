//! OpenAiChat upstream response bytes → IR → every client format (whole and replayed as a stream).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::wire::Format;

fuzz_target!(|data: &[u8]| switchyard_fuzz::response(Format::OpenAiChat, data));
