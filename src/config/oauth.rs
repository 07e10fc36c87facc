//! `oauth-excluded-models` and `oauth-model-alias`: CLIProxyAPI's settings for logged-in accounts, keyed
//! by channel (`claude`, `codex`, `antigravity`, `kimi`, …). Switchyard logs in Claude and Codex
//! accounts; the other channels are accepted and reported as not applicable, so CLIProxyAPI files load
//! unchanged. Entries CLIProxyAPI drops silently (empty, self-renames, repeated aliases) are dropped
//! here too, with a warning saying so.

use std::collections::BTreeMap;

use super::raw::RawOAuthAlias;
use super::resolve::Ctx;
use super::{AccountModels, CatalogAlias, ModelAlias, Provider};

pub(super) fn resolve(
    ctx: &mut Ctx<'_>,
    excluded: &BTreeMap<String, Vec<String>>,
    aliases: &BTreeMap<String, Vec<RawOAuthAlias>>,
) -> BTreeMap<Provider, AccountModels> {
    let mut out: BTreeMap<Provider, AccountModels> = BTreeMap::new();
    for (key, patterns) in excluded {
        let Some(provider) = channel(ctx, "oauth-excluded-models", key) else {
            continue;
        };
        let patterns = patterns.iter().map(|p| p.trim()).filter(|p| !p.is_empty());
        out.entry(provider)
            .or_default()
            .excluded_models
            .extend(patterns.map(str::to_string));
    }
    for (key, entries) in aliases {
        let Some(provider) = channel(ctx, "oauth-model-alias", key) else {
            continue;
        };
        let list = &mut out.entry(provider).or_default().aliases;
        for (i, e) in entries.iter().enumerate() {
            let path = format!("oauth-model-alias.{key}[{i}]");
            let (name, alias) = (e.name.trim(), e.alias.trim());
            if name.is_empty() || alias.is_empty() {
                ctx.warning(
                    &path,
                    format!("`{path}` needs both `name` and `alias`; skipped"),
                );
            } else if name.eq_ignore_ascii_case(alias) {
                ctx.warning(
                    &path,
                    format!("`{path}` renames `{name}` to itself; skipped"),
                );
            } else if let Some(first) = list
                .iter()
                .find(|a| a.model.alias.eq_ignore_ascii_case(alias))
            {
                ctx.warning(
                    &path,
                    format!(
                        "`{path}`: `{alias}` already names `{}`; skipped (the first one wins, as in CLIProxyAPI)",
                        first.model.name
                    ),
                );
            } else {
                list.push(CatalogAlias {
                    model: ModelAlias {
                        name: name.to_string(),
                        alias: alias.to_string(),
                    },
                    fork: e.fork,
                });
            }
        }
    }
    out
}

