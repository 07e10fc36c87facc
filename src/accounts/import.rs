//! Taking over a login the user already has in Claude Code or Codex CLI. The home folder is a
//! parameter so tests (and a `--home` flag) can point elsewhere.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::jwt::CodexClaims;
use super::{
    io_err, Account, AccountsError, Identity, Imported, Origin, OriginKind, Provider, Tokens,
};

/// `~/.claude/.credentials.json`, where Claude Code keeps its OAuth login on Linux and Windows.
pub fn claude_code_credentials_path(home: &Path) -> PathBuf {
    home.join(".claude").join(".credentials.json")
}

/// `~/.codex/auth.json`, Codex CLI's login (`$CODEX_HOME/auth.json` when the caller resolves it).
pub fn codex_cli_auth_path(home: &Path) -> PathBuf {
    home.join(".codex").join("auth.json")
}

/// Claude Code's login: `claudeAiOauth{accessToken, refreshToken, expiresAt (ms), subscriptionType}`.
/// The account's email and uuids come from `~/.claude.json`'s `oauthAccount` when it is there.
pub fn import_claude_code(home: &Path) -> Result<Imported, AccountsError> {
    let path = claude_code_credentials_path(home);
    let hint = cfg!(target_os = "macos").then(|| {
        "on macOS Claude Code keeps its login in the Keychain; log in with Switchyard instead"
            .into()
    });
    let root = read_json(&path, "Claude Code's login", hint)?;
    let invalid = |reason: &str| AccountsError::InvalidFile {
        path: path.clone(),
        reason: reason.into(),
    };
    let oauth = root.get("claudeAiOauth").ok_or_else(|| {
        invalid("no claudeAiOauth object: Claude Code is not logged in with a subscription")
    })?;
    let tokens = Tokens::new(
        str_at(oauth, "accessToken"),
        str_at(oauth, "refreshToken"),
        None,
    );
    if tokens.access_token.is_none() && tokens.refresh_token.is_none() {
        return Err(invalid("claudeAiOauth has no accessToken or refreshToken"));
    }

    let mut identity = Identity::default();
    let profile_path = home.join(".claude.json");
    // Optional: without it the account has no email yet; the first refresh or login fills it in.
    if let Ok(profile) = read_json(&profile_path, "Claude Code's profile", None) {
        if let Some(acct) = profile.get("oauthAccount") {
            identity.email = str_at(acct, "emailAddress");
            identity.account_uuid = str_at(acct, "accountUuid");
            identity.organization_uuid = str_at(acct, "organizationUuid");
        }
    }
    let mut account = Account::new(Provider::Claude, identity);
    account.plan = str_at(oauth, "subscriptionType");
    account.expires_at = oauth
        .get("expiresAt")
        .and_then(Value::as_i64)
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
    account.origin = Some(Origin::new(OriginKind::ClaudeCode, Some(path)));
    Ok(Imported { account, tokens })
}

/// Codex CLI's login: `tokens{id_token, access_token, refresh_token, account_id}`, `last_refresh`.
/// Email, plan and account id also come from the `id_token`'s claims.
pub fn import_codex_cli(home: &Path) -> Result<Imported, AccountsError> {
    import_codex_cli_file(&codex_cli_auth_path(home))
}

/// [`import_codex_cli`] from an explicit `auth.json` (for `$CODEX_HOME`).
pub fn import_codex_cli_file(path: &Path) -> Result<Imported, AccountsError> {
    let root = read_json(path, "Codex CLI's login", None)?;
    let invalid = |reason: &str| AccountsError::InvalidFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let Some(t) = root.get("tokens").filter(|t| t.is_object()) else {
        let api_key = root.get("OPENAI_API_KEY").is_some_and(Value::is_string);
        return Err(invalid(if api_key {
            "Codex CLI is signed in with an API key, not a ChatGPT account"
        } else {
            "no tokens object: Codex CLI is not logged in with ChatGPT"
        }));
    };
    let tokens = Tokens::new(
        str_at(t, "access_token"),
        str_at(t, "refresh_token"),
        str_at(t, "id_token"),
    );
    if tokens.access_token.is_none() && tokens.refresh_token.is_none() {
        return Err(invalid("tokens has no access_token or refresh_token"));
    }
    let id_claims = tokens.id().and_then(|t| CodexClaims::from_token(t).ok());
    let access_claims = tokens
        .access()
        .and_then(|t| CodexClaims::from_token(t).ok());
    let id_claims = id_claims.unwrap_or_default();
    let access_claims = access_claims.unwrap_or_default();
    let identity = Identity {
        email: id_claims.email.or(access_claims.email),
        account_id: str_at(t, "account_id")
            .or(id_claims.account_id)
            .or(access_claims.account_id),
        ..Identity::default()
    };
    let mut account = Account::new(Provider::Codex, identity);
    account.plan = id_claims.plan.or(access_claims.plan);
    // The access token's own expiry; the id_token expires sooner and says nothing about access.
    account.expires_at = access_claims.expires_at;
    account.last_refresh = root
        .get("last_refresh")
        .and_then(Value::as_str)
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
    account.origin = Some(Origin::new(OriginKind::CodexCli, Some(path.to_path_buf())));
    Ok(Imported { account, tokens })
}

fn read_json(
    path: &Path,
    what: &'static str,
    hint: Option<String>,
) -> Result<Value, AccountsError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(AccountsError::SourceMissing {
                what,
                path: path.to_path_buf(),
                hint,
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|source| AccountsError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}
