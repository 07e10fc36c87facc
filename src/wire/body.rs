//! A JSON request body read only as deep as the proxy needs it.
//!
//! Top-level values stay raw (`RawValue`), so rewriting `model` re-emits every other field byte for byte:
//! signed thinking blocks, encrypted reasoning, tool schemas and fields we have never heard of survive intact.

use indexmap::IndexMap;
use serde_json::value::RawValue;

#[derive(Debug)]
pub struct JsonBody {
    fields: IndexMap<String, Box<RawValue>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(String);

impl JsonBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(BodyError(
                "the request body is empty; a JSON object is required".into(),
            ));
        }
        serde_json::from_slice(bytes)
            .map(|fields| JsonBody { fields })
            .map_err(|e| BodyError(format!("the request body is not a valid JSON object: {e}")))
    }

    /// A top-level string field (`model`, …); `None` when absent or not a string.
    pub fn str_field(&self, key: &str) -> Option<String> {
        self.field(key)
    }

    /// A top-level field parsed into `T`; `None` when absent or of another shape. Only that field is
    /// read, not the whole body again.
    pub fn field<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.fields.get(key)?.get()).ok()
    }

    /// `stream: true` at the top level.
    pub fn is_stream(&self) -> bool {
        self.fields.get("stream").map(|v| v.get().trim()) == Some("true")
    }

    /// A top-level field parsed; `None` when absent.
    pub fn value(&self, key: &str) -> Option<serde_json::Value> {
        serde_json::from_str(self.fields.get(key)?.get()).ok()
    }

    /// Sets a top-level string field, keeping its position when it exists.
    pub fn set_str(&mut self, key: &str, value: &str) {
        self.set_value(key, &serde_json::Value::from(value));
    }

    /// Sets a top-level field, keeping its position when it exists; the other fields stay as they were.
    pub fn set_value(&mut self, key: &str, value: &serde_json::Value) {
        let raw = serde_json::to_string(value)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok());
        if let Some(raw) = raw {
            self.fields.insert(key.to_string(), raw);
        }
    }

    /// Removes a top-level field; the others keep their order. Returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        self.fields.shift_remove(key).is_some()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a map of raw values cannot fail: every value already is valid JSON.
        serde_json::to_vec(&self.fields).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_the_model_keeps_everything_else_byte_for_byte() {
        let input = br#"{"model":"sonnet","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"c2ln+/=="}]}],"n":1.50,"x_unknown":{"a" : 1}}"#;
        let mut body = JsonBody::parse(input).unwrap();
        assert_eq!(body.str_field("model").as_deref(), Some("sonnet"));
        body.set_str("model", "claude-sonnet-4-5");
        let out = String::from_utf8(body.to_bytes()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"claude-sonnet-4-5","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"c2ln+/=="}]}],"n":1.50,"x_unknown":{"a" : 1}}"#
        );
    }

    #[test]
    fn stream_flag_and_bad_bodies() {
        assert!(JsonBody::parse(br#"{"stream": true}"#).unwrap().is_stream());
        assert!(!JsonBody::parse(br#"{"stream":"true"}"#)
            .unwrap()
            .is_stream());
        assert!(JsonBody::parse(b"").is_err());
        assert!(JsonBody::parse(b"[1]").is_err());
        assert!(JsonBody::parse(b"{\"model\":").is_err());
        assert_eq!(
            JsonBody::parse(br#"{"model":7}"#)
                .unwrap()
                .str_field("model"),
            None
        );
    }
}
