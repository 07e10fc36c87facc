//! OpenAiCompletions client request bytes → IR → every upstream format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::wire::Format;

fuzz_target!(|data: &[u8]| switchyard_fuzz::request(Format::OpenAiCompletions, data));
