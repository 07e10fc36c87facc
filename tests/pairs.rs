//! Golden files per translated pair: `tests/golden/pairs/<client>__<upstream>/`.
//!
//! Each directory holds a client request and the upstream body it must become, a whole upstream answer
//! and the client answer it must become, and an upstream SSE transcript and the client stream it must
//! become. The expected files were written by hand from the formats' documentation (see
//! `tests/golden/pairs/README.md`). The runner drives the engine the way the server does:
//! - request: `decode_request` once, `model` and `stream` set as the router sets them, Codex requests
//!   adapted with `providers::adapt_for_codex`, then `encode_request` (compared as JSON values);
//! - answer: `decode_response`, replayed as events and aggregated (the server's path for a whole upstream
//!   body), the model set to the one the client asked for, then `encode_response` (JSON values);
//! - stream: `EventSplitter` + `parse_events` + the upstream's decoder + the client's encoder (stopping
//!   after an `Error` event, as the server does), compared as parsed SSE events (name + JSON data);
//! - every byte boundary: the upstream transcript re-fed in two pieces (cut at every byte of the first 512,
//!   every 7th after and every byte around each event's end: see [`cuts`]) and once a byte at a time must
//!   give the same client stream.
//!
//! Ids and timestamps the engine makes up (`chatcmpl-…`, `msg_…`, `resp_…`, `call_…`, `created`, …) are
//! replaced by numbered placeholders (`<call_1>`: the same id gets the same placeholder within one file);
//! a value that occurs in the inputs is never replaced, so ids carried over from the upstream must match.
//!
//! A part of a pair that fails because of an engine bug is listed in that pair's `xfail`: it must keep
//! failing (its diff is printed) until the bug is fixed, when the test asks for the mark to be removed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;
use switchyard::providers;
use switchyard::translate::aggregate::{events_from_response, Aggregator};
use switchyard::translate::{self, ir, StreamOptions};
use switchyard::wire::sse::{parse_events, EventSplitter, SseEvent};
use switchyard::wire::Format;

/// The model the client asks for and the name the route sends upstream, per upstream.
fn models(upstream: Format) -> (&'static str, &'static str) {
    match upstream {
        Format::Anthropic => ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        Format::OpenAiResponses => ("gpt-5-codex", "gpt-5-codex"),
        Format::Gemini => ("gemini-2.5-pro", "gemini-2.5-pro"),
        Format::OpenAiChat | Format::OpenAiCompletions => ("deepseek-r1", "deepseek-reasoner"),
    }
}

/// Prefixes of ids the engine may generate.
const ID_PREFIXES: &[&str] = &[
    "chatcmpl-",
    "cmpl-",
    "msg_",
    "resp_",
    "call_",
    "toolu_",
    "fc_",
    "rs_",
];
/// Keys whose values the engine may take from the clock or make up when the upstream gave none.
const MADE_UP_KEYS: &[&str] = &["created", "created_at", "createTime", "responseId"];

struct Pair {
    dir: PathBuf,
    client: Format,
    upstream: Format,
}

