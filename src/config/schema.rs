//! The config keys Switchyard knows: the ones it honours, with their types, and CLIProxyAPI's keys it accepts
//! but does not implement yet. Walking a document against this table yields every type error and every
//! unknown key with its position, and the JSON that serde then reads.

use serde_json::{Map, Value};

use super::yaml::{Node, Pos};

#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Int,
    Bool,
    List(&'static Ty),
    /// A mapping of free-form names (header names, account channels) to values of one type.
    Map(&'static Ty),
    Obj(&'static [Field]),
    /// A CLIProxyAPI key we accept unchanged but do not act on yet.
    Ignored,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub ty: Ty,
}

const fn f(key: &'static str, ty: Ty) -> Field {
    Field { key, ty }
}

const fn ignored(key: &'static str) -> Field {
    Field {
        key,
        ty: Ty::Ignored,
    }
}

const STRINGS: Ty = Ty::List(&Ty::Str);

const MODEL: &[Field] = &[
    f("name", Ty::Str),
    f("alias", Ty::Str),
    ignored("display-name"),
    ignored("max-context-length"),
    ignored("force-mapping"),
    ignored("is-compat"),
    ignored("thinking"),
];

const MODELS: Ty = Ty::List(&Ty::Obj(MODEL));

/// Per-key fields CLIProxyAPI has that we do not implement yet (shared by every key list).
const KEY_ENTRY: &[Field] = &[
    f("api-key", Ty::Str),
    f("base-url", Ty::Str),
    f("prefix", Ty::Str),
    f("headers", Ty::Map(&Ty::Str)),
    f("proxy-url", Ty::Str),
    f("models", MODELS),
    f("excluded-models", STRINGS),
    ignored("weight"),
    ignored("priority"),
    ignored("disable-cooling"),
    ignored("request-retry"),
    ignored("request-scoped-errors"),
    ignored("alpha-search"),
    ignored("websockets"),
    ignored("cloak"),
    ignored("rebuild-mid-system-message"),
];

const COMPAT_KEY: &[Field] = &[f("api-key", Ty::Str), f("proxy-url", Ty::Str)];

const COMPAT: &[Field] = &[
    f("name", Ty::Str),
    f("base-url", Ty::Str),
    f("prefix", Ty::Str),
    f("headers", Ty::Map(&Ty::Str)),
    f("api-key-entries", Ty::List(&Ty::Obj(COMPAT_KEY))),
    f("models", MODELS),
    ignored("priority"),
    ignored("weight"),
    ignored("disabled"),
    ignored("disable-cooling"),
    ignored("request-retry"),
    ignored("request-scoped-errors"),
    ignored("excluded-models"),
];

/// One `oauth-model-alias.<channel>[]` entry: a built-in catalog model offered under another name.
const OAUTH_ALIAS: &[Field] = &[
    f("name", Ty::Str),
    f("alias", Ty::Str),
    f("fork", Ty::Bool),
    ignored("display-name"),
    ignored("force-mapping"),
];

const TLS: &[Field] = &[f("enable", Ty::Bool), f("cert", Ty::Str), f("key", Ty::Str)];

const ROUTING: &[Field] = &[
    f("strategy", Ty::Str),
    ignored("session-affinity"),
    ignored("session-affinity-ttl"),
    ignored("session-affinity-subagents"),
];

const REMOTE_MANAGEMENT: &[Field] = &[
    f("allow-remote", Ty::Bool),
    f("secret-key", Ty::Str),
    ignored("disable-control-panel"),
    ignored("disable-auto-update-panel"),
    ignored("panel-github-repository"),
];

const STREAMING: &[Field] = &[
    f("keepalive-seconds", Ty::Int),
    ignored("bootstrap-retries"),
];

const BROWSER_ACCESS: &[Field] = &[f("allowed-origins", STRINGS), f("allowed-hosts", STRINGS)];

const CLAUDE_ENDPOINTS: &[Field] = &[
    f("authorize", Ty::Str),
    f("token", Ty::Str),
    f("api", Ty::Str),
    f("usage", Ty::Str),
    f("callback-port", Ty::Int),
];

const CODEX_ENDPOINTS: &[Field] = &[
    f("authorize", Ty::Str),
    f("token", Ty::Str),
    f("device-code", Ty::Str),
    f("device-token", Ty::Str),
    f("api", Ty::Str),
    f("usage", Ty::Str),
    f("callback-port", Ty::Int),
];

const ENDPOINTS: &[Field] = &[
    f("claude", Ty::Obj(CLAUDE_ENDPOINTS)),
    f("codex", Ty::Obj(CODEX_ENDPOINTS)),
];

pub const ROOT: &[Field] = &[
    f("host", Ty::Str),
    f("port", Ty::Int),
    f("tls", Ty::Obj(TLS)),
    f("api-keys", STRINGS),
    f("auth-dir", Ty::Str),
    f("secret-store", Ty::Str),
    f("debug", Ty::Bool),
    f("proxy-url", Ty::Str),
    f("request-retry", Ty::Int),
    f("max-retry-interval", Ty::Int),
    f("routing", Ty::Obj(ROUTING)),
    f("remote-management", Ty::Obj(REMOTE_MANAGEMENT)),
    f("strict-config", Ty::Bool),
    f("browser-access", Ty::Obj(BROWSER_ACCESS)),
    f("shutdown-timeout", Ty::Int),
    f("usage-statistics-enabled", Ty::Bool),
    f("usage-database-path", Ty::Str),
    f("usage-retention-days", Ty::Int),
    f("request-log", Ty::Bool),
    f("request-log-max-mb", Ty::Int),
    f("metrics-key", Ty::Str),
    f("streaming", Ty::Obj(STREAMING)),
    f("claude-api-key", Ty::List(&Ty::Obj(KEY_ENTRY))),
    f("codex-api-key", Ty::List(&Ty::Obj(KEY_ENTRY))),
    f("gemini-api-key", Ty::List(&Ty::Obj(KEY_ENTRY))),
    f("openai-compatibility", Ty::List(&Ty::Obj(COMPAT))),
    f("endpoints", Ty::Obj(ENDPOINTS)),
    f("oauth-excluded-models", Ty::Map(&STRINGS)),
    f(
        "oauth-model-alias",
        Ty::Map(&Ty::List(&Ty::Obj(OAUTH_ALIAS))),
    ),
    // CLIProxyAPI keys accepted as they are and reported once as not implemented yet.
    ignored("pprof"),
    ignored("commercial-mode"),
    ignored("logging-to-file"),
    ignored("logs-max-total-size-mb"),
    ignored("error-logs-max-files"),
    ignored("redis-usage-queue-retention-seconds"),
    ignored("force-model-prefix"),
    ignored("passthrough-headers"),
    ignored("max-retry-credentials"),
    ignored("disable-cooling"),
    ignored("save-cooldown-status"),
    ignored("transient-error-cooldown-seconds"),
    ignored("disable-claude-cloak-mode"),
    ignored("claude-code"),
    ignored("disable-image-generation"),
    ignored("gpt-image-2-base-model"),
    ignored("video-result-auth-cache-ttl"),
    ignored("auth-auto-refresh-workers"),
    ignored("quota-exceeded"),
    ignored("codex"),
    ignored("antigravity"),
    ignored("xai"),
    ignored("ws-auth"),
    ignored("nonstream-keepalive-interval"),
    ignored("antigravity-signature-cache-enabled"),
    ignored("antigravity-signature-bypass-strict"),
    ignored("interactions-api-key"),
    ignored("xai-api-key"),
    ignored("vertex-api-key"),
    ignored("payload"),
    ignored("plugins"),
    ignored("credential-concurrency"),
    ignored("credential-in-flight"),
    ignored("ampcode"),
    ignored("kiro"),
    ignored("kimi"),
    ignored("home"),
    ignored("logging"),
];

/// What walking a document found.
#[derive(Debug, Default)]
pub struct Walk {
    pub errors: Vec<(Pos, String)>,
    /// Keys not in the table at all: typos, or keys of a newer CLIProxyAPI.
    pub unknown: Vec<(Pos, String)>,
    /// CLIProxyAPI keys we accept and do not act on.
    pub ignored: Vec<(Pos, String)>,
}

/// Checks `node` against `fields` and returns the JSON serde will read. Scalars are coerced into strings
/// where a string is expected, as Go's YAML decoder does, so `api-key: 12345` keeps loading.
pub fn walk(fields: &'static [Field], node: &Node, walk: &mut Walk) -> Value {
    check(&Ty::Obj(fields), node, "", walk)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check(ty: &Ty, node: &Node, path: &str, w: &mut Walk) -> Value {
    let mismatch = |w: &mut Walk, want: &str| {
        w.errors.push((
            node.pos(),
            format!("`{path}` must be {want}, found {}", node.kind()),
        ));
        Value::Null
    };
    // An explicit null means "not set" for every key: the default applies.
    if let Node::Null(_) = node {
        return Value::Null;
    }
    match (ty, node) {
        (Ty::Ignored, _) => Value::Null,
        (Ty::Str, Node::Str(s, _)) => Value::String(s.clone()),
        (Ty::Str, Node::Int(i, _)) => Value::String(i.to_string()),
        (Ty::Str, Node::Float(x, _)) => Value::String(x.to_string()),
        (Ty::Str, Node::Bool(b, _)) => Value::String(b.to_string()),
        (Ty::Str, _) => mismatch(w, "a string"),
        (Ty::Int, Node::Int(i, _)) => Value::Number((*i).into()),
        (Ty::Int, _) => mismatch(w, "an integer"),
        (Ty::Bool, Node::Bool(b, _)) => Value::Bool(*b),
        (Ty::Bool, _) => mismatch(w, "true or false"),
        (Ty::List(inner), Node::Seq(items, _)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| check(inner, item, &format!("{path}[{i}]"), w))
                .collect(),
        ),
        (Ty::List(_), _) => mismatch(w, "a list"),
        (Ty::Map(inner), Node::Map(entries, _)) => {
            let mut m = Map::new();
            for (k, _, v) in entries {
                let value = check(inner, v, &join(path, k), w);
                if !value.is_null() {
                    m.insert(k.clone(), value);
                }
            }
            Value::Object(m)
        }
        (Ty::Map(_), _) => mismatch(w, "a mapping of names to values"),
        (Ty::Obj(fields), Node::Map(entries, _)) => {
            let mut m = Map::new();
            for (k, key_pos, v) in entries {
                let child = join(path, k);
                match fields.iter().find(|f| f.key == k) {
                    Some(Field {
                        ty: Ty::Ignored, ..
                    }) => w.ignored.push((*key_pos, child)),
                    Some(field) => {
                        let value = check(&field.ty, v, &child, w);
                        if !value.is_null() {
                            m.insert(k.clone(), value);
                        }
                    }
                    None => w.unknown.push((*key_pos, child)),
                }
            }
            Value::Object(m)
        }
        (Ty::Obj(_), _) => mismatch(w, "a mapping"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn run(text: &str) -> (Value, Walk) {
        let mut w = Walk::default();
        let v = walk(ROOT, &parse(text).unwrap(), &mut w);
        (v, w)
    }

    #[test]
    fn every_type_error_is_reported_with_its_position() {
        let (_, w) = run("port: eighty\ndebug: maybe\nclaude-api-key:\n  - api-key: [1]\n");
        let got: Vec<String> = w.errors.iter().map(|(p, m)| format!("{p} {m}")).collect();
        assert_eq!(
            got,
            vec![
                "1:7 `port` must be an integer, found a string",
                "2:8 `debug` must be true or false, found a string",
                "4:14 `claude-api-key[0].api-key` must be a string, found a list",
            ]
        );
    }

    #[test]
    fn unknown_and_ignored_keys_are_told_apart() {
        let (v, w) = run("prot: 1\npprof: {enable: true}\nrouting: {strategy: fill-first, session-affinity: true}\n");
        assert_eq!(w.unknown, vec![(Pos { line: 1, col: 1 }, "prot".into())]);
        let ignored: Vec<&str> = w.ignored.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(ignored, vec!["pprof", "routing.session-affinity"]);
        assert_eq!(v["routing"]["strategy"], "fill-first");
        assert!(v.get("pprof").is_none());
    }

    /// Every key path Switchyard honours, e.g. `claude-api-key[].models[].alias`.
    fn honoured(fields: &[Field], path: &str, out: &mut Vec<String>) {
        for f in fields {
            let here = if path.is_empty() {
                f.key.to_string()
            } else {
                format!("{path}.{}", f.key)
            };
            match f.ty {
                Ty::Ignored => continue,
                Ty::Obj(inner) => honoured(inner, &here, out),
                Ty::List(Ty::Obj(inner)) => honoured(inner, &format!("{here}[]"), out),
                Ty::Map(Ty::List(Ty::Obj(inner))) => {
                    honoured(inner, &format!("{here}.<name>[]"), out)
                }
                _ => {}
            }
            out.push(here);
        }
    }

    #[test]
    fn the_example_config_loads_cleanly_and_documents_every_honoured_key() {
        let text = include_str!("../../config.example.yaml");
        let loaded =
            crate::config::load_str(text, std::path::Path::new("/"), &|_| Some("x".into()))
                .expect("config.example.yaml loads");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let mut keys = Vec::new();
        honoured(ROOT, "", &mut keys);
        for key in keys {
            let leaf = key.rsplit(['.', ']']).next().unwrap_or(&key);
            let documented = text.lines().any(|l| {
                let l = l.trim_start().trim_start_matches(['#', '-', ' ']);
                l.starts_with(&format!("{leaf}:")) || l.contains(&format!("{{{leaf}:"))
            });
            assert!(documented, "config.example.yaml does not document `{key}`");
        }
    }

    #[test]
    fn scalars_become_strings_where_strings_are_expected() {
        let (v, w) = run("api-keys: [12345, true]\n");
        assert!(w.errors.is_empty());
        assert_eq!(v["api-keys"], serde_json::json!(["12345", "true"]));
    }
}
