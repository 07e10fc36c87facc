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
        while i < bytes.len() {
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
    fn finds_the_last_sequence_number() {
        let run =
            b"data: {\"type\":\"a\",\"sequence_number\":3}\n\ndata: {\"sequence_number\": 12}\n\n";
        assert_eq!(last_sequence_number(run), Some(12));
        assert_eq!(last_sequence_number(b"data: {}\n\n"), None);
    }
}
