//! From a requested model to a committed upstream response: pick candidates, order them by strategy, send,
//! and on a retryable failure before the first byte cool the credential down and try the next.

mod cooldown;
mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use tokio::time::Instant;

use crate::accounts::refresh::TokenSource;
use crate::accounts::AccountId;
use crate::config::{Config, Credential, CredentialAuth, Provider, Strategy};
use crate::providers::{self, native_format, Call, HttpClients, Outbound, Path, ToolNames};
use crate::translate::{self, ir, StreamOptions, TranslateError};
use crate::usage::Ledger;
use crate::wire::body::JsonBody;
use crate::wire::Format;

pub use cooldown::{Cooldowns, Failure, Resting};
pub use registry::{is_excluded, ModelEntry, Registry, Route};

/// The largest upstream error body we hold in memory to relay to the client.
const MAX_ERROR_BODY: usize = 1 << 20;

/// A request, decoded just enough to route it.
pub struct Request<'a> {
    pub format: Format,
    pub call: Call,
    /// The model as the client named it.
    pub model: &'a str,
    pub gemini_sse: bool,
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: RequestBody,
}

/// The client's request body, prepared per route: rewritten in place for the passthrough path, decoded
/// once into the IR (on first need) and encoded per provider for the translation path.
pub struct RequestBody {
    raw: Bytes,
    /// The parsed JSON of JSON endpoints; `None` for Gemini, whose model is in the URL.
    json: Option<JsonBody>,
    ir: Option<ir::Request>,
}

impl RequestBody {
    pub fn json(raw: Bytes, json: JsonBody) -> Self {
        RequestBody {
            raw,
            json: Some(json),
            ir: None,
        }
    }

    pub fn raw(raw: Bytes) -> Self {
        RequestBody {
            raw,
            json: None,
            ir: None,
        }
    }

    /// The body exactly as the client sent it.
    pub fn bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The bytes to send as they are, with `model` set to the upstream's name.
    fn passthrough(&mut self, upstream_model: &str) -> Bytes {
        match &mut self.json {
            Some(body) => {
                body.set_str("model", upstream_model);
                Bytes::from(body.to_bytes())
            }
            None => self.raw.clone(),
        }
    }

    /// `stream_options.include_usage` of an OpenAI Chat or Completions request, read from the already
    /// parsed top level instead of parsing the whole body a second time.
    fn include_usage(&self) -> bool {
        #[derive(serde::Deserialize)]
        struct StreamOptions {
            include_usage: Option<bool>,
        }
        self.json
            .as_ref()
            .and_then(|j| j.field::<StreamOptions>("stream_options"))
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The request encoded for `provider`, decoding the client's body the first time it is needed. Also
    /// returns the tool names the provider's adaptation shortened, to restore them in the answer.
    fn translated(
        &mut self,
        client: Format,
        client_model: &str,
        provider: Provider,
        upstream_model: &str,
        upstream_stream: bool,
    ) -> Result<(Bytes, ToolNames), TranslateError> {
        let upstream = native_format(provider);
        if self.ir.is_none() {
            let decoded = translate::decode_request(client, &self.raw, Some(client_model));
            // The decoder knows only the client's format; the feature is refused by this upstream.
            let decoded = decoded.map_err(|e| match e {
                TranslateError::Unsupported { feature, .. } => TranslateError::Unsupported {
                    feature,
                    target: upstream,
                },
                other => other,
            })?;
            self.ir = Some(decoded);
        }
        let Some(ir) = self.ir.as_mut() else {
            return Err(TranslateError::Invalid(
                "the request could not be decoded".into(),
            ));
        };
        ir.model = upstream_model.to_string();
        ir.stream = upstream_stream;
        if provider == Provider::Codex {
            // Adapt a copy: the next attempt may go to a provider that takes the names as they are.
            let mut adapted = ir.clone();
            let names = providers::adapt_for_codex(&mut adapted);
            return Ok((
                Bytes::from(translate::encode_request(upstream, &adapted)?),
                names,
            ));
        }
        Ok((
            Bytes::from(translate::encode_request(upstream, ir)?),
            ToolNames::new(),
        ))
    }
}

/// How to turn a translated upstream answer into the client's.
#[derive(Debug, Clone)]
pub struct Translation {
    pub upstream: Format,
    pub client: Format,
    pub client_stream: bool,
    pub options: StreamOptions,
    /// Tool names shortened for the upstream, by their short name.
    pub tool_names: ToolNames,
    /// Silence after which a streaming client gets a keep-alive.
    pub keepalive: Option<Duration>,
}

/// An upstream response the client will get: its head and first bytes have arrived, the rest streams.
pub struct Committed {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub first: Bytes,
    pub rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    /// Which credential served it (its config label), for logs.
    pub served_by: String,
    /// Set when the answer must be translated back into the client's format.
    pub translation: Option<Translation>,
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("the model `{0}` is not served by this proxy")]
    UnknownModel(String),
    #[error(
        "the model `{model}` is served by {providers}, which cannot count tokens of {format} requests; \
         call count_tokens in the provider's own format"
    )]
    Unsupported {
        model: String,
        format: Format,
        providers: String,
    },
    #[error("{0}")]
    Translate(TranslateError),
    /// An upstream error on the translation path, to be told in the client's own error shape.
    #[error("{message}")]
    UpstreamTranslated {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("every credential for `{model}` is cooling down; retry in {}s", retry_after.as_secs().max(1))]
    Cooldown {
        model: String,
        retry_after: Duration,
    },
    /// The upstream's own error, relayed with its status and body.
    #[error("upstream answered {status}")]
    Upstream {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    #[error("no upstream for `{model}` could be reached: {message}")]
    Unreachable { model: String, message: String },
}

