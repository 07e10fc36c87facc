//! Turning events into network writes: SSE framing, Gemini's JSON-array framing, and the
//! whole/split/merged re-chunking that tests proxies' stream parsers.

use bytes::Bytes;
use serde_json::Value;

use crate::types::Chunking;

/// One stream event: an optional SSE `event:` name and its `data:` payload.
/// A `Value::String` payload is written raw (that is how `data: [DONE]` is sent).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: Option<&'static str>,
    pub data: Value,
}

impl Event {
    /// A named event: `event: <name>\ndata: <json>\n\n`.
    pub fn named(name: &'static str, data: Value) -> Event {
        Event {
            name: Some(name),
            data,
        }
    }

    /// An unnamed event: `data: <json>\n\n`.
    pub fn data(data: Value) -> Event {
        Event { name: None, data }
    }

    /// OpenAI's stream terminator `data: [DONE]`.
    pub fn done() -> Event {
        Event {
            name: None,
            data: Value::String("[DONE]".into()),
        }
    }

    fn payload(&self) -> String {
        match &self.data {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The SSE bytes of this event.
    pub fn to_sse(&self) -> Bytes {
        let text = match self.name {
            Some(name) => format!("event: {name}\ndata: {}\n\n", self.payload()),
            None => format!("data: {}\n\n", self.payload()),
        };
        Bytes::from(text)
    }
}

/// How a stream's events are framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Server-sent events, one frame per event.
    Sse,
    /// Gemini `streamGenerateContent` without `alt=sse`: one JSON array written incrementally,
    /// `[` + objects separated by `,\r\n` + `]`.
    JsonArray,
}

impl Framing {
    pub fn content_type(self) -> &'static str {
        match self {
            Framing::Sse => "text/event-stream",
            Framing::JsonArray => "application/json",
        }
    }
}

/// One write per event. `terminated: false` leaves a JSON array open (a cut stream); SSE has no
/// separate terminator, its last event is the end.
pub fn frame(events: &[Event], framing: Framing, terminated: bool) -> Vec<Bytes> {
    match framing {
        Framing::Sse => events.iter().map(Event::to_sse).collect(),
        Framing::JsonArray => {
            let mut writes: Vec<Bytes> = events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let sep = if i == 0 { "[" } else { ",\r\n" };
                    Bytes::from(format!("{sep}{}", e.payload()))
                })
                .collect();
            if terminated {
                writes.push(Bytes::from_static(if events.is_empty() {
                    b"[]"
                } else {
                    b"]"
                }));
            }
            writes
        }
    }
}

/// Re-cuts per-event writes. Split halves each write at `len / 2` (by bytes, so possibly inside
/// a UTF-8 sequence — the mock's content is ASCII); merged joins three writes into one.
pub fn chunk(writes: Vec<Bytes>, chunking: Chunking) -> Vec<Bytes> {
    match chunking {
        Chunking::Whole => writes,
        Chunking::Split => writes
            .into_iter()
            .flat_map(|w| {
                let half = w.len() / 2;
                [w.slice(..half), w.slice(half..)]
            })
            .filter(|w| !w.is_empty())
            .collect(),
        Chunking::Merged => writes
            .chunks(3)
            .map(|group| Bytes::from(group.concat()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn writes(parts: &[&'static str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::from_static(p.as_bytes()))
            .collect()
    }

    #[test]
    fn sse_framing_named_unnamed_and_done() {
        let evs = [
            Event::named("ping", json!({"type":"ping"})),
            Event::data(json!({"a":1})),
            Event::done(),
        ];
        let got = frame(&evs, Framing::Sse, true);
        assert_eq!(
            got,
            writes(&[
                "event: ping\ndata: {\"type\":\"ping\"}\n\n",
                "data: {\"a\":1}\n\n",
                "data: [DONE]\n\n"
            ])
        );
    }

    #[test]
    fn json_array_framing() {
        let evs = [Event::data(json!({"a":1})), Event::data(json!({"b":2}))];
        assert_eq!(
            frame(&evs, Framing::JsonArray, true),
            writes(&["[{\"a\":1}", ",\r\n{\"b\":2}", "]"])
        );
        assert_eq!(
            frame(&evs, Framing::JsonArray, false),
            writes(&["[{\"a\":1}", ",\r\n{\"b\":2}"])
        );
        assert_eq!(frame(&[], Framing::JsonArray, true), writes(&["[]"]));
    }

    #[test]
    fn split_cuts_each_write_at_half() {
        let got = chunk(writes(&["abcd", "xyz", "q"]), Chunking::Split);
        // "q" halves into "" + "q"; empty writes are dropped.
        assert_eq!(got, writes(&["ab", "cd", "x", "yz", "q"]));
    }

    #[test]
    fn merged_joins_three_and_keeps_the_remainder() {
        let got = chunk(writes(&["1", "2", "3", "4", "5"]), Chunking::Merged);
        assert_eq!(got, writes(&["123", "45"]));
        assert_eq!(
            chunk(writes(&["1", "2"]), Chunking::Whole),
            writes(&["1", "2"])
        );
    }

    #[test]
    fn chunking_never_changes_the_bytes() {
        let original = writes(&["event: a\ndata: {}\n\n", "data: [DONE]\n\n", "x", "yy"]);
        for c in [Chunking::Whole, Chunking::Split, Chunking::Merged] {
            assert_eq!(
                chunk(original.clone(), c).concat(),
                original.concat(),
                "{c:?}"
            );
        }
    }
}
