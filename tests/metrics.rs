//! `/metrics`, `/health/liveness` and `/health/readiness` as an operator sees them: the scrape parses as
//! Prometheus text, counts what happened, and answers only those it should.

mod common;

use std::collections::BTreeMap;

use common::cli::login_in_browser;
use common::{accounts_only_yaml, baseline_yaml, chat_body, upstream_error, Harness, CLIENT_KEY};
use serde_json::Value;
use switchyard::usage::{Metrics, UsageEvent};
use switchyard_mock::{Family, MockUpstream};

/// One sample of a scrape.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format 0.0.4 strictly enough to catch what Prometheus would reject: every
/// sample belongs to a family declared by `# TYPE` before it, label values are quoted with `\\`, `\"`
/// and `\n` as the only escapes, and values are numbers.
fn parse(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP has a name and text");
            helped.push(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                helped.contains(&name.to_string()),
                "HELP before TYPE: {line}"
            );
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "twice: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let sample = parse_sample(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                let base = sample.name.strip_suffix(s)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(&sample.name);
        assert!(types.contains_key(family), "no TYPE before {line}");
        samples.push(sample);
    }
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    samples
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad name {name}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        (labels, rest) = parse_labels(inner, line);
    }
    let value = rest.trim();
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value {v:?} in {line}")),
    };
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

/// `key="value",...}` and what follows the closing brace.
fn parse_labels<'a>(mut s: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let mut labels = BTreeMap::new();
    loop {
        s = s.strip_prefix(',').unwrap_or(s);
        if let Some(rest) = s.strip_prefix('}') {
            return (labels, rest);
        }
        let (key, after) = s
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label=\"value\" expected in {line}"));
        assert!(
            key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad label name {key:?}"
        );
        let mut value = String::new();
        let mut chars = after.chars();
        loop {
            match chars.next().expect("a closing quote") {
                '"' => break,
                '\\' => match chars.next().expect("an escaped char") {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => panic!("bad escape \\{c} in {line}"),
                },
                '\n' => panic!("a raw line feed in a label value"),
                c => value.push(c),
            }
        }
        labels.insert(key.to_string(), value);
        s = chars.as_str();
    }
}

/// The sum of `name`'s samples whose labels include every pair of `with`.
fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
        .map(|s| s.value)
        .sum()
}

fn event(model: &str, status: u16, latency_ms: u64) -> UsageEvent {
    UsageEvent {
        request_id: format!("r-{model}-{latency_ms}"),
        time: time::OffsetDateTime::now_utc(),
        client_key: None,
        format: "openai-chat".into(),
        provider: Some("claude".into()),
        credential: Some("claude-api-key[0]".into()),
        model: model.into(),
        upstream_model: Some(model.into()),
        stream: true,
        status,
        error_class: None,
        latency_ms,
        ttfb_ms: Some(latency_ms / 2),
        input_tokens: 10,
        output_tokens: 5,
        cached_tokens: 3,
        reasoning_tokens: 1,
        retries: 0,
        failovers: 0,
    }
}

#[test]
fn observed_requests_are_counted_by_their_labels() {
    let m = Metrics::new();
    for ms in [40, 900, 70_000] {
        m.observe(&event("sonnet", 200, ms));
    }
    let failed = UsageEvent {
        status: 429,
        error_class: Some("upstream_rate_limited".into()),
        retries: 2,
        failovers: 1,
        ttfb_ms: None,
        ..event("sonnet", 429, 10)
    };
    m.observe(&failed);
    let s = parse(&m.render(&Default::default()));

    let ok = [
        ("model", "sonnet"),
        ("status", "200"),
        ("provider", "claude"),
    ];
    assert_eq!(total(&s, "switchyard_requests_total", &ok), 3.0);
    assert_eq!(
        total(&s, "switchyard_requests_total", &[("status", "429")]),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "switchyard_errors_total",
            &[("error_class", "upstream_rate_limited")]
        ),
        1.0
    );
    assert_eq!(
        total(&s, "switchyard_retries_total", &[("provider", "claude")]),
        2.0
    );
    assert_eq!(
        total(&s, "switchyard_failovers_total", &[("provider", "claude")]),
        1.0
    );
    let input = [("model", "sonnet"), ("kind", "input")];
    assert_eq!(total(&s, "switchyard_tokens_total", &input), 40.0);
    assert_eq!(
        total(&s, "switchyard_tokens_total", &[("kind", "reasoning")]),
        4.0
    );

    // Cumulative buckets: 10 ms and 40 ms under 0.05 s, 900 ms under 1 s, 70 s only from 120 s on.
    let bucket = |le: &str| {
        let with = [
            ("format", "openai-chat"),
            ("provider", "claude"),
            ("le", le),
        ];
        total(&s, "switchyard_request_duration_seconds_bucket", &with)
    };
    assert_eq!(
        [
            bucket("0.05"),
            bucket("1"),
            bucket("60"),
            bucket("120"),
            bucket("+Inf")
        ],
        [2.0, 3.0, 3.0, 4.0, 4.0]
    );
    let sum = total(&s, "switchyard_request_duration_seconds_sum", &[]);
    assert!((sum - 70.95).abs() < 1e-9, "{sum}");
    assert_eq!(
        total(&s, "switchyard_request_duration_seconds_count", &[]),
        4.0
    );
    // Only answers that started count towards the time to first byte.
    assert_eq!(
        total(&s, "switchyard_time_to_first_byte_seconds_count", &[]),
        3.0
    );
}

