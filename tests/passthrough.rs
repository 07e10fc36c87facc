//! Same-format requests pass through: what the client gets is byte for byte what the upstream sent, and
//! what the upstream gets is the client's request with only the model and credentials changed.

mod common;

use common::{sse_events, Harness, CLIENT_KEY};
use serde_json::{json, Value};
use switchyard_mock::{Family, Kind, Reply};

/// Asks the mock directly (bypassing the proxy) for the reference answer to the same request.
async fn direct(h: &Harness, family: Family, path: &str, body: &Value) -> (u16, String) {
    let resp = h
        .http
        .post(format!("{}{path}", h.mock.base_url(family)))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

struct Case {
    family: Family,
    client_path: &'static str,
    upstream_path: &'static str,
    body: Value,
    upstream_model: &'static str,
    auth_header: &'static str,
}

fn cases(stream: bool) -> Vec<Case> {
    let weather_tool = json!({"name": "get_weather", "description": "Get the weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}});
    vec![
        Case {
            family: Family::Claude,
            client_path: "/v1/messages",
            upstream_path: "/v1/messages",
            body: json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": "hi"}], "tools": [weather_tool],
                "x_unknown_field": {"kept": [1, 2.50]}}),
            upstream_model: "claude-sonnet-4-5-20250929",
            auth_header: "authorization",
        },
        Case {
            family: Family::Codex,
            client_path: "/v1/responses",
            upstream_path: "/responses",
            body: json!({"model": "gpt-5.5", "input": "hi", "stream": stream,
                "reasoning": {"effort": "high"}, "include": ["reasoning.encrypted_content"]}),
            upstream_model: "gpt-5.5",
            auth_header: "authorization",
        },
        Case {
            family: Family::Compat,
            client_path: "/v1/chat/completions",
            upstream_path: "/chat/completions",
            body: json!({"model": "compat-gpt-4o", "stream": stream,
                "messages": [{"role": "user", "content": "hi"}]}),
            upstream_model: "mock-gpt-4o",
            auth_header: "authorization",
        },
    ]
}

#[tokio::test]
async fn json_and_streams_pass_through_byte_for_byte() {
    let h = Harness::start().await;
    for kind in [Kind::Text, Kind::Tool, Kind::Thinking, Kind::Parallel] {
        for stream in [false, true] {
            for case in cases(stream) {
                h.mock.script(vec![], Reply::Ok(kind));
                let resp = h.post(case.client_path, case.body.clone()).await;
                assert_eq!(
                    resp.status(),
                    200,
                    "{:?} {kind:?} stream={stream}",
                    case.family
                );
                let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
                let got = resp.text().await.unwrap();
                let seen = h.mock.requests();
                assert_eq!(seen.len(), 1);
                let up = &seen[0];
                assert_eq!(up.path, case.upstream_path);
                assert_eq!(up.body["model"], case.upstream_model);
                let cred = up.credential.clone().unwrap();
                assert!(
                    cred.starts_with("sk-"),
                    "upstream got our credential, not the client's: {cred}"
                );
                assert!(up.header(case.auth_header).is_some());
                assert_ne!(cred, CLIENT_KEY);
                // Everything but the model reached the upstream unchanged.
                let mut sent = case.body.clone();
                sent["model"] = json!(case.upstream_model);
                assert_eq!(up.body, sent);

                let mut reference_body = case.body.clone();
                reference_body["model"] = json!(case.upstream_model);
                h.mock.script(vec![], Reply::Ok(kind));
                let (_, expected) =
                    direct(&h, case.family, case.upstream_path, &reference_body).await;
                assert_eq!(got, expected, "{:?} {kind:?} stream={stream}", case.family);
                assert_eq!(content_type.starts_with("text/event-stream"), stream);
            }
        }
    }
}

#[tokio::test]
async fn gemini_json_sse_and_json_array_streams() {
    let h = Harness::start().await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}]}]});
    for (method, query) in [
        ("generateContent", ""),
        ("streamGenerateContent", "?alt=sse"),
        ("streamGenerateContent", ""),
    ] {
        h.mock.script(vec![], Reply::Ok(Kind::Parallel));
        let resp = h
            .http
            .post(h.url(&format!("/v1beta/models/gemini-2.5-flash:{method}{query}")))
            .header("x-goog-api-key", CLIENT_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let got = resp.text().await.unwrap();
        let up = &h.mock.requests()[0];
        assert_eq!(up.path, format!("/v1beta/models/gemini-2.5-flash:{method}"));
        assert_eq!(
            up.query,
            query.trim_start_matches('?'),
            "the client key never leaves in the query"
        );
        assert!(up
            .header("x-goog-api-key")
            .unwrap()
            .starts_with("sk-gemini-"));
        assert_eq!(up.body, body);
        h.mock.script(vec![], Reply::Ok(Kind::Parallel));
        let (_, expected) = direct(
            &h,
            Family::Gemini,
            &format!("/v1beta/models/gemini-2.5-flash:{method}{query}"),
            &body,
        )
        .await;
        assert_eq!(got, expected, "{method}{query}");
    }
}

