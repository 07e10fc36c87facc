//! Shared drivers for the fuzz targets: each target is one line naming a format and calling one of these.
//!
//! Every driver runs the same code path the server runs for that input (see `server/translated.rs`) and then
//! checks a few properties that must hold for *any* input: no panic, every encoder's output is well-formed
//! in its own framing, and a stream decodes to the same IR however its bytes are cut into chunks.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard::translate::aggregate::{events_from_response, Aggregator};
use switchyard::translate::{self, ir, StreamOptions};
use switchyard::wire::body::JsonBody;
use switchyard::wire::sse::{parse_events, EventSplitter};
use switchyard::wire::Format;

/// Formats a client may speak.
pub const CLIENTS: [Format; 5] = [
    Format::Anthropic,
    Format::OpenAiChat,
    Format::OpenAiCompletions,
    Format::OpenAiResponses,
    Format::Gemini,
];

/// Formats an upstream may speak (Completions is only ever a client dialect).
pub const UPSTREAMS: [Format; 4] = [
    Format::Anthropic,
    Format::OpenAiChat,
    Format::OpenAiResponses,
    Format::Gemini,
];

/// The model name a Gemini client puts in the URL.
const URL_MODEL: &str = "gemini-fuzz";

fn assert_json(bytes: &[u8], what: &str) {
    if let Err(e) = serde_json::from_slice::<Value>(bytes) {
        panic!(
            "{what} is not valid JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

// ---- requests ---------------------------------------------------------------------------------------

/// Client bytes → IR → every upstream's request (which must be JSON), then decoded again as that format.
pub fn request(client: Format, data: &[u8]) {
    let Ok(req) = translate::decode_request(client, data, Some(URL_MODEL)) else {
        return;
    };
    for upstream in UPSTREAMS {
        if let Ok(bytes) = translate::encode_request(upstream, &req) {
            assert_json(
                &bytes,
                &format!("{client:?} request encoded for {upstream:?}"),
            );
            // What we send must also be something we would accept from a client of that format.
            let _ = translate::decode_request(upstream, &bytes, Some(URL_MODEL));
        }
    }
}

// ---- whole responses --------------------------------------------------------------------------------

/// Upstream bytes → IR response → every client's response (JSON) and every client's stream.
pub fn response(upstream: Format, data: &[u8]) {
    let Ok(resp) = translate::decode_response(upstream, data) else {
        return;
    };
    for client in CLIENTS {
        let bytes = translate::encode_response(client, &resp);
        assert_json(
            &bytes,
            &format!("{upstream:?} response encoded for {client:?}"),
        );
    }
    // A streaming client of an upstream that answered in one piece (`whole_body_events`).
    let events = events_from_response(&resp);
    for (client, opts) in encoder_setups(false) {
        encode_stream(client, &opts, &events, false);
    }
    // Replayed as a stream and folded back, the answer must aggregate again.
    let mut agg = Aggregator::new();
    for e in &events {
        agg.push(e);
    }
    if let Err(message) = agg.finish() {
        panic!("a replayed {upstream:?} response did not aggregate: {message}");
    }
}

// ---- streams ----------------------------------------------------------------------------------------

/// How a stream input is laid out: byte 0 holds flags and the number of cuts, the next `cuts` bytes are
/// chunk lengths, the rest is the upstream's SSE stream.
struct StreamInput<'a> {
    chunks: Vec<&'a [u8]>,
    body: &'a [u8],
    include_usage: bool,
    keep_alive: bool,
}

impl<'a> StreamInput<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let cuts = usize::from(flags & 0x0f).min(rest.len());
        let (lens, body) = rest.split_at(cuts);
        let mut chunks = Vec::new();
        let mut at = 0;
        for &len in lens {
            let end = (at + usize::from(len)).min(body.len());
            chunks.push(&body[at..end]);
            at = end;
        }
        chunks.push(&body[at..]);
        Some(StreamInput {
            chunks,
            body,
            include_usage: flags & 0x10 != 0,
            keep_alive: flags & 0x20 != 0,
        })
    }
}