#[test]
fn any_label_value_survives_the_exposition() {
    let m = Metrics::new();
    let odd = "claude account \"ann\" <a\\b@example.com>\nsecond line";
    m.observe(&UsageEvent {
        credential: Some(odd.into()),
        provider: None,
        ..event("m", 200, 1)
    });
    let s = parse(&m.render(&Default::default()));
    let got = s
        .iter()
        .find(|s| s.name == "switchyard_requests_total")
        .expect("one request");
    assert_eq!(got.labels["credential"], odd);
    assert_eq!(got.labels["provider"], "", "no provider: an empty label");
}

#[test]
fn invented_model_names_cannot_grow_the_scrape_without_bound() {
    let m = Metrics::new();
    for i in 0..5000 {
        m.observe(&event(&format!("made-up-{i}"), 404, 1));
    }
    let s = parse(&m.render(&Default::default()));
    let series = s
        .iter()
        .filter(|s| s.name == "switchyard_requests_total")
        .count();
    assert!(series <= 4097, "{series} series");
    assert_eq!(
        total(&s, "switchyard_requests_total", &[]),
        5000.0,
        "none lost"
    );
    assert_eq!(
        total(&s, "switchyard_requests_total", &[("model", "(other)")]),
        5000.0 - 4096.0
    );
}

/// A usage database in `dir`, so no test writes to the real data folder.
fn db_line(dir: &tempfile::TempDir) -> String {
    format!(
        "usage-database-path: \"{}\"\n",
        dir.path().join("usage.sqlite").display()
    )
}

async fn get(h: &Harness, path: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = h.http.get(h.url(path));
    if let Some(key) = bearer {
        req = req.bearer_auth(key);
    }
    req.send().await.expect("the proxy answers")
}

async fn scrape(h: &Harness, bearer: Option<&str>) -> Vec<Sample> {
    let resp = get(h, "/metrics", bearer).await;
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&resp.text().await.unwrap())
}

