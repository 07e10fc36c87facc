//! `/metrics` for Prometheus and `/health/liveness`, `/health/readiness` for orchestrators. None of them
//! takes the client key: `/metrics` answers to `metrics-key` (without one, to this machine only); the
//! health checks reveal only counts and answer whoever the browser guard lets through.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use indexmap::IndexMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::Credential;
use crate::usage::metrics::{Cooling, CredentialState, Refreshes, Scrape};

/// The content type of the text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Paths served here, which the gatekeeper lets through without a client key.
pub fn is_observe_path(path: &str) -> bool {
    matches!(path, "/metrics" | "/health/liveness" | "/health/readiness")
}

pub async fn liveness() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when at least one credential can serve a request now, else 503 with the reasons.
pub async fn readiness(State(state): State<Arc<AppState>>) -> Response {
    let census = census(&state);
    let (usable, total) = (census.count(CredentialState::Ready), census.creds.len());
    let credentials = json!({"usable": usable, "total": total});
    if usable > 0 {
        return Json(json!({"status": "ready", "credentials": credentials})).into_response();
    }
    let mut reasons = Vec::new();
    if total == 0 {
        reasons.push("no credentials configured: add an api key or log in".to_string());
    }
    let cooling = census.count(CredentialState::Cooling);
    if cooling > 0 {
        let back = census.soonest_back.map_or(0, |d| d.as_secs().max(1));
        reasons.push(format!(
            "all {cooling} credentials that serve models are cooling down after upstream errors; the first is back in {back}s"
        ));
    }
    let disabled = census.count(CredentialState::Disabled);
    if disabled > 0 {
        reasons.push(format!(
            "{disabled} credentials serve nothing: disabled accounts, accounts that need a new login, or every model excluded"
        ));
    }
    let body = json!({"status": "not_ready", "reasons": reasons, "credentials": credentials});
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// The Prometheus scrape, for whoever presents `metrics-key` (or, without one, for this machine).
pub async fn metrics(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let live = state.live();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(why) = admit(live.config.usage.metrics_key.as_ref(), req.headers(), peer) {
        return refusal(why);
    }
    let census = census(&state);
    let usage = state.usage();
    let scrape = Scrape {
        credentials: census.creds,
        cooldowns: census.cooling,
        refreshes: state
            .tokens
            .load()
            .as_ref()
            .map(|t| t.refresh_counts())
            .unwrap_or_default()
            .into_iter()
            .map(|c| Refreshes {
                provider: c.provider.as_str().to_string(),
                ok: c.ok,
                failed: c.failed,
            })
            .collect(),
        usage_events: usage.counters().map(|c| c.snapshot()),
        request_logs: usage.requests().counters(),
        recording: usage.enabled() && usage.counters().is_some(),
    };
    let text = usage.metrics().render(&scrape);
    ([(header::CONTENT_TYPE, EXPOSITION)], text).into_response()
}

/// Why a scrape was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No `metrics-key`, and the client is not on this machine.
    NotLocal,
    MissingKey,
    WrongKey,
}

/// With a `metrics-key`, everyone must present it as a bearer token; without one, only loopback clients
/// may scrape (a request with no known peer cannot be shown to be local).
fn admit(
    key: Option<&SecretString>,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<(), Refusal> {
    let Some(key) = key else {
        return match peer.map(canonical) {
            Some(ip) if ip.is_loopback() => Ok(()),
            _ => Err(Refusal::NotLocal),
        };
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            let scheme = v.get(..7)?;
            scheme
                .eq_ignore_ascii_case("bearer ")
                .then(|| v[7..].trim())
        })
        .filter(|k| !k.is_empty());
    match presented {
        None => Err(Refusal::MissingKey),
        Some(p) if bool::from(p.as_bytes().ct_eq(key.expose_secret().as_bytes())) => Ok(()),
        Some(_) => Err(Refusal::WrongKey),
    }
}

/// `::ffff:127.0.0.1` (a dual-stack socket's IPv4 client) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn refusal(why: Refusal) -> Response {
    let (status, message) = match why {
        Refusal::NotLocal => (
            StatusCode::FORBIDDEN,
            "/metrics answers only this machine while no `metrics-key` is set; set `metrics-key` in the \
             config and scrape with `Authorization: Bearer <key>`",
        ),
        Refusal::MissingKey => (
            StatusCode::UNAUTHORIZED,
            "missing metrics key: send the config's `metrics-key` as `Authorization: Bearer <key>`",
        ),
        Refusal::WrongKey => (
            StatusCode::UNAUTHORIZED,
            "invalid metrics key: it is not the config's `metrics-key`",
        ),
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"switchyard metrics\""),
        );
    }
    resp
}