impl Pair {
    fn new(name: &str, client: Format, upstream: Format) -> Self {
        Pair {
            dir: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden/pairs")
                .join(name),
            client,
            upstream,
        }
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(file))
            .unwrap_or_else(|e| panic!("{}/{file}: {e}", self.dir.display()))
    }

    fn json(&self, file: &str) -> Value {
        serde_json::from_slice(&self.read(file))
            .unwrap_or_else(|e| panic!("{}/{file}: {e}", self.dir.display()))
    }

    fn has(&self, file: &str) -> bool {
        self.dir.join(file).exists()
    }

    /// Every string and number in the inputs: values found there are the upstream's or the client's own
    /// and are compared literally.
    fn input_values(&self) -> Inputs {
        let mut n = Inputs::default();
        for file in ["request.json", "upstream_response.json"] {
            if self.has(file) {
                n.learn(&self.json(file));
            }
        }
        for ev in parse_events(&self.read("upstream_stream.sse")) {
            if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                n.learn(&v);
            }
        }
        n
    }

    fn stream_options(&self) -> StreamOptions {
        let (client_model, _) = models(self.upstream);
        let request = self.json("request.json");
        StreamOptions {
            model: client_model.to_string(),
            gemini_sse: true,
            // As the router decides it: only for OpenAI Chat clients.
            include_usage: matches!(self.client, Format::OpenAiChat | Format::OpenAiCompletions)
                && request.pointer("/stream_options/include_usage") == Some(&Value::Bool(true)),
        }
    }

    // ---- the three translations, as the router and server run them ----

    fn upstream_request(&self) -> Value {
        let (client_model, upstream_model) = models(self.upstream);
        let body = self.read("request.json");
        let mut req = translate::decode_request(self.client, &body, Some(client_model))
            .unwrap_or_else(|e| panic!("decode_request: {e}"));
        req.model = upstream_model.to_string();
        // Every request here streams; Codex is streamed upstream in any case.
        req.stream = true;
        if self.upstream == Format::OpenAiResponses {
            let names = providers::adapt_for_codex(&mut req);
            assert!(names.is_empty(), "no tool name here is over 64 chars");
        }
        let out = translate::encode_request(self.upstream, &req)
            .unwrap_or_else(|e| panic!("encode_request: {e}"));
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("upstream body is not JSON: {e}"))
    }

    fn client_response(&self) -> Value {
        let (client_model, _) = models(self.upstream);
        let resp = translate::decode_response(self.upstream, &self.read("upstream_response.json"))
            .unwrap_or_else(|e| panic!("decode_response: {e}"));
        let mut agg = Aggregator::new();
        for e in events_from_response(&resp) {
            agg.push(&e);
        }
        let mut resp = agg.finish().unwrap_or_else(|e| panic!("aggregate: {e}"));
        resp.model = client_model.to_string();
        let out = translate::encode_response(self.client, &resp);
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("client body is not JSON: {e}"))
    }

    /// The client's stream bytes for the upstream transcript delivered in `chunks`.
    fn client_stream<'a>(
        &self,
        options: &StreamOptions,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Vec<u8> {
        let mut splitter = EventSplitter::new();
        let mut decoder = translate::stream_decoder(self.upstream);
        let mut encoder = translate::stream_encoder(self.client, options);
        let mut out = Vec::new();
        let mut events = Vec::new();
        for chunk in chunks {
            if let Some(run) = splitter.push(chunk) {
                for ev in parse_events(&run) {
                    match decoder.push(&ev) {
                        Ok(e) => events.extend(e),
                        Err(err) => events.push(ir::Event::Error {
                            message: err.to_string(),
                        }),
                    }
                }
            }
        }
        assert!(
            splitter.pending().is_empty(),
            "bytes left in the splitter: {:?}",
            String::from_utf8_lossy(splitter.pending())
        );
        events.extend(decoder.finish());
        for e in &events {
            encoder.push(e, &mut out);
            if matches!(e, ir::Event::Error { .. }) {
                break;
            }
        }
        encoder.finish(&mut out);
        out
    }
}

// ---- normalisation ----

/// The strings and numbers of a pair's input files.
#[derive(Default)]
struct Inputs {
    strings: HashSet<String>,
    numbers: HashSet<String>,
}

impl Inputs {
    fn learn(&mut self, v: &Value) {
        match v {
            Value::String(s) => {
                self.strings.insert(s.clone());
            }
            Value::Number(n) => {
                self.numbers.insert(n.to_string());
            }
            Value::Array(a) => a.iter().for_each(|x| self.learn(x)),
            Value::Object(o) => o.values().for_each(|x| self.learn(x)),
            _ => {}
        }
    }

    fn normalizer(&self) -> Normalizer<'_> {
        Normalizer {
            inputs: self,
            seen: HashMap::new(),
            counters: HashMap::new(),
        }
    }
}

/// Replaces made-up ids and timestamps by placeholders, numbering ids by first appearance.
struct Normalizer<'a> {
    inputs: &'a Inputs,
    seen: HashMap<String, String>,
    counters: HashMap<&'static str, usize>,
}

impl Normalizer<'_> {
    fn id(&mut self, s: &str) -> Option<String> {
        if self.inputs.strings.contains(s) {
            return None;
        }
        let prefix = ID_PREFIXES.iter().find(|p| {
            s.len() > p.len()
                && s.starts_with(*p)
                && s[p.len()..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })?;
        if let Some(p) = self.seen.get(s) {
            return Some(p.clone());
        }
        let n = self.counters.entry(prefix).or_insert(0);
        *n += 1;
        let placeholder = format!("<{prefix}{n}>");
        self.seen.insert(s.to_string(), placeholder.clone());
        Some(placeholder)
    }

    fn apply(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(p) = self.id(s) {
                    *s = p;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.apply(x)),
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if MADE_UP_KEYS.contains(&k.as_str()) {
                        let literal = match &*x {
                            Value::Number(n) => self.inputs.numbers.contains(&n.to_string()),
                            Value::String(s) => self.inputs.strings.contains(s),
                            _ => true,
                        };
                        if !literal {
                            *x = Value::String(format!("<{k}>"));
                            continue;
                        }
                    }
                    self.apply(x);
                }
            }
            _ => {}
        }
    }
}

/// An SSE stream as (event name, data) with JSON data parsed.
fn sse_sequence(bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    parse_events(bytes)
        .into_iter()
        .map(|SseEvent { event, data }| {
            let v = serde_json::from_str(&data).unwrap_or(Value::String(data));
            (event, v)
        })
        .collect()
}