#[tokio::test]
async fn loopback_scrapes_without_a_key_and_sees_the_proxy() {
    let db = tempfile::tempdir().unwrap();
    let h = Harness::with_extra(&db_line(&db)).await;
    let s = scrape(&h, None).await;
    let ready = [("state", "ready")];
    assert_eq!(
        total(&s, "switchyard_credentials", &ready),
        8.0,
        "the baseline's keys"
    );
    assert_eq!(
        total(
            &s,
            "switchyard_credentials",
            &[("provider", "claude"), ("state", "ready")]
        ),
        2.0
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        total(&s, "switchyard_build_info", &[("version", version)]),
        1.0
    );
    assert_eq!(total(&s, "switchyard_usage_recording", &[]), 1.0);
    assert_eq!(
        s.iter()
            .filter(|x| x.name == "switchyard_uptime_seconds")
            .count(),
        1
    );
    let outcomes: Vec<&str> = s
        .iter()
        .filter(|x| x.name == "switchyard_usage_events_total")
        .map(|x| x.labels["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["written", "dropped", "failed"]);
}

#[tokio::test]
async fn a_metrics_key_is_required_once_set() {
    let db = tempfile::tempdir().unwrap();
    let h = Harness::with_extra(&format!("{}metrics-key: m-secret\n", db_line(&db))).await;
    for bearer in [None, Some("wrong"), Some(CLIENT_KEY)] {
        let resp = get(&h, "/metrics", bearer).await;
        assert_eq!(resp.status(), 401, "{bearer:?}");
        assert!(resp.headers().contains_key("www-authenticate"));
        assert!(resp.text().await.unwrap().contains("metrics-key"));
    }
    let s = scrape(&h, Some("m-secret")).await;
    assert_eq!(total(&s, "switchyard_credentials", &[]), 8.0);
}

#[tokio::test]
async fn web_pages_cannot_scrape() {
    let db = tempfile::tempdir().unwrap();
    let h = Harness::with_extra(&db_line(&db)).await;
    let resp = h
        .http
        .get(h.url("/metrics"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "the browser guard runs first");
}

#[tokio::test]
async fn liveness_needs_no_key() {
    let db = tempfile::tempdir().unwrap();
    let h = Harness::with_extra(&db_line(&db)).await;
    let resp = get(&h, "/health/liveness", None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
}

#[tokio::test]
async fn ready_with_the_baseline_keys() {
    let db = tempfile::tempdir().unwrap();
    let h = Harness::with_extra(&db_line(&db)).await;
    let resp = get(&h, "/health/readiness", None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "credentials": {"usable": 8, "total": 8}})
    );
}

#[tokio::test]
async fn not_ready_without_credentials() {
    let db = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let yaml = format!(
        "host: 127.0.0.1\nport: 0\napi-keys: [\"{CLIENT_KEY}\"]\n{}",
        db_line(&db)
    );
    let h = Harness::with_config(mock, &yaml).await;
    let resp = get(&h, "/health/readiness", None).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["reasons"],
        serde_json::json!(["no credentials configured: add an api key or log in"])
    );
    assert_eq!(
        body["credentials"],
        serde_json::json!({"usable": 0, "total": 0})
    );
}

#[tokio::test]
async fn not_ready_while_every_credential_cools_down() {
    let db = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let yaml = format!(
        "host: 127.0.0.1\nport: 0\napi-keys: [\"{CLIENT_KEY}\"]\nmax-retry-interval: 0\n{}\
         openai-compatibility:\n  - name: mockcompat\n    base-url: {}\n    \
         api-key-entries: [{{api-key: sk-compat-1}}]\n    models: [{{name: mock-gpt-4o, alias: compat-gpt-4o}}]\n",
        db_line(&db),
        mock.base_url(Family::Compat),
    );
    let h = Harness::with_config(mock, &yaml).await;
    assert_eq!(get(&h, "/health/readiness", None).await.status(), 200);

    h.script_then_text(vec![upstream_error(429).header("retry-after", "600")]);
    let resp = h
        .post("/v1/chat/completions", chat_body("compat-gpt-4o", false))
        .await;
    assert_eq!(resp.status(), 429);

    let resp = get(&h, "/health/readiness", None).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    let reason = reasons[0].as_str().unwrap();
    assert!(reason.contains("cooling down"), "{reason}");
    assert!(
        reason.contains("back in 6") || reason.contains("back in 5"),
        "{reason}"
    );
    assert_eq!(
        body["credentials"],
        serde_json::json!({"usable": 0, "total": 1})
    );

    let s = scrape(&h, None).await;
    let compat = [("provider", "openai-compatible")];
    assert_eq!(total(&s, "switchyard_cooldowns", &compat), 1.0);
    let resting = [("model", "mock-gpt-4o")];
    let left = total(&s, "switchyard_cooldown_remaining_seconds", &resting);
    assert!((500.0..=600.0).contains(&left), "{left}");
    let cooling = [("provider", "openai-compatible"), ("state", "cooling")];
    assert_eq!(total(&s, "switchyard_credentials", &cooling), 1.0);
}

/// Marks every account as last refreshed a day ago: a token issued moments ago is never refreshed on a
/// 401 (a refresh would not help), one a day old is.
fn last_refreshed_yesterday(auth: &std::path::Path) {
    fn walk(v: &mut Value, yesterday: &str) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k == "last_refresh" {
                        *v = Value::from(yesterday);
                    } else {
                        walk(v, yesterday);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, yesterday)),
            _ => {}
        }
    }
    let path = auth.join("switchyard/accounts.json");
    let mut list: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    walk(
        &mut list,
        &humantime::format_rfc3339_seconds(day_ago).to_string(),
    );
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
}

