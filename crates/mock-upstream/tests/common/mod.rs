//! A deliberately tiny HTTP/1.1 client for the mock's tests. Raw sockets instead of a client
//! library because the tests need what libraries hide: each chunk of a chunked body is one
//! network write of the mock, and a stream dropped without its terminator must be visible.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as the mock wrote it: one entry per HTTP chunk (one entry in all for a
    /// `content-length` body).
    pub chunks: Vec<Vec<u8>>,
    /// False when the connection ended before the body did (no final chunk / short body).
    pub complete: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body()).into_owned()
    }

    pub fn chunk_texts(&self) -> Vec<String> {
        self.chunks
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }
}

pub fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: mock\r\nconnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends one request and reads the whole response (until the server closes).
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut conn = TcpStream::connect(addr).await.expect("connect to mock");
    conn.write_all(&request_bytes(method, path, headers, body))
        .await
        .expect("send request");
    let mut raw = Vec::new();
    // A reset (the mock cutting a stream) still leaves what was read before it.
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "mock response did not end within 20 s");
    parse(&raw)
}

/// POSTs a JSON value.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> RawResponse {
    let mut h = headers.to_vec();
    h.push(("content-type", "application/json"));
    send(addr, "POST", path, &h, body.to_string().as_bytes()).await
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn parse(raw: &[u8]) -> RawResponse {
    let head_end = find(raw, b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let mut chunks = Vec::new();
    let complete;
    if chunked {
        loop {
            let Some(line_end) = find(rest, b"\r\n") else {
                complete = false;
                break;
            };
            let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .expect("chunk size");
            rest = &rest[line_end + 2..];
            if size == 0 {
                complete = true;
                break;
            }
            if rest.len() < size + 2 {
                chunks.push(rest[..rest.len().min(size)].to_vec());
                complete = false;
                break;
            }
            chunks.push(rest[..size].to_vec());
            rest = &rest[size + 2..];
        }
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        complete = rest.len() >= len;
        chunks.push(rest[..rest.len().min(len)].to_vec());
    } else {
        complete = true;
        chunks.push(rest.to_vec());
    }
    RawResponse {
        status,
        headers,
        chunks,
        complete,
    }
}

/// Sends a request and returns the open connection, for tests that read at their own pace.
pub async fn open(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.expect("connect to mock");
    conn.write_all(&request_bytes(method, path, headers, body))
        .await
        .expect("send request");
    conn
}

/// Reads until the response head is complete; returns (status, head text, body bytes read so far).
pub async fn read_head(conn: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while find(&raw, b"\r\n\r\n").is_none() {
        let n = conn.read(&mut buf).await.expect("read head");
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    }
    let end = find(&raw, b"\r\n\r\n").unwrap_or_default();
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (status, head, raw[end + 4..].to_vec())
}

/// Reads at least one more byte (or EOF); returns what was read (empty at EOF).
pub async fn read_some(conn: &mut TcpStream) -> Vec<u8> {
    let mut buf = [0u8; 8192];
    match conn.read(&mut buf).await {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}
