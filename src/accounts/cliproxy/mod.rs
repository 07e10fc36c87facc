//! CLIProxyAPI auth files (PROTOCOLS.md §4), checked against its source (`internal/auth/claude/token.go`,
//! `internal/auth/codex/token.go`, `internal/watcher/synthesizer/file.go`, `*/filename.go`):
//!
//! - Claude: `type:"claude"`, `id_token` (always "" for Claude), `access_token`, `refresh_token`,
//!   `last_refresh`, `email`, `expired` (RFC 3339); newer versions add `account_uuid`, `organization_uuid`.
//! - Codex: `type:"codex"`, `id_token`, `access_token`, `refresh_token`, `account_id`, `last_refresh`,
//!   `email`, `expired`; the plan comes from the `id_token` (else the access token) claims.
//! - Optional per file: `disabled`, `prefix`, `proxy_url`, `priority` (number or numeric string),
//!   `note`, `excluded_models` (legacy `excluded-models`), `label`.
//!
//! Keys we do not understand, and known keys whose value we cannot use, are kept verbatim and written
//! back on export, so a file survives a trip through Switchyard.

mod reconcile;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::fsutil::{ensure_private_dir, write_atomic};
use super::jwt::CodexClaims;
use super::secret::FileSecretStore;
use super::{io_err, Account, AccountsError, Identity, Imported, Origin, OriginKind, Provider};
use super::{ExtraFields, Tokens};

pub use reconcile::{reconcile_auth_dir, Reconciled};

/// Reads one auth file. `Ok(None)`: valid JSON but not a Claude or Codex credential (another
/// provider's file, or one of our own token files).
pub fn parse_auth_file(path: &Path, bytes: &[u8]) -> Result<Option<Imported>, AccountsError> {
    let mut map: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|source| AccountsError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    if map.contains_key("switchyard_tokens") {
        return Ok(None);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let provider = match map.get("type").and_then(Value::as_str) {
        Some(t) => match Provider::from_str(t) {
            Ok(p) => p,
            Err(()) => return Ok(None),
        },
        None if name.starts_with("claude-") => Provider::Claude,
        None if name.starts_with("codex-") => Provider::Codex,
        None => return Ok(None),
    };
    map.shift_remove("type");

    let tokens_found = Tokens::new(
        take_str(&mut map, "access_token"),
        take_str(&mut map, "refresh_token"),
        take_str(&mut map, "id_token"),
    );
    if tokens_found.access_token.is_none() && tokens_found.refresh_token.is_none() {
        return Err(AccountsError::InvalidFile {
            path: path.to_path_buf(),
            reason: "no access_token or refresh_token".into(),
        });
    }

    let mut identity = Identity {
        email: take_str(&mut map, "email"),
        ..Identity::default()
    };
    let mut plan = None;
    let mut expires_at = take_time(&mut map, "expired");
    match provider {
        Provider::Claude => {
            identity.account_uuid = take_str(&mut map, "account_uuid");
            identity.organization_uuid = take_str(&mut map, "organization_uuid");
        }
        Provider::Codex => {
            identity.account_id = take_str(&mut map, "account_id");
            let claims = [tokens_found.id(), tokens_found.access()]
                .into_iter()
                .flatten()
                .filter_map(|t| CodexClaims::from_token(t).ok());
            for c in claims {
                plan = plan.or(c.plan);
                identity.email = identity.email.or(c.email);
                identity.account_id = identity.account_id.or(c.account_id);
                expires_at = expires_at.or(c.expires_at);
            }
        }
    }

    let mut account = Account::new(provider, identity);
    account.plan = plan;
    account.expires_at = expires_at;
    account.last_refresh = take_time(&mut map, "last_refresh");
    let s = &mut account.settings;
    s.label = take_str(&mut map, "label");
    s.disabled = take_with(&mut map, "disabled", Value::as_bool).unwrap_or(false);
    s.prefix = take_with(&mut map, "prefix", |v| {
        let p = v.as_str()?.trim().trim_matches('/');
        // CLIProxyAPI ignores a prefix that is empty or has a slash inside; so do we (and keep it).
        (!p.is_empty() && !p.contains('/')).then(|| p.to_string())
    });
    s.proxy_url = take_str(&mut map, "proxy_url");
    s.priority = take_with(&mut map, "priority", |v| match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    })
    .unwrap_or(0);
    s.note = take_str(&mut map, "note");
    let models = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|m| m.as_str().map(|m| m.trim().to_string()))
            .filter(|m| m.as_deref() != Some(""))
            .collect()
    };
    s.excluded_models = take_with(&mut map, "excluded_models", models)
        .or_else(|| take_with(&mut map, "excluded-models", models))
        .unwrap_or_default();

    account.origin = Some(Origin {
        kind: OriginKind::AuthDir,
        path: Some(path.to_path_buf()),
        fingerprint: Some(fingerprint(bytes)),
    });
    let mut tokens = tokens_found;
    tokens.extra = ExtraFields(map);
    Ok(Some(Imported { account, tokens }))
}