/// Routing state that outlives config reloads: cooldowns, round-robin cursors, connection pools, and the
/// logged-in accounts' tokens.
#[derive(Default)]
pub struct Router {
    cooldowns: Cooldowns,
    cursors: Mutex<HashMap<String, usize>>,
    clients: HttpClients,
    /// Set once accounts exist (the store opens on the first login, not before).
    tokens: ArcSwapOption<TokenSource>,
}

enum Attempt {
    Done(Committed),
    Failed(Failure, RouteError),
    Fatal(RouteError),
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets the router send requests as logged-in accounts from now on.
    pub fn set_tokens(&self, tokens: Arc<TokenSource>) {
        self.tokens.store(Some(tokens));
    }

    /// A new access token for an account whose `rejected` one got a 401; `None` for keys, or when the
    /// refresh fails (logged; the 401 then cools the account down like any other).
    async fn refresh_after_401(
        &self,
        cred: &Credential,
        rejected: &SecretString,
    ) -> Option<SecretString> {
        let CredentialAuth::Account { id, .. } = &cred.auth else {
            return None;
        };
        let tokens = self.tokens.load_full()?;
        let id = AccountId::parse(id).ok()?;
        match tokens.refresh_after_401(&id, rejected).await {
            Ok(fresh) => Some(fresh),
            Err(e) => {
                tracing::warn!(credential = %cred.label, "refresh after a 401 failed: {e}");
                None
            }
        }
    }

    /// What `cred` presents upstream: its key, or its account's current access token.
    async fn secret_for(&self, cred: &Credential) -> Result<SecretString, String> {
        match &cred.auth {
            CredentialAuth::ApiKey(key) => Ok(key.clone()),
            CredentialAuth::Account { id, .. } => {
                let tokens = self
                    .tokens
                    .load_full()
                    .ok_or("logged-in accounts are not available in this process")?;
                let id = AccountId::parse(id).map_err(|e| e.to_string())?;
                tokens.access_token(&id).await.map_err(|e| e.to_string())
            }
        }
    }

    pub fn cooldowns(&self) -> &Cooldowns {
        &self.cooldowns
    }

