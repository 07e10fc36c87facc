//! Settings and client keys: read from the live config, changed by editing the config file in place
//! (comments and order kept, [`crate::config::edit`]) and applied at once.

use serde::{Deserialize, Serialize};

use super::{ErrorKind, Problem, Result, Service, ServiceError};
use crate::config::edit::{self, Scalar};
use crate::config::yaml::{self, Node};
use crate::config::{ProxySetting, Strategy};

#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub host: String,
    pub port: u16,
    /// `round-robin` or `fill-first`.
    pub strategy: &'static str,
    pub request_retry: u32,
    /// `direct`, a proxy URL, or absent (the environment's proxy, if any).
    pub proxy_url: Option<String>,
    pub debug: bool,
    /// Record one usage event per request (`usage-statistics-enabled`).
    pub usage_statistics_enabled: bool,
    /// Keep each request's full exchange (`request-log`).
    pub request_log: bool,
}

/// Settings to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub strategy: Option<String>,
    pub request_retry: Option<u32>,
    /// `""` goes back to the environment's proxy.
    pub proxy_url: Option<String>,
    pub debug: Option<bool>,
    pub usage_statistics_enabled: Option<bool>,
    pub request_log: Option<bool>,
}

impl Service {
    pub fn settings(&self) -> SettingsView {
        let live = self.state.live();
        let c = &live.config;
        SettingsView {
            host: c.host.clone(),
            port: c.port,
            strategy: match c.strategy {
                Strategy::RoundRobin => "round-robin",
                Strategy::FillFirst => "fill-first",
            },
            request_retry: c.request_retry,
            proxy_url: c.proxy.as_ref().map(|p| match p {
                ProxySetting::Direct => "direct".to_string(),
                ProxySetting::Url(url) => url.clone(),
            }),
            debug: c.debug,
            usage_statistics_enabled: c.usage.enabled,
            request_log: c.usage.request_log,
        }
    }

    /// Changes settings in the config file and applies them (host and port after a restart).
    pub async fn update_settings(
        &self,
        patch: SettingsPatch,
    ) -> Result<(SettingsView, Vec<Problem>)> {
        if let Some(strategy) = &patch.strategy {
            if !matches!(strategy.as_str(), "round-robin" | "fill-first") {
                return Err(ServiceError::invalid(format!(
                    "unknown routing strategy `{strategy}`: use round-robin or fill-first"
                )));
            }
        }
        let mut edits: Vec<(&[&str], Scalar)> = Vec::new();
        if let Some(host) = patch.host {
            edits.push((&["host"], Scalar::Str(host.trim().to_string())));
        }
        if let Some(port) = patch.port {
            edits.push((&["port"], Scalar::Int(i64::from(port))));
        }
        if let Some(strategy) = patch.strategy {
            edits.push((&["routing", "strategy"], Scalar::Str(strategy)));
        }
        if let Some(retry) = patch.request_retry {
            edits.push((&["request-retry"], Scalar::Int(i64::from(retry))));
        }
        if let Some(proxy) = patch.proxy_url {
            edits.push((&["proxy-url"], Scalar::Str(proxy.trim().to_string())));
        }
        if let Some(debug) = patch.debug {
            edits.push((&["debug"], Scalar::Bool(debug)));
        }
        if let Some(enabled) = patch.usage_statistics_enabled {
            edits.push((&["usage-statistics-enabled"], Scalar::Bool(enabled)));
        }
        if let Some(enabled) = patch.request_log {
            edits.push((&["request-log"], Scalar::Bool(enabled)));
        }
        let warnings = self
            .edit_config(|text| {
                edits
                    .iter()
                    .try_fold(text.to_string(), |text, (path, value)| {
                        edit::set_scalar(&text, path, value)
                    })
            })
            .await?;
        Ok((self.settings(), warnings))
    }

    /// The client keys as written in the config (`os.environ/NAME` entries as such).
    pub async fn api_keys(&self) -> Result<Vec<String>> {
        let text = self.read_config().await?;
        Ok(written_api_keys(&text))
    }

    /// Adds a freshly generated client key and returns it.
    pub async fn create_api_key(&self) -> Result<String> {
        let key = crate::config::generate_client_key();
        let added = key.clone();
        self.edit_config(move |text| {
            let mut keys = written_api_keys(text);
            keys.push(added.clone());
            edit::set_string_list(text, "api-keys", &keys)
        })
        .await?;
        Ok(key)
    }

    /// Replaces the client keys with `keys` (blank entries dropped); the proxy accepts exactly these from
    /// the next request.
    pub async fn set_api_keys(&self, keys: Vec<String>) -> Result<()> {
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        self.edit_config(move |text| edit::set_string_list(text, "api-keys", &keys))
            .await?;
        Ok(())
    }

    /// Removes a client key; clients using it are refused from the next request.
    pub async fn revoke_api_key(&self, key: &str) -> Result<()> {
        let text = self.read_config().await?;
        if !written_api_keys(&text).iter().any(|k| k == key) {
            return Err(ServiceError::new(
                ErrorKind::NotFound,
                "that key is not in the config's api-keys",
            ));
        }
        let key = key.to_string();
        self.edit_config(move |text| {
            let keys: Vec<String> = written_api_keys(text)
                .into_iter()
                .filter(|k| *k != key)
                .collect();
            edit::set_string_list(text, "api-keys", &keys)
        })
        .await?;
        Ok(())
    }

    /// Reads the config, applies `change` to its text, and saves the result if it is a valid config.
    async fn edit_config(
        &self,
        change: impl FnOnce(&str) -> std::result::Result<String, edit::EditError>,
    ) -> Result<Vec<Problem>> {
        let _writing = self.config_write.lock().await;
        let text = self.read_config().await?;
        let changed = change(&text).map_err(|e| ServiceError::invalid(e.to_string()))?;
        self.write_config(&changed).await
    }
}

fn written_api_keys(text: &str) -> Vec<String> {
    match yaml::parse(text)
        .ok()
        .as_ref()
        .and_then(|root| root.get("api-keys"))
    {
        Some(Node::Seq(items, _)) => items
            .iter()
            .filter_map(|k| match k {
                Node::Str(s, _) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
