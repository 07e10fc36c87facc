//! Hiding secrets in a capture before it is kept: credential headers, key-like query parameters and
//! credential fields of JSON bodies keep only their length (and an auth scheme such as `Bearer`), so
//! a request log shows how a request was authenticated without ever holding the key.

use http::HeaderMap;
use memchr::memmem;

/// Headers that carry credentials whatever their name says.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "chatgpt-account-id",
    "x-management-key",
];

/// A header or query parameter whose name contains one of these is taken to carry a secret.
const SECRET_WORDS: &[&str] = &["token", "secret", "key", "auth"];

/// JSON fields whose values are credentials (OAuth grants, client configs pasted into a prompt body).
const SECRET_FIELDS: &[&str] = &[
    "api_key",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
];

/// What stands in for a secret: its length only.
pub fn hidden(secret: &str) -> String {
    format!("***({} chars)", secret.chars().count())
}

fn secret_name(lowercase: &str) -> bool {
    SECRET_WORDS.iter().any(|w| lowercase.contains(w))
}

/// The headers as text, credentials hidden.
pub fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            let name = name.as_str();
            let text = String::from_utf8_lossy(value.as_bytes());
            let value = if SECRET_HEADERS.contains(&name) || secret_name(name) {
                credential(&text)
            } else {
                text.into_owned()
            };
            (name.to_string(), value)
        })
        .collect()
}

/// A credential header's value: the scheme stays (`Bearer`, `Basic`) so the reader sees how the key was
/// presented; the rest is hidden.
fn credential(value: &str) -> String {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest))
            if !rest.trim().is_empty()
                && scheme.len() <= 16
                && scheme.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            format!("{scheme} {}", hidden(rest.trim()))
        }
        _ => hidden(value),
    }
}

/// A URL (or a path with a query) with key-like query parameters hidden; `?key=` is how Gemini
/// clients and Gemini upstreams pass keys.
pub fn url(text: &str) -> String {
    let (head, fragment) = match text.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (text, None),
    };
    let Some((path, query)) = head.split_once('?') else {
        return text.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| {
            // Names and values are percent-decoded to judge and count them, as the server reads them.
            let decoded = url::form_urlencoded::parse(pair.as_bytes()).next();
            match (pair.split_once('='), decoded) {
                (Some((raw_name, _)), Some((name, value)))
                    if secret_name(&name.to_ascii_lowercase()) =>
                {
                    format!("{raw_name}={}", hidden(&value))
                }
                _ => pair.to_string(),
            }
        })
        .collect();
    let mut out = format!("{path}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Hides the values of credential fields in JSON text, in place. Works on text rather than a parsed
/// value so that a body cut at the size cap, an SSE stream (one JSON document per `data:` line) and the
/// client's own formatting are all handled alike. Fields inside JSON that is itself a string (escaped
/// quotes) are not looked at.
pub fn body(text: &mut String) {
    let bytes = text.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for field in SECRET_FIELDS {
        let quoted = format!("\"{field}\"");
        for at in memmem::find_iter(bytes, quoted.as_bytes()) {
            if at > 0 && bytes[at - 1] == b'\\' {
                continue;
            }
            let mut i = skip_space(bytes, at + quoted.len());
            if bytes.get(i) != Some(&b':') {
                continue;
            }
            i = skip_space(bytes, i + 1);
            if let Some(end) = value_end(bytes, i) {
                spans.push((i, end));
            }
        }
    }
    if spans.is_empty() {
        return;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        // A span inside one already hidden (a secret object holding a secret field) is gone already.
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        let value = &text[start..end];
        let inner = value
            .strip_prefix('"')
            .map(|v| v.strip_suffix('"').unwrap_or(v))
            .unwrap_or(value);
        out.push('"');
        out.push_str(&hidden(inner));
        out.push('"');
        copied = end;
    }
    out.push_str(&text[copied..]);
    *text = out;
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Where the JSON value starting at `start` ends (exclusive); the end of the text when it was cut
/// short. `None` for `null` and for no value at all: nothing to hide. Every end found is an ASCII
/// byte's position or the text's end, so always a character boundary.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => Some(string_end(bytes, start)),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Some(bytes.len())
        }
        _ if bytes[start..].starts_with(b"null") => None,
        b',' | b'}' | b']' => None,
        _ => {
            let len = bytes[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(bytes.len() - start);
            Some(start + len)
        }
    }
}

