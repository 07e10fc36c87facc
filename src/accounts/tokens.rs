//! The secret half of an account: OAuth tokens, plus any fields an imported file carried that we do not
//! understand. Those unknown fields are kept with the secrets rather than in the plain account list,
//! because some of them are credentials too (CLIProxyAPI's Codex bundles carry `agent_private_key`).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// OAuth tokens of one account. `Debug` never shows their text.
#[derive(Clone, Default)]
pub struct Tokens {
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Codex: the OpenID `id_token` (a JWT naming the account, workspace and plan).
    pub id_token: Option<SecretString>,
    pub extra: ExtraFields,
}

impl Tokens {
    pub fn new(access: Option<String>, refresh: Option<String>, id: Option<String>) -> Self {
        let wrap = |s: Option<String>| s.filter(|s| !s.is_empty()).map(SecretString::from);
        Tokens {
            access_token: wrap(access),
            refresh_token: wrap(refresh),
            id_token: wrap(id),
            extra: ExtraFields::default(),
        }
    }

    pub fn access(&self) -> Option<&str> {
        self.access_token.as_ref().map(|s| s.expose_secret())
    }

    pub fn refresh(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(|s| s.expose_secret())
    }

    pub fn id(&self) -> Option<&str> {
        self.id_token.as_ref().map(|s| s.expose_secret())
    }

    /// The form stored in a [`super::SecretStore`]: one JSON object, marked so a token file is never
    /// mistaken for a CLIProxyAPI auth file (it has no `type`) or the other way round.
    pub(crate) fn to_blob(&self) -> SecretString {
        let wire = Wire {
            switchyard_tokens: 1,
            access_token: self.access().map(String::from),
            refresh_token: self.refresh().map(String::from),
            id_token: self.id().map(String::from),
            extra: self.extra.0.clone(),
        };
        // Serializing strings and a JSON map cannot fail.
        SecretString::from(serde_json::to_string(&wire).unwrap_or_default())
    }

    pub(crate) fn from_blob(blob: &str) -> Result<Tokens, String> {
        let wire: Wire = serde_json::from_str(blob).map_err(|e| e.to_string())?;
        if wire.switchyard_tokens != 1 {
            return Err(format!("unknown format version {}", wire.switchyard_tokens));
        }
        let mut t = Tokens::new(wire.access_token, wire.refresh_token, wire.id_token);
        t.extra = ExtraFields(wire.extra);
        Ok(t)
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<SecretString>| if s.is_some() { "[REDACTED]" } else { "None" };
        f.debug_struct("Tokens")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("id_token", &shown(&self.id_token))
            .field("extra", &self.extra)
            .finish()
    }
}

/// JSON fields kept verbatim from an imported file, written back on export. `Debug` shows key names only.
#[derive(Clone, Default, PartialEq)]
pub struct ExtraFields(pub Map<String, Value>);

impl fmt::Debug for ExtraFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    switchyard_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_token_text() {
        let mut t = Tokens::new(
            Some("sk-ant-oat01-ACCESS-SECRET".into()),
            Some("sk-ant-ort01-REFRESH-SECRET".into()),
            Some("eyJ.ID-SECRET.sig".into()),
        );
        t.extra
            .0
            .insert("agent_private_key".into(), "PRIVATE-SECRET".into());
        let shown = format!("{t:?} {t:#?}");
        for secret in [
            "ACCESS-SECRET",
            "REFRESH-SECRET",
            "ID-SECRET",
            "PRIVATE-SECRET",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("agent_private_key"));
    }

    #[test]
    fn blob_round_trips_and_empty_tokens_are_absent() {
        let mut t = Tokens::new(Some("a".into()), Some(String::new()), Some("i".into()));
        t.extra.0.insert("k".into(), serde_json::json!([1, 2]));
        assert!(t.refresh_token.is_none());
        let back = Tokens::from_blob(t.to_blob().expose_secret()).unwrap();
        assert_eq!(back.access(), Some("a"));
        assert_eq!(back.refresh(), None);
        assert_eq!(back.id(), Some("i"));
        assert_eq!(back.extra, t.extra);
        assert!(Tokens::from_blob(r#"{"switchyard_tokens":2}"#).is_err());
        assert!(Tokens::from_blob("not json").is_err());
    }
}
