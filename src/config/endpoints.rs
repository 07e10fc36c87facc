//! `endpoints:`: where the Claude and Codex OAuth and API servers are. The defaults are the real
//! providers; tests point them at a local mock, companies at their gateway.

use url::Url;

use super::raw::RawProviderEndpoints;
use super::resolve::Ctx;

/// The loopback port Claude Code's OAuth client is registered with.
pub const CLAUDE_CALLBACK_PORT: u16 = 54545;
/// The loopback port Codex CLI's OAuth client is registered with.
pub const CODEX_CALLBACK_PORT: u16 = 1455;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeEndpoints {
    pub authorize: Url,
    pub token: Url,
    /// Stored for the executors (not used by login).
    pub api: Url,
    pub usage: Url,
    /// The loopback callback port; 0 takes any free port (tests only: the real provider accepts
    /// only its registered redirect URI).
    pub callback_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexEndpoints {
    pub authorize: Url,
    pub token: Url,
    pub device_code: Url,
    pub device_token: Url,
    pub api: Url,
    pub usage: Url,
    pub callback_port: u16,
}

/// Provider endpoints, resolved and parsed once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub claude: ClaudeEndpoints,
    pub codex: CodexEndpoints,
}

/// Only for the built-in constants below, which the defaults test parses.
fn parse_default(s: &str) -> Url {
    Url::parse(s).expect("built-in endpoint URLs are valid")
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            claude: ClaudeEndpoints {
                authorize: parse_default("https://claude.ai/oauth/authorize"),
                token: parse_default("https://platform.claude.com/v1/oauth/token"),
                api: parse_default("https://api.anthropic.com"),
                usage: parse_default("https://api.anthropic.com/api/oauth/usage"),
                callback_port: CLAUDE_CALLBACK_PORT,
            },
            codex: CodexEndpoints {
                authorize: parse_default("https://auth.openai.com/oauth/authorize"),
                token: parse_default("https://auth.openai.com/oauth/token"),
                device_code: parse_default(
                    "https://auth.openai.com/api/accounts/deviceauth/usercode",
                ),
                device_token: parse_default(
                    "https://auth.openai.com/api/accounts/deviceauth/token",
                ),
                api: parse_default("https://chatgpt.com/backend-api/codex"),
                usage: parse_default("https://chatgpt.com/backend-api/wham/usage"),
                callback_port: CODEX_CALLBACK_PORT,
            },
        }
    }
}

/// One URL key: the configured value when it is a good http(s) URL, else the default (after an error).
fn url(ctx: &mut Ctx<'_>, path: &str, value: Option<&str>, default: &Url) -> Url {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => default.clone(),
        Some(v) => ctx
            .base_url(path, Some(v), "")
            .unwrap_or_else(|| default.clone()),
    }
}

fn port(ctx: &mut Ctx<'_>, path: &str, value: Option<i64>, default: u16) -> u16 {
    match value {
        None => default,
        Some(p) => u16::try_from(p).unwrap_or_else(|_| {
            ctx.error(
                path,
                format!("`{path}` must be between 0 and 65535, found {p}"),
            );
            default
        }),
    }
}

pub(super) fn resolve(
    ctx: &mut Ctx<'_>,
    claude: &RawProviderEndpoints,
    codex: &RawProviderEndpoints,
) -> Endpoints {
    let d = Endpoints::default();
    let claude_port = port(
        ctx,
        "endpoints.claude.callback-port",
        claude.callback_port,
        d.claude.callback_port,
    );
    let codex_port = port(
        ctx,
        "endpoints.codex.callback-port",
        codex.callback_port,
        d.codex.callback_port,
    );
    let mut u = |key: &str, value: &Option<String>, default: &Url| {
        url(ctx, &format!("endpoints.{key}"), value.as_deref(), default)
    };
    let claude = ClaudeEndpoints {
        authorize: u("claude.authorize", &claude.authorize, &d.claude.authorize),
        token: u("claude.token", &claude.token, &d.claude.token),
        api: u("claude.api", &claude.api, &d.claude.api),
        usage: u("claude.usage", &claude.usage, &d.claude.usage),
        callback_port: claude_port,
    };
    let codex = CodexEndpoints {
        authorize: u("codex.authorize", &codex.authorize, &d.codex.authorize),
        token: u("codex.token", &codex.token, &d.codex.token),
        device_code: u(
            "codex.device-code",
            &codex.device_code,
            &d.codex.device_code,
        ),
        device_token: u(
            "codex.device-token",
            &codex.device_token,
            &d.codex.device_token,
        ),
        api: u("codex.api", &codex.api, &d.codex.api),
        usage: u("codex.usage", &codex.usage, &d.codex.usage),
        callback_port: codex_port,
    };
    Endpoints { claude, codex }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Endpoints, Vec<String>> {
        crate::config::load_str(text, std::path::Path::new("/"), &|_| None)
            .map(|l| l.config.endpoints.clone())
            .map_err(|p| p.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn defaults_are_the_real_providers() {
        let e = load("port: 1\n").unwrap();
        assert_eq!(e, Endpoints::default());
        assert_eq!(
            e.claude.authorize.as_str(),
            "https://claude.ai/oauth/authorize"
        );
        assert_eq!(
            e.codex.token.as_str(),
            "https://auth.openai.com/oauth/token"
        );
        assert_eq!(e.claude.callback_port, 54545);
        assert_eq!(e.codex.callback_port, 1455);
    }

    #[test]
    fn overrides_apply_and_bad_values_are_reported_with_positions() {
        let e = load(
            "endpoints:\n  claude:\n    token: http://127.0.0.1:9/oauth/claude/token\n    callback-port: 0\n  codex:\n    device-code: http://127.0.0.1:9/dc\n",
        )
        .unwrap();
        assert_eq!(
            e.claude.token.as_str(),
            "http://127.0.0.1:9/oauth/claude/token"
        );
        assert_eq!(e.claude.callback_port, 0);
        assert_eq!(e.codex.device_code.as_str(), "http://127.0.0.1:9/dc");
        assert_eq!(e.codex.token, Endpoints::default().codex.token);

        let errors = load(
            "endpoints:\n  claude:\n    token: ftp://x/y\n  codex:\n    callback-port: 70000\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "3:12: error: `endpoints.claude.token` must be an http:// or https:// URL"
            ),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with(
                "5:20: error: `endpoints.codex.callback-port` must be between 0 and 65535"
            ),
            "{errors:?}"
        );
    }
}
