//! Token counts read from answers that pass through untouched: a whole JSON body, or the SSE events of a
//! stream as they go by. Only the usage object is read, found by a reverse substring search, so a stream
//! of text deltas costs a search per read and nothing more.

use std::sync::LazyLock;

use memchr::memmem;

use crate::wire::sse::parse_events;
use crate::wire::Format;

/// A request's token counts, normalised across providers (see [`super::UsageEvent`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

/// The counts the four formats report, by where they sit: top-level keys of the usage object, or keys
/// of one of its `*_details` objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    // OpenAI Chat and Completions
    PromptTokens,
    CompletionTokens,
    PromptCached,
    CompletionReasoning,
    // OpenAI Responses and Anthropic
    InputTokens,
    OutputTokens,
    InputCached,
    OutputReasoning,
    // Anthropic
    CacheRead,
    CacheCreation,
    // Gemini's `usageMetadata`
    PromptTokenCount,
    CandidatesTokenCount,
    CachedContentTokenCount,
    ThoughtsTokenCount,
}

const FIELDS: usize = 14;

fn field(parent: Option<&[u8]>, key: &[u8]) -> Option<Field> {
    Some(match (parent, key) {
        (None, b"prompt_tokens") => Field::PromptTokens,
        (None, b"completion_tokens") => Field::CompletionTokens,
        (Some(b"prompt_tokens_details"), b"cached_tokens") => Field::PromptCached,
        (Some(b"completion_tokens_details"), b"reasoning_tokens") => Field::CompletionReasoning,
        (None, b"input_tokens") => Field::InputTokens,
        (None, b"output_tokens") => Field::OutputTokens,
        (Some(b"input_tokens_details"), b"cached_tokens") => Field::InputCached,
        (Some(b"output_tokens_details"), b"reasoning_tokens") => Field::OutputReasoning,
        (None, b"cache_read_input_tokens") => Field::CacheRead,
        (None, b"cache_creation_input_tokens") => Field::CacheCreation,
        (None, b"promptTokenCount") => Field::PromptTokenCount,
        (None, b"candidatesTokenCount") => Field::CandidatesTokenCount,
        (None, b"cachedContentTokenCount") => Field::CachedContentTokenCount,
        (None, b"thoughtsTokenCount") => Field::ThoughtsTokenCount,
        _ => return None,
    })
}

