//! From config text to a validated [`Config`]: parse, walk the schema, read with serde, then check meaning
//! (ports, URLs, proxies, files, secrets) — collecting every problem with its position before giving up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::accounts::SecretStoreChoice;
use secrecy::{ExposeSecret, SecretString};

use super::raw::{RawConfig, RawModel};
use super::schema::{self, Walk};
use super::yaml::{self, Node, Pos};
use super::{
    BrowserAccess, Config, Credential, CredentialAuth, Diagnostic, EnvLookup, Loaded, ModelAlias,
    Provider, ProxySetting, RemoteManagement, Severity, Strategy, Tls, UsageConfig,
};

pub const DEFAULT_PORT: u16 = 8317;
const ENV_PREFIX: &str = "os.environ/";

pub(super) struct Ctx<'a> {
    doc: &'a Node,
    env: EnvLookup<'a>,
    dir: &'a Path,
    problems: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn pos(&self, path: &str) -> Pos {
        self.doc.find(path).map(Node::pos).unwrap_or_default()
    }

    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.report(path, Severity::Error, message.into());
    }

    pub(super) fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.report(path, Severity::Warning, message.into());
    }

    fn report(&mut self, path: &str, severity: Severity, message: String) {
        let pos = self.pos(path);
        self.problems.push(Diagnostic {
            pos,
            severity,
            message,
        });
    }

    /// Resolves `os.environ/NAME` so secrets can stay out of the file.
    fn secret(&mut self, path: &str, value: &str) -> SecretString {
        match value.strip_prefix(ENV_PREFIX) {
            Some(name) => match (self.env)(name) {
                Some(v) if !v.is_empty() => SecretString::from(v),
                _ => {
                    self.error(
                        path,
                        format!("`{path}` reads environment variable {name}, which is not set"),
                    );
                    SecretString::from(String::new())
                }
            },
            None => SecretString::from(value.to_string()),
        }
    }

    fn proxy(&mut self, path: &str, value: Option<&str>) -> Option<ProxySetting> {
        match ProxySetting::parse(value?) {
            Ok(setting) => setting,
            Err(why) => {
                self.error(path, format!("`{path}` {why}"));
                None
            }
        }
    }

    /// The parsed base URL, or `None` after recording an error. Parsed once here so that requests only
    /// append a path (URL parsing is a noticeable part of a proxied request's CPU).
    pub(super) fn base_url(
        &mut self,
        path: &str,
        value: Option<&str>,
        default: &str,
    ) -> Option<url::Url> {
        let value = value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(default);
        match url::Url::parse(value.trim_end_matches('/')) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                self.error(
                    path,
                    format!("`{path}` must be an http:// or https:// URL, found `{value}`"),
                );
                None
            }
        }
    }

    fn headers(
        &mut self,
        path: &str,
        raw: &BTreeMap<String, String>,
    ) -> Vec<(http::HeaderName, http::HeaderValue)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            let here = format!("{path}.{name}");
            let value = self.secret(&here, value);
            let parsed = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value.expose_secret()),
            );
            match parsed {
                (Ok(n), Ok(mut v)) => {
                    v.set_sensitive(true);
                    out.push((n, v));
                }
                _ => self.error(&here, format!("`{here}` is not a valid HTTP header")),
            }
        }
        out
    }

    fn models(&mut self, path: &str, raw: &[RawModel]) -> Vec<ModelAlias> {
        let mut out = Vec::new();
        for (i, m) in raw.iter().enumerate() {
            let name = m.name.trim();
            if name.is_empty() {
                self.error(
                    &format!("{path}[{i}]"),
                    format!("`{path}[{i}]` needs a `name`"),
                );
                continue;
            }
            let alias = m
                .alias
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or(name);
            out.push(ModelAlias {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        }
        out
    }

    fn path(&self, value: &str) -> PathBuf {
        expand_path(value, self.dir)
    }
}

/// `~` is the home folder; relative paths are relative to the config file's folder.
pub fn expand_path(value: &str, dir: &Path) -> PathBuf {
    let p = if let Some(rest) = value.strip_prefix("~/") {
        dirs::home_dir().unwrap_or_default().join(rest)
    } else if value == "~" {
        dirs::home_dir().unwrap_or_default()
    } else {
        PathBuf::from(value)
    };
    if p.is_absolute() {
        p
    } else {
        dir.join(p)
    }
}

pub fn default_base_url(provider: Provider) -> &'static str {
    match provider {
        Provider::Claude => "https://api.anthropic.com",
        // A `codex-api-key` is an OpenAI platform key, so its Responses endpoint is the platform's.
        Provider::Codex => "https://api.openai.com/v1",
        Provider::Gemini => "https://generativelanguage.googleapis.com",
        Provider::OpenAiCompat => "",
    }
}