/// The end (after the closing quote) of the JSON string whose opening quote is at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};

    use super::*;

    const SECRET: &str = "sk-ant-api03-SECRETSECRETSECRET-abcd";

    fn header(name: &str, value: &str) -> (String, String) {
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        headers(&map).remove(0)
    }

    #[test]
    fn credential_headers_keep_their_scheme_and_length_only() {
        let n = SECRET.len();
        assert_eq!(
            header("authorization", &format!("Bearer {SECRET}")).1,
            format!("Bearer ***({n} chars)")
        );
        assert_eq!(
            header("proxy-authorization", "Basic dXNlcjpwYXNz").1,
            "Basic ***(12 chars)"
        );
        for name in [
            "x-api-key",
            "x-goog-api-key",
            "api-key",
            "chatgpt-account-id",
            "x-management-key",
            "x-custom-token",
            "x-client-secret",
            "x-my-auth",
            "openai-project-key",
        ] {
            let (kept_name, value) = header(name, SECRET);
            assert_eq!(kept_name, name);
            assert_eq!(value, format!("***({n} chars)"), "{name}");
        }
        let cookie = header("cookie", &format!("session={SECRET}; theme=dark")).1;
        assert_eq!(cookie, format!("***({} chars)", n + 20));
        let set = header("set-cookie", &format!("sid={SECRET}; Path=/; HttpOnly")).1;
        assert!(!set.contains("SECRET") && set.starts_with("***("), "{set}");
    }

    #[test]
    fn ordinary_headers_are_kept() {
        assert_eq!(
            header("content-type", "application/json").1,
            "application/json"
        );
        assert_eq!(header("anthropic-version", "2023-06-01").1, "2023-06-01");
        assert_eq!(header("user-agent", "claude-cli/2.0").1, "claude-cli/2.0");
    }

    #[test]
    fn key_like_query_parameters_are_hidden() {
        let masked = url(&format!(
            "https://g.example/v1beta/models/m:streamGenerateContent?alt=sse&key={SECRET}"
        ));
        assert_eq!(
            masked,
            format!(
                "https://g.example/v1beta/models/m:streamGenerateContent?alt=sse&key=***({} chars)",
                SECRET.len()
            )
        );
        for name in ["api_key", "access_token", "token", "auth_token", "API_KEY"] {
            let masked = url(&format!("/v1/x?{name}={SECRET}&b=2#frag"));
            assert_eq!(
                masked,
                format!("/v1/x?{name}=***({} chars)&b=2#frag", SECRET.len())
            );
        }
        // Percent-encoded values are counted as the server reads them.
        assert_eq!(url("/p?key=a%2Bb"), "/p?key=***(3 chars)");
        assert_eq!(url("/p?alt=sse&beta=true"), "/p?alt=sse&beta=true");
        assert_eq!(url("/v1/messages"), "/v1/messages");
    }

    #[test]
    fn credential_fields_of_json_bodies_are_hidden() {
        for field in SECRET_FIELDS {
            let mut body = format!(r#"{{"model":"m","{field}" : "{SECRET}","n":1}}"#);
            super::body(&mut body);
            assert_eq!(
                body,
                format!(
                    r#"{{"model":"m","{field}" : "***({} chars)","n":1}}"#,
                    SECRET.len()
                )
            );
        }
        let mut nested = format!(
            r#"{{"a":{{"password":12345678}},"client_secret":{{"x":"{SECRET}","api_key":"{SECRET}"}},"id_token":null}}"#
        );
        super::body(&mut nested);
        assert!(
            !nested.contains("SECRET") && !nested.contains("12345678"),
            "{nested}"
        );
        assert!(nested.contains(r#""id_token":null"#), "{nested}");
        let parsed: serde_json::Value = serde_json::from_str(&nested).unwrap();
        assert_eq!(parsed["a"]["password"], "***(8 chars)");
    }

    #[test]
    fn cut_bodies_and_streams_are_masked_too() {
        let mut cut = format!(r#"{{"messages":[],"refresh_token":"{}"#, &SECRET[..20]);
        super::body(&mut cut);
        assert_eq!(cut, r#"{"messages":[],"refresh_token":"***(20 chars)""#);
        let mut sse = format!(
            "data: {{\"access_token\":\"{SECRET}\"}}\n\ndata: {{\"api_key\": \"{SECRET}\"}}\n\n"
        );
        super::body(&mut sse);
        assert!(!sse.contains("SECRET"), "{sse}");
        assert_eq!(sse.matches("***(").count(), 2);
    }

    #[test]
    fn prompts_that_merely_mention_a_field_are_kept() {
        let text =
            r#"{"messages":[{"role":"user","content":"what is \"password\": hunter2 in JSON?"}]}"#;
        let mut body = text.to_string();
        super::body(&mut body);
        assert_eq!(body, text);
    }
}