#[tokio::test]
async fn legacy_completions_and_count_tokens() {
    let h = Harness::start().await;
    let resp = h
        .post(
            "/v1/completions",
            json!({"model": "compat-gpt-4o", "prompt": "Say hi", "stream": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap().1, "[DONE]");
    assert_eq!(h.mock.requests()[0].path, "/completions");

    let resp = h
        .post(
            "/v1/messages/count_tokens",
            json!({"model": "claude-sonnet-4-5-20250929", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"input_tokens": 42})
    );
    let up = h.mock.requests().pop().unwrap();
    assert_eq!(up.path, "/v1/messages/count_tokens");

    let resp = h
        .http
        .post(h.url("/v1beta/models/gemini-2.5-flash:countTokens"))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"contents": [{"parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["totalTokens"], 42);
}

#[tokio::test]
async fn protocol_headers_pass_through_and_versions_are_filled_in() {
    let h = Harness::start().await;
    let resp = h
        .http
        .post(h.url("/v1/messages?beta=true"))
        .header("x-api-key", CLIENT_KEY)
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("user-agent", "claude-cli/2.1.0 (external, cli)")
        .json(
            &json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let up = &h.mock.requests()[0];
    assert_eq!(
        up.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    assert_eq!(
        up.header("anthropic-version"),
        Some("2023-06-01"),
        "added when the client omits it"
    );
    assert_eq!(
        up.header("user-agent"),
        Some("claude-cli/2.1.0 (external, cli)")
    );
    assert_eq!(up.query, "beta=true");
    assert_eq!(
        up.header("x-api-key"),
        None,
        "the client's key is not forwarded"
    );
    assert!(up
        .header("authorization")
        .unwrap()
        .starts_with("Bearer sk-claude-"));

    let resp = h
        .http
        .post(h.url("/v1/responses"))
        .bearer_auth(CLIENT_KEY)
        .header("openai-beta", "responses=v1")
        .json(&json!({"model": "gpt-5.5", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let up = h.mock.requests().pop().unwrap();
    assert_eq!(up.header("openai-beta"), Some("responses=v1"));
}

#[tokio::test]
async fn aliases_prefixes_and_entry_headers() {
    let mock = switchyard_mock::MockUpstream::start().await;
    let yaml = format!(
        r#"port: 0
usage-database-path: usage.sqlite
api-keys: [k]
claude-api-key:
  - api-key: sk-team
    base-url: {}
    prefix: team
    headers: {{X-Team: blue}}
    models: [{{name: claude-sonnet-4-5-20250929, alias: sonnet}}]
"#,
        mock.base_url(Family::Claude)
    );
    let h = Harness::with_config(mock, &yaml).await;
    for model in ["sonnet", "team/sonnet"] {
        let resp = h
            .http
            .post(h.url("/v1/messages"))
            .bearer_auth("k")
            .json(&json!({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{model}");
        let up = &h.mock.requests()[0];
        assert_eq!(up.body["model"], "claude-sonnet-4-5-20250929");
        assert_eq!(up.header("x-team"), Some("blue"));
        h.mock.script(vec![], Reply::Ok(Kind::Text));
    }
}