fn credential_id(provider: Provider, key: &SecretString, base_url: &str) -> String {
    // FNV-1a: stable across runs and platforms (std's hasher is not), and never reveals the key.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in [
        provider.name().as_bytes(),
        key.expose_secret().as_bytes(),
        base_url.as_bytes(),
    ]
    .concat()
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{:012x}", provider.name(), h & 0xffff_ffff_ffff)
}

pub fn resolve(text: &str, dir: &Path, env: EnvLookup<'_>) -> Result<Loaded, Vec<Diagnostic>> {
    let doc = yaml::parse(text).map_err(|e| {
        vec![Diagnostic {
            pos: e.pos,
            severity: Severity::Error,
            message: format!("YAML syntax: {}", e.message),
        }]
    })?;
    if !matches!(doc, Node::Map(..)) {
        return Err(vec![Diagnostic {
            pos: doc.pos(),
            severity: Severity::Error,
            message: "the config must be a mapping of keys to values".into(),
        }]);
    }
    let mut walk = Walk::default();
    let json = schema::walk(schema::ROOT, &doc, &mut walk);
    let strict = json.get("strict-config").and_then(|v| v.as_bool()) == Some(true);
    let mut problems: Vec<Diagnostic> = walk
        .errors
        .into_iter()
        .map(|(pos, message)| Diagnostic {
            pos,
            severity: Severity::Error,
            message,
        })
        .collect();
    for (pos, key) in walk.unknown {
        problems.push(Diagnostic {
            pos,
            severity: if strict {
                Severity::Error
            } else {
                Severity::Warning
            },
            message: format!("unknown key `{key}`"),
        });
    }
    for (pos, key) in walk.ignored {
        problems.push(Diagnostic {
            pos,
            severity: Severity::Warning,
            message: format!(
                "`{key}` is a CLIProxyAPI key Switchyard does not implement yet; ignored"
            ),
        });
    }
    let raw: RawConfig = match serde_path_to_error::deserialize(json) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            problems.push(Diagnostic {
                pos: doc.find(&path).map(Node::pos).unwrap_or_default(),
                severity: Severity::Error,
                message: format!("`{path}`: {}", e.inner()),
            });
            return Err(problems);
        }
    };
    let mut ctx = Ctx {
        doc: &doc,
        env,
        dir,
        problems,
    };
    let config = build(&mut ctx, raw);
    let mut problems = ctx.problems;
    problems.sort_by_key(|d| (d.pos.line, d.pos.col));
    if problems.iter().any(|d| d.severity == Severity::Error) {
        return Err(problems);
    }
    Ok(Loaded {
        config: Arc::new(config),
        warnings: problems,
    })
}

