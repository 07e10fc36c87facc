//! Helpers shared by the codecs' test modules: feeding upstream transcripts to a decoder the way they
//! arrive off the network, and short builders for the IR events the tests expect.

use crate::translate::ir::{BlockStart, Delta, Event, Part, StopReason, Usage};
use crate::translate::StreamDecoder;
use crate::wire::sse::{parse_events, EventSplitter};

/// Feeds a transcript to a fresh decoder through the SSE splitter in the given writes, then ends the
/// stream. The writes must end on an event boundary.
pub(crate) fn decode_writes<D: StreamDecoder + Default>(writes: &[&[u8]]) -> Vec<Event> {
    let mut splitter = EventSplitter::new();
    let mut decoder = D::default();
    let mut events = Vec::new();
    for write in writes {
        if let Some(run) = splitter.push(write) {
            for sse in parse_events(&run) {
                events.extend(decoder.push(&sse).expect("decodes"));
            }
        }
    }
    assert!(
        splitter.pending().is_empty(),
        "the transcript ends mid-event"
    );
    events.extend(decoder.finish());
    events
}

/// Decodes a transcript fed whole, then cut in two at every byte, and checks every cut gives the same
/// events (after `normalize`, which blanks what differs from run to run). Returns the events.
pub(crate) fn decode_split_everywhere<D: StreamDecoder + Default>(
    bytes: &[u8],
    normalize: impl Fn(&mut [Event]),
) -> Vec<Event> {
    let decode = |writes: &[&[u8]]| {
        let mut events = decode_writes::<D>(writes);
        normalize(&mut events);
        events
    };
    let whole = decode(&[bytes]);
    for cut in 0..=bytes.len() {
        assert_eq!(
            decode(&[&bytes[..cut], &bytes[cut..]]),
            whole,
            "transcript cut at byte {cut}"
        );
    }
    whole
}

pub(crate) fn start(id: &str, model: &str, created: u64) -> Event {
    Event::Start {
        id: id.into(),
        model: model.into(),
        created,
        usage: None,
    }
}

pub(crate) fn open(index: usize, block: BlockStart) -> Event {
    Event::BlockStart { index, block }
}

pub(crate) fn delta(index: usize, delta: Delta) -> Event {
    Event::Delta { index, delta }
}

pub(crate) fn stop(index: usize) -> Event {
    Event::BlockStop { index }
}

pub(crate) fn finish(stop: StopReason, usage: Usage) -> Event {
    Event::Finish {
        stop,
        stop_sequence: None,
        usage,
    }
}

/// Usage with no cache writes.
pub(crate) fn usage(input: u64, output: u64, cache_read: u64, reasoning: u64) -> Usage {
    Usage {
        input,
        output,
        cache_read,
        cache_write: 0,
        reasoning,
    }
}

pub(crate) fn tool_block(id: &str, name: &str) -> BlockStart {
    BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
    }
}

/// A plain (not redacted) reasoning block without an id.
pub(crate) fn reasoning_block() -> BlockStart {
    BlockStart::Reasoning {
        id: None,
        redacted: false,
    }
}

pub(crate) fn text_part(text: &str) -> Part {
    Part::Text { text: text.into() }
}

/// A reasoning part that is not redacted.
pub(crate) fn reasoning_part(text: &str, signature: Option<&str>, id: Option<&str>) -> Part {
    Part::Reasoning {
        text: text.into(),
        signature: signature.map(Into::into),
        redacted: false,
        id: id.map(Into::into),
    }
}

/// The mock's reasoning ("Let me think."), not redacted.
pub(crate) fn mock_reasoning(signature: Option<&str>, id: Option<&str>) -> Part {
    reasoning_part("Let me think.", signature, id)
}

/// An unsigned `get_weather` call for Paris.
pub(crate) fn paris_weather_call(id: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
        signature: None,
    }
}
