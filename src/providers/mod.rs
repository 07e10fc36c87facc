//! Upstreams: build the request a provider expects (URL, auth, required headers), send it, and classify
//! what comes back. One module per provider holds what is specific to it.

mod catalog;
mod claude;
mod client;
mod codex;
mod gemini;
mod openai_compat;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Credential, CredentialAuth, Provider, ProxySetting};
use crate::wire::Format;

pub use catalog::{builtin_models, CatalogModel};
pub use client::HttpClients;
pub use codex::{adapt as adapt_for_codex, ToolNames};

/// What the client asked the upstream to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Generate a response (messages, chat, completions, responses, generateContent).
    Generate { stream: bool },
    /// Count the tokens of a prompt without generating.
    CountTokens,
}

/// The wire format each provider speaks natively.
pub fn native_format(provider: Provider) -> Format {
    match provider {
        Provider::Claude => Format::Anthropic,
        Provider::Codex => Format::OpenAiResponses,
        Provider::Gemini => Format::Gemini,
        Provider::OpenAiCompat => Format::OpenAiChat,
    }
}

/// How a provider can serve a request in a client's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Same format: the body goes up as sent, only `model` and credentials change.
    Passthrough,
    /// Another format: decode to the IR, encode for the provider, translate the answer back.
    Translate,
    /// No way to serve it (counting tokens across formats).
    Unsupported,
}

/// Which [`Path`] a request takes to `provider`.
pub fn path_for(provider: Provider, format: Format, call: Call) -> Path {
    let same = matches!(
        (provider, format),
        (Provider::Claude, Format::Anthropic)
            | (Provider::Codex, Format::OpenAiResponses)
            | (Provider::Gemini, Format::Gemini)
            | (
                Provider::OpenAiCompat,
                Format::OpenAiChat | Format::OpenAiCompletions
            )
    );
    match call {
        Call::CountTokens if same && matches!(provider, Provider::Claude | Provider::Gemini) => {
            Path::Passthrough
        }
        Call::CountTokens => Path::Unsupported,
        Call::Generate { .. } if same => Path::Passthrough,
        Call::Generate { .. } => Path::Translate,
    }
}

/// One request, ready to send upstream.
#[derive(Debug)]
pub struct Outbound<'a> {
    /// The wire format of `body` (the client's on the passthrough path, the provider's when translated).
    pub format: Format,
    pub call: Call,
    /// Gemini streaming as SSE (`?alt=sse`) rather than one incrementally written JSON array.
    pub gemini_sse: bool,
    pub upstream_model: &'a str,
    pub client_headers: &'a HeaderMap,
    /// The client's query string, to pass on (client-key parameters are removed).
    pub client_query: Option<&'a str>,
    pub body: Bytes,
}

/// A request as it will go on the wire.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Client headers that must not travel upstream: hop-by-hop headers, the client's own credentials (the
/// upstream gets ours), and headers whose value the HTTP client computes itself.
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "accept-encoding",
    "origin",
    "referer",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Query parameters that carry the client key and must not be forwarded.
const CLIENT_KEY_PARAMS: &[&str] = &["key", "auth_token"];