fn build(ctx: &mut Ctx<'_>, raw: RawConfig) -> Config {
    let port = match raw.port {
        None => DEFAULT_PORT,
        Some(p) => u16::try_from(p).unwrap_or_else(|_| {
            ctx.error(
                "port",
                format!("`port` must be between 0 and 65535, found {p}"),
            );
            DEFAULT_PORT
        }),
    };
    let tls = if raw.tls.enable {
        for (key, value) in [("tls.cert", &raw.tls.cert), ("tls.key", &raw.tls.key)] {
            if value.trim().is_empty() {
                ctx.error("tls", format!("`tls.enable` is true but `{key}` is empty"));
            } else if !ctx.path(value).is_file() {
                ctx.error(
                    key,
                    format!("`{key}`: no file at {}", ctx.path(value).display()),
                );
            }
        }
        Some(Tls {
            cert: ctx.path(&raw.tls.cert),
            key: ctx.path(&raw.tls.key),
        })
    } else {
        None
    };
    let mut api_keys = Vec::new();
    for (i, k) in raw.api_keys.iter().enumerate() {
        let path = format!("api-keys[{i}]");
        let key = ctx.secret(&path, k.trim());
        if key.expose_secret().is_empty() {
            ctx.error(&path, format!("`{path}` is empty"));
        } else {
            api_keys.push(key);
        }
    }
    let strategy = match raw.routing.strategy.as_deref().map(str::trim) {
        None | Some("") | Some("round-robin") | Some("roundrobin") | Some("rr") => {
            Strategy::RoundRobin
        }
        Some("fill-first") | Some("fillfirst") | Some("ff") => Strategy::FillFirst,
        Some(other) => {
            ctx.error(
                "routing.strategy",
                format!("`routing.strategy` must be round-robin or fill-first, found `{other}`"),
            );
            Strategy::RoundRobin
        }
    };
    let non_negative = |ctx: &mut Ctx<'_>, key: &str, v: Option<i64>, default: u64| -> u64 {
        match v {
            None => default,
            Some(n) if n >= 0 => n.unsigned_abs(),
            Some(n) => {
                ctx.error(key, format!("`{key}` must not be negative, found {n}"));
                default
            }
        }
    };
    let request_retry = non_negative(ctx, "request-retry", raw.request_retry, 3);
    let max_retry_interval = non_negative(ctx, "max-retry-interval", raw.max_retry_interval, 30);
    let shutdown_timeout = non_negative(ctx, "shutdown-timeout", raw.shutdown_timeout, 30);
    // CLIProxyAPI's `streaming.keepalive-seconds`: 0 or less disables.
    let keepalive = match raw.streaming.keepalive_seconds {
        None => Some(Duration::from_secs(15)),
        Some(n) if n > 0 => Some(Duration::from_secs(n.unsigned_abs())),
        Some(_) => None,
    };
    let usage = UsageConfig {
        enabled: raw.usage_statistics_enabled.unwrap_or(true),
        database: match raw.usage_database_path.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => ctx.path(p),
            _ => super::defaults::default_usage_database(),
        },
        retention_days: u32::try_from(non_negative(
            ctx,
            "usage-retention-days",
            raw.usage_retention_days,
            365,
        ))
        .unwrap_or(u32::MAX),
        request_log: raw.request_log,
        request_log_max_bytes: non_negative(ctx, "request-log-max-mb", raw.request_log_max_mb, 256)
            .saturating_mul(1 << 20),
        metrics_key: raw
            .metrics_key
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| ctx.secret("metrics-key", s)),
    };
    let secret_key = raw
        .remote_management
        .secret_key
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| ctx.secret("remote-management.secret-key", s));
    let auth_dir = match raw
        .auth_dir
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(dir) => ctx.path(dir),
        None => super::defaults::default_auth_dir(),
    };
    let secret_store = match raw.secret_store.as_deref().map(str::trim) {
        None | Some("" | "auto") => SecretStoreChoice::Auto,
        Some("keychain") => SecretStoreChoice::Keychain,
        Some("file") => SecretStoreChoice::File,
        Some(other) => {
            ctx.error(
                "secret-store",
                format!("`secret-store` must be `auto`, `keychain` or `file`, found `{other}`"),
            );
            SecretStoreChoice::Auto
        }
    };
    let proxy = ctx.proxy("proxy-url", raw.proxy_url.as_deref());
    let endpoints = super::endpoints::resolve(ctx, &raw.endpoints.claude, &raw.endpoints.codex);
    let account_models =
        super::oauth::resolve(ctx, &raw.oauth_excluded_models, &raw.oauth_model_alias);
    let mut credentials = Vec::new();
    for (provider, entries) in [
        (Provider::Claude, &raw.claude_api_key),
        (Provider::Codex, &raw.codex_api_key),
        (Provider::Gemini, &raw.gemini_api_key),
    ] {
        for (i, e) in entries.iter().enumerate() {
            let path = format!("{}[{i}]", provider.config_key());
            if e.api_key.trim().is_empty() {
                ctx.error(&path, format!("`{path}` needs an `api-key`"));
                continue;
            }
            let api_key = ctx.secret(&format!("{path}.api-key"), e.api_key.trim());
            let Some(base_url) = ctx.base_url(
                &format!("{path}.base-url"),
                e.base_url.as_deref(),
                default_base_url(provider),
            ) else {
                continue;
            };
            credentials.push(Arc::new(Credential {
                id: credential_id(provider, &api_key, base_url.as_str()),
                label: path.clone(),
                provider,
                compat_name: None,
                auth: CredentialAuth::ApiKey(api_key),
                base_url,
                prefix: clean_prefix(e.prefix.as_deref()),
                headers: ctx.headers(&format!("{path}.headers"), &e.headers),
                proxy: ctx.proxy(&format!("{path}.proxy-url"), e.proxy_url.as_deref()),
                models: ctx.models(&format!("{path}.models"), &e.models),
                catalog_aliases: Vec::new(),
                excluded_models: e.excluded_models.clone(),
                priority: 0,
            }));
        }
    }
    for (i, c) in raw.openai_compatibility.iter().enumerate() {
        let path = format!("openai-compatibility[{i}]");
        if c.name.trim().is_empty() {
            ctx.error(&path, format!("`{path}` needs a `name`"));
        }
        if c.base_url.trim().is_empty() {
            ctx.error(&path, format!("`{path}` needs a `base-url`"));
            continue;
        }
        let Some(base_url) = ctx.base_url(&format!("{path}.base-url"), Some(&c.base_url), "")
        else {
            continue;
        };
        let headers = ctx.headers(&format!("{path}.headers"), &c.headers);
        let models = ctx.models(&format!("{path}.models"), &c.models);
        if models.is_empty() {
            ctx.error(
                &path,
                format!("`{path}` lists no `models`; an OpenAI-compatible provider has no built-in catalog"),
            );
        }
        for (j, k) in c.api_key_entries.iter().enumerate() {
            let key_path = format!("{path}.api-key-entries[{j}]");
            let api_key = ctx.secret(&format!("{key_path}.api-key"), k.api_key.trim());
            credentials.push(Arc::new(Credential {
                id: credential_id(Provider::OpenAiCompat, &api_key, base_url.as_str()),
                label: format!("{path}.api-key-entries[{j}] ({})", c.name),
                provider: Provider::OpenAiCompat,
                compat_name: Some(c.name.clone()),
                auth: CredentialAuth::ApiKey(api_key),
                base_url: base_url.clone(),
                prefix: clean_prefix(c.prefix.as_deref()),
                headers: headers.clone(),
                proxy: ctx.proxy(&format!("{key_path}.proxy-url"), k.proxy_url.as_deref()),
                models: models.clone(),
                catalog_aliases: Vec::new(),
                excluded_models: Vec::new(),
                priority: 0,
            }));
        }
    }
    Config {
        host: raw
            .host
            .map_or_else(|| "127.0.0.1".to_string(), |h| h.trim().to_string()),
        port,
        tls,
        api_keys,
        auth_dir,
        secret_store,
        debug: raw.debug,
        proxy,
        request_retry: u32::try_from(request_retry).unwrap_or(u32::MAX),
        max_retry_interval: Duration::from_secs(max_retry_interval),
        strategy,
        remote_management: RemoteManagement {
            allow_remote: raw.remote_management.allow_remote,
            secret_key,
        },
        strict: raw.strict_config,
        browser_access: BrowserAccess {
            allowed_origins: raw.browser_access.allowed_origins,
            allowed_hosts: raw.browser_access.allowed_hosts,
        },
        shutdown_timeout: Duration::from_secs(shutdown_timeout),
        keepalive,
        usage,
        credentials,
        endpoints,
        account_models,
    }
}

