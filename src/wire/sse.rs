//! Server-sent events at the byte level: cut a stream into whole events however its bytes arrive.
//!
//! The passthrough forwards one whole event at a time. That is what lets it flush per event and, when an
//! upstream dies mid-stream, end the client's stream with a well-formed error event instead of half a line.

use bytes::{Bytes, BytesMut};

/// Collects bytes and hands out complete events (each including its terminating blank line).
#[derive(Debug, Default)]
pub struct EventSplitter {
    buf: BytesMut,
    /// Where to resume scanning: bytes before it are known to hold no event boundary.
    scanned: usize,
}

impl EventSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk and returns the complete events now available, in order, as one contiguous run.
    /// Returns `None` when no event completed.
    pub fn push(&mut self, chunk: &[u8]) -> Option<Bytes> {
        self.buf.extend_from_slice(chunk);
        let end = self.last_boundary()?;
        self.scanned = 0;
        Some(self.buf.split_to(end).freeze())
    }

    /// Bytes of an event that never finished.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Finds the end of the last complete event: a blank line in any of SSE's three line endings.
    fn last_boundary(&mut self) -> Option<usize> {
        let bytes = &self.buf[..];
        let mut last = None;
        // Re-check a few bytes before the old end: a terminator may straddle two chunks.
        let mut i = self.scanned.saturating_sub(3);
        // Jump from line ending to line ending: most bytes are JSON, and a byte-by-byte scan of them was
        // a measurable part of a stream's CPU.
        while let Some(skip) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
            i += skip;
            match bytes[i] {
                b'\n' if bytes.get(i + 1) == Some(&b'\n') => {
                    last = Some(i + 2);
                    i += 2;
                }
                b'\r'
                    if bytes.get(i + 1) == Some(&b'\n')
                        && bytes.get(i + 2) == Some(&b'\r')
                        && bytes.get(i + 3) == Some(&b'\n') =>
                {
                    last = Some(i + 4);
                    i += 4;
                }
                // A lone CR line ending, possibly followed by a CRLF blank line.
                b'\r' if bytes.get(i + 1) == Some(&b'\r') => {
                    last = Some(i + 2);
                    i += 2;
                }
                _ => i += 1,
            }
        }
        self.scanned = bytes.len();
        last
    }
}

/// One parsed server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

impl SseEvent {
    pub fn data(data: impl Into<String>) -> Self {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    /// Writes the event in SSE framing: `event: name\ndata: …\n\n` (no `event:` line when unnamed).
    pub fn write(event: Option<&str>, data: &str, out: &mut Vec<u8>) {
        if let Some(name) = event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
        }
        for line in data.split('\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
}

/// Splits on SSE's three line endings (CRLF, LF, lone CR), as [`EventSplitter`] does.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match memchr::memchr2(b'\r', b'\n', rest.as_bytes()) {
            None => Some(std::mem::take(&mut rest)),
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

/// Parses a run of complete events (as [`EventSplitter::push`] returns them). Comment-only blocks and
/// blocks without data are skipped, as the SSE spec says.
pub fn parse_events(run: &[u8]) -> Vec<SseEvent> {
    // Valid UTF-8 is the rule; the lossy decoder's per-chunk walk is only worth it when it is not.
    let text = match std::str::from_utf8(run) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(run),
    };
    let mut events = Vec::new();
    let mut current = SseEvent::default();
    let mut has_data = false;
    for line in lines(&text) {
        if line.is_empty() {
            if has_data {
                events.push(std::mem::take(&mut current));
            }
            current = SseEvent::default();
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => current.event = Some(value.to_string()),
            "data" => {
                if has_data {
                    current.data.push('\n');
                }
                current.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    if has_data {
        events.push(current);
    }
    events
}

/// The value of the last `"sequence_number":N` in a run of Responses events, if any.
pub fn last_sequence_number(events: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"sequence_number\":";
    let start = events.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let digits: Vec<u8> = events[start..]
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] =
        b"event: a\ndata: {\"x\":1}\n\nevent: b\r\ndata: 2\r\n\r\n: comment\n\ndata: [DONE]\n\n";

    fn split_at_every_boundary(stream: &[u8]) {
        for cut in 0..=stream.len() {
            let mut s = EventSplitter::new();
            let mut out = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                if let Some(events) = s.push(part) {
                    out.extend_from_slice(&events);
                }
            }
            assert_eq!(out, stream, "cut at {cut}");
            assert!(s.pending().is_empty());
        }
    }

    #[test]
    fn any_split_yields_the_same_events() {
        split_at_every_boundary(STREAM);
    }

    #[test]
    fn byte_by_byte_emits_each_event_when_it_completes() {
        let mut s = EventSplitter::new();
        let mut events = Vec::new();
        for b in STREAM {
            if let Some(e) = s.push(&[*b]) {
                events.push(e);
            }
        }
        assert_eq!(events.len(), 4);
        assert_eq!(&events[0][..], b"event: a\ndata: {\"x\":1}\n\n");
        assert_eq!(&events[1][..], b"event: b\r\ndata: 2\r\n\r\n");
    }

    #[test]
    fn an_unfinished_event_is_held_back() {
        let mut s = EventSplitter::new();
        assert_eq!(
            s.push(b"data: 1\n\ndata: {\"half").as_deref(),
            Some(&b"data: 1\n\n"[..])
        );
        assert_eq!(s.pending(), b"data: {\"half");
    }

    #[test]
    fn parses_names_multiline_data_comments_and_crlf() {
        let run = b"event: a\r\ndata: {\"x\":1}\r\n\r\n: keep-alive\n\ndata: line1\ndata: line2\n\ndata:[DONE]\n\n";
        let events = parse_events(run);
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    data: "{\"x\":1}".into()
                },
                SseEvent::data("line1\nline2"),
                SseEvent::data("[DONE]"),
            ]
        );
        let mut out = Vec::new();
        SseEvent::write(Some("a"), "{}", &mut out);
        SseEvent::write(None, "x", &mut out);
        assert_eq!(out, b"event: a\ndata: {}\n\ndata: x\n\n");
    }

    #[test]
    fn lone_cr_line_endings_parse_like_the_splitter_cuts() {
        let stream = b"data: 1\r\rdata: 2\r\r";
        assert_eq!(
            parse_events(stream),
            vec![SseEvent::data("1"), SseEvent::data("2")]
        );
        let mut s = EventSplitter::new();
        let mut split = Vec::new();
        for half in [&stream[..9], &stream[9..]] {
            if let Some(run) = s.push(half) {
                split.extend(parse_events(&run));
            }
        }
        assert_eq!(split, parse_events(stream));
    }

    #[test]
    fn finds_the_last_sequence_number() {
        let run =
            b"data: {\"type\":\"a\",\"sequence_number\":3}\n\ndata: {\"sequence_number\": 12}\n\n";
        assert_eq!(last_sequence_number(run), Some(12));
        assert_eq!(last_sequence_number(b"data: {}\n\n"), None);
    }
}