    /// Sends `req` to the best available credential, failing over as the config allows. Every attempt is
    /// entered in `ledger`.
    pub async fn execute(
        &self,
        config: &Config,
        registry: &Registry,
        mut req: Request<'_>,
        ledger: &mut Ledger,
    ) -> Result<Committed, RouteError> {
        let entry = registry
            .get(req.model)
            .ok_or_else(|| RouteError::UnknownModel(req.model.to_string()))?;
        let routes: Vec<&Route> = entry
            .routes
            .iter()
            .filter(|r| {
                providers::path_for(r.cred.provider, req.format, req.call) != Path::Unsupported
            })
            .collect();
        if routes.is_empty() {
            let mut names: Vec<Provider> = entry.routes.iter().map(|r| r.cred.provider).collect();
            names.dedup();
            return Err(RouteError::Unsupported {
                model: req.model.to_string(),
                format: req.format,
                providers: names
                    .iter()
                    .map(|p| p.config_key())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let max_attempts = 1 + config.request_retry as usize;
        let mut attempts = 0;
        let mut last_error: Option<RouteError> = None;
        loop {
            let now = Instant::now();
            let ordered = self.order(&routes, config.strategy, &entry.id);
            let mut earliest: Option<Duration> = None;
            let mut tried_any = false;
            for route in ordered {
                let model = &route.upstream_model;
                if let Some(wait) = self.cooldowns.remaining(&route.cred.id, model, now) {
                    earliest = Some(earliest.map_or(wait, |e| e.min(wait)));
                    continue;
                }
                if attempts == max_attempts {
                    break;
                }
                attempts += 1;
                tried_any = true;
                ledger.attempt(
                    route.cred.provider.name(),
                    &route.cred.label,
                    &route.upstream_model,
                );
                match self.attempt(config, route, &mut req, ledger).await {
                    Attempt::Done(committed) => {
                        self.cooldowns.succeed(&route.cred.id, model);
                        return Ok(committed);
                    }
                    Attempt::Fatal(err) => return Err(err),
                    Attempt::Failed(failure, err) => {
                        let cooled =
                            self.cooldowns
                                .fail(&route.cred.id, model, failure, Instant::now());
                        tracing::warn!(
                            credential = %route.cred.label,
                            model = %model,
                            cooldown_s = cooled.map(|d| d.as_secs()),
                            "upstream attempt failed: {err}"
                        );
                        last_error = Some(err);
                    }
                }
            }
            if attempts == max_attempts {
                break;
            }
            if tried_any {
                // Everyone untried is cooling; go round again to see who became available.
                continue;
            }
            // Nobody is available now. Wait for the first credential to come back if that is soon enough.
            match earliest {
                Some(wait) if wait <= config.max_retry_interval => tokio::time::sleep(wait).await,
                Some(wait) => {
                    return Err(last_error.unwrap_or(RouteError::Cooldown {
                        model: req.model.to_string(),
                        retry_after: wait,
                    }))
                }
                None => break,
            }
        }
        Err(last_error.unwrap_or_else(|| RouteError::Unreachable {
            model: req.model.to_string(),
            message: "no attempt was allowed".into(),
        }))
    }

    /// Candidates in the order to try them: rotated per request for round-robin, as declared for fill-first.
    /// Candidates in the order to try them: highest priority first (lower ones are reached only when the
    /// higher cool down or fail), and within one priority rotated per request for round-robin, as declared
    /// for fill-first.
    fn order<'r>(&self, routes: &[&'r Route], strategy: Strategy, model: &str) -> Vec<&'r Route> {
        let mut by_priority = routes.to_vec();
        by_priority.sort_by_key(|r| std::cmp::Reverse(r.cred.priority));
        let top = by_priority[0].cred.priority;
        let bucket = by_priority
            .iter()
            .take_while(|r| r.cred.priority == top)
            .count();
        let start = match strategy {
            Strategy::FillFirst => 0,
            Strategy::RoundRobin => {
                let mut cursors = self.cursors.lock().unwrap_or_else(|p| p.into_inner());
                let cursor = cursors.entry(model.to_string()).or_insert(0);
                let start = *cursor % bucket;
                *cursor = cursor.wrapping_add(1);
                start
            }
        };
        by_priority[..bucket].rotate_left(start);
        by_priority
    }

