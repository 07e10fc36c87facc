//! Checks the generated replies against the reference mock's data files
//! (`shared/conformance/cliproxyapi-rs/mock`), byte for byte: first the pure generator, then the
//! live server over a socket (where each HTTP chunk must be exactly one documented write).
//!
//! The data lives outside the repository. Its location is `$SWITCHYARD_CONFORMANCE_DIR` or
//! `../../../shared/conformance/cliproxyapi-rs` from this crate. When it is absent the tests
//! pass with a note, except under CI (`CI` set), where a missing reference is a failure.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use switchyard_mock::replies::{self, Echo};
use switchyard_mock::{Chunking, Family, Kind, MockUpstream, Reply, Step};

/// Echo values different from the ones the files were rendered with, to prove echoing.
const ALT_MODEL: &str = "echo-model-7";
const ALT_TOOL: &str = "lookup_thing";

fn reference_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("SWITCHYARD_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/cliproxyapi-rs"),
    };
    let dir = base.join("mock");
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "reference mock data not found at {} (set SWITCHYARD_CONFORMANCE_DIR)",
        dir.display()
    );
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; CI is set, so this is a failure");
    }
    eprintln!("skipping reference comparison: {why}");
    None
}

/// One reference file, parsed, with its name split into family, mode and kind label.
struct RefFile {
    name: String,
    family: Family,
    sse: bool,
    label: String,
    doc: Value,
}

fn family_of(label: &str) -> Family {
    match label {
        "claude" => Family::Claude,
        "codex" => Family::Codex,
        "gemini" => Family::Gemini,
        "compat" => Family::Compat,
        other => panic!("unknown family {other:?} in reference file name"),
    }
}

fn kind_of(label: &str) -> Option<Kind> {
    Some(match label {
        "text" => Kind::Text,
        "tool" => Kind::Tool,
        "thinking" => Kind::Thinking,
        "parallel" => Kind::Parallel,
        "mixed" => Kind::Mixed,
        "length" => Kind::Length,
        "cached" => Kind::Cached,
        "pause" => Kind::Pause,
        "image" => Kind::Image,
        _ => return None,
    })
}

const SPECIAL: [&str; 6] = [
    "error",
    "stream_error",
    "count_tokens",
    "models",
    "chunking_split",
    "chunking_merged",
];