/// Every credential (config keys and logged-in accounts) and whether it can serve now.
struct Census {
    /// Each credential's provider and state.
    creds: Vec<(String, CredentialState)>,
    cooling: Vec<Cooling>,
    /// When the first cooling credential may serve again.
    soonest_back: Option<Duration>,
}

impl Census {
    fn count(&self, state: CredentialState) -> usize {
        self.creds.iter().filter(|(_, s)| *s == state).count()
    }
}

/// A credential of the live registry: free for at least one of its models, or back in this long.
struct Served<'a> {
    cred: &'a Credential,
    free: bool,
    back_in: Option<Duration>,
}

/// Reads the live snapshot (registry and account list) and the router's cooldowns.
fn census(state: &AppState) -> Census {
    let live = state.live();
    let now = tokio::time::Instant::now();
    let resting = state.cooldowns().resting(now, |_| true);
    let rest: HashMap<(&str, &str), Duration> = resting
        .iter()
        .map(|r| ((r.cred.as_str(), r.model.as_str()), r.remaining))
        .collect();

    let mut served: IndexMap<&str, Served> = IndexMap::new();
    for route in live.registry.models().flat_map(|m| &m.routes) {
        let s = served.entry(route.cred.id.as_str()).or_insert(Served {
            cred: &route.cred,
            free: false,
            back_in: None,
        });
        match rest.get(&(route.cred.id.as_str(), route.upstream_model.as_str())) {
            None => s.free = true,
            Some(&left) => s.back_in = Some(s.back_in.map_or(left, |b| b.min(left))),
        }
    }

    let mut creds = Vec::new();
    let mut soonest_back: Option<Duration> = None;
    for s in served.values() {
        let state = if s.free {
            CredentialState::Ready
        } else {
            if let Some(back) = s.back_in {
                soonest_back = Some(soonest_back.map_or(back, |b| b.min(back)));
            }
            CredentialState::Cooling
        };
        creds.push((s.cred.provider.name().to_string(), state));
    }
    // Declared, but serving nothing: an account that is disabled or needs a new login, or a credential
    // whose every model is excluded.
    for cred in live.config.credentials.iter() {
        if !served.contains_key(cred.id.as_str()) {
            creds.push((cred.provider.name().to_string(), CredentialState::Disabled));
        }
    }
    for (id, provider) in &live.accounts {
        if !served.contains_key(id.as_str()) {
            creds.push((provider.to_string(), CredentialState::Disabled));
        }
    }

    let cooling = resting
        .iter()
        .filter_map(|r| {
            let s = served.get(r.cred.as_str())?;
            Some(Cooling {
                provider: s.cred.provider.name().to_string(),
                credential: s.cred.label.clone(),
                model: r.model.clone(),
                remaining: r.remaining,
            })
        })
        .collect();
    Census {
        creds,
        cooling,
        soonest_back,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_a_key_only_this_machine_may_scrape() {
        let none = HeaderMap::new();
        assert_eq!(admit(None, &none, ip("127.0.0.1")), Ok(()));
        assert_eq!(admit(None, &none, ip("::1")), Ok(()));
        assert_eq!(admit(None, &none, ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(
            admit(None, &none, ip("192.168.1.20")),
            Err(Refusal::NotLocal)
        );
        assert_eq!(admit(None, &none, None), Err(Refusal::NotLocal));
        let body = refusal(Refusal::NotLocal);
        assert_eq!(body.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn with_a_key_everyone_must_present_it() {
        let key = SecretString::from("m-key".to_string());
        let remote = ip("10.1.2.3");
        assert_eq!(admit(Some(&key), &auth("Bearer m-key"), remote), Ok(()));
        assert_eq!(admit(Some(&key), &auth("bearer  m-key "), remote), Ok(()));
        assert_eq!(
            admit(Some(&key), &HeaderMap::new(), ip("127.0.0.1")),
            Err(Refusal::MissingKey),
            "loopback needs the key too once one is set"
        );
        assert_eq!(
            admit(Some(&key), &auth("Bearer m-kez"), remote),
            Err(Refusal::WrongKey)
        );
        assert_eq!(
            admit(Some(&key), &auth("m-key"), remote),
            Err(Refusal::MissingKey),
            "only the bearer scheme"
        );
        assert_eq!(
            admit(Some(&key), &auth("Bearer "), remote),
            Err(Refusal::MissingKey)
        );
    }
}
