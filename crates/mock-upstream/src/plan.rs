//! From (route, scripted reply) to the exact status, headers and network writes to send.

use bytes::Bytes;

use crate::paced::End;
use crate::replies::{self, Echo};
use crate::route::{Mode, Op};
use crate::sse::{chunk, frame, Event, Framing};
use crate::types::{Chunking, Family, Reply};

/// Body of a planned response.
#[derive(Debug, PartialEq)]
pub(crate) enum PlanBody {
    /// Sent at once with `content-length`.
    Full(Bytes),
    /// Paced writes, then `end`.
    Writes { writes: Vec<Bytes>, end: End },
}

#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    pub status: u16,
    /// Default headers (content type etc.); the step's headers are merged in later.
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: PlanBody,
}

const JSON: (&str, &str) = ("content-type", "application/json");
const NO_CACHE: (&str, &str) = ("cache-control", "no-cache");

fn full(status: u16, body: String) -> Plan {
    Plan {
        status,
        headers: vec![JSON],
        body: PlanBody::Full(Bytes::from(body)),
    }
}

fn stream_headers(framing: Framing) -> Vec<(&'static str, &'static str)> {
    vec![("content-type", framing.content_type()), NO_CACHE]
}

/// Successful-kind content of an operation, reshaped by `Cut` / `StreamError`.
#[derive(Clone, Copy)]
enum Tail {
    Complete,
    Cut(usize),
    StreamError(usize),
}

/// The response for a request to a family route. `Op::Models` ignores the reply (listings are
/// not scripted); count_tokens answers its fixed count for every non-error reply.
pub(crate) fn plan(family: Family, op: Op, echo: &Echo, reply: &Reply, chunking: Chunking) -> Plan {
    if op == Op::Models {
        return full(200, replies::models_body(family));
    }
    let (kind, tail) = match reply {
        Reply::Error { status, body } => {
            let body = body
                .clone()
                .unwrap_or_else(|| replies::error_body(family, *status));
            return full(*status, body);
        }
        Reply::Hang => {
            let body = PlanBody::Writes {
                writes: Vec::new(),
                end: End::Hang,
            };
            return Plan {
                status: 200,
                headers: stream_headers(Framing::Sse),
                body,
            };
        }
        Reply::Ok(kind) => (*kind, Tail::Complete),
        Reply::Cut { kind, after } => (*kind, Tail::Cut(*after)),
        Reply::StreamError { kind, after } => (*kind, Tail::StreamError(*after)),
    };
    if op == Op::CountTokens {
        return full(200, replies::count_tokens_body(family));
    }
    let (mode, legacy) = match op {
        Op::Generate(mode) => (mode, false),
        Op::LegacyCompletion(mode) => (mode, true),
        Op::Compact | Op::CountTokens | Op::Models => (Mode::Json, false),
    };
    match mode {
        Mode::Json => {
            let body = if legacy {
                replies::legacy_completion_body(kind, echo)
            } else {
                replies::json_body(family, kind, echo)
            };
            json_success(family, body, tail, chunking)
        }
        Mode::Stream(framing) => {
            let events = if legacy {
                replies::legacy_completion_events(kind, echo)
            } else {
                replies::events(family, kind, echo)
            };
            stream_success(family, events, framing, tail, chunking)
        }
    }
}

fn json_success(family: Family, body: String, tail: Tail, chunking: Chunking) -> Plan {
    match tail {
        Tail::Complete => full(200, body),
        // A JSON reply cannot carry an in-band error: the reference answers the family's 500.
        Tail::StreamError(_) => full(500, replies::error_body(family, 500)),
        Tail::Cut(after) => {
            let bytes = Bytes::from(body);
            let n = (bytes.len() / 2).min(after.max(1).saturating_mul(16));
            let writes = chunk(vec![bytes.slice(..n)], chunking);
            Plan {
                status: 200,
                headers: vec![JSON],
                body: PlanBody::Writes {
                    writes,
                    end: End::Abort,
                },
            }
        }
    }
}

