//! Who gets in: client keys from every documented place, refusals in each endpoint's own error shape,
//! and no way in for web pages (Origin) or DNS rebinding (Host).

mod common;

use common::{error_message, Harness, CLIENT_KEY};
use serde_json::{json, Value};

/// Sends a request and returns its status and JSON body.
async fn status_and_json(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request reaches the proxy");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn the_client_key_is_accepted_from_every_documented_place() {
    let h = Harness::start().await;
    let models =
        |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status().as_u16() };
    let url = h.url("/v1/models");
    assert_eq!(models(h.http.get(&url).bearer_auth(CLIENT_KEY)).await, 200);
    assert_eq!(
        models(
            h.http
                .get(&url)
                .header("authorization", format!("bearer {CLIENT_KEY}"))
        )
        .await,
        200
    );
    assert_eq!(
        models(h.http.get(&url).header("authorization", CLIENT_KEY)).await,
        200
    );
    assert_eq!(
        models(h.http.get(&url).header("x-api-key", CLIENT_KEY)).await,
        200
    );
    assert_eq!(
        models(h.http.get(&url).header("x-goog-api-key", CLIENT_KEY)).await,
        200
    );
    assert_eq!(
        models(h.http.get(format!("{url}?key={CLIENT_KEY}"))).await,
        200
    );
    assert_eq!(
        models(h.http.get(format!("{url}?auth_token={CLIENT_KEY}"))).await,
        200
    );
    assert_eq!(
        models(h.http.get(&url).bearer_auth("second-client-key")).await,
        200
    );
    // A stale Authorization header does not hide a valid x-api-key.
    assert_eq!(
        models(
            h.http
                .get(&url)
                .bearer_auth("wrong")
                .header("x-api-key", CLIENT_KEY)
        )
        .await,
        200
    );
}

#[tokio::test]
async fn refusals_use_each_endpoints_error_shape() {
    let h = Harness::start().await;
    let body = json!({"model": "x"});
    let cases = [
        ("/v1/chat/completions", "authentication_error"),
        ("/v1/responses", "authentication_error"),
        ("/v1/messages", "authentication_error"),
    ];
    for (path, kind) in cases {
        let (status, v) = status_and_json(h.http.post(h.url(path)).json(&body)).await;
        assert_eq!(status, 401, "{path}");
        if path == "/v1/messages" {
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], kind);
        } else {
            assert_eq!(v["error"]["type"], kind);
            assert_eq!(v["error"]["code"], "missing_api_key");
        }
    }
    let (status, v) = status_and_json(
        h.http
            .post(h.url("/v1beta/models/gemini-2.5-flash:generateContent"))
            .header("x-goog-api-key", "wrong")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(v["error"]["code"], 401);
    assert!(h.mock.requests().is_empty());

    // /v1/models answers in Anthropic's shape for Anthropic clients, errors included.
    let (status, v) = status_and_json(
        h.http
            .get(h.url("/v1/models"))
            .header("anthropic-version", "2023-06-01"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v["type"], "error");
}

#[tokio::test]
async fn web_pages_and_rebinding_hosts_are_refused_even_with_a_key() {
    let h = Harness::start().await;
    let port = h.proxy().local_addr().port();
    let body = json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]});
    let (status, v) = status_and_json(
        h.http
            .post(h.url("/v1/messages"))
            .bearer_auth(CLIENT_KEY)
            .header("origin", "https://evil.example")
            .json(&body),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["type"], "permission_error");
    assert!(error_message(&v).contains("browser-access.allowed-origins"));

    let resp = h
        .http
        .post(h.url("/v1/messages"))
        .bearer_auth(CLIENT_KEY)
        .header("host", format!("rebind.attacker.example:{port}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // A CORS preflight from a page is refused too; one without an Origin is a harmless 204.
    let resp = h
        .http
        .request(reqwest::Method::OPTIONS, h.url("/v1/chat/completions"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = h
        .http
        .request(reqwest::Method::OPTIONS, h.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(h.mock.requests().is_empty(), "nothing reached the upstream");
}

#[tokio::test]
async fn allow_lists_open_specific_origins_and_hosts() {
    let h = Harness::with_extra(
        "browser-access:\n  allowed-origins: [\"https://my.tool\"]\n  allowed-hosts: [\"proxy.lan\"]\n",
    )
    .await;
    let port = h.proxy().local_addr().port();
    let get = |origin: &'static str, host: String| {
        h.http
            .get(h.url("/v1/models"))
            .bearer_auth(CLIENT_KEY)
            .header("origin", origin)
            .header("host", host)
            .send()
    };
    assert_eq!(
        get("https://my.tool", format!("proxy.lan:{port}"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("https://other.tool", format!("proxy.lan:{port}"))
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn model_listings_in_every_shape() {
    let h = Harness::start().await;
    let (_, openai) =
        status_and_json(h.http.get(h.url("/v1/models")).bearer_auth(CLIENT_KEY)).await;
    assert_eq!(openai["object"], "list");
    let ids: Vec<&str> = openai["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"compat-gpt-4o") && ids.contains(&"claude-sonnet-4-5-20250929"));
    assert!(ids.contains(&"gpt-5.5") && ids.contains(&"gemini-2.5-flash"));
    assert!(
        !ids.contains(&"mock-gpt-4o"),
        "aliases are listed, not the upstream names"
    );

    let (_, anthropic) = status_and_json(
        h.http
            .get(h.url("/v1/models"))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01"),
    )
    .await;
    assert_eq!(anthropic["has_more"], false);
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert!(anthropic["data"][0]["created_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let (_, gemini) = status_and_json(
        h.http
            .get(h.url("/v1beta/models"))
            .header("x-goog-api-key", CLIENT_KEY),
    )
    .await;
    let names: Vec<&str> = gemini["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"models/gemini-2.5-flash"));

    let health = h.http.get(h.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "health needs no key");
}
