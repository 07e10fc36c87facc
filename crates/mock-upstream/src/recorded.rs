//! What the mock remembers about each upstream call, and the guard that notices a client
//! leaving before its reply was finished.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::types::Family;

/// One request received on a family route (control requests and unknown prefixes are not kept).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub family: Family,
    pub method: String,
    /// Path with the family prefix stripped, e.g. `/v1/messages`.
    pub path: String,
    /// Raw query string without `?`, empty if none.
    pub query: String,
    /// Bearer token, else `x-api-key`, else `x-goog-api-key`, else the `key` query parameter.
    pub credential: Option<String>,
    /// Headers in arrival order, names lower-cased, repeats kept as separate entries.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body, or the raw text as a `String` if it is not JSON, or `Null` if empty.
    pub body: Value,
    pub raw_body: Bytes,
    pub(crate) client_gone: Arc<AtomicBool>,
}

impl Recorded {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True once the client dropped the connection before the reply finished (e.g. the proxy
    /// gave up on a hanging or slow upstream). A mock-initiated `Cut` does not count.
    pub fn client_disconnected(&self) -> bool {
        self.client_gone.load(Ordering::SeqCst)
    }

    /// The control-log form: headers as an object with repeats joined by `", "`.
    pub fn to_json(&self) -> Value {
        let mut headers = Map::new();
        for (k, v) in &self.headers {
            match headers.get_mut(k) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(v);
                }
                _ => {
                    headers.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        json!({
            "family": self.family.label(),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "credential": self.credential,
            "headers": headers,
            "body": self.body,
            "client_disconnected": self.client_disconnected(),
        })
    }
}

/// Marks the request's client as gone if dropped before `finish()`. It travels with the reply:
/// first in the handler (a drop there means hyper abandoned the request during `delay_ms`),
/// then inside the streamed body (a drop there means the connection went away mid-reply).
#[derive(Debug)]
pub(crate) struct ReplyGuard {
    flag: Arc<AtomicBool>,
    finished: bool,
}

impl ReplyGuard {
    pub fn new(flag: Arc<AtomicBool>) -> ReplyGuard {
        ReplyGuard {
            flag,
            finished: false,
        }
    }

    /// The reply is complete (or the mock ended it on purpose): dropping is no longer a disconnect.
    pub fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for ReplyGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_flags_only_unfinished_drops() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut g = ReplyGuard::new(flag.clone());
        g.finish();
        drop(g);
        assert!(!flag.load(Ordering::SeqCst));
        drop(ReplyGuard::new(flag.clone()));
        assert!(flag.load(Ordering::SeqCst));
    }

    #[test]
    fn log_json_joins_repeated_headers() {
        let r = Recorded {
            family: Family::Gemini,
            method: "POST".into(),
            path: "/v1beta/models/m:generateContent".into(),
            query: String::new(),
            credential: None,
            headers: vec![("x-a".into(), "1".into()), ("x-a".into(), "2".into())],
            body: Value::Null,
            raw_body: Bytes::new(),
            client_gone: Arc::new(AtomicBool::new(false)),
        };
        let j = r.to_json();
        assert_eq!(j["headers"]["x-a"], "1, 2");
        assert_eq!(j["family"], "gemini");
        assert_eq!(j["credential"], Value::Null);
        assert_eq!(r.header("X-A"), Some("1"));
    }
}