fn normalized_stream(inputs: &Inputs, bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut norm = inputs.normalizer();
    let mut seq = sse_sequence(bytes);
    for (_, v) in &mut seq {
        norm.apply(v);
    }
    seq
}

// ---- diffs ----

fn json_diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => json_diff(&format!("{path}/{k}"), ev, av, out),
                    None => out.push(format!("{path}/{k}: missing (expected {ev})")),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    out.push(format!("{path}/{k}: unexpected {av}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_diff(&format!("{path}/{i}"), ev, av, out);
            }
        }
        _ if expected == actual => {}
        // 1 and 1.0 are the same JSON number.
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        _ => out.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn compare_json(what: &str, expected: &Value, actual: &Value) -> Result<(), String> {
    let mut diffs = Vec::new();
    json_diff("", expected, actual, &mut diffs);
    if diffs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what} differs:\n  {}\n--- got:\n{}",
        diffs.join("\n  "),
        serde_json::to_string_pretty(actual).unwrap_or_default()
    ))
}

fn compare_streams(
    what: &str,
    expected: &[(Option<String>, Value)],
    actual: &[(Option<String>, Value)],
) -> Result<(), String> {
    let mut diffs = Vec::new();
    for i in 0..expected.len().max(actual.len()) {
        match (expected.get(i), actual.get(i)) {
            (Some((en, ev)), Some((an, av))) => {
                if en != an {
                    diffs.push(format!("event {i}: name expected {en:?}, got {an:?}"));
                }
                json_diff(&format!("event {i}"), ev, av, &mut diffs);
            }
            (Some((en, ev)), None) => diffs.push(format!("event {i}: missing {en:?} {ev}")),
            (None, Some((an, av))) => diffs.push(format!("event {i}: unexpected {an:?} {av}")),
            (None, None) => {}
        }
    }
    if diffs.is_empty() {
        return Ok(());
    }
    let got: Vec<String> = actual
        .iter()
        .map(|(n, v)| match n {
            Some(n) => format!("event: {n}\ndata: {v}\n"),
            None => format!("data: {v}\n"),
        })
        .collect();
    Err(format!(
        "{what} differs:\n  {}\n--- got:\n{}",
        diffs.join("\n  "),
        got.join("\n")
    ))
}

// ---- the checks ----

fn check_request(p: &Pair) -> Result<(), String> {
    let inputs = p.input_values();
    let mut actual = p.upstream_request();
    inputs.normalizer().apply(&mut actual);
    compare_json(
        "upstream_request.json",
        &p.json("upstream_request.json"),
        &actual,
    )
}

fn check_response(p: &Pair) -> Result<(), String> {
    let inputs = p.input_values();
    let mut actual = p.client_response();
    inputs.normalizer().apply(&mut actual);
    compare_json(
        "client_response.json",
        &p.json("client_response.json"),
        &actual,
    )
}

fn check_stream(p: &Pair) -> Result<(), String> {
    let norm = p.input_values();
    let upstream = p.read("upstream_stream.sse");
    let actual = normalized_stream(
        &norm,
        &p.client_stream(&p.stream_options(), [&upstream[..]]),
    );
    compare_streams(
        "client_stream.sse",
        &sse_sequence(&p.read("client_stream.sse")),
        &actual,
    )
}

