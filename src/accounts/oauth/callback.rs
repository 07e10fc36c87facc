//! The loopback listener the browser returns to after sign-in: `http://localhost:<port><path>`.
//!
//! It binds 127.0.0.1 (and ::1 on the same port when it can: browsers may resolve `localhost` to
//! either; nothing off this machine may deliver a code), answers the browser with a small page, and hands a code whose `state` matches to the waiting login. Closing it (or dropping
//! it) stops the server and frees the port at once.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::OAuthError;
use crate::accounts::Provider;

/// What the browser brought back, once its `state` has been checked.
#[derive(Debug)]
pub enum CallbackEvent {
    Code(SecretString),
    /// The provider redirected with `error=` (the user declined, or the request was refused).
    Denied(String),
}

struct Shared {
    expected_state: String,
    provider: Provider,
    events: mpsc::Sender<CallbackEvent>,
}

pub struct CallbackListener {
    port: u16,
    events: mpsc::Receiver<CallbackEvent>,
    servers: Vec<JoinHandle<()>>,
}

impl CallbackListener {
    /// Binds `127.0.0.1:port` (0 = any free port) and serves `path`. A port in use is
    /// [`OAuthError::PortBusy`], whose message names the port and the other ways to log in.
    pub async fn bind(
        provider: Provider,
        port: u16,
        path: &str,
        expected_state: &str,
    ) -> Result<CallbackListener, OAuthError> {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(OAuthError::PortBusy { provider, port })
            }
            Err(source) => return Err(OAuthError::Bind { port, source }),
        };
        let port = listener
            .local_addr()
            .map_err(|source| OAuthError::Bind { port, source })?
            .port();
        // A few slots: a browser may retry or hit the page twice; only the first code is used.
        let (tx, events) = mpsc::channel(4);
        let shared = Arc::new(Shared {
            expected_state: expected_state.to_string(),
            provider,
            events: tx,
        });
        let app = axum::Router::new()
            .route(path, axum::routing::get(callback))
            .with_state(shared);
        let mut listeners = vec![listener];
        // Best effort: a machine without IPv6, or with ::1 taken, still has the IPv4 listener.
        if let Ok(v6) = TcpListener::bind(("::1", port)).await {
            listeners.push(v6);
        }
        let servers = listeners
            .into_iter()
            .map(|l| {
                let app = app.clone();
                tokio::spawn(async move {
                    let _ = axum::serve(l, app).await;
                })
            })
            .collect();
        Ok(CallbackListener {
            port,
            events,
            servers,
        })
    }

    /// The port actually bound (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next checked event; `None` once the listener is closed.
    pub async fn next(&mut self) -> Option<CallbackEvent> {
        self.events.recv().await
    }

    /// Stops serving and frees the port before returning. Aborting (rather than a graceful
    /// shutdown) matters: a browser's idle keep-alive connection would hold a graceful shutdown open.
    pub async fn close(mut self) {
        for server in &mut self.servers {
            server.abort();
            let _ = server.await;
        }
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// A wrong or missing `state` gets an error page and the login keeps waiting for the right answer
/// (until its timeout): any local program or web page can send a request to this port, and such a
/// stray request must not be able to end — or hijack — the user's login.
async fn callback(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" if error.is_some() => {
                error = error.map(|e| format!("{e}: {v}"));
            }
            _ => {}
        }
    }
    let state_ok = state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(shared.expected_state.as_bytes())));
    let provider = shared.provider;
    if !state_ok {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in does not belong to the login Switchyard is waiting for",
            "The answer's state does not match. Start the login again from Switchyard.",
        );
    }
    if let Some(error) = error {
        let _ = shared.events.try_send(CallbackEvent::Denied(error.clone()));
        return page(
            StatusCode::OK,
            &format!("{provider} sign-in failed"),
            &format!("The provider said: {error}. You can close this tab."),
        );
    }
    match code.filter(|c| !c.trim().is_empty()) {
        Some(code) => {
            let _ = shared
                .events
                .try_send(CallbackEvent::Code(SecretString::from(code)));
            page(
                StatusCode::OK,
                &format!("Signed in to {provider}"),
                "Switchyard has your sign-in. You can close this tab.",
            )
        }
        None => page(
            StatusCode::BAD_REQUEST,
            "No sign-in code",
            "The address has no code. Start the login again from Switchyard.",
        ),
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let (title, text) = (escape(title), escape(text));
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:36em;margin:4em auto\">\
         <h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(body)).into_response()
}

/// The provider's error text comes from the query string: never let it become markup.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    async fn get(port: u16, path_and_query: &str) -> (u16, String) {
        let resp = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}{path_and_query}"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn wrong_state_is_refused_and_the_right_one_delivers_the_code() {
        let mut l = CallbackListener::bind(Provider::Codex, 0, "/auth/callback", "good")
            .await
            .unwrap();
        let port = l.port();
        let (status, body) = get(port, "/auth/callback?code=evil&state=bad").await;
        assert_eq!(status, 400);
        assert!(body.contains("does not match"), "{body}");
        let (status, _) = get(port, "/auth/callback?code=c0de").await;
        assert_eq!(status, 400);
        let (status, body) = get(port, "/auth/callback?code=c0de&state=good").await;
        assert_eq!(status, 200);
        assert!(body.contains("close this tab"), "{body}");
        match l.next().await {
            Some(CallbackEvent::Code(c)) => assert_eq!(c.expose_secret(), "c0de"),
            other => panic!("{other:?}"),
        }
        let (_, body) = get(port, "/auth/callback?error=%3Cb%3Eno&state=good").await;
        assert!(
            body.contains("&lt;b&gt;no") && !body.contains("<b>no"),
            "{body}"
        );
        assert!(matches!(l.next().await, Some(CallbackEvent::Denied(_))));
        l.close().await;
        // Closed means the port is free again at once.
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[tokio::test]
    async fn a_taken_port_is_reported_with_the_alternatives() {
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = CallbackListener::bind(Provider::Claude, port, "/callback", "s")
            .await
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(matches!(err, OAuthError::PortBusy { .. }));
        assert!(
            msg.contains(&port.to_string()) && msg.contains("--manual"),
            "{msg}"
        );
    }
}
