//! The HTTP side: `MockUpstream` (bind, serve, script, log) and the request handler.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::watch;

use crate::oauth::OAuthMock;
use crate::paced::paced_body;
use crate::plan::{plan, Plan, PlanBody};
use crate::recorded::{Recorded, ReplyGuard};
use crate::replies;
use crate::route::{classify, Op};
use crate::script::{Pick, Script};
use crate::types::{Family, Kind, Reply, Step};

/// Request bodies larger than this are refused (a test double never needs more).
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) struct Shared {
    state: Mutex<Inner>,
    /// Number of recorded requests, so waiters wake up without polling.
    count: watch::Sender<usize>,
    /// Flips to true (or closes) when the mock stops; paced bodies end on it.
    shutdown: watch::Receiver<bool>,
}

struct Inner {
    script: Script,
    log: Vec<Recorded>,
}

impl Shared {
    /// The state lock; a panic elsewhere must not wedge every later request, so poison is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_script(&self, steps: Vec<Step>, fallback: Reply) {
        let mut inner = self.lock();
        inner.script = Script::new(steps, fallback);
        inner.log.clear();
        self.count.send_replace(0);
    }

    pub(crate) fn log(&self) -> Vec<Recorded> {
        self.lock().log.clone()
    }

    fn record(&self, r: Recorded) {
        let mut inner = self.lock();
        inner.log.push(r);
        self.count.send_replace(inner.log.len());
    }

    fn next_pick(&self, credential: Option<&str>) -> Pick {
        self.lock().script.next(credential)
    }
}

/// A mock upstream serving all four families on one local port. Stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    oauth: Arc<OAuthMock>,
    /// Dropping it (with the mock) ends the accept loop and every paced or hanging body.
    stop: watch::Sender<bool>,
}

impl MockUpstream {
    /// Binds `127.0.0.1:0` and serves in a background tokio task.
    ///
    /// # Panics
    /// If no loopback port can be bound — a broken test environment, not a test failure.
    pub async fn start() -> MockUpstream {
        match MockUpstream::start_on(0).await {
            Ok(mock) => mock,
            Err(e) => panic!("switchyard-mock: cannot bind 127.0.0.1:0: {e}"),
        }
    }

