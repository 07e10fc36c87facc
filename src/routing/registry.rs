//! The model registry: which client-visible model names the config serves, and through which credentials.
//! Built once per config snapshot, so a request only does a map lookup.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::config::{CatalogAlias, Config, Credential, Provider};
use crate::providers::builtin_models;

/// One way to serve a model: a credential and the name the upstream is asked for.
#[derive(Debug, Clone)]
pub struct Route {
    pub cred: Arc<Credential>,
    pub upstream_model: String,
}

/// A model as clients see it.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The name clients ask for (an alias, possibly `prefix/`-qualified).
    pub id: String,
    pub display_name: String,
    pub created: u64,
    pub routes: Vec<Route>,
}

impl ModelEntry {
    /// Who serves this model, for listings (`owned_by`).
    pub fn owner(&self) -> &str {
        match self.routes.first() {
            Some(r) => match r.cred.provider {
                Provider::Claude => "anthropic",
                Provider::Codex => "openai",
                Provider::Gemini => "google",
                Provider::OpenAiCompat => {
                    r.cred.compat_name.as_deref().unwrap_or("openai-compatible")
                }
            },
            None => "switchyard",
        }
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    models: IndexMap<String, ModelEntry>,
}

impl Registry {
    pub fn build(config: &Config) -> Registry {
        Self::with_accounts(config, &[])
    }

    /// The config's keys and then the logged-in accounts' credentials.
    pub fn with_accounts(config: &Config, accounts: &[Arc<Credential>]) -> Registry {
        let mut reg = Registry::default();
        for cred in config.credentials.iter().chain(accounts) {
            for Served {
                alias,
                name,
                display,
                created,
            } in served(cred)
            {
                if is_excluded(&cred.excluded_models, &alias)
                    || is_excluded(&cred.excluded_models, &name)
                {
                    continue;
                }
                let route = Route {
                    cred: cred.clone(),
                    upstream_model: name,
                };
                // A prefixed credential answers both `prefix/model` and plain `model`, as in CLIProxyAPI.
                if let Some(prefix) = &cred.prefix {
                    reg.add(
                        format!("{prefix}/{alias}"),
                        &display,
                        created,
                        route.clone(),
                    );
                }
                reg.add(alias, &display, created, route);
            }
        }
        reg
    }

    fn add(&mut self, id: String, display: &str, created: u64, route: Route) {
        self.models
            .entry(id.clone())
            .or_insert_with(|| ModelEntry {
                id,
                display_name: display.to_string(),
                created,
                routes: Vec::new(),
            })
            .routes
            .push(route);
    }

    pub fn get(&self, model: &str) -> Option<&ModelEntry> {
        self.models.get(model)
    }

    /// Every served model, in config order.
    pub fn models(&self) -> impl Iterator<Item = &ModelEntry> {
        self.models.values()
    }
}

/// A name a credential serves, before exclusions and prefixes.
struct Served {
    /// What clients ask for.
    alias: String,
    /// What the upstream is asked for.
    name: String,
    display: String,
    created: u64,
}

/// The names `cred` offers: its `models` list, or else the built-in catalog with its `catalog_aliases`
/// applied as CLIProxyAPI applies `oauth-model-alias` (an alias replaces the catalog name unless an
/// entry for that name forks; one name may have several aliases). An alias of a model missing from
/// the catalog is served too: the user named the upstream model, and the catalog is a snapshot.
fn served(cred: &Credential) -> Vec<Served> {
    if !cred.models.is_empty() {
        return cred
            .models
            .iter()
            .map(|m| Served {
                alias: m.alias.clone(),
                name: m.name.clone(),
                display: m.alias.clone(),
                created: 0,
            })
            .collect();
    }
    let catalog = builtin_models(cred.provider);
    let mut bases: Vec<(String, String, u64)> = catalog
        .iter()
        .map(|m| (m.id.to_string(), m.display_name.to_string(), m.created))
        .collect();
    for a in &cred.catalog_aliases {
        if !bases
            .iter()
            .any(|(id, ..)| id.eq_ignore_ascii_case(&a.model.name))
        {
            bases.push((a.model.name.clone(), a.model.name.clone(), 0));
        }
    }
    let mut out = Vec::new();
    for (id, display, created) in bases {
        let renames: Vec<&CatalogAlias> = cred
            .catalog_aliases
            .iter()
            .filter(|a| a.model.name.eq_ignore_ascii_case(&id))
            .collect();
        let names = renames.iter().map(|a| a.model.alias.clone());
        let keep = renames.is_empty() || renames.iter().any(|a| a.fork);
        for alias in keep.then(|| id.clone()).into_iter().chain(names) {
            out.push(Served {
                alias,
                name: id.clone(),
                display: display.clone(),
                created,
            });
        }
    }
    out
}

/// CLIProxyAPI's `excluded-models` patterns: exact, `prefix*`, `*suffix` or `*substring*`, ignoring
/// case as CLIProxyAPI does (it lower-cases patterns and names alike).
pub fn is_excluded(patterns: &[String], model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    patterns
        .iter()
        .any(|p| wildcard(&p.trim().to_ascii_lowercase(), &model))
}

fn wildcard(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use std::path::Path;

    fn registry(yaml: &str) -> Registry {
        let loaded = load_str(yaml, Path::new("/"), &|_| None).unwrap();
        Registry::build(&loaded.config)
    }

    #[test]
    fn wildcards_match_like_cliproxyapi() {
        let p = |s: &str| vec![s.to_string()];
        assert!(is_excluded(&p("gemini-2.5-*"), "gemini-2.5-pro"));
        assert!(is_excluded(&p("*-preview"), "gemini-3-pro-preview"));
        assert!(is_excluded(&p("*flash*"), "gemini-2.5-flash-lite"));
        assert!(is_excluded(&p("gpt-5"), "gpt-5"));
        assert!(!is_excluded(&p("gpt-5"), "gpt-5.1"));
        assert!(!is_excluded(&p("a*b*c"), "ac"));
        assert!(is_excluded(&p("a*b*c"), "a-b-c"));
        assert!(is_excluded(&p("GPT-5*"), "gpt-5.1"));
        assert!(is_excluded(&p("gpt-5"), "GPT-5"));
    }

    #[test]
    fn aliases_prefixes_catalogs_and_exclusions() {
        let reg = registry(
            r#"
claude-api-key:
  - api-key: k1
    models: [{name: claude-sonnet-4-5-20250929, alias: sonnet}]
  - api-key: k2
    prefix: team
    models: [{name: claude-sonnet-4-5-20250929, alias: sonnet}]
gemini-api-key:
  - api-key: g1
    excluded-models: ["*-pro*"]
"#,
        );
        let sonnet = reg.get("sonnet").unwrap();
        assert_eq!(sonnet.routes.len(), 2);
        assert_eq!(
            sonnet.routes[0].upstream_model,
            "claude-sonnet-4-5-20250929"
        );
        assert_eq!(reg.get("team/sonnet").unwrap().routes.len(), 1);
        assert!(
            reg.get("claude-sonnet-4-5-20250929").is_none(),
            "an alias hides the raw name"
        );
        assert!(
            reg.get("gemini-2.5-flash").is_some(),
            "no models list: the built-in catalog"
        );
        assert!(reg.get("gemini-2.5-pro").is_none(), "excluded");
        assert_eq!(reg.get("gemini-2.5-flash").unwrap().owner(), "google");
    }
}