/// The kind of account a channel key names (trimmed and case-insensitive, as CLIProxyAPI reads it), or
/// `None` after saying that Switchyard has no such accounts.
fn channel(ctx: &mut Ctx<'_>, key: &str, channel: &str) -> Option<Provider> {
    match channel.trim().to_ascii_lowercase().as_str() {
        "claude" => Some(Provider::Claude),
        "codex" => Some(Provider::Codex),
        _ => {
            let path = format!("{key}.{channel}");
            ctx.warning(
                &path,
                format!("`{path}`: Switchyard logs in only claude and codex accounts; ignored"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Diagnostic, Loaded, Severity};

    fn load(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
        load_str(text, std::path::Path::new("/"), &|_| None)
    }

    fn alias(name: &str, alias: &str, fork: bool) -> CatalogAlias {
        CatalogAlias {
            model: ModelAlias {
                name: name.into(),
                alias: alias.into(),
            },
            fork,
        }
    }

    /// CLIProxyAPI's own example of both keys (config.example.yaml, uncommented) loads unchanged.
    const CLIPROXYAPI: &str = r#"
oauth-model-alias:
  vertex:
    - name: "gemini-2.5-pro"
      alias: "g2.5p"
  antigravity:
    - name: "gemini-pro-agent"
      alias: "gemini-3.1-pro-preview"
      display-name: "Antigravity Gemini 3.1 Pro"
      fork: true
      force-mapping: true
  claude:
    - name: "claude-sonnet-4-5-20250929"
      alias: "cs4.5"
  codex:
    - name: "gpt-5"
      alias: "g5"
  kimi:
    - name: "kimi-k2.5"
      alias: "k2.5"
oauth-excluded-models:
  aistudio:
    - "gemini-3-pro-preview"
  claude:
    - "claude-3-5-haiku-20241022"
  codex:
    - "gpt-5-codex-mini"
"#;

    #[test]
    fn a_cliproxyapi_file_with_both_keys_loads_and_keeps_claude_and_codex() {
        let loaded = load(CLIPROXYAPI).unwrap();
        let m = &loaded.config.account_models;
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[&Provider::Claude],
            AccountModels {
                excluded_models: vec!["claude-3-5-haiku-20241022".into()],
                aliases: vec![alias("claude-sonnet-4-5-20250929", "cs4.5", false)],
            }
        );
        assert_eq!(
            m[&Provider::Codex].aliases,
            vec![alias("gpt-5", "g5", false)]
        );
        assert_eq!(
            m[&Provider::Codex].excluded_models,
            vec!["gpt-5-codex-mini"]
        );
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            vec![
                "4:5: warning: `oauth-model-alias.vertex`: Switchyard logs in only claude and codex accounts; ignored",
                "7:5: warning: `oauth-model-alias.antigravity`: Switchyard logs in only claude and codex accounts; ignored",
                "9:7: warning: `oauth-model-alias.antigravity[0].display-name` is a CLIProxyAPI key Switchyard does not implement yet; ignored",
                "11:7: warning: `oauth-model-alias.antigravity[0].force-mapping` is a CLIProxyAPI key Switchyard does not implement yet; ignored",
                "19:5: warning: `oauth-model-alias.kimi`: Switchyard logs in only claude and codex accounts; ignored",
                "23:5: warning: `oauth-excluded-models.aistudio`: Switchyard logs in only claude and codex accounts; ignored",
            ]
        );
    }

    #[test]
    fn channels_are_case_insensitive_and_fork_is_kept() {
        let loaded = load(
            "oauth-model-alias:\n  Codex:\n    - {name: gpt-5.1-codex, alias: codex-latest, fork: true}\n  ' claude ':\n    - {name: claude-opus-4-5-20251101, alias: opus}\noauth-excluded-models:\n  CODEX: [' gpt-5-codex-mini ', '']\n",
        )
        .unwrap();
        let m = &loaded.config.account_models;
        assert_eq!(
            m[&Provider::Codex].aliases,
            vec![alias("gpt-5.1-codex", "codex-latest", true)]
        );
        assert_eq!(
            m[&Provider::Codex].excluded_models,
            vec!["gpt-5-codex-mini"]
        );
        assert_eq!(
            m[&Provider::Claude].aliases,
            vec![alias("claude-opus-4-5-20251101", "opus", false)]
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn entries_cliproxyapi_drops_are_dropped_with_a_warning() {
        let loaded = load(
            "oauth-model-alias:\n  codex:\n    - {name: gpt-5, alias: g5}\n    - {name: gpt-5.1, alias: G5}\n    - {name: gpt-5, alias: GPT-5}\n    - {name: gpt-5}\n",
        )
        .unwrap();
        assert_eq!(
            loaded.config.account_models[&Provider::Codex].aliases,
            vec![alias("gpt-5", "g5", false)]
        );
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            vec![
                "4:7: warning: `oauth-model-alias.codex[1]`: `G5` already names `gpt-5`; skipped (the first one wins, as in CLIProxyAPI)",
                "5:7: warning: `oauth-model-alias.codex[2]` renames `gpt-5` to itself; skipped",
                "6:7: warning: `oauth-model-alias.codex[3]` needs both `name` and `alias`; skipped",
            ]
        );
    }

    #[test]
    fn bad_shapes_are_errors_with_their_key_path() {
        let errors: Vec<String> = load(
            "oauth-excluded-models:\n  codex: gpt-5\noauth-model-alias:\n  claude:\n    - {name: [x], alias: y, fork: maybe}\n  codex: {name: gpt-5}\n",
        )
        .expect_err("should not load")
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            errors,
            vec![
                "2:10: error: `oauth-excluded-models.codex` must be a list, found a string",
                "5:14: error: `oauth-model-alias.claude[0].name` must be a string, found a list",
                "5:35: error: `oauth-model-alias.claude[0].fork` must be true or false, found a string",
                "6:10: error: `oauth-model-alias.codex` must be a list, found a mapping",
            ]
        );
        assert_eq!(
            load("oauth-model-alias: [codex]\n").unwrap_err()[0].to_string(),
            "1:20: error: `oauth-model-alias` must be a mapping of names to values, found a list"
        );
    }
}