    async fn attempt(
        &self,
        config: &Config,
        route: &Route,
        req: &mut Request<'_>,
        ledger: &mut Ledger,
    ) -> Attempt {
        let cred = &route.cred;
        let client_stream = matches!(req.call, Call::Generate { stream: true });
        let (format, call, gemini_sse, body, translation) =
            match providers::path_for(cred.provider, req.format, req.call) {
                Path::Translate => {
                    let upstream = native_format(cred.provider);
                    // Codex only streams; a non-streaming client gets the stream aggregated.
                    let upstream_stream = client_stream || cred.provider == Provider::Codex;
                    let (body, tool_names) = match req.body.translated(
                        req.format,
                        req.model,
                        cred.provider,
                        &route.upstream_model,
                        upstream_stream,
                    ) {
                        Ok(b) => b,
                        Err(e) => return Attempt::Fatal(RouteError::Translate(e)),
                    };
                    let translation = Translation {
                        upstream,
                        client: req.format,
                        client_stream,
                        options: StreamOptions {
                            model: req.model.to_string(),
                            gemini_sse: req.gemini_sse,
                            include_usage: matches!(
                                req.format,
                                Format::OpenAiChat | Format::OpenAiCompletions
                            ) && req.body.include_usage(),
                        },
                        tool_names,
                        keepalive: config.keepalive,
                    };
                    let call = Call::Generate {
                        stream: upstream_stream,
                    };
                    (upstream, call, upstream_stream, body, Some(translation))
                }
                // The ChatGPT subscription backend only streams: a non-streaming Responses client gets
                // the stream aggregated, as a translated request would.
                Path::Passthrough
                    if !client_stream
                        && cred.provider == Provider::Codex
                        && matches!(cred.auth, CredentialAuth::Account { .. })
                        && matches!(req.call, Call::Generate { .. }) =>
                {
                    let translation = Translation {
                        upstream: req.format,
                        client: req.format,
                        client_stream,
                        options: StreamOptions {
                            model: req.model.to_string(),
                            gemini_sse: false,
                            include_usage: false,
                        },
                        tool_names: ToolNames::new(),
                        keepalive: config.keepalive,
                    };
                    (
                        req.format,
                        Call::Generate { stream: true },
                        false,
                        req.body.passthrough(&route.upstream_model),
                        Some(translation),
                    )
                }
                Path::Passthrough | Path::Unsupported => (
                    req.format,
                    req.call,
                    req.gemini_sse,
                    req.body.passthrough(&route.upstream_model),
                    None,
                ),
            };
        let outbound = Outbound {
            format,
            call,
            gemini_sse,
            upstream_model: &route.upstream_model,
            client_headers: req.headers,
            // A query belongs to the client's API (`?beta=true`, `?alt=sse`); another family's would
            // reject it. The provider adds what its own API needs.
            client_query: if translation.is_some() {
                None
            } else {
                req.query
            },
            body,
        };
        let unreachable = |message: String| RouteError::Unreachable {
            model: req.model.to_string(),
            message,
        };
        let mut secret = match self.secret_for(cred).await {
            Ok(s) => s,
            // An account that cannot produce a token (needs a new login, or its refresh is failing)
            // cools down like an upstream 401 would, so the next credential is tried.
            Err(why) => {
                let message = format!("{}: {why}", cred.label);
                let failure = Failure::Status {
                    status: 401,
                    hint: None,
                };
                return Attempt::Failed(failure, unreachable(message));
            }
        };
        let client = match self
            .clients
            .get(providers::proxy_for(cred, config.proxy.as_ref()))
        {
            Ok(c) => c,
            Err(e) => return Attempt::Failed(Failure::Transport, unreachable(e.to_string())),
        };
        let mut refreshed = false;
        let resp = loop {
            let up = providers::build(cred, &outbound, &secret);
            tracing::debug!(credential = %cred.label, url = %up.url, "sending upstream");
            if ledger.capturing() {
                ledger.attempt_sent(&cred.label, &up.method, &up.url, &up.headers, &up.body);
            }
            let sent = client
                .request(up.method, up.url)
                .headers(up.headers)
                .body(up.body)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    let message = format!("{}: {}", cred.label, error_chain(&e));
                    return Attempt::Failed(Failure::Transport, unreachable(message));
                }
            };
            // An account's token can be revoked or expire early: refresh it once and send again.
            if resp.status() == StatusCode::UNAUTHORIZED && !refreshed {
                if let Some(fresh) = self.refresh_after_401(cred, &secret).await {
                    secret = fresh;
                    refreshed = true;
                    continue;
                }
            }
            break resp;
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        if status.is_success() {
            ledger.attempt_answered(status.as_u16(), &headers, None);
            let mut stream = resp.bytes_stream().boxed();
            // Wait for the first bytes before committing: a connection that dies now can still fail over.
            return match stream.next().await {
                Some(Ok(first)) => Attempt::Done(Committed {
                    status,
                    headers,
                    first,
                    rest: stream,
                    served_by: cred.label.clone(),
                    translation,
                }),
                None => Attempt::Done(Committed {
                    status,
                    headers,
                    first: Bytes::new(),
                    rest: stream,
                    served_by: cred.label.clone(),
                    translation,
                }),
                Some(Err(e)) => Attempt::Failed(
                    Failure::Transport,
                    unreachable(format!("{}: {}", cred.label, error_chain(&e))),
                ),
            };
        }
        let body = read_capped(resp).await;
        ledger.attempt_answered(status.as_u16(), &headers, Some(&body));
        let hint = providers::retry_hint(cred.provider, &headers, &body);
        let failure = Failure::Status {
            status: status.as_u16(),
            hint,
        };
        let err = match translation {
            // The client cannot read the upstream's error shape: tell it the same thing in its own.
            Some(_) => RouteError::UpstreamTranslated {
                status,
                message: upstream_error_message(status, &body),
                retry_after: hint,
            },
            None => RouteError::Upstream {
                status,
                headers,
                body,
            },
        };
        if failure.is_retryable() {
            Attempt::Failed(failure, err)
        } else {
            Attempt::Fatal(err)
        }
    }
}

/// The human-readable message in an upstream error body of any of the four shapes, else the body's text.
fn upstream_error_message(status: StatusCode, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| {
        String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(500)
            .collect()
    });
    format!("upstream answered {}: {text}", status.as_u16())
}

/// Reads an error body, keeping at most [`MAX_ERROR_BODY`] bytes.
async fn read_capped(resp: reqwest::Response) -> Bytes {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == MAX_ERROR_BODY {
            break;
        }
    }
    Bytes::from(out)
}

/// `reqwest` hides the useful part ("connection refused") in the source chain.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_msg = s.to_string();
        if !msg.contains(&s_msg) {
            msg.push_str(": ");
            msg.push_str(&s_msg);
        }
        source = s.source();
    }
    msg
}
