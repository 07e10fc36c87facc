//! Logged-in accounts as credentials the router can use, next to the config's keys.

use std::sync::Arc;

use crate::config::{Config, Credential, CredentialAuth, ProxySetting};

use super::{Account, AccountId, Provider, Status};

/// The accounts that may serve requests now (enabled, not waiting for a new login), as credentials.
pub fn credentials(accounts: &[Account], config: &Config) -> Vec<Arc<Credential>> {
    accounts
        .iter()
        .filter(|a| can_serve(a))
        .map(|a| Arc::new(credential(a, config)))
        .collect()
}

/// Enabled and not waiting for a new login.
pub fn can_serve(a: &Account) -> bool {
    !a.settings.disabled && a.status != Status::NeedsLogin
}

/// The routing id of an account's credential.
pub fn credential_id(account: &AccountId) -> String {
    format!("{ACCOUNT_PREFIX}{account}")
}

/// The account behind a routing id, if it is an account's.
pub fn account_of(credential_id: &str) -> Option<AccountId> {
    AccountId::parse(credential_id.strip_prefix(ACCOUNT_PREFIX)?).ok()
}

const ACCOUNT_PREFIX: &str = "account:";

fn credential(a: &Account, config: &Config) -> Credential {
    let (provider, base_url) = match a.provider {
        Provider::Claude => (
            crate::config::Provider::Claude,
            &config.endpoints.claude.api,
        ),
        Provider::Codex => (crate::config::Provider::Codex, &config.endpoints.codex.api),
    };
    // `oauth-excluded-models` adds to the account's own exclusions, as CLIProxyAPI merges them.
    let global = config
        .account_models
        .get(&provider)
        .cloned()
        .unwrap_or_default();
    let who = a
        .settings
        .label
        .clone()
        .or_else(|| a.identity.email.clone())
        .unwrap_or_else(|| a.id.to_string());
    Credential {
        // Cooldowns hang off this id; an account keeps it for life.
        id: credential_id(&a.id),
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
        catalog_aliases: global.aliases,
        excluded_models: [a.settings.excluded_models.clone(), global.excluded_models].concat(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Identity;
    use crate::config::load_str;
    use crate::routing::Registry;

    /// The registry a config and these accounts give the router.
    fn registry(yaml: &str, accounts: &[Account]) -> Registry {
        let config = load_str(yaml, std::path::Path::new("/"), &|_| None)
            .unwrap()
            .config;
        Registry::with_accounts(&config, &credentials(accounts, &config))
    }

    fn account(provider: Provider) -> Account {
        Account::new(provider, Identity::default())
    }

    fn upstream(reg: &Registry, model: &str) -> Vec<String> {
        reg.get(model).map_or_else(Vec::new, |e| {
            e.routes.iter().map(|r| r.upstream_model.clone()).collect()
        })
    }

    const ALIASES: &str = r#"
oauth-model-alias:
  codex:
    - {name: gpt-5.1-codex, alias: codex-latest}
    - {name: gpt-5.1-codex-mini, alias: codex-small, fork: true}
    - {name: gpt-5.1-codex-mini, alias: codex-mini-latest}
    - {name: gpt-5.9-codex, alias: codex-next}
  claude:
    - {name: claude-sonnet-4-5-20250929, alias: sonnet}
"#;

    #[test]
    fn an_alias_replaces_the_catalog_name_and_reaches_the_upstream_by_its_real_name() {
        let reg = registry(ALIASES, &[account(Provider::Codex)]);
        assert_eq!(upstream(&reg, "codex-latest"), ["gpt-5.1-codex"]);
        assert!(
            reg.get("gpt-5.1-codex").is_none(),
            "without fork the alias replaces the name"
        );
        let entry = reg.get("codex-latest").unwrap();
        assert_eq!(entry.display_name, "GPT-5.1 Codex");
        assert_eq!(entry.owner(), "openai");
        assert!(
            reg.get("gpt-5").is_some(),
            "models without an alias keep their name"
        );
        assert!(
            reg.get("sonnet").is_none(),
            "claude aliases are not codex's"
        );
    }

    #[test]
    fn fork_keeps_the_name_and_one_name_may_have_several_aliases() {
        let reg = registry(ALIASES, &[account(Provider::Codex)]);
        for name in ["gpt-5.1-codex-mini", "codex-small", "codex-mini-latest"] {
            assert_eq!(upstream(&reg, name), ["gpt-5.1-codex-mini"], "{name}");
        }
    }

    #[test]
    fn an_alias_of_a_model_missing_from_the_catalog_is_served() {
        let reg = registry(ALIASES, &[account(Provider::Codex)]);
        assert_eq!(upstream(&reg, "codex-next"), ["gpt-5.9-codex"]);
        assert!(reg.get("gpt-5.9-codex").is_none());
    }

    #[test]
    fn aliases_apply_to_accounts_only_and_follow_their_prefix() {
        let mut team = account(Provider::Claude);
        team.settings.prefix = Some("team".into());
        let reg = registry(
            &format!("{ALIASES}claude-api-key: [{{api-key: k1}}]\n"),
            &[team],
        );
        let sonnet = reg.get("sonnet").unwrap();
        assert_eq!(sonnet.routes.len(), 1);
        assert!(matches!(
            sonnet.routes[0].cred.auth,
            CredentialAuth::Account { .. }
        ));
        assert_eq!(
            upstream(&reg, "team/sonnet"),
            ["claude-sonnet-4-5-20250929"]
        );
        let by_name = reg.get("claude-sonnet-4-5-20250929").unwrap();
        assert_eq!(
            by_name.routes.len(),
            1,
            "the API key keeps the catalog name"
        );
        assert!(matches!(
            by_name.routes[0].cred.auth,
            CredentialAuth::ApiKey(_)
        ));
        assert!(reg.get("team/claude-sonnet-4-5-20250929").is_none());
    }

    #[test]
    fn global_and_own_exclusions_add_up_and_take_aliases_with_them() {
        let mut own = account(Provider::Codex);
        own.settings.excluded_models = vec!["gpt-5".into()];
        let reg = registry(
            &format!(
                "{ALIASES}oauth-excluded-models:\n  codex: [\"GPT-5.1-codex*\"]\n  claude: [\"*\"]\ncodex-api-key: [{{api-key: k1}}]\n"
            ),
            &[own, account(Provider::Claude)],
        );
        let served: Vec<&str> = reg
            .models()
            .filter(|m| {
                m.routes
                    .iter()
                    .any(|r| matches!(r.cred.auth, CredentialAuth::Account { .. }))
            })
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(
            served,
            [
                "gpt-5.5",
                "gpt-5.1",
                "gpt-5-codex",
                "gpt-5-codex-mini",
                "codex-next"
            ]
        );
        // The API key is not a logged-in account: `oauth-excluded-models` does not touch it.
        assert_eq!(upstream(&reg, "gpt-5.1-codex"), ["gpt-5.1-codex"]);
    }
}