/// The client stream's bytes with made-up ids and timestamps masked, for comparing two runs of the engine
/// with each other. A byte scan rather than a JSON walk: it runs once per byte of every transcript.
fn masked(inputs: &Inputs, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rest: &str = &text;
    while let Some(q) = rest.find('"') {
        out.push_str(&rest[..=q]);
        rest = &rest[q + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let token = &rest[..end];
        let made_up_id = rest[end..].starts_with('"')
            && ID_PREFIXES
                .iter()
                .any(|p| token.len() > p.len() && token.starts_with(p))
            && !inputs.strings.contains(token);
        if made_up_id {
            let next = seen.len();
            let n = *seen.entry(token).or_insert(next);
            out.push_str(&format!("<id{n}>"));
            rest = &rest[end..];
            continue;
        }
        for key in MADE_UP_KEYS {
            if token == *key && rest[end..].starts_with("\":") {
                let value_start = end + 2;
                let value_end = rest[value_start..]
                    .find([',', '}'])
                    .map_or(rest.len(), |i| value_start + i);
                let value = rest[value_start..value_end].trim_matches('"');
                if !inputs.strings.contains(value) && !inputs.numbers.contains(value) {
                    out.push_str(&rest[..value_start]);
                    out.push_str("<made-up>");
                    rest = &rest[value_end..];
                }
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where to cut the transcript in two. Cutting at every byte costs a whole translation per byte (O(n²), ~25 s
/// for all pairs in a debug build), so: every byte of the first 512, every 7th after, and every byte within
/// 2 of an event's end (where a terminator straddles two chunks). Feeding the transcript a byte at a time
/// (below) puts a chunk boundary at every byte at once.
fn cuts(upstream: &[u8]) -> Vec<usize> {
    let near_event_end: HashSet<usize> = upstream
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\n\n")
        .flat_map(|(i, _)| i.saturating_sub(2)..=(i + 4).min(upstream.len()))
        .collect();
    (0..=upstream.len())
        .filter(|&c| c <= 512 || c % 7 == 0 || c == upstream.len() || near_event_end.contains(&c))
        .collect()
}

/// Every split of the upstream transcript gives the stream the whole transcript gives: the transcript in
/// two pieces (see [`cuts`]), then fed a byte at a time.
fn check_splits(p: &Pair) -> Result<(), String> {
    let inputs = p.input_values();
    let upstream = p.read("upstream_stream.sse");
    let options = p.stream_options();
    let whole_bytes = p.client_stream(&options, [&upstream[..]]);
    let whole = masked(&inputs, &whole_bytes);
    let differs = |what: String, bytes: &[u8]| {
        compare_streams(
            &what,
            &normalized_stream(&inputs, &whole_bytes),
            &normalized_stream(&inputs, bytes),
        )
        .and(Err(format!("{what}: the output bytes differ")))
    };
    for cut in cuts(&upstream) {
        let (a, b) = upstream.split_at(cut);
        let split = p.client_stream(&options, [a, b]);
        if masked(&inputs, &split) != whole {
            return differs(format!("the stream split at byte {cut}"), &split);
        }
    }
    let bytewise = p.client_stream(&options, upstream.chunks(1));
    if masked(&inputs, &bytewise) != whole {
        return differs("the stream fed a byte at a time".into(), &bytewise);
    }
    Ok(())
}

/// One comparison of a pair: `Err` carries the readable diff.
type Check = fn(&Pair) -> Result<(), String>;

fn run(name: &str, client: Format, upstream: Format, xfail: &[&str]) {
    let p = Pair::new(name, client, upstream);
    let mut checks: Vec<(&str, Check)> = vec![("request", check_request)];
    if p.has("client_response.json") {
        checks.push(("response", check_response));
    }
    checks.push(("stream", check_stream));
    checks.push(("splits", check_splits));
    for x in xfail {
        assert!(
            checks.iter().any(|(n, _)| n == x),
            "{name}: unknown xfail `{x}`"
        );
    }
    let mut failures = Vec::new();
    for (what, check) in checks {
        let expected_to_fail = xfail.contains(&what);
        // A panic (say, a translation refused) fails this check only, so the others still report.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&p)))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("panicked: {why}"))
            });
        match (outcome, expected_to_fail) {
            (Ok(()), false) => {}
            (Err(e), true) => eprintln!("{name}: {what}: known engine bug, still failing:\n{e}\n"),
            (Ok(()), true) => failures.push(format!(
                "{what}: passes now; remove it from this pair's xfail list"
            )),
            (Err(e), false) => failures.push(format!("{what}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n\n"));
}

macro_rules! pairs {
    ($($name:ident: $client:ident -> $upstream:ident $(, xfail = [$($x:literal),*])?;)*) => {$(
        #[test]
        #[allow(non_snake_case)] // `<client>__<upstream>`, as the golden directory is named
        fn $name() {
            run(
                stringify!($name),
                Format::$client,
                Format::$upstream,
                &[$($($x),*)?],
            );
        }
    )*};
}

// Known engine bugs are listed per pair as `xfail = ["request" | "response" | "stream"]` (none now).
// (Completions to an OpenAI-compatible upstream is passthrough, not translation: no pair for it.)
pairs! {
    openai_chat__anthropic: OpenAiChat -> Anthropic;
    openai_chat__openai_responses: OpenAiChat -> OpenAiResponses;
    openai_chat__gemini: OpenAiChat -> Gemini;
    openai_responses__anthropic: OpenAiResponses -> Anthropic;
    openai_responses__gemini: OpenAiResponses -> Gemini;
    openai_responses__openai_chat: OpenAiResponses -> OpenAiChat;
    anthropic__openai_responses: Anthropic -> OpenAiResponses;
    anthropic__gemini: Anthropic -> Gemini;
    anthropic__openai_chat: Anthropic -> OpenAiChat;
    gemini__anthropic: Gemini -> Anthropic;
    gemini__openai_responses: Gemini -> OpenAiResponses;
    gemini__openai_chat: Gemini -> OpenAiChat;
    openai_completions__anthropic: OpenAiCompletions -> Anthropic;
    openai_completions__openai_responses: OpenAiCompletions -> OpenAiResponses;
    openai_completions__gemini: OpenAiCompletions -> Gemini;
}
