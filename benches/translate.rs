//! Translation cost: a 2 MB agentic conversation chat→Claude and Claude→Gemini, and a 1,000-delta stream
//! Claude→Chat, each through the same code paths the proxy runs (decode once, encode once).
//!
//! `cargo bench --bench translate`; the numbers are published in docs/performance.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};
use switchyard::translate::{self, StreamOptions};
use switchyard::wire::sse::{parse_events, EventSplitter};
use switchyard::wire::Format;

/// An agent loop as an OpenAI Chat request: a long system prompt, then turns of assistant tool calls and
/// large tool results (file reads), until the body reaches about `target` bytes.
fn agentic_chat_request(target: usize) -> Vec<u8> {
    let file = "fn main() {\n    println!(\"hello, world\");\n}\n".repeat(180); // ~8 KB per tool result
    let mut messages = vec![
        json!({"role": "system", "content": "You are a coding agent. ".repeat(400)}),
        json!({"role": "user", "content": "Refactor the project and explain each step."}),
    ];
    let mut turn = 0;
    while serde_json::to_vec(&messages).map_or(0, |b| b.len()) < target {
        let id = format!("call_{turn:06}");
        messages.push(json!({"role": "assistant", "content": format!("Reading file {turn}."),
            "tool_calls": [{"id": id, "type": "function",
                "function": {"name": "read_file", "arguments": format!("{{\"path\":\"src/file_{turn}.rs\"}}")}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": file}));
        turn += 1;
    }
    let body = json!({"model": "claude-sonnet-4-5-20250929", "stream": true, "max_tokens": 8192,
        "messages": messages,
        "tools": [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The same conversation as a Claude Messages request (what Claude Code would send to Gemini).
fn agentic_claude_request(chat: &[u8]) -> Vec<u8> {
    let ir = translate::decode_request(Format::OpenAiChat, chat, None).expect("chat decodes");
    translate::encode_request(Format::Anthropic, &ir).expect("claude encodes")
}

/// A Claude stream of `deltas` text deltas.
fn claude_stream(deltas: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut event =
        |name: &str, data: Value| out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_bench", "type": "message",
        "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null,
        "stop_sequence": null, "usage": {"input_tokens": 1200, "output_tokens": 1}}}),
    );
    event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "text", "text": ""}}),
    );
    for i in 0..deltas {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": format!("token {i} ")}}),
        );
    }
    event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
        "stop_sequence": null}, "usage": {"output_tokens": deltas}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out.into_bytes()
}

/// Feeds a stream through the proxy's pipeline in network-sized chunks; returns the client's bytes.
fn translate_stream(stream: &[u8], upstream: Format, client: Format) -> usize {
    let mut splitter = EventSplitter::new();
    let mut decoder = translate::stream_decoder(upstream);
    let opts = StreamOptions {
        model: "claude-sonnet-4-5-20250929".into(),
        gemini_sse: true,
        include_usage: true,
    };
    let mut encoder = translate::stream_encoder(client, &opts);
    let mut out = Vec::with_capacity(stream.len());
    for chunk in stream.chunks(1400) {
        if let Some(run) = splitter.push(chunk) {
            for event in parse_events(&run) {
                for e in decoder.push(&event).unwrap_or_default() {
                    encoder.push(&e, &mut out);
                }
            }
        }
    }
    for e in decoder.finish() {
        encoder.push(&e, &mut out);
    }
    encoder.finish(&mut out);
    out.len()
}

fn benches(c: &mut Criterion) {
    let chat = agentic_chat_request(2 << 20);
    let claude = agentic_claude_request(&chat);
    let mut g = c.benchmark_group("request_2mb");
    g.throughput(Throughput::Bytes(chat.len() as u64));
    g.bench_function("chat_to_claude", |b| {
        b.iter(|| {
            let ir = translate::decode_request(Format::OpenAiChat, &chat, None).expect("decode");
            translate::encode_request(Format::Anthropic, &ir).expect("encode")
        })
    });
    g.throughput(Throughput::Bytes(claude.len() as u64));
    g.bench_function("claude_to_gemini", |b| {
        b.iter(|| {
            let ir = translate::decode_request(Format::Anthropic, &claude, None).expect("decode");
            translate::encode_request(Format::Gemini, &ir).expect("encode")
        })
    });
    g.finish();

    let stream = claude_stream(1000);
    let mut g = c.benchmark_group("stream_1000_deltas");
    g.throughput(Throughput::Elements(1000));
    for (name, client) in [
        ("claude_to_chat", Format::OpenAiChat),
        ("claude_to_responses", Format::OpenAiResponses),
        ("claude_to_gemini", Format::Gemini),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |()| translate_stream(&stream, Format::Anthropic, client),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(translation, benches);
criterion_main!(translation);
