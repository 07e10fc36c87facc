//! The config file as serde reads it, after the schema walk has checked types and coerced scalars.
//! Everything is optional here; `resolve` turns it into the validated [`super::Config`] snapshot.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawConfig {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub tls: RawTls,
    pub api_keys: Vec<String>,
    pub auth_dir: Option<String>,
    pub secret_store: Option<String>,
    pub debug: bool,
    pub proxy_url: Option<String>,
    pub request_retry: Option<i64>,
    pub max_retry_interval: Option<i64>,
    pub routing: RawRouting,
    pub remote_management: RawRemoteManagement,
    pub strict_config: bool,
    pub browser_access: RawBrowserAccess,
    pub shutdown_timeout: Option<i64>,
    pub usage_statistics_enabled: Option<bool>,
    pub usage_database_path: Option<String>,
    pub usage_retention_days: Option<i64>,
    pub request_log: bool,
    pub request_log_max_mb: Option<i64>,
    pub metrics_key: Option<String>,
    pub streaming: RawStreaming,
    pub claude_api_key: Vec<RawKeyEntry>,
    pub codex_api_key: Vec<RawKeyEntry>,
    pub gemini_api_key: Vec<RawKeyEntry>,
    pub openai_compatibility: Vec<RawCompat>,
    pub endpoints: RawEndpoints,
    pub oauth_excluded_models: BTreeMap<String, Vec<String>>,
    pub oauth_model_alias: BTreeMap<String, Vec<RawOAuthAlias>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawOAuthAlias {
    pub name: String,
    pub alias: String,
    pub fork: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawEndpoints {
    pub claude: RawProviderEndpoints,
    pub codex: RawProviderEndpoints,
}

/// Both providers' keys in one shape; the schema already refused keys a provider does not have.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawProviderEndpoints {
    pub authorize: Option<String>,
    pub token: Option<String>,
    pub device_code: Option<String>,
    pub device_token: Option<String>,
    pub api: Option<String>,
    pub usage: Option<String>,
    pub callback_port: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawTls {
    pub enable: bool,
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawRouting {
    pub strategy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawRemoteManagement {
    pub allow_remote: bool,
    pub secret_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawStreaming {
    pub keepalive_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawBrowserAccess {
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawModel {
    pub name: String,
    pub alias: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawKeyEntry {
    pub api_key: String,
    pub base_url: Option<String>,
    pub prefix: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub proxy_url: Option<String>,
    pub models: Vec<RawModel>,
    pub excluded_models: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawCompatKey {
    pub api_key: String,
    pub proxy_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawCompat {
    pub name: String,
    pub base_url: String,
    pub prefix: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub api_key_entries: Vec<RawCompatKey>,
    pub models: Vec<RawModel>,
}