fn load(dir: &std::path::Path) -> Vec<RefFile> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read reference dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let parts: Vec<&str> = stem.splitn(3, '.').collect();
        let [family, mode, label] = parts[..] else {
            panic!("unexpected reference file name {name}")
        };
        // A new kind in the reference must not be skipped silently.
        assert!(
            kind_of(label).is_some() || SPECIAL.contains(&label),
            "unknown reference kind in {name}"
        );
        let text = std::fs::read_to_string(&path).expect("read reference file");
        let doc: Value = serde_json::from_str(&text).expect("reference file is JSON");
        let (family, sse, label) = (family_of(family), mode == "sse", label.to_string());
        files.push(RefFile {
            name,
            family,
            sse,
            label,
            doc,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

fn example_echo(f: &RefFile) -> Echo {
    let ex = &f.doc["example_request"];
    let tool = ex["first_tool_name"]
        .as_str()
        .unwrap_or(replies::DEFAULT_TOOL);
    Echo::new(ex["model"].as_str().expect("example model"), tool)
}

/// The file with every echoed leaf replaced by the alternative values.
fn substituted(f: &RefFile) -> Value {
    let mut doc = f.doc.clone();
    for (key, value) in [("model", ALT_MODEL), ("tool_name", ALT_TOOL)] {
        for p in f.doc["echo_pointers"][key]
            .as_array()
            .expect("echo_pointers")
        {
            let p = p.as_str().expect("pointer");
            *doc.pointer_mut(p)
                .unwrap_or_else(|| panic!("{}: pointer {p} missing", f.name)) = json!(value);
        }
    }
    doc
}

/// SSE bytes of a documented event (`{"event"?, "data"}`), framed as the README says.
fn frame_doc_event(e: &Value) -> String {
    let data = match &e["data"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match e.get("event").and_then(Value::as_str) {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

fn doc_writes(response: &Value) -> Vec<String> {
    response["writes"]
        .as_array()
        .expect("writes")
        .iter()
        .map(|w| w.as_str().expect("write").to_string())
        .collect()
}

fn texts(writes: Vec<bytes::Bytes>) -> Vec<String> {
    writes
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

fn success(files: &[RefFile]) -> impl Iterator<Item = (&RefFile, Kind)> {
    files
        .iter()
        .filter_map(|f| kind_of(&f.label).map(|k| (f, k)))
}

#[test]
fn generator_matches_reference_success_replies() {
    let Some(dir) = reference_dir() else { return };
    let files = load(&dir);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, kind) in success(&files) {
        let echo = example_echo(f);
        let alt = Echo::new(ALT_MODEL, ALT_TOOL);
        let sub = substituted(f);
        if f.sse {
            let writes = doc_writes(&f.doc["response"]);
            // The framing rule used below reproduces the documented writes.
            let framed: Vec<String> = f.doc["response"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(frame_doc_event)
                .collect();
            assert_eq!(framed, writes, "{}: events and writes disagree", f.name);
            let got = texts(replies::sse_writes(f.family, kind, &echo, Chunking::Whole));
            assert_eq!(got.concat(), writes.concat(), "{}: stream bytes", f.name);
            assert_eq!(got, writes, "{}: write boundaries", f.name);
            let want_alt: Vec<String> = sub["response"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(frame_doc_event)
                .collect();
            let got_alt = texts(replies::sse_writes(f.family, kind, &alt, Chunking::Whole));
            assert_eq!(got_alt, want_alt, "{}: echoed values", f.name);
            *counts.entry("sse").or_default() += 1;
        } else {
            let body_text = f.doc["response"]["body_text"].as_str().expect("body_text");
            assert_eq!(
                f.doc["response"]["body"].to_string(),
                body_text,
                "{}: body vs body_text",
                f.name
            );
            assert_eq!(
                replies::json_body(f.family, kind, &echo),
                body_text,
                "{}: body",
                f.name
            );
            let want_alt = sub["response"]["body"].to_string();
            assert_eq!(
                replies::json_body(f.family, kind, &alt),
                want_alt,
                "{}: echoed values",
                f.name
            );
            *counts.entry("json").or_default() += 1;
        }
    }
    eprintln!("success replies matched: {counts:?}");
    assert!(
        counts.values().sum::<usize>() >= 60,
        "expected at least 60 success files, got {counts:?}"
    );
}

#[test]
fn generator_matches_reference_chunking() {
    let Some(dir) = reference_dir() else { return };
    let files = load(&dir);
    let mut n = 0;
    for f in files.iter().filter(|f| f.label.starts_with("chunking_")) {
        let chunking = if f.label == "chunking_split" {
            Chunking::Split
        } else {
            Chunking::Merged
        };
        let echo = example_echo(f);
        let got = texts(replies::sse_writes(
            f.family,
            Kind::Thinking,
            &echo,
            chunking,
        ));
        assert_eq!(got, doc_writes(&f.doc["response"]), "{}", f.name);
        n += 1;
    }
    eprintln!("chunking files matched: {n}");
    assert_eq!(n, 8);
}

/// The generic error body for a status the file does not list: the 500 entry, renumbered.
fn generic_error(f: &RefFile, status: u16) -> String {
    let mut body = f.doc["bodies"]["500"]["body"].clone();
    if let Some(m) = body.pointer_mut("/error/message") {
        *m = json!(format!("mock upstream error {status}"));
    }
    if f.family == Family::Gemini {
        body["error"]["code"] = json!(status);
    }
    body.to_string()
}

fn stream_error_doc(f: &RefFile, after: usize) -> String {
    let mut event = f.doc["event"].clone();
    if let Some(seq) = event.pointer_mut("/data/sequence_number") {
        *seq = json!(after);
    }
    frame_doc_event(&event)
}

#[test]
fn generator_matches_reference_errors_counts_and_models() {
    let Some(dir) = reference_dir() else { return };
    let files = load(&dir);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &files {
        match f.label.as_str() {
            "error" => {
                for (status, entry) in f.doc["bodies"].as_object().expect("bodies") {
                    let status: u16 = status.parse().expect("status key");
                    assert_eq!(
                        entry["body"].to_string(),
                        entry["body_text"].as_str().unwrap(),
                        "{}",
                        f.name
                    );
                    assert_eq!(
                        replies::error_body(f.family, status),
                        entry["body_text"].as_str().unwrap(),
                        "{} {status}",
                        f.name
                    );
                    *counts.entry("error bodies").or_default() += 1;
                }
                for status in [402, 418, 502, 504] {
                    assert_eq!(
                        replies::error_body(f.family, status),
                        generic_error(f, status),
                        "{} {status}",
                        f.name
                    );
                }
            }
            "stream_error" => {
                for after in [0, 2, 5] {
                    let got = replies::stream_error_event(f.family, after).to_sse();
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        stream_error_doc(f, after),
                        "{} after {after}",
                        f.name
                    );
                }
                *counts.entry("stream errors").or_default() += 1;
            }
            "count_tokens" => {
                assert_eq!(
                    replies::count_tokens_body(f.family),
                    f.doc["response"]["body_text"].as_str().unwrap()
                );
                *counts.entry("count_tokens").or_default() += 1;
            }
            "models" => {
                assert_eq!(
                    replies::models_body(f.family),
                    f.doc["response"]["body_text"].as_str().unwrap()
                );
                *counts.entry("models").or_default() += 1;
            }
            _ => {}
        }
    }
    eprintln!("matched: {counts:?}");
    assert_eq!(counts.get("error bodies"), Some(&32));
    assert_eq!(counts.get("stream errors"), Some(&4));
    assert_eq!(counts.get("count_tokens"), Some(&2));
    assert_eq!(counts.get("models"), Some(&4));
}

// ---------------------------------------------------------------------------------- live server

/// Path and body of a generate request for `family`, declaring `tool` in the family's dialect.
fn generate_request(family: Family, sse: bool, model: &str, tool: Option<&str>) -> (String, Value) {
    let p = family.prefix();
    match family {
        Family::Claude => {
            let mut b = json!({"model": model, "max_tokens": 64, "stream": sse, "messages": [{"role": "user", "content": "hi"}]});
            if let Some(t) = tool {
                b["tools"] = json!([{"name": t, "input_schema": {"type": "object"}}]);
            }
            (format!("{p}/v1/messages?beta=true"), b)
        }
        Family::Codex => {
            let mut b = json!({"model": model, "stream": sse, "input": "hi"});
            if let Some(t) = tool {
                b["tools"] =
                    json!([{"type": "function", "name": t, "parameters": {"type": "object"}}]);
            }
            (format!("{p}/responses"), b)
        }
        Family::Compat => {
            let mut b = json!({"model": model, "stream": sse, "messages": [{"role": "user", "content": "hi"}]});
            if let Some(t) = tool {
                b["tools"] =
                    json!([{"type": "function", "function": {"name": t, "parameters": {}}}]);
            }
            (format!("{p}/chat/completions"), b)
        }
        Family::Gemini => {
            let mut b = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
            if let Some(t) = tool {
                b["tools"] = json!([{"functionDeclarations": [{"name": t}]}]);
            }
            let method = if sse {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            (format!("{p}/v1beta/models/{model}:{method}"), b)
        }
    }
}

/// The documented writes (or body) of a success file after optional substitution.
fn expected(doc: &Value, sse: bool) -> Vec<String> {
    if sse {
        doc["response"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(frame_doc_event)
            .collect()
    } else {
        vec![doc["response"]["body"].to_string()]
    }
}

#[tokio::test]
async fn live_server_matches_reference() {
    let Some(dir) = reference_dir() else { return };
    let files = load(&dir);
    let mock = MockUpstream::start().await;
    let addr = mock.addr();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();

    for (f, kind) in success(&files) {
        mock.script(vec![], Reply::Ok(kind));
        let example = example_echo(f);
        assert_eq!(
            example.tool,
            replies::DEFAULT_TOOL,
            "{}: examples are rendered without tools",
            f.name
        );
        // The example values come from a request without tools (default tool name), the
        // alternative ones from a request declaring a tool in the family's own dialect.
        for (model, tool, doc) in [
            (example.model.as_str(), None, f.doc.clone()),
            (ALT_MODEL, Some(ALT_TOOL), substituted(f)),
        ] {
            let (path, body) = generate_request(f.family, f.sse, model, tool);
            let resp =
                common::post_json(addr, &path, &[("authorization", "Bearer k")], &body).await;
            assert_eq!(resp.status, 200, "{}", f.name);
            assert!(resp.complete, "{}: incomplete", f.name);
            let headers = &f.doc["response"]["headers"];
            assert_eq!(
                resp.header("content-type"),
                headers["content-type"].as_str(),
                "{}",
                f.name
            );
            assert_eq!(
                resp.header("cache-control"),
                headers["cache-control"].as_str(),
                "{}",
                f.name
            );
            assert_eq!(
                resp.chunk_texts(),
                expected(&doc, f.sse),
                "{} (model {model})",
                f.name
            );
        }
        // `/responses/compact` never streams, even when asked to.
        if f.family == Family::Codex && !f.sse {
            let (_, body) = generate_request(Family::Codex, true, &example.model, None);
            let resp = common::post_json(addr, "/codex/responses/compact", &[], &body).await;
            assert_eq!(
                resp.chunk_texts(),
                expected(&f.doc, false),
                "{} via compact",
                f.name
            );
        }
        *counts
            .entry(if f.sse { "sse" } else { "json" })
            .or_default() += 1;
    }

    for f in files.iter().filter(|f| f.label.starts_with("chunking_")) {
        let chunking = if f.label == "chunking_split" {
            Chunking::Split
        } else {
            Chunking::Merged
        };
        mock.script(
            vec![Step::reply(Reply::Ok(Kind::Thinking)).chunking(chunking)],
            Reply::Hang,
        );
        let (path, body) = generate_request(f.family, true, &example_echo(f).model, None);
        let resp = common::post_json(addr, &path, &[], &body).await;
        assert!(resp.complete, "{}", f.name);
        assert_eq!(
            resp.chunk_texts(),
            doc_writes(&f.doc["response"]),
            "{}",
            f.name
        );
        *counts.entry("chunking").or_default() += 1;
    }

    for f in files.iter().filter(|f| f.label == "error") {
        for (status, entry) in f.doc["bodies"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            mock.script(vec![], Reply::Error { status, body: None });
            for sse in [false, true] {
                let (path, body) = generate_request(f.family, sse, "m", None);
                let resp = common::post_json(addr, &path, &[], &body).await;
                assert_eq!(resp.status, status, "{}", f.name);
                assert_eq!(resp.header("content-type"), Some("application/json"));
                assert_eq!(
                    resp.text(),
                    entry["body_text"].as_str().unwrap(),
                    "{} {status} stream={sse}",
                    f.name
                );
            }
            *counts.entry("error bodies").or_default() += 1;
        }
    }

    for f in files.iter().filter(|f| f.label == "stream_error") {
        let text = files
            .iter()
            .find(|t| t.family == f.family && t.sse && t.label == "text")
            .expect("text stream file");
        let text_writes = doc_writes(&text.doc["response"]);
        for after in [0, 2] {
            mock.script(
                vec![],
                Reply::StreamError {
                    kind: Kind::Text,
                    after,
                },
            );
            let (path, body) = generate_request(f.family, true, &example_echo(text).model, None);
            let resp = common::post_json(addr, &path, &[], &body).await;
            let mut want = text_writes[..after].to_vec();
            want.push(stream_error_doc(f, after));
            assert_eq!(resp.status, 200);
            assert!(resp.complete, "{}", f.name);
            assert_eq!(resp.chunk_texts(), want, "{} after {after}", f.name);
        }
        *counts.entry("stream errors").or_default() += 1;
    }

    for f in files.iter().filter(|f| f.label == "count_tokens") {
        let path = match f.family {
            Family::Gemini => "/gemini/v1beta/models/gemini-2.5-flash:countTokens",
            _ => "/anthropic/v1/messages/count_tokens",
        };
        let resp = common::post_json(addr, path, &[], &json!({"model": "m", "messages": []})).await;
        assert_eq!(
            resp.text(),
            f.doc["response"]["body_text"].as_str().unwrap(),
            "{}",
            f.name
        );
        *counts.entry("count_tokens").or_default() += 1;
    }

    for f in files.iter().filter(|f| f.label == "models") {
        let paths: &[&str] = match f.family {
            Family::Claude => &["/anthropic/v1/models"],
            Family::Gemini => &["/gemini/v1beta/models"],
            Family::Codex => &["/codex/models", "/codex/v1/models"],
            Family::Compat => &["/compat/models", "/compat/v1/models"],
        };
        for path in paths {
            let resp = common::send(addr, "GET", path, &[], b"").await;
            assert_eq!(resp.status, 200);
            assert_eq!(
                resp.text(),
                f.doc["response"]["body_text"].as_str().unwrap(),
                "{} {path}",
                f.name
            );
        }
        *counts.entry("models").or_default() += 1;
    }
    eprintln!("live server matched: {counts:?}");
    assert_eq!(counts.get("chunking"), Some(&8));
    assert_eq!(counts.get("error bodies"), Some(&32));
}