/// Removes `key` and returns its non-empty string; a non-string value stays in `map` (kept as extra).
fn take_str(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    take_with(map, key, |v| v.as_str().map(String::from))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn take_time(map: &mut Map<String, Value>, key: &str) -> Option<OffsetDateTime> {
    match map.get(key).and_then(Value::as_str) {
        // Go writes "" for an unknown time: nothing to keep.
        Some("") => {
            map.shift_remove(key);
            None
        }
        _ => take_with(map, key, |v| {
            OffsetDateTime::parse(v.as_str()?, &Rfc3339).ok()
        }),
    }
}

/// Removes `key` when `convert` understands its value; otherwise leaves it for the extras.
/// (`shift_remove` keeps the other keys in file order, so export writes them back where they were.)
fn take_with<T>(
    map: &mut Map<String, Value>,
    key: &str,
    convert: impl FnOnce(&Value) -> Option<T>,
) -> Option<T> {
    let out = convert(map.get(key)?)?;
    map.shift_remove(key);
    Some(out)
}

pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    hex8(bytes, 64)
}

/// The first `n` hex digits of SHA-256, as CLIProxyAPI names files (`n` = 8).
fn hex8(bytes: &[u8], n: usize) -> String {
    let digest = Sha256::digest(bytes);
    let mut s: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    s.truncate(n);
    s
}

/// The file name CLIProxyAPI would give this account: the one it came from when it came from an auth
/// dir or an uploaded file; otherwise `claude-[<hash8>-]<email>.json` / `codex-[<hash8>-]<email>[-<plan>].json`, the hash
/// from the organization / account uuid (Claude) or the ChatGPT account id (Codex).
pub fn auth_file_name(account: &Account) -> String {
    if let Some(Origin {
        kind: OriginKind::AuthDir | OriginKind::Upload,
        path: Some(path),
        ..
    }) = &account.origin
    {
        if let Some(name) = path.file_name() {
            return name.to_string_lossy().into_owned();
        }
    }
    let id = &account.identity;
    let email = safe_part(id.email.as_deref().unwrap_or(account.id.as_str()));
    let hash_of = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| hex8(v.as_bytes(), 8))
    };
    let mut parts = vec![account.provider.as_str().to_string()];
    match account.provider {
        Provider::Claude => {
            parts.extend(hash_of(&id.organization_uuid).or_else(|| hash_of(&id.account_uuid)));
            parts.push(email);
        }
        Provider::Codex => {
            parts.extend(hash_of(&id.account_id));
            parts.push(email);
            let plan = account.plan.as_deref().map(plan_for_file_name);
            parts.extend(plan.filter(|p| !p.is_empty()));
        }
    }
    format!("{}.json", parts.join("-"))
}

/// CLIProxyAPI: path separators, ':' and control characters become '_'.
fn safe_part(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// CLIProxyAPI: lowercase words of letters and digits joined by '-'.
fn plan_for_file_name(plan: &str) -> String {
    plan.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The account as a CLIProxyAPI auth file: its name and JSON (Go's field order, then the optional
/// keys, then whatever the source file had that we kept).
pub fn export_auth_file(account: &Account, tokens: &Tokens) -> (String, Value) {
    let mut m = Map::new();
    let text = |v: Option<&str>| Value::String(v.unwrap_or_default().to_string());
    let time = |t: Option<OffsetDateTime>| {
        Value::String(t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default())
    };
    let id = &account.identity;
    m.insert("id_token".into(), text(tokens.id()));
    m.insert("access_token".into(), text(tokens.access()));
    m.insert("refresh_token".into(), text(tokens.refresh()));
    if account.provider == Provider::Codex {
        m.insert("account_id".into(), text(id.account_id.as_deref()));
    }
    m.insert("last_refresh".into(), time(account.last_refresh));
    m.insert("email".into(), text(id.email.as_deref()));
    m.insert("type".into(), account.provider.as_str().into());
    m.insert("expired".into(), time(account.expires_at));
    if account.provider == Provider::Claude {
        for (key, v) in [
            ("account_uuid", &id.account_uuid),
            ("organization_uuid", &id.organization_uuid),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), v.as_str().into());
            }
        }
    }
    let s = &account.settings;
    let optional = [
        ("label", s.label.clone().map(Value::from)),
        ("disabled", s.disabled.then_some(Value::Bool(true))),
        ("prefix", s.prefix.clone().map(Value::from)),
        ("proxy_url", s.proxy_url.clone().map(Value::from)),
        ("priority", (s.priority != 0).then_some(s.priority.into())),
        ("note", s.note.clone().map(Value::from)),
        (
            "excluded_models",
            (!s.excluded_models.is_empty()).then(|| s.excluded_models.clone().into()),
        ),
    ];
    for (key, v) in optional {
        if let Some(v) = v {
            m.insert(key.into(), v);
        }
    }
    for (k, v) in &tokens.extra.0 {
        if !m.contains_key(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    (auth_file_name(account), Value::Object(m))
}

/// Writes the account into `dir` as CLIProxyAPI would (0600, atomically); returns the file's path.
pub fn write_auth_file(
    dir: &Path,
    account: &Account,
    tokens: &Tokens,
) -> Result<PathBuf, AccountsError> {
    // A folder we create is private; an existing one (perhaps the user's home) keeps its permissions.
    if !dir.is_dir() {
        ensure_private_dir(dir).map_err(io_err(dir))?;
    }
    let (name, json) = export_auth_file(account, tokens);
    let path = dir.join(name);
    let mut bytes = serde_json::to_vec_pretty(&json).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(&path, &bytes).map_err(io_err(&path))?;
    Ok(path)
}

/// Whether `name` may be an auth file worth reading (our own token files never are).
pub(crate) fn is_candidate(name: &str) -> bool {
    name.ends_with(".json") && !name.starts_with('.') && !FileSecretStore::is_token_file(name)
}