fn stream_success(
    family: Family,
    mut events: Vec<Event>,
    framing: Framing,
    tail: Tail,
    chunking: Chunking,
) -> Plan {
    let (terminated, end) = match tail {
        Tail::Complete => (true, End::Finish),
        Tail::Cut(after) => {
            events.truncate(after);
            (false, End::Abort)
        }
        Tail::StreamError(after) => {
            events.truncate(after);
            events.push(replies::stream_error_event(family, after));
            (true, End::Finish)
        }
    };
    let writes = chunk(frame(&events, framing, terminated), chunking);
    Plan {
        status: 200,
        headers: stream_headers(framing),
        body: PlanBody::Writes { writes, end },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Kind;

    fn echo() -> Echo {
        Echo::new("m", "t")
    }

    fn writes_of(p: &Plan) -> (Vec<Bytes>, End) {
        match &p.body {
            PlanBody::Writes { writes, end } => (writes.clone(), *end),
            PlanBody::Full(_) => panic!("expected writes, got {p:?}"),
        }
    }

    #[test]
    fn stream_error_truncates_then_appends_the_in_band_error() {
        let op = Op::Generate(Mode::Stream(Framing::Sse));
        let p = plan(
            Family::Codex,
            op,
            &echo(),
            &Reply::StreamError {
                kind: Kind::Text,
                after: 2,
            },
            Chunking::Whole,
        );
        let (w, end) = writes_of(&p);
        assert_eq!(w.len(), 3);
        assert_eq!(end, End::Finish);
        let last = String::from_utf8_lossy(&w[2]).to_string();
        assert!(last.starts_with(
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,"
        ));
    }

    #[test]
    fn cut_stream_has_no_terminator_and_aborts() {
        let op = Op::Generate(Mode::Stream(Framing::JsonArray));
        let p = plan(
            Family::Gemini,
            op,
            &echo(),
            &Reply::Cut {
                kind: Kind::Thinking,
                after: 2,
            },
            Chunking::Whole,
        );
        let (w, end) = writes_of(&p);
        assert_eq!(end, End::Abort);
        assert_eq!(w.len(), 2);
        assert!(w[0].starts_with(b"[{"));
        assert!(w[1].starts_with(b",\r\n{"));
    }

    #[test]
    fn json_replies_for_cut_and_stream_error() {
        let op = Op::Generate(Mode::Json);
        let p = plan(
            Family::Claude,
            op,
            &echo(),
            &Reply::StreamError {
                kind: Kind::Text,
                after: 1,
            },
            Chunking::Whole,
        );
        assert_eq!(p.status, 500);
        let p = plan(
            Family::Claude,
            op,
            &echo(),
            &Reply::Cut {
                kind: Kind::Text,
                after: 1,
            },
            Chunking::Whole,
        );
        let (w, end) = writes_of(&p);
        assert_eq!((w.len(), w[0].len(), end), (1, 16, End::Abort));
    }

    #[test]
    fn models_ignore_the_reply_and_count_tokens_ignore_the_kind() {
        let p = plan(
            Family::Gemini,
            Op::Models,
            &echo(),
            &Reply::Hang,
            Chunking::Whole,
        );
        assert_eq!(
            p.body,
            PlanBody::Full(Bytes::from(replies::models_body(Family::Gemini)))
        );
        let p = plan(
            Family::Claude,
            Op::CountTokens,
            &echo(),
            &Reply::Ok(Kind::Parallel),
            Chunking::Whole,
        );
        assert_eq!(
            p.body,
            PlanBody::Full(Bytes::from_static(b"{\"input_tokens\":42}"))
        );
        let p = plan(
            Family::Claude,
            Op::CountTokens,
            &echo(),
            &Reply::Error {
                status: 429,
                body: None,
            },
            Chunking::Whole,
        );
        assert_eq!(p.status, 429);
    }
}
