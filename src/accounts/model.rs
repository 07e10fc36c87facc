//! The credential model: one [`Account`] per upstream login, the identity that tells two logins of
//! the same account apart from two different accounts, and the user's settings for it.
//! Nothing in this file is secret: tokens live in [`super::Tokens`], kept in a [`super::SecretStore`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::AccountsError;

/// The upstream an account logs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Claude Pro/Max through Claude Code's OAuth.
    Claude,
    /// ChatGPT Plus/Pro/Team through Codex's OAuth.
    Codex,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Claude => "claude",
            Provider::Codex => "codex",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "claude" => Ok(Provider::Claude),
            "codex" => Ok(Provider::Codex),
            _ => Err(()),
        }
    }
}

/// A stable account id, e.g. `codex-7f3a09c2e1b4`. It names the account's keychain entry and token
/// file, so it is restricted to characters that are safe in both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// A fresh random id for a new account of `provider`.
    pub fn generate(provider: Provider) -> Self {
        let n: u64 = rand::rng().random();
        AccountId(format!("{}-{:012x}", provider, n & 0xffff_ffff_ffff))
    }

    pub fn parse(s: &str) -> Result<Self, AccountsError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('.')
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        if ok {
            Ok(AccountId(s.to_string()))
        } else {
            Err(AccountsError::InvalidId(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = AccountsError;
    fn try_from(s: String) -> Result<Self, AccountsError> {
        AccountId::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the account can be used as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Ok,
    /// The refresh token was refused (revoked, reused, expired): only a new login helps.
    NeedsLogin,
    /// Something else went wrong; `status_message` says what.
    Error,
}

/// Who the account is at the provider. Two logins are the same account when every attribute known
/// on both sides agrees and at least one is known on both (see [`Identity::same_as`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Codex: `chatgpt_account_id`, the ChatGPT workspace (one person can be in several; a team
    /// workspace holds several people, so it is compared together with the email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Claude: the account uuid from the token answer or Claude Code's `oauthAccount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    /// Claude: the organization uuid; one Claude account in two organizations is two credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_uuid: Option<String>,
}

impl Identity {
    /// Same account: every attribute present on both sides is equal (emails case-insensitively) and
    /// at least one attribute was present on both. With nothing to compare we never merge, because a
    /// wrong merge would overwrite someone's tokens, while a wrong split only shows a twin.
    pub fn same_as(&self, other: &Identity) -> bool {
        let pairs = [
            (&self.account_id, &other.account_id, false),
            (&self.account_uuid, &other.account_uuid, false),
            (&self.organization_uuid, &other.organization_uuid, false),
            (&self.email, &other.email, true),
        ];
        let mut compared = false;
        for (a, b, fold_case) in pairs {
            if let (Some(a), Some(b)) = (non_empty(a), non_empty(b)) {
                compared = true;
                let equal = if fold_case {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                };
                if !equal {
                    return false;
                }
            }
        }
        compared
    }

    /// Takes every attribute `newer` knows; keeps ours where it knows nothing.
    pub fn merge_from(&mut self, newer: &Identity) {
        for (mine, theirs) in [
            (&mut self.email, &newer.email),
            (&mut self.account_id, &newer.account_id),
            (&mut self.account_uuid, &newer.account_uuid),
            (&mut self.organization_uuid, &newer.organization_uuid),
        ] {
            if let Some(v) = non_empty(theirs) {
                *mine = Some(v.to_string());
            }
        }
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the user decides about an account (CLIProxyAPI's optional per-file keys, plus a label).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Higher wins: routing uses only the highest-priority accounts that can serve a model.
    #[serde(default)]
    pub priority: i64,
    /// Serve models as `prefix/model` from this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Model names (with `*` wildcards) this account must not serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_models: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where an account came from; the auth-dir reconciler owns the accounts whose origin is its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginKind {
    Login,
    AuthDir,
    ClaudeCode,
    CodexCli,
    /// An auth file sent to the management API (`POST auth-files`): its path is the file's name.
    Upload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub kind: OriginKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// SHA-256 of the source file as last read, so an unchanged file is not re-imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Origin {
    pub fn new(kind: OriginKind, path: Option<PathBuf>) -> Self {
        Origin {
            kind,
            path,
            fingerprint: None,
        }
    }
}

/// What a person can change about an account (the CLI's `account` command, the UI, the tray); absent
/// fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// `""` removes the label.
    pub label: Option<String>,
    pub priority: Option<i64>,
    /// `""` removes the prefix; leading and trailing slashes are dropped.
    pub prefix: Option<String>,
    pub enabled: Option<bool>,
}

impl AccountPatch {
    pub fn is_empty(&self) -> bool {
        self.label.is_none()
            && self.priority.is_none()
            && self.prefix.is_none()
            && self.enabled.is_none()
    }

    pub fn apply(&self, a: &mut Account) {
        let clean = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        if let Some(label) = &self.label {
            a.settings.label = clean(label);
        }
        if let Some(priority) = self.priority {
            a.settings.priority = priority;
        }
        if let Some(prefix) = &self.prefix {
            a.settings.prefix = clean(prefix.trim_matches('/'));
        }
        if let Some(enabled) = self.enabled {
            a.settings.disabled = !enabled;
        }
    }
}

/// One upstream login. Serialized into the data dir's account list; it holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub provider: Provider,
    #[serde(flatten)]
    pub identity: Identity,
    /// Codex: `chatgpt_plan_type` (free, plus, pro, team, …); Claude: the subscription type when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the access token expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_refresh: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl Account {
    /// A new account with a fresh id and default settings.
    pub fn new(provider: Provider, identity: Identity) -> Self {
        Account {
            id: AccountId::generate(provider),
            provider,
            identity,
            plan: None,
            settings: Settings::default(),
            status: Status::Ok,
            status_message: None,
            expires_at: None,
            last_refresh: None,
            origin: None,
        }
    }

    /// Same provider and the same person at it: a second login updates this account.
    pub fn same_identity(&self, other: &Account) -> bool {
        self.provider == other.provider && self.identity.same_as(&other.identity)
    }

    /// What to show: the label, else the email, else the id.
    pub fn display_name(&self) -> &str {
        self.settings
            .label
            .as_deref()
            .or(self.identity.email.as_deref())
            .unwrap_or(self.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(email: Option<&str>, account_id: Option<&str>) -> Identity {
        Identity {
            email: email.map(String::from),
            account_id: account_id.map(String::from),
            ..Identity::default()
        }
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = AccountId::generate(Provider::Codex);
        let b = AccountId::generate(Provider::Codex);
        assert!(a.as_str().starts_with("codex-"));
        assert_eq!(AccountId::parse(a.as_str()).ok(), Some(a.clone()));
        assert_ne!(a, b);
    }

    #[test]
    fn ids_that_could_escape_a_folder_or_keychain_name_are_refused() {
        for bad in ["", "../x", "a/b", "A", ".hidden", "x y", &"a".repeat(65)] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let json = serde_json::json!({"id": "../etc", "provider": "claude"});
        assert!(serde_json::from_value::<Account>(json).is_err());
    }

    #[test]
    fn codex_identity_is_workspace_and_email() {
        let me_team = ident(Some("Me@x.com"), Some("ws-team"));
        assert!(me_team.same_as(&ident(Some("me@x.com"), Some("ws-team"))));
        // The same person in another workspace is another credential …
        assert!(!me_team.same_as(&ident(Some("me@x.com"), Some("ws-personal"))));
        // … and a colleague in the same team workspace is too.
        assert!(!me_team.same_as(&ident(Some("you@x.com"), Some("ws-team"))));
        // Missing on one side: compare what both know.
        assert!(me_team.same_as(&ident(Some("me@x.com"), None)));
        // Nothing in common to compare: never merge.
        assert!(!ident(None, None).same_as(&ident(None, None)));
        assert!(!ident(Some("me@x.com"), None).same_as(&ident(None, Some("ws-team"))));
    }

    #[test]
    fn claude_identity_prefers_uuids_over_email() {
        let a = Identity {
            email: Some("me@x.com".into()),
            account_uuid: Some("u-1".into()),
            organization_uuid: Some("org-1".into()),
            ..Identity::default()
        };
        let mut other_org = a.clone();
        other_org.organization_uuid = Some("org-2".into());
        assert!(!a.same_as(&other_org));
        let from_claude_code = ident(Some("ME@x.com"), None);
        assert!(a.same_as(&from_claude_code));
    }

    #[test]
    fn merge_fills_in_what_the_newer_login_knows() {
        let mut a = ident(Some("me@x.com"), None);
        a.merge_from(&Identity {
            account_uuid: Some("u-1".into()),
            email: Some("  ".into()),
            ..Identity::default()
        });
        assert_eq!(a.email.as_deref(), Some("me@x.com"));
        assert_eq!(a.account_uuid.as_deref(), Some("u-1"));
    }

    #[test]
    fn account_json_is_flat_and_round_trips() {
        let mut a = Account::new(Provider::Codex, ident(Some("me@x.com"), Some("ws-1")));
        a.plan = Some("pro".into());
        a.settings.priority = 3;
        a.settings.excluded_models = vec!["gpt-5*".into()];
        a.expires_at = Some(OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap());
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["email"], "me@x.com");
        assert_eq!(v["account_id"], "ws-1");
        assert_eq!(v["priority"], 3);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["expires_at"], "2030-03-17T17:46:40Z");
        let back: Account = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }
}