/// Builds the upstream request for `cred`, presenting `secret` (its API key, or an account's current
/// access token).
pub fn build(cred: &Credential, out: &Outbound<'_>, secret: &SecretString) -> UpstreamRequest {
    let mut headers = HeaderMap::new();
    for (name, value) in out.client_headers {
        if !DROPPED_REQUEST_HEADERS.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    // We must see SSE event boundaries to flush per event, so ask for an uncompressed body.
    headers.insert(
        http::header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let key = secret.expose_secret();
    let (path, auth) = match cred.provider {
        Provider::Claude => claude::prepare(cred, out, &mut headers),
        Provider::Codex => codex::prepare(out),
        Provider::Gemini => gemini::prepare(out),
        Provider::OpenAiCompat => openai_compat::prepare(out),
    };
    let auth_value = match auth {
        Auth::Bearer => HeaderValue::from_str(&format!("Bearer {key}")),
        Auth::XApiKey | Auth::XGoogApiKey => HeaderValue::from_str(key),
    };
    if let Ok(mut value) = auth_value {
        value.set_sensitive(true);
        let name = match auth {
            Auth::Bearer => http::header::AUTHORIZATION,
            Auth::XApiKey => HeaderName::from_static("x-api-key"),
            Auth::XGoogApiKey => HeaderName::from_static("x-goog-api-key"),
        };
        headers.insert(name, value);
    }
    // Headers set on the key entry in config win over everything the client sent.
    for (name, value) in &cred.headers {
        headers.insert(name.clone(), value.clone());
    }
    let body = match (&cred.auth, cred.provider) {
        (CredentialAuth::Account { .. }, Provider::Claude) => {
            claude::for_subscription(out, &mut headers)
        }
        (CredentialAuth::Account { workspace, .. }, Provider::Codex) => {
            codex::for_subscription(out, &mut headers, workspace.as_deref())
        }
        _ => out.body.clone(),
    };
    let claude_account =
        cred.provider == Provider::Claude && matches!(cred.auth, CredentialAuth::Account { .. });
    let mut url = cred.base_url.clone();
    let full_path = format!("{}{path}", url.path().trim_end_matches('/'));
    url.set_path(&full_path);
    let mut query = forwarded_query(
        out.client_query,
        cred.provider == Provider::Gemini && out.gemini_sse,
    );
    // Claude Code's own requests carry `?beta=true`; subscription requests from other clients get it too.
    if claude_account && !query.split('&').any(|p| p.starts_with("beta=")) {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("beta=true");
    }
    url.set_query(Some(&query).filter(|q| !q.is_empty()).map(String::as_str));
    UpstreamRequest {
        method: Method::POST,
        url,
        headers,
        body,
    }
}

/// How a provider wants the key presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Bearer,
    XApiKey,
    XGoogApiKey,
}

/// The client's query minus client-key parameters; `alt=sse` is ensured for Gemini SSE streams.
fn forwarded_query(query: Option<&str>, want_sse: bool) -> String {
    let mut pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("");
            !CLIENT_KEY_PARAMS.contains(&name)
        })
        .collect();
    if want_sse && !pairs.iter().any(|p| p.starts_with("alt=")) {
        pairs.push("alt=sse");
    }
    pairs.join("&")
}

/// Response headers not to copy to the client: hop-by-hop ones, framing the server recomputes, and cookies
/// meant for the proxy's own connection to the provider.
pub const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "set-cookie",
    "alt-svc",
    "strict-transport-security",
    "upgrade",
    "trailer",
    "proxy-authenticate",
];

/// How long the upstream asked us to wait, from the headers and error body it sent with a 429 (or 5xx).
pub fn retry_hint(provider: Provider, headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
    let specific = match provider {
        Provider::Claude => claude::reset_hint(headers),
        Provider::Codex => codex::reset_hint(body),
        Provider::Gemini => gemini::retry_delay(body),
        Provider::OpenAiCompat => None,
    };
    specific.or_else(|| retry_after(headers))
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The delay until a reset given as unix seconds or an RFC 3339 time.
fn until(value: &str) -> Option<Duration> {
    let now = std::time::SystemTime::now();
    let at = match value.trim().parse::<u64>() {
        Ok(secs) => std::time::UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => humantime::parse_rfc3339_weak(value.trim()).ok()?,
    };
    Some(at.duration_since(now).unwrap_or_default())
}

/// The effective proxy for a credential: its own, else the global one.
pub fn proxy_for<'a>(
    cred: &'a Credential,
    global: Option<&'a ProxySetting>,
) -> Option<&'a ProxySetting> {
    cred.proxy.as_ref().or(global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_key_params_are_not_forwarded() {
        assert_eq!(
            forwarded_query(Some("beta=true&key=sk-client"), false),
            "beta=true"
        );
        assert_eq!(forwarded_query(Some("auth_token=x"), false), "");
        assert_eq!(forwarded_query(None, true), "alt=sse");
        assert_eq!(forwarded_query(Some("alt=sse&key=k"), true), "alt=sse");
    }

    #[test]
    fn retry_after_in_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
    }
}