/// The IR events for a stream delivered in `chunks`, exactly as `server::translated::upstream_events`
/// produces them: split into events, decode each, stop at the first decode error, else `finish()`.
fn decode_stream(upstream: Format, chunks: &[&[u8]]) -> Vec<ir::Event> {
    let mut decoder = translate::stream_decoder(upstream);
    let mut splitter = EventSplitter::new();
    let mut all = Vec::new();
    for chunk in chunks {
        let Some(run) = splitter.push(chunk) else {
            continue;
        };
        for event in parse_events(&run) {
            match decoder.push(&event) {
                Ok(out) => all.extend(out),
                Err(err) => {
                    all.push(ir::Event::Error {
                        message: err.to_string(),
                    });
                    return all;
                }
            }
        }
    }
    all.extend(decoder.finish());
    all
}

/// Every stream encoder a client can get: one per client format, Gemini both as SSE and as a JSON array.
fn encoder_setups(include_usage: bool) -> Vec<(Format, StreamOptions)> {
    let mut setups: Vec<(Format, StreamOptions)> = CLIENTS
        .iter()
        .map(|&f| {
            (
                f,
                StreamOptions {
                    model: "client-model".into(),
                    gemini_sse: true,
                    include_usage,
                },
            )
        })
        .collect();
    setups.push((
        Format::Gemini,
        StreamOptions {
            model: "client-model".into(),
            gemini_sse: false,
            include_usage,
        },
    ));
    setups
}

/// Feeds IR events to one client encoder as `stream_to_client` does (stop after `Error`, then `finish`)
/// and checks the bytes are well-formed for that client.
fn encode_stream(client: Format, opts: &StreamOptions, events: &[ir::Event], keep_alive: bool) {
    let mut enc = translate::stream_encoder(client, opts);
    let mut out = Vec::new();
    for event in events {
        enc.push(event, &mut out);
        if keep_alive {
            enc.keep_alive(&mut out);
        }
        if matches!(event, ir::Event::Error { .. }) {
            break;
        }
    }
    enc.finish(&mut out);
    check_client_stream(client, opts, &out);
}

fn check_client_stream(client: Format, opts: &StreamOptions, out: &[u8]) {
    let what = format!("{client:?} stream (gemini_sse: {})", opts.gemini_sse);
    if client == Format::Gemini && !opts.gemini_sse {
        assert_json(out, &what);
        return;
    }
    // Whole SSE events only, each carrying JSON (or OpenAI's `[DONE]`).
    let mut splitter = EventSplitter::new();
    let run = splitter.push(out).unwrap_or_default();
    // Trailing blank lines are fine (Gemini's keep-alive is one); anything else is a cut-off event.
    assert!(
        splitter
            .pending()
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n')),
        "{what} ends with half an event: {:?}",
        String::from_utf8_lossy(splitter.pending())
    );
    for event in parse_events(&run) {
        if event.data != "[DONE]" {
            assert_json(event.data.as_bytes(), &format!("an event of the {what}"));
        }
    }
}

