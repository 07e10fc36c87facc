//! OpenAiResponses upstream SSE stream, cut into chunks by the input's first bytes → IR → every client stream;
//! the IR must be the same whole and split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::wire::Format;

fuzz_target!(|data: &[u8]| switchyard_fuzz::stream(Format::OpenAiResponses, data));
