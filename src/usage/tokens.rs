//! Token counts read from answers that pass through untouched: a whole JSON body, or the SSE events of a
//! stream as they go by. Only the parts that name usage are parsed, so a stream of text deltas costs a
//! substring search per read and nothing more.

use memchr::memmem;
use serde::Deserialize;

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

/// The usage fields of all four formats in one shape; each format fills its own.
#[derive(Debug, Default, Clone, Deserialize)]
struct Wire {
    // OpenAI Chat and Completions
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    // OpenAI Responses and Anthropic
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
    // Anthropic
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct Details {
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
}

/// Where usage sits in a body or event: at the top (`usage`, `usageMetadata`), or one level down in
/// Responses' `response` and Anthropic's `message_start.message`.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    usage: Option<Wire>,
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<GeminiUsage>,
    response: Option<Inner>,
    message: Option<Inner>,
}

#[derive(Debug, Default, Deserialize)]
struct Inner {
    usage: Option<Wire>,
}

/// Usage seen so far: each field keeps its latest reported value (streams report running totals).
#[derive(Debug, Default, Clone)]
struct Seen {
    wire: Option<Wire>,
    gemini: Option<GeminiUsage>,
}

impl Seen {
    fn add(&mut self, env: Envelope) {
        let usage = [
            env.usage,
            env.response.and_then(|r| r.usage),
            env.message.and_then(|m| m.usage),
        ];
        for u in usage.into_iter().flatten() {
            let w = self.wire.get_or_insert_with(Wire::default);
            macro_rules! latest {
                ($($f:ident),*) => { $( if u.$f.is_some() { w.$f = u.$f; } )* };
            }
            latest!(
                prompt_tokens,
                completion_tokens,
                prompt_tokens_details,
                completion_tokens_details,
                input_tokens,
                output_tokens,
                input_tokens_details,
                output_tokens_details,
                cache_read_input_tokens,
                cache_creation_input_tokens
            );
        }
        if let Some(g) = env.usage_metadata {
            self.gemini = Some(g);
        }
    }

    fn tokens(&self, format: Format) -> Option<Tokens> {
        if let Some(g) = self.gemini {
            let thoughts = g.thoughts_token_count.unwrap_or(0);
            return Some(Tokens {
                input: g.prompt_token_count.unwrap_or(0),
                output: g.candidates_token_count.unwrap_or(0) + thoughts,
                cached: g.cached_content_token_count.unwrap_or(0),
                reasoning: thoughts,
            });
        }
        let w = self.wire.as_ref()?;
        let detail = |d: Option<Details>, f: fn(Details) -> Option<u64>| d.and_then(f).unwrap_or(0);
        Some(match format {
            Format::Anthropic => {
                let read = w.cache_read_input_tokens.unwrap_or(0);
                Tokens {
                    // Anthropic counts cache reads and writes apart from `input_tokens`.
                    input: w.input_tokens.unwrap_or(0)
                        + read
                        + w.cache_creation_input_tokens.unwrap_or(0),
                    output: w.output_tokens.unwrap_or(0),
                    cached: read,
                    reasoning: 0,
                }
            }
            Format::OpenAiResponses => Tokens {
                input: w.input_tokens.unwrap_or(0),
                output: w.output_tokens.unwrap_or(0),
                cached: detail(w.input_tokens_details, |d| d.cached_tokens),
                reasoning: detail(w.output_tokens_details, |d| d.reasoning_tokens),
            },
            Format::OpenAiChat | Format::OpenAiCompletions | Format::Gemini => Tokens {
                input: w.prompt_tokens.unwrap_or(0),
                output: w.completion_tokens.unwrap_or(0),
                cached: detail(w.prompt_tokens_details, |d| d.cached_tokens),
                reasoning: detail(w.completion_tokens_details, |d| d.reasoning_tokens),
            },
        })
    }
}

/// The usage in a whole answer body of `format` (a Gemini stream without `alt=sse` is a JSON array).
pub fn from_body(format: Format, body: &[u8]) -> Option<Tokens> {
    let mut seen = Seen::default();
    if body.trim_ascii_start().first() == Some(&b'[') {
        let items: Vec<Envelope> = serde_json::from_slice(body).ok()?;
        for item in items {
            seen.add(item);
        }
    } else {
        seen.add(serde_json::from_slice(body).ok()?);
    }
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
            if event.data.contains("sage") {
                if let Ok(env) = serde_json::from_str::<Envelope>(&event.data) {
                    self.seen.add(env);
                }
            }
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
