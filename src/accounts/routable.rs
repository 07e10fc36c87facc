//! Logged-in accounts as credentials the router can use, next to the config's keys.

use std::sync::Arc;

use crate::config::{Config, Credential, CredentialAuth, ProxySetting};

use super::{Account, Provider, Status};

/// The accounts that may serve requests now (enabled, not waiting for a new login), as credentials.
pub fn credentials(accounts: &[Account], config: &Config) -> Vec<Arc<Credential>> {
    accounts
        .iter()
        .filter(|a| !a.settings.disabled && a.status != Status::NeedsLogin)
        .map(|a| Arc::new(credential(a, config)))
        .collect()
}

fn credential(a: &Account, config: &Config) -> Credential {
    let (provider, base_url) = match a.provider {
        Provider::Claude => (
            crate::config::Provider::Claude,
            &config.endpoints.claude.api,
        ),
        Provider::Codex => (crate::config::Provider::Codex, &config.endpoints.codex.api),
    };
    let who = a
        .settings
        .label
        .clone()
        .or_else(|| a.identity.email.clone())
        .unwrap_or_else(|| a.id.to_string());
    Credential {
        // Cooldowns hang off this id; an account keeps it for life.
        id: format!("account:{}", a.id),
        label: format!("{} account {who}", a.provider),
        provider,
        compat_name: None,
        auth: CredentialAuth::Account {
            id: a.id.to_string(),
            workspace: a.identity.account_id.clone(),
        },
        base_url: base_url.clone(),
        prefix: a.settings.prefix.clone().filter(|p| !p.trim().is_empty()),
        headers: Vec::new(),
        proxy: a.settings.proxy_url.as_deref().and_then(proxy_setting),
        models: Vec::new(),
        excluded_models: a.settings.excluded_models.clone(),
        priority: a.settings.priority,
    }
}

/// An account file's `proxy_url`, read as the config reads `proxy-url`; one that is not a proxy URL is
/// ignored with a warning rather than failing every request of the account.
fn proxy_setting(value: &str) -> Option<ProxySetting> {
    ProxySetting::parse(value).unwrap_or_else(|why| {
        tracing::warn!("an account's proxy_url `{value}` {why}; ignored");
        None
    })
}
