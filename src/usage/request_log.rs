//! Request logs (`request-log: true`): each request's full exchange — the client's request, every
//! upstream attempt, the answer — kept by request id with secrets masked before anything is stored.
//!
//! SKELETON: the capture API the request path calls is fixed here; storage, masking and capping are
//! filled in by the request-log work.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::{Deserialize, Serialize};

use crate::config::UsageConfig;

/// One request's exchange as it happened, masked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub request: Exchange,
    pub attempts: Vec<Attempt>,
    pub response: Exchange,
}

/// One side of an HTTP exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
}

/// One upstream attempt: what was sent, and what came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub credential: String,
    pub request: Exchange,
    pub response: Exchange,
}

impl Capture {
    pub fn request(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
        let _ = (method, uri, headers, body);
    }

    pub fn attempt(
        &mut self,
        credential: &str,
        method: &Method,
        url: &url::Url,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        let _ = (credential, method, url, headers, body);
    }

    /// The upstream's answer to the last attempt; `body` only for answers that were read whole (errors).
    pub fn attempt_answer(&mut self, status: u16, headers: &HeaderMap, body: Option<&[u8]>) {
        let _ = (status, headers, body);
    }

    pub fn response_head(&mut self, status: u16, headers: &HeaderMap) {
        let _ = (status, headers);
    }

    /// More of the answer as the client got it.
    pub fn response_body(&mut self, bytes: &[u8]) {
        let _ = bytes;
    }
}

/// The request log of a running proxy.
pub struct RequestLog {}

impl RequestLog {
    pub fn open(config: &UsageConfig) -> RequestLog {
        let _ = config;
        RequestLog {}
    }

    pub fn off() -> RequestLog {
        RequestLog {}
    }

    pub fn reconfigure(&self, config: &UsageConfig) {
        let _ = config;
    }

    /// Whether new requests are captured.
    pub fn enabled(&self) -> bool {
        false
    }

    pub fn record(&self, request_id: &str, capture: Box<Capture>) {
        let _ = (request_id, capture);
    }

    /// One request's capture, if it was logged and is still kept.
    pub async fn get(&self, request_id: &str) -> Result<Option<Capture>, String> {
        let _ = request_id;
        Ok(None)
    }
}
