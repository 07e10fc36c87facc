//! Outbound HTTP clients, one per proxy setting, shared by every request that uses that setting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::ProxySetting;

#[derive(Debug, thiserror::Error)]
#[error("cannot use proxy `{url}`: {source}")]
pub struct ProxyError {
    url: String,
    source: reqwest::Error,
}

/// A cache of `reqwest::Client`s keyed by proxy, so connection pools are reused across requests.
#[derive(Default)]
pub struct HttpClients {
    clients: Mutex<HashMap<Option<ProxySetting>, reqwest::Client>>,
}

impl HttpClients {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, proxy: Option<&ProxySetting>) -> Result<reqwest::Client, ProxyError> {
        let key = proxy.cloned();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            // No overall timeout: a long generation may stream for many minutes.
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            // Redirects from an API endpoint would silently re-send credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(setting) = &key {
            builder = setting.apply(builder).map_err(|source| ProxyError {
                url: match setting {
                    ProxySetting::Url(url) => url.clone(),
                    ProxySetting::Direct => "direct".into(),
                },
                source,
            })?;
        }
        let client = builder.build().map_err(|source| ProxyError {
            url: format!("{key:?}"),
            source,
        })?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}