/// A key's reverse searcher, built once: building one costs more than searching a small body.
struct Key(memmem::FinderRev<'static>);

static USAGE: LazyLock<Key> = LazyLock::new(|| Key(memmem::FinderRev::new(b"\"usage\"")));
static USAGE_METADATA: LazyLock<Key> =
    LazyLock::new(|| Key(memmem::FinderRev::new(b"\"usageMetadata\"")));

/// Where the value of the last real `key` in `bytes` starts: not text inside a string, where the key's
/// quotes would be escaped.
fn last_value_at(bytes: &[u8], key: &Key) -> Option<usize> {
    let quoted = key.0.needle();
    for at in key.0.rfind_iter(bytes) {
        if at > 0 && bytes[at - 1] == b'\\' {
            continue;
        }
        let mut i = skip_ws(bytes, at + quoted.len());
        if bytes.get(i) != Some(&b':') {
            continue;
        }
        i = skip_ws(bytes, i + 1);
        return Some(i);
    }
    None
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// The end of the JSON string whose opening quote is at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end of the JSON value at `i`, whatever it is.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while matches!(b.get(j), Some(c) if !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// Reads the object at `i` (the usage object, or one of its `*_details` objects when `parent` is set)
/// into `out`, without building anything: usage is read on every request, so this stays a single pass.
/// Returns the position after the object, or `None` for text that is not a JSON object.
fn scan(b: &[u8], i: usize, parent: Option<&[u8]>, out: &mut Counts) -> Option<usize> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        match b.get(i)? {
            b'0'..=b'9' => {
                let mut n: u64 = 0;
                let start = i;
                while let Some(d @ b'0'..=b'9') = b.get(i) {
                    n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
                    i += 1;
                }
                if let Some(f) = field(parent, key) {
                    out.0[f as usize] = Some(n);
                }
                // A fraction or exponent: not a count; skip the rest of the number.
                if i == start || matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
                    i = skip_value(b, i)?;
                }
            }
            b'{' if parent.is_none() => i = scan(b, i, Some(key), out)?,
            _ => i = skip_value(b, i)?,
        }
        i = skip_ws(b, i);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Every count reported so far: each keeps its latest value (streams report running totals).
#[derive(Debug, Default, Clone, Copy)]
struct Counts([Option<u64>; FIELDS]);

/// Usage seen so far.
#[derive(Debug, Default, Clone)]
struct Seen {
    counts: Counts,
    reported: bool,
}

impl Seen {
    /// Reads the usage in one body or event, if it reports any. Gemini answers report `usageMetadata`,
    /// the others `usage`: each body is searched for its own.
    fn read(&mut self, format: Format, bytes: &[u8]) {
        let key: &Key = if format == Format::Gemini {
            &USAGE_METADATA
        } else {
            &USAGE
        };
        let Some(at) = last_value_at(bytes, key) else {
            return;
        };
        // Parsed into a copy: a malformed report leaves what was seen before.
        let mut counts = self.counts;
        if scan(bytes, at, None, &mut counts).is_some() {
            self.counts = counts;
            self.reported = true;
        }
    }

    fn get(&self, f: Field) -> u64 {
        self.counts.0[f as usize].unwrap_or(0)
    }

    fn tokens(&self, format: Format) -> Option<Tokens> {
        if !self.reported {
            return None;
        }
        Some(match format {
            Format::Gemini => {
                let thoughts = self.get(Field::ThoughtsTokenCount);
                Tokens {
                    input: self.get(Field::PromptTokenCount),
                    output: self.get(Field::CandidatesTokenCount) + thoughts,
                    cached: self.get(Field::CachedContentTokenCount),
                    reasoning: thoughts,
                }
            }
            Format::Anthropic => {
                let read = self.get(Field::CacheRead);
                Tokens {
                    // Anthropic counts cache reads and writes apart from `input_tokens`.
                    input: self.get(Field::InputTokens) + read + self.get(Field::CacheCreation),
                    output: self.get(Field::OutputTokens),
                    cached: read,
                    reasoning: 0,
                }
            }
            Format::OpenAiResponses => Tokens {
                input: self.get(Field::InputTokens),
                output: self.get(Field::OutputTokens),
                cached: self.get(Field::InputCached),
                reasoning: self.get(Field::OutputReasoning),
            },
            Format::OpenAiChat | Format::OpenAiCompletions => Tokens {
                input: self.get(Field::PromptTokens),
                output: self.get(Field::CompletionTokens),
                cached: self.get(Field::PromptCached),
                reasoning: self.get(Field::CompletionReasoning),
            },
        })
    }
}

/// The usage in a whole answer body of `format`. Usage comes last in every format's answer (and a
/// Gemini stream without `alt=sse`, a JSON array, reports running totals), so the last report is read.
pub fn from_body(format: Format, body: &[u8]) -> Option<Tokens> {
    let mut seen = Seen::default();
    seen.read(format, body);
    seen.tokens(format)
}

/// Reads usage from the SSE events of a stream in `format` as they pass.
pub struct StreamTokens {
    format: Format,
    seen: Seen,
}

impl StreamTokens {
    pub fn new(format: Format) -> StreamTokens {
        StreamTokens {
            format,
            seen: Seen::default(),
        }
    }

    /// Whole events, as [`crate::wire::sse::EventSplitter`] hands them out.
    pub fn push(&mut self, events: &[u8]) {
        // `usage` also finds Gemini's `usageMetadata`; most runs are text deltas and stop here.
        if memmem::find(events, b"sage").is_none() {
            return;
        }
        for event in parse_events(events) {
            self.seen.read(self.format, event.data.as_bytes());
        }
    }

    pub fn tokens(&self) -> Option<Tokens> {
        self.seen.tokens(self.format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(input: u64, output: u64, cached: u64, reasoning: u64) -> Option<Tokens> {
        Some(Tokens {
            input,
            output,
            cached,
            reasoning,
        })
    }

    #[test]
    fn whole_bodies_of_each_format() {
        let chat = br#"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,
            "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":10}}}"#;
        assert_eq!(from_body(Format::OpenAiChat, chat), t(12, 30, 4, 10));
        let responses = br#"{"id":"r","output":[],"usage":{"input_tokens":9,"output_tokens":7,
            "input_tokens_details":{"cached_tokens":3},"output_tokens_details":{"reasoning_tokens":2}}}"#;
        assert_eq!(from_body(Format::OpenAiResponses, responses), t(9, 7, 3, 2));
        let claude =
            br#"{"type":"message","content":[],"usage":{"input_tokens":5,"output_tokens":8,
            "cache_read_input_tokens":100,"cache_creation_input_tokens":20}}"#;
        assert_eq!(from_body(Format::Anthropic, claude), t(125, 8, 100, 0));
        let gemini =
            br#"{"candidates":[],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":6,
            "thoughtsTokenCount":4,"cachedContentTokenCount":2}}"#;
        assert_eq!(from_body(Format::Gemini, gemini), t(11, 10, 2, 4));
        let gemini_array = br#"[{"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":1}},
            {"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":6}}]"#;
        assert_eq!(from_body(Format::Gemini, gemini_array), t(11, 6, 0, 0));
        assert_eq!(from_body(Format::OpenAiChat, b"not json"), None);
        // The word inside the answer's text is not the usage.
        let quoting =
            br#"{"choices":[{"message":{"content":"see \"usage\": {\"prompt_tokens\": 99}"}}],
            "usage":{"prompt_tokens":3,"completion_tokens":4},"note":"a \"usage\": 1"}"#;
        assert_eq!(from_body(Format::OpenAiChat, quoting), t(3, 4, 0, 0));
        // Values that are not counts are stepped over, whatever their shape.
        let odd = br#"{"usage":{"prompt_tokens":5,"cost":0.25,"note":"a } \" {","extra":[1,{"a":[2]}],
            "completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1,"audio_tokens":null}}}"#;
        assert_eq!(from_body(Format::OpenAiChat, odd), t(5, 2, 1, 0));
        // Cut off mid-object: nothing is made up.
        assert_eq!(
            from_body(Format::OpenAiChat, br#"{"usage":{"prompt_tokens":5,"#),
            None
        );
        // OpenAI streams send `"usage": null` until the last chunk.
        assert_eq!(from_body(Format::OpenAiChat, br#"{"usage":null}"#), None);
        assert_eq!(from_body(Format::OpenAiChat, br#"{"choices":[]}"#), None);
    }

    #[test]
    fn anthropic_stream_takes_input_from_the_start_and_output_from_the_last_delta() {
        let mut s = StreamTokens::new(Format::Anthropic);
        s.push(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n");
        s.push(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n");
        s.push(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n");
        assert_eq!(s.tokens(), t(25, 42, 5, 0));
    }

    #[test]
    fn responses_stream_reads_the_completed_event() {
        let mut s = StreamTokens::new(Format::OpenAiResponses);
        s.push(b"event: response.output_text.delta\ndata: {\"delta\":\"a\"}\n\n");
        assert_eq!(s.tokens(), None);
        s.push(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4,\"output_tokens_details\":{\"reasoning_tokens\":1}}}}\n\n");
        assert_eq!(s.tokens(), t(3, 4, 0, 1));
    }

    #[test]
    fn chat_and_gemini_streams_keep_the_latest_report() {
        let mut s = StreamTokens::new(Format::OpenAiChat);
        s.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
        assert_eq!(s.tokens(), t(8, 2, 0, 0));
        let mut g = StreamTokens::new(Format::Gemini);
        g.push(b"data: {\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":1}}\r\n\r\n");
        g.push(b"data: {\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":9}}\r\n\r\n");
        assert_eq!(g.tokens(), t(8, 9, 0, 0));
    }
}