/// Upstream SSE bytes, cut into chunks → IR → every client's stream and every client's whole answer.
/// The IR must not depend on where the chunks were cut.
pub fn stream(upstream: Format, data: &[u8]) {
    let Some(input) = StreamInput::parse(data) else {
        return;
    };
    let before = now();
    let split = decode_stream(upstream, &input.chunks);
    let whole = decode_stream(upstream, &[input.body]);
    let after = now();
    if let Err(why) = same_events(&whole, &split, before, after) {
        panic!(
            "{upstream:?} stream decoded differently when split ({:?}): {why}\nwhole: {whole:#?}\nsplit: {split:#?}",
            input.chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
    }

    for (client, opts) in encoder_setups(input.include_usage) {
        encode_stream(client, &opts, &split, input.keep_alive);
    }

    // A non-streaming client of a streaming upstream (`aggregate_to_client`).
    let mut agg = Aggregator::new();
    for e in &split {
        agg.push(e);
    }
    if let Ok(mut resp) = agg.finish() {
        resp.model = "client-model".into();
        for client in CLIENTS {
            let bytes = translate::encode_response(client, &resp);
            assert_json(
                &bytes,
                &format!("aggregated {upstream:?} stream encoded for {client:?}"),
            );
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Two decodings of one input are the same up to what decoders invent: fresh random ids
/// (`prefix` + 24 alphanumerics) and `created` taken from the clock while they ran.
fn same_events(a: &[ir::Event], b: &[ir::Event], t0: u64, t1: u64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} events whole, {} split", a.len(), b.len()));
    }
    let invented_id = |x: &str, y: &str| {
        let n = x.len();
        n == y.len()
            && n >= 24
            && x.is_char_boundary(n - 24)
            && y.is_char_boundary(n - 24)
            && x[..n - 24] == y[..n - 24]
            && x[n - 24..].bytes().all(|c| c.is_ascii_alphanumeric())
            && y[n - 24..].bytes().all(|c| c.is_ascii_alphanumeric())
    };
    let clock = |x: u64| (t0..=t1).contains(&x);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x == y {
            continue;
        }
        let ok = match (x, y) {
            (
                ir::Event::Start {
                    id: i1,
                    model: m1,
                    created: c1,
                    usage: u1,
                },
                ir::Event::Start {
                    id: i2,
                    model: m2,
                    created: c2,
                    usage: u2,
                },
            ) => {
                (i1 == i2 || invented_id(i1, i2))
                    && m1 == m2
                    && (c1 == c2 || (clock(*c1) && clock(*c2)))
                    && u1 == u2
            }
            (
                ir::Event::BlockStart {
                    index: n1,
                    block: ir::BlockStart::ToolCall { id: i1, name: a1 },
                },
                ir::Event::BlockStart {
                    index: n2,
                    block: ir::BlockStart::ToolCall { id: i2, name: a2 },
                },
            ) => n1 == n2 && a1 == a2 && invented_id(i1, i2),
            _ => false,
        };
        if !ok {
            return Err(format!("event {i} differs: {x:?} whole vs {y:?} split"));
        }
    }
    Ok(())
}

// ---- config -----------------------------------------------------------------------------------------

/// Any text → `config::load_str`: a config or diagnostics, never a panic.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // Some variables set, some not, so both `os.environ/` branches run.
    let env = |name: &str| (name.len() % 2 == 0).then(|| format!("value-of-{name}"));
    let _ = switchyard::config::load_str(&text, Path::new("/nonexistent/switchyard-fuzz"), &env);
}

// ---- JsonBody ---------------------------------------------------------------------------------------

/// `JsonBody` parse → rewrite `model` → bytes: still an object we accept, the model as set, and every
/// other field byte for byte.
pub fn json_body(data: &[u8]) {
    let Ok(mut body) = JsonBody::parse(data) else {
        return;
    };
    let _ = body.is_stream();
    let untouched = body.to_bytes();
    let input_is_json = serde_json::from_slice::<Value>(data).is_ok();
    if input_is_json {
        assert_json(&untouched, "an unmodified JsonBody");
    }
    let model = body
        .str_field("model")
        .unwrap_or_else(|| "fuzz-model \"quoted\" \u{1F600}\n".into());
    body.set_str("model", &model);
    let out = body.to_bytes();
    if input_is_json {
        assert_json(&out, "a JsonBody with model rewritten");
    }
    let again = JsonBody::parse(&out).unwrap_or_else(|e| {
        panic!(
            "rewritten body no longer parses ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    });
    assert_eq!(again.str_field("model").as_deref(), Some(model.as_str()));

    let fields = |bytes: &[u8]| {
        serde_json::from_slice::<IndexMap<String, Box<RawValue>>>(bytes)
            .map(|m| {
                m.into_iter()
                    .filter(|(k, _)| k != "model")
                    .map(|(k, v)| (k, v.get().to_owned()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|e| panic!("not a JSON object any more: {e}"))
    };
    assert_eq!(
        fields(data),
        fields(&out),
        "fields other than model changed"
    );
}

// ---- usage tokens -----------------------------------------------------------------------------------

/// Any upstream answer → the usage reader of every format, read whole and as a stream: never a panic,
/// and a stream's usage is the same however its bytes are cut into reads.
pub fn usage_tokens(data: &[u8]) {
    use switchyard::usage::tokens::{from_body, StreamTokens};
    let streamed = |format: Format, cut: usize| {
        let mut stream = StreamTokens::new(format);
        let mut splitter = EventSplitter::new();
        for chunk in data.chunks(cut) {
            if let Some(events) = splitter.push(chunk) {
                stream.push(&events);
            }
        }
        stream.push(splitter.pending());
        stream.tokens()
    };
    for format in CLIENTS {
        let _ = from_body(format, data);
        assert_eq!(streamed(format, 3), streamed(format, data.len().max(1)));
    }
}