    /// Binds `127.0.0.1:port` (0 = any free port) and serves in a background tokio task.
    pub async fn start_on(port: u16) -> std::io::Result<MockUpstream> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(Inner {
                script: Script::default(),
                log: Vec::new(),
            }),
            count: watch::channel(0).0,
            shutdown: shutdown.clone(),
        });
        let oauth = Arc::new(OAuthMock::default());
        let app = axum::Router::new()
            .nest("/oauth", crate::oauth::router(oauth.clone()))
            .fallback(handle)
            .with_state(shared.clone());
        // No Nagle: each paced write must leave at once, or split/merged chunking and stall
        // timings would be blurred by the kernel.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let mut stopped = shutdown;
        tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await;
        });
        Ok(MockUpstream {
            addr,
            shared,
            oauth,
            stop,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/anthropic` etc.: the base URL to configure for a provider.
    pub fn base_url(&self, family: Family) -> String {
        format!("http://{}{}", self.addr, family.prefix())
    }

    /// The mock OAuth servers (`/oauth/claude/…`, `/oauth/codex/…`): identities, device approval.
    pub fn oauth(&self) -> &OAuthMock {
        &self.oauth
    }

    /// An `endpoints:` config block pointing Claude's and Codex's OAuth and usage endpoints at this
    /// mock, with callback ports 0 (any free port) so tests never touch the real 54545 and 1455.
    pub fn oauth_endpoints_yaml(&self) -> String {
        let base = format!("http://{}/oauth", self.addr);
        format!(
            "endpoints:\n  claude:\n    authorize: {base}/claude/authorize\n    token: {base}/claude/token\n    usage: {base}/claude/usage\n    callback-port: 0\n  codex:\n    authorize: {base}/codex/authorize\n    token: {base}/codex/token\n    device-code: {base}/codex/deviceauth/usercode\n    device-token: {base}/codex/deviceauth/token\n    usage: {base}/codex/usage\n    callback-port: 0\n"
        )
    }

    /// Replaces the script and clears the request log.
    pub fn script(&self, steps: Vec<Step>, fallback: Reply) {
        self.shared.set_script(steps, fallback);
    }

    /// Every request received on a family route since the last `script`, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log()
    }

    /// Waits until at least `n` requests were recorded or `timeout` passed; returns the log
    /// either way (check its length).
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let mut rx = self.shared.count.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n)).await;
        self.shared.log()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl std::fmt::Debug for MockUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockUpstream")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn unknown_route() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        r#"{"error":"mock: unknown route"}"#.to_string(),
    )
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Bearer token, else `x-api-key`, else `x-goog-api-key`, else `?key=`.
fn credential(headers: &[(String, String)], query: &str) -> Option<String> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bearer = get("authorization").map(|v| match v.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => &v[7..],
        _ => v,
    });
    [bearer, get("x-api-key"), get("x-goog-api-key")]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(str::to_string)
        .or_else(|| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix("key="))
                .filter(|k| !k.is_empty())
                .map(str::to_string)
        })
}

fn parse_body(raw: &Bytes) -> Value {
    if raw.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(raw).into_owned()))
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(route) = path.strip_prefix("/__control/") {
        let method = req.method().clone();
        let route = route.to_string();
        let raw = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .unwrap_or_default();
        return crate::control::handle(&shared, &method, &route, &raw);
    }
    let Some((family, rest)) = Family::split_path(&path) else {
        return unknown_route();
    };
    let rest = rest.to_string();
    let method = req.method().as_str().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = header_pairs(req.headers());
    let raw = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(raw) => raw,
        Err(_) => {
            let body =
                replies::error_body_with_message(family, 400, "mock: unreadable request body");
            return json_response(StatusCode::BAD_REQUEST, body);
        }
    };
    let body = parse_body(&raw);
    let cred = credential(&headers, &query);
    let gone = Arc::new(AtomicBool::new(false));
    let mut guard = ReplyGuard::new(gone.clone());
    shared.record(Recorded {
        family,
        method: method.clone(),
        path: rest.clone(),
        query: query.clone(),
        credential: cred.clone(),
        headers,
        body: body.clone(),
        raw_body: raw,
        client_gone: gone,
    });

    let Some((op, echo)) = classify(family, &method, &rest, &query, &body) else {
        guard.finish();
        return unknown_route();
    };
    if op.needs_json_body() && !body.is_object() {
        guard.finish();
        let msg = "mock: request body is not a JSON object";
        return json_response(
            StatusCode::BAD_REQUEST,
            replies::error_body_with_message(family, 400, msg),
        );
    }
    let pick = match op {
        Op::Models => Pick::plain(Reply::Ok(Kind::Text)),
        _ => shared.next_pick(cred.as_deref()),
    };
    if pick.delay_ms > 0 {
        // If the client leaves during the delay hyper drops this future, and with it `guard`.
        let mut shutdown = shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(pick.delay_ms)) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
    let planned = plan(family, op, &echo, &pick.reply, pick.chunking);
    respond(planned, &pick, guard, shared.shutdown.clone())
}

fn respond(
    planned: Plan,
    pick: &Pick,
    mut guard: ReplyGuard,
    shutdown: watch::Receiver<bool>,
) -> Response {
    let body = match planned.body {
        PlanBody::Full(bytes) => {
            guard.finish();
            Body::from(bytes)
        }
        PlanBody::Writes { writes, end } => paced_body(
            writes,
            Duration::from_millis(pick.stall_ms),
            end,
            guard,
            shutdown,
        ),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(planned.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    for (name, value) in planned.headers {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Scripted headers replace same-named defaults and otherwise add up; unusable ones are skipped.
    let defaults: Vec<HeaderName> = headers.keys().cloned().collect();
    let mut replaced: Vec<HeaderName> = Vec::new();
    for (name, value) in &pick.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) else {
            continue;
        };
        if defaults.contains(&name) && !replaced.contains(&name) {
            headers.remove(&name);
            replaced.push(name.clone());
        }
        headers.append(name, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn credential_sources_in_order() {
        assert_eq!(
            credential(&h(&[("authorization", "Bearer abc")]), ""),
            Some("abc".into())
        );
        assert_eq!(
            credential(&h(&[("authorization", "bearer abc")]), ""),
            Some("abc".into())
        );
        assert_eq!(
            credential(&h(&[("authorization", "Basic zz")]), ""),
            Some("Basic zz".into())
        );
        assert_eq!(
            credential(&h(&[("x-api-key", "k1"), ("x-goog-api-key", "k2")]), ""),
            Some("k1".into())
        );
        assert_eq!(
            credential(&h(&[("x-goog-api-key", "k2")]), "key=k3"),
            Some("k2".into())
        );
        assert_eq!(credential(&h(&[]), "alt=sse&key=k3"), Some("k3".into()));
        assert_eq!(credential(&h(&[("authorization", "Bearer ")]), ""), None);
        assert_eq!(
            credential(&h(&[("authorization", "Bé")]), ""),
            Some("Bé".into())
        );
    }

    #[test]
    fn body_parsing() {
        assert_eq!(parse_body(&Bytes::new()), Value::Null);
        assert_eq!(parse_body(&Bytes::from_static(b"{\"a\":1}"))["a"], 1);
        assert_eq!(
            parse_body(&Bytes::from_static(b"not json")),
            Value::String("not json".into())
        );
    }
}
