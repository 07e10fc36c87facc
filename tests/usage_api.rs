//! The usage history over the management API, on a real SQLite file: summaries, paged
//! events, export and import (ours and CLIProxyAPI v6's), the CLIProxyAPI paths and switches. Events are
//! written straight into the database file, as the proxy's recorder would.

mod common;

use std::path::{Path, PathBuf};

use common::usage::{at, event, insert, FIXTURE};
use common::{accounts_only_yaml, Harness};
use reqwest::Method;
use serde_json::{json, Value};
use switchyard::usage::{client_key_label, UsageEvent, UsageStore};
use switchyard_mock::MockUpstream;
use time::format_description::well_known::Rfc3339;
use time::Duration;

const KEY: &str = "test-management-key";
/// The range the hand-written events fall in: 48 hours, so the summary is by hour.
const FROM: &str = "2026-11-20T00:00:00Z";
const TO: &str = "2026-11-22T00:00:00Z";

struct Proxy {
    h: Harness,
    db: PathBuf,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// A proxy whose history lives in a fresh temp file (kept forever: the fixed 2026 dates must not age
/// out), with `KEY` as the management key.
async fn proxy() -> Proxy {
    let mock = MockUpstream::start().await;
    let (auth, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = data.path().join("usage.sqlite");
    let yaml = format!(
        "usage-database-path: \"{}\"\nusage-retention-days: 0\nremote-management:\n  secret-key: {KEY}\n{}",
        db.display(),
        accounts_only_yaml(&mock, auth.path())
    );
    let h = Harness::with_config(mock, &yaml).await;
    Proxy {
        h,
        db,
        _dirs: (auth, data),
    }
}

async fn call(p: &Proxy, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    p.h.manage(KEY, method, path, body).await
}

async fn get(p: &Proxy, path: &str) -> Value {
    let (status, body) = call(p, Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Five requests over two days by two client keys, one of them refused upstream.
fn recorded() -> Vec<UsageEvent> {
    vec![
        event(
            "r1",
            "2026-11-20T09:10:00Z",
            "laptop",
            "sonnet",
            200,
            (100, 40),
        ),
        event(
            "r2",
            "2026-11-20T09:40:00.250Z",
            "laptop",
            "sonnet",
            200,
            (200, 80),
        ),
        event("r3", "2026-11-20T15:00:00Z", "ci", "gpt-5", 429, (0, 0)),
        event(
            "r4",
            "2026-11-21T10:00:00Z",
            "ci",
            "gpt-5",
            200,
            (1000, 400),
        ),
        event(
            "r5",
            "2026-11-21T23:59:59.999Z",
            "laptop",
            "sonnet",
            200,
            (10, 4),
        ),
        // Outside the range.
        event(
            "r0",
            "2026-11-19T23:59:59Z",
            "laptop",
            "sonnet",
            200,
            (7, 7),
        ),
    ]
}

fn ids(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn summary_adds_up_a_range_by_hour_model_credential_and_client_key() {
    let p = proxy().await;
    insert(&p.db, &recorded());
    let s = get(&p, &format!("switchyard/usage?from={FROM}&to={TO}")).await;
    assert_eq!(s["enabled"], true);
    assert_eq!(s["unavailable"], Value::Null);
    assert_eq!(s["database"], p.db.display().to_string());
    assert_eq!(s["bucket"], "hour", "48 hours are shown by hour");
    assert_eq!(
        s["totals"],
        json!({"key": "", "requests": 5, "errors": 1, "input_tokens": 1310, "output_tokens": 524,
               "cached_tokens": 655, "reasoning_tokens": 131})
    );
    let series = s["series"].as_array().unwrap();
    assert_eq!(series.len(), 48, "every hour, empty ones included");
    assert_eq!(series[0]["key"], "2026-11-20T00:00");
    assert_eq!(series[9]["requests"], 2);
    assert_eq!(series[15]["errors"], 1);
    assert_eq!(series[47]["key"], "2026-11-21T23:00");
    assert_eq!(series[47]["requests"], 1);
    assert_eq!(series[1]["requests"], 0);
    assert_eq!(s["by_model"][0]["key"], "gpt-5", "the most tokens first");
    assert_eq!(s["by_model"][1]["requests"], 3);
    let keys: Vec<&str> = s["by_client_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [client_key_label("ci"), client_key_label("laptop")]);
    assert_eq!(
        s["by_credential"][0]["key"],
        "claude account you@example.com"
    );
    assert_eq!(s["recorder"]["dropped"], 0);

    let by_day = get(
        &p,
        &format!("switchyard/usage?from={FROM}&to={TO}&bucket=day"),
    )
    .await;
    let days: Vec<(&str, u64)> = by_day["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["key"].as_str().unwrap(), t["requests"].as_u64().unwrap()))
        .collect();
    assert_eq!(days, [("2026-11-20", 3), ("2026-11-21", 2)]);

    let (status, err) = call(&p, Method::GET, "switchyard/usage?from=last-week", None).await;
    assert_eq!(
        (status, err["kind"].as_str()),
        (400, Some("invalid")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("RFC 3339"),
        "{err}"
    );
    let (status, err) = call(&p, Method::GET, "switchyard/usage?bucket=week", None).await;
    assert_eq!(status, 400, "{err}");

    let since = get(&p, "switchyard/usage/since?from=2026-11-21T00:00:00Z").await;
    assert_eq!(
        since,
        json!({"requests": 2, "tokens": 1414, "input_tokens": 1010, "output_tokens": 404})
    );
}

#[tokio::test]
async fn events_page_newest_first_with_filters_and_one_request_in_detail() {
    let p = proxy().await;
    insert(&p.db, &recorded());
    let mut seen = Vec::new();
    let mut path = format!("switchyard/usage/events?limit=2&from={FROM}&to={TO}");
    loop {
        let page = get(&p, &path).await;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => {
                path = format!("switchyard/usage/events?limit=2&from={FROM}&to={TO}&before={next}")
            }
            None => break,
        }
    }
    assert_eq!(seen, ["r5", "r4", "r3", "r2", "r1"]);

    let all = get(&p, "switchyard/usage/events").await;
    assert_eq!(ids(&all).len(), 6, "no range: everything");
    assert_eq!(all["next"], Value::Null);
    let errors = get(&p, "switchyard/usage/events?errors_only=true").await;
    assert_eq!(ids(&errors), ["r3"]);
    assert_eq!(errors["events"][0]["error_class"], "rate_limited");
    let ci = client_key_label("ci");
    let by_key = get(
        &p,
        &format!("switchyard/usage/events?client_key={ci}&model=gpt-5"),
    )
    .await;
    assert_eq!(ids(&by_key), ["r4", "r3"]);
    let compat = get(&p, &format!("usage/events?client_key={ci}")).await;
    assert_eq!(
        ids(&compat),
        ["r4", "r3"],
        "CLIProxyAPI's path lists the same"
    );

    let (status, err) = call(
        &p,
        Method::GET,
        "switchyard/usage/events?before=nonsense",
        None,
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().contains("`next`"), "{err}");

    let one = get(&p, "switchyard/usage/events/r2").await;
    assert_eq!(one["event"]["time"], "2026-11-20T09:40:00.25Z");
    assert_eq!(one["event"]["upstream_model"], "sonnet-upstream");
    assert_eq!(one["log"], Value::Null, "request-log is off");
    let (status, err) = call(&p, Method::GET, "switchyard/usage/events/nope", None).await;
    assert_eq!(
        (status, err["kind"].as_str()),
        (404, Some("not_found")),
        "{err}"
    );
}

/// The parts of a summary that describe the history (not this process or its file).
fn history(mut s: Value) -> Value {
    for k in ["database", "recorder", "enabled", "unavailable"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_proxy_gives_the_same_history_once() {
    let a = proxy().await;
    insert(&a.db, &recorded());
    let doc = get(&a, "switchyard/usage/export").await;
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["switchyard"]["events"].as_array().unwrap().len(), 6);
    assert_eq!(
        doc["usage"]["total_requests"], 6,
        "CLIProxyAPI's snapshot too"
    );
    assert_eq!(doc["usage"]["failure_count"], 1);

    let b = proxy().await;
    let (status, result) = call(
        &b,
        Method::POST,
        "switchyard/usage/import",
        Some(doc.clone()),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        result,
        json!({"format": "switchyard", "read": 6, "added": 6, "skipped": 0})
    );
    let range = format!("switchyard/usage?from={FROM}&to={TO}");
    assert_eq!(
        history(get(&b, &range).await),
        history(get(&a, &range).await)
    );
    let events = "switchyard/usage/events?limit=1000";
    assert_eq!(get(&b, events).await, get(&a, events).await);

    let (_, again) = call(
        &b,
        Method::POST,
        "switchyard/usage/import",
        Some(doc.clone()),
    )
    .await;
    assert_eq!(again["added"], 0);
    assert_eq!(again["skipped"], 6);
    // CLIProxyAPI's import path reads the same document, with its keys.
    let (status, cpa) = call(&b, Method::POST, "usage/import", Some(doc)).await;
    assert_eq!(status, 200, "{cpa}");
    assert_eq!(
        cpa,
        json!({"added": 0, "skipped": 6, "total_requests": 6, "failed_requests": 1, "format": "switchyard"})
    );

    let (status, err) = call(
        &b,
        Method::POST,
        "switchyard/usage/import",
        Some(json!({"version": 3, "usage": {}})),
    )
    .await;
    assert_eq!(
        (status, err["kind"].as_str()),
        (400, Some("invalid")),
        "{err}"
    );
    let raw =
        b.h.http
            .post(b.h.url("/v0/management/usage/import"))
            .bearer_auth(KEY)
            .body("not json")
            .send()
            .await
            .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(
        raw.json::<Value>().await.unwrap(),
        json!({"error": "invalid json"})
    );
}

/// Every byte SQLite keeps for `db`: the file and its write-ahead log.
fn database_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(b) = std::fs::read(PathBuf::from(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_cliproxyapi_export_imports_once_without_keeping_its_raw_keys() {
    let p = proxy().await;
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let (status, result) = call(&p, Method::POST, "usage/import", Some(fixture.clone())).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        result,
        json!({"added": 6, "skipped": 0, "total_requests": 6, "failed_requests": 1, "format": "cliproxyapi"})
    );
    let (_, again) = call(&p, Method::POST, "switchyard/usage/import", Some(fixture)).await;
    assert_eq!(
        again,
        json!({"format": "cliproxyapi", "read": 6, "added": 0, "skipped": 6})
    );

    // The fixture's times are +08:00: 2026-11-20T09:12 there is 01:12 UTC.
    let s = get(
        &p,
        &format!("switchyard/usage?from={FROM}&to={TO}&bucket=day"),
    )
    .await;
    assert_eq!(s["totals"]["requests"], 6);
    assert_eq!(s["totals"]["errors"], 1);
    assert_eq!(s["totals"]["input_tokens"], 18150);
    assert_eq!(s["totals"]["output_tokens"], 2470);
    assert_eq!(s["by_model"].as_array().unwrap().len(), 3);
    assert_eq!(s["by_model"][0]["key"], "claude-sonnet-4-5-20250929");
    let keys: Vec<&str> = s["by_client_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            client_key_label("sk-cpa-client-alpha-7f3e9a51c0"),
            client_key_label("sk-cpa-client-beta-19c2d4e8aa")
        ]
    );
    let creds: Vec<&str> = s["by_credential"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert!(creds.contains(&"alice@example.com"), "{creds:?}");
    assert!(creds.contains(&client_key_label("AIzaSyUPSTREAMgeminiKEY0123456789").as_str()));

    let failed = get(&p, "switchyard/usage/events?errors_only=true").await;
    let failed = &failed["events"][0];
    assert_eq!(failed["status"], 500);
    assert_eq!(failed["format"], "cliproxyapi");
    assert_eq!(failed["time"], "2026-11-21T06:00:00.5Z");
    assert!(failed["request_id"].as_str().unwrap().starts_with("cpa-"));

    let bytes = database_bytes(&p.db);
    assert!(
        contains(&bytes, "alice@example.com"),
        "the check reads the right file"
    );
    for secret in [
        "sk-cpa-client-alpha",
        "sk-cpa-client-beta",
        "sk-ant-api03-UPSTREAMsecretKEY",
        "AIzaSyUPSTREAMgeminiKEY",
    ] {
        assert!(
            !contains(&bytes, secret),
            "{secret} is in the database file"
        );
    }

    // CLIProxyAPI's `usage` shape, over the whole history by default.
    let usage = get(&p, "usage").await;
    assert_eq!(usage["failed_requests"], 1);
    let snapshot = usage["usage"].as_object().unwrap();
    for key in [
        "total_requests",
        "success_count",
        "failure_count",
        "total_tokens",
        "apis",
        "requests_by_day",
        "requests_by_hour",
        "tokens_by_day",
        "tokens_by_hour",
    ] {
        assert!(snapshot.contains_key(key), "{key} missing: {usage}");
    }
    assert_eq!(usage["usage"]["total_requests"], 6);
    assert_eq!(usage["usage"]["success_count"], 5);
    let alpha = &usage["usage"]["apis"][client_key_label("sk-cpa-client-alpha-7f3e9a51c0")];
    let detail = &alpha["models"]["gpt-5-codex"]["details"][0];
    assert_eq!(detail["timestamp"], "2026-11-20T01:12:44.511Z");
    assert_eq!(detail["source"], "alice@example.com");
    assert_eq!(detail["tokens"]["input_tokens"], 1200);
    assert_eq!(usage["usage"]["requests_by_hour"]["01"], 2);
    assert!(usage["summary"]["totals"].is_object(), "{usage}");
}

#[tokio::test]
async fn the_usage_and_request_log_switches_are_written_to_the_config() {
    let p = proxy().await;
    assert_eq!(
        get(&p, "usage-statistics-enabled").await,
        json!({"usage-statistics-enabled": true})
    );
    assert_eq!(get(&p, "request-log").await, json!({"request-log": false}));
    let (status, body) = call(
        &p,
        Method::PUT,
        "usage-statistics-enabled",
        Some(json!({"value": false})),
    )
    .await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    assert_eq!(
        get(&p, "usage-statistics-enabled").await,
        json!({"usage-statistics-enabled": false})
    );
    let summary = get(&p, "switchyard/usage").await;
    assert_eq!(summary["enabled"], false, "recording stopped at once");
    let (status, _) = call(
        &p,
        Method::PATCH,
        "request-log",
        Some(json!({"value": true})),
    )
    .await;
    assert_eq!(status, 200);
    let yaml = std::fs::read_to_string(p.h.config_path()).unwrap();
    assert!(yaml.contains("usage-statistics-enabled: false"), "{yaml}");
    assert!(yaml.contains("request-log: true"), "{yaml}");
    assert!(
        yaml.contains("usage-retention-days: 0"),
        "the rest of the file stays: {yaml}"
    );

    let settings = get(&p, "switchyard/settings").await;
    assert_eq!(settings["usage_statistics_enabled"], false);
    assert_eq!(settings["request_log"], true);
    let (status, body) = call(
        &p,
        Method::PATCH,
        "switchyard/settings",
        Some(json!({"usage_statistics_enabled": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&p, "switchyard/usage").await["enabled"], true);
    let (status, _) = call(
        &p,
        Method::PUT,
        "request-log",
        Some(json!({"value": "yes"})),
    )
    .await;
    assert_eq!(status, 400, "not a boolean");
}

#[tokio::test]
async fn an_import_larger_than_an_ordinary_body_is_taken_whole() {
    let p = proxy().await;
    let start = at("2026-11-01T00:00:00Z");
    let details: Vec<Value> = (0..12_000)
        .map(|n| {
            json!({"timestamp": (start + Duration::seconds(n)).format(&Rfc3339).unwrap(),
                   "latency_ms": 900, "source": "carol@example.com", "auth_index": "0",
                   "tokens": {"input_tokens": 10, "output_tokens": 2, "reasoning_tokens": 0,
                              "cached_tokens": 0, "total_tokens": 12}, "failed": false})
        })
        .collect();
    let doc = json!({"version": 1, "usage": {"apis": {"sk-bulk-client": {"models": {"gpt-5": {"details": details}}}}}});
    assert!(
        doc.to_string().len() > 2 << 20,
        "bigger than axum's default body limit"
    );
    let (status, result) = call(&p, Method::POST, "usage/import", Some(doc)).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["added"], 12_000);
    assert_eq!(UsageStore::open(&p.db).unwrap().count().unwrap(), 12_000);
}