fn clean_prefix(p: Option<&str>) -> Option<String> {
    p.map(|p| p.trim().trim_matches('/').to_string())
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "CLAUDE_KEY").then(|| "sk-from-env".to_string())
    }

    fn load(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        resolve(text, Path::new("/etc/switchyard"), &env)
    }

    fn errors(text: &str) -> Vec<String> {
        load(text)
            .expect_err("should not load")
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_empty_file_means_safe_defaults() {
        let c = load("").unwrap().config;
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 8317));
        assert_eq!(c.strategy, Strategy::RoundRobin);
        assert_eq!(c.request_retry, 3);
        assert!(c.credentials.is_empty());
    }

    #[test]
    fn a_cliproxyapi_style_file_resolves() {
        let text = r#"
host: ""
port: 9000
api-keys: ["k1", "k2"]
auth-dir: "auths"
routing: {strategy: fill-first}
claude-api-key:
  - api-key: os.environ/CLAUDE_KEY
    prefix: team/
    headers: {X-Custom: v}
    models: [{name: claude-sonnet-4-5, alias: sonnet}]
gemini-api-key:
  - api-key: AIza1
    excluded-models: ["gemini-2.5-*"]
openai-compatibility:
  - name: openrouter
    base-url: https://openrouter.ai/api/v1/
    api-key-entries: [{api-key: or-1}, {api-key: or-2, proxy-url: socks5://127.0.0.1:1080}]
    models: [{name: moonshotai/kimi-k2, alias: kimi}]
"#;
        let c = load(text).unwrap().config;
        assert_eq!(c.host, "");
        assert_eq!(c.auth_dir, PathBuf::from("/etc/switchyard/auths"));
        assert_eq!(c.strategy, Strategy::FillFirst);
        assert_eq!(c.credentials.len(), 4);
        let claude = &c.credentials[0];
        assert!(
            matches!(&claude.auth, CredentialAuth::ApiKey(k) if k.expose_secret() == "sk-from-env")
        );
        assert_eq!(claude.base_url.as_str(), "https://api.anthropic.com/");
        assert_eq!(claude.prefix.as_deref(), Some("team"));
        assert_eq!(claude.models[0].alias, "sonnet");
        let compat = &c.credentials[3];
        assert_eq!(compat.base_url.as_str(), "https://openrouter.ai/api/v1");
        assert_eq!(
            compat.proxy,
            Some(ProxySetting::Url("socks5://127.0.0.1:1080".into()))
        );
        assert_ne!(c.credentials[2].id, compat.id);
    }

    #[test]
    fn every_error_is_reported_with_line_and_column() {
        let got = errors(
            "port: 70000\nrouting:\n  strategy: random\nclaude-api-key:\n  - api-key: os.environ/MISSING\n    base-url: ftp://x\nproxy-url: gopher://p\n",
        );
        assert_eq!(
            got,
            vec![
                "1:7: error: `port` must be between 0 and 65535, found 70000",
                "3:13: error: `routing.strategy` must be round-robin or fill-first, found `random`",
                "5:14: error: `claude-api-key[0].api-key` reads environment variable MISSING, which is not set",
                "6:15: error: `claude-api-key[0].base-url` must be an http:// or https:// URL, found `ftp://x`",
                "7:12: error: `proxy-url` has scheme `gopher`; use http, https, socks5, socks5h or `direct`",
            ]
        );
    }

    #[test]
    fn unknown_keys_warn_unless_strict() {
        let loaded = load("prot: 1\npprof: {enable: true}\n").unwrap();
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            vec![
                "1:1: warning: unknown key `prot`",
                "2:1: warning: `pprof` is a CLIProxyAPI key Switchyard does not implement yet; ignored",
            ]
        );
        assert_eq!(
            errors("strict-config: true\nprot: 1\n"),
            vec!["2:1: error: unknown key `prot`"]
        );
    }

    #[test]
    fn ids_are_stable_and_do_not_reveal_keys() {
        let a = load("claude-api-key: [{api-key: secret-value}]")
            .unwrap()
            .config;
        let b = load("port: 1\nclaude-api-key: [{api-key: secret-value}]")
            .unwrap()
            .config;
        assert_eq!(a.credentials[0].id, b.credentials[0].id);
        assert!(!a.credentials[0].id.contains("secret"));
        assert!(!format!("{:?}", a.credentials[0]).contains("secret-value"));
    }
}