#[tokio::test]
async fn an_account_is_counted_refreshed_and_disabled() {
    let db = tempfile::tempdir().unwrap();
    let auth = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let yaml = accounts_only_yaml(&mock, auth.path()) + &db_line(&db);
    let h = Harness::with_config(mock, &yaml).await;
    assert_eq!(get(&h, "/health/readiness", None).await.status(), 503);

    login_in_browser(&h.config_path(), "codex").await;
    h.wait_for_model("gpt-5.1-codex", true).await;
    // A day into the token's life the upstream refuses it once: one refresh, then the resend succeeds.
    last_refreshed_yesterday(auth.path());
    h.script_then_text(vec![upstream_error(401).times(1)]);
    let resp = h
        .post("/v1/chat/completions", chat_body("gpt-5.1-codex", false))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(h.mock.oauth().refresh_count(), 1);

    let s = scrape(&h, None).await;
    let refreshed = [("provider", "codex"), ("outcome", "ok")];
    assert_eq!(
        total(&s, "switchyard_token_refreshes_total", &refreshed),
        1.0
    );
    let failed = [("outcome", "failed")];
    assert_eq!(total(&s, "switchyard_token_refreshes_total", &failed), 0.0);
    let ready = [("provider", "codex"), ("state", "ready")];
    assert_eq!(total(&s, "switchyard_credentials", &ready), 1.0);
    let resp = get(&h, "/health/readiness", None).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["credentials"],
        serde_json::json!({"usable": 1, "total": 1})
    );

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["account", "codex-user@example.com", "--disable", "--config"])
        .arg(h.config_path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    h.wait_for_model("gpt-5.1-codex", false).await;
    let resp = get(&h, "/health/readiness", None).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["credentials"],
        serde_json::json!({"usable": 0, "total": 1})
    );
    let reason = body["reasons"][0].as_str().unwrap();
    assert!(reason.contains("disabled accounts"), "{reason}");
    let s = scrape(&h, None).await;
    let disabled = [("provider", "codex"), ("state", "disabled")];
    assert_eq!(total(&s, "switchyard_credentials", &disabled), 1.0);
}

/// `n` Chat Completions requests that must succeed, each read to its end.
async fn chats(h: &Harness, n: usize) {
    for _ in 0..n {
        let resp = h
            .post("/v1/chat/completions", chat_body("compat-gpt-4o", false))
            .await;
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
    }
}

/// Scrapes until `done` holds (what is counted off the request path lands a moment after the answer
/// ends), within 5 s; `what` says what was awaited when it never holds.
async fn scrape_until(h: &Harness, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let s = scrape(h, None).await;
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_move_the_counters() {
    let db = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let yaml = baseline_yaml(&mock, &db_line(&db));
    let h = Harness::with_config(mock, &yaml).await;
    let before = total(&scrape(&h, None).await, "switchyard_requests_total", &[]);
    chats(&h, 3).await;
    let s = scrape_until(&h, "3 more requests", |s| {
        total(s, "switchyard_requests_total", &[]) - before == 3.0
    })
    .await;
    let ok = [
        ("format", "openai-chat"),
        ("status", "200"),
        ("model", "compat-gpt-4o"),
    ];
    assert_eq!(total(&s, "switchyard_requests_total", &ok), 3.0);
}

#[tokio::test]
async fn request_log_captures_are_counted() {
    let db = tempfile::tempdir().unwrap();
    let off = Harness::with_extra(&db_line(&db)).await;
    let s = scrape(&off, None).await;
    let logs: Vec<_> = s
        .iter()
        .filter(|x| x.name == "switchyard_request_logs_total")
        .map(|x| (x.labels["outcome"].as_str(), x.value))
        .collect();
    assert_eq!(
        logs,
        [("written", 0.0), ("dropped", 0.0), ("failed", 0.0)],
        "the series are there, at zero, while nothing is logged"
    );
    drop(off);

    let h = Harness::with_extra(&format!("{}request-log: true\n", db_line(&db))).await;
    chats(&h, 2).await;
    let written = [("outcome", "written")];
    let s = scrape_until(&h, "2 captures written", |s| {
        total(s, "switchyard_request_logs_total", &written) == 2.0
    })
    .await;
    let dropped = [("outcome", "dropped")];
    assert_eq!(total(&s, "switchyard_request_logs_total", &dropped), 0.0);
}
