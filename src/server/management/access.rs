//! Who may use the management API: a client presenting `remote-management.secret-key`, from this machine
//! unless `remote-management.allow-remote`. Five wrong keys from one address bar it for 30 minutes, so the
//! key cannot be guessed; with no key configured the API does not exist (404), as in CLIProxyAPI.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::{cpa_error, Management};
use crate::config::RemoteManagement;

/// Wrong keys allowed from one address before it is barred.
const MAX_FAILURES: u32 = 5;
const BAN: Duration = Duration::from_secs(30 * 60);
/// Addresses remembered at most; past it, those not barred are forgotten first.
const MAX_TRACKED: usize = 4096;

/// Paths that answer to the management key (or to nobody's key, for the page), not to a client key.
pub fn is_management_path(path: &str) -> bool {
    path == "/v0/management"
        || path.starts_with("/v0/management/")
        || path == "/management.html"
        || path.starts_with("/management-assets/")
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key is configured: the management API is off.
    Off,
    /// Not from this machine and `allow-remote` is off.
    RemoteRefused,
    /// Too many wrong keys from this address; try again after this long.
    Banned(Duration),
    MissingKey,
    WrongKey,
}

#[derive(Default)]
struct Tally {
    failures: u32,
    banned_until: Option<Instant>,
}

/// Wrong-key counts per client address.
#[derive(Default)]
pub struct Attempts {
    by_ip: Mutex<HashMap<IpAddr, Tally>>,
}

impl Attempts {
    /// Decides on a request from `peer` presenting `key`; counts a wrong or missing key against `peer`
    /// and clears `peer`'s count on success (other addresses keep theirs).
    pub fn check(
        &self,
        access: &RemoteManagement,
        peer: Option<IpAddr>,
        key: Option<&str>,
        now: Instant,
    ) -> Result<(), Refusal> {
        let Some(secret) = &access.secret_key else {
            return Err(Refusal::Off);
        };
        // A request without a peer address cannot be shown to be local.
        let Some(ip) = peer.map(canonical) else {
            return Err(Refusal::RemoteRefused);
        };
        let mut by_ip = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = by_ip.get(&ip).and_then(|t| t.banned_until) {
            if now < until {
                return Err(Refusal::Banned(until - now));
            }
            by_ip.remove(&ip);
        }
        if !ip.is_loopback() && !access.allow_remote {
            return Err(Refusal::RemoteRefused);
        }
        let right =
            key.is_some_and(|k| bool::from(k.as_bytes().ct_eq(secret.expose_secret().as_bytes())));
        if right {
            by_ip.remove(&ip);
            return Ok(());
        }
        if by_ip.len() >= MAX_TRACKED {
            by_ip.retain(|_, t| t.banned_until.is_some());
        }
        let tally = by_ip.entry(ip).or_default();
        tally.failures += 1;
        if tally.failures >= MAX_FAILURES {
            tally.banned_until = Some(now + BAN);
        }
        Err(if key.is_some() {
            Refusal::WrongKey
        } else {
            Refusal::MissingKey
        })
    }
}

/// `::ffff:127.0.0.1` (a dual-stack socket's IPv4 client) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The management key a request presents: `Authorization: Bearer <key>` or `X-Management-Key`.
fn presented(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.get(..6) {
                Some(scheme) if scheme.eq_ignore_ascii_case("bearer") => v[6..].trim(),
                _ => v,
            }
        });
    let header_key = headers
        .get("x-management-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    bearer
        .filter(|k| !k.is_empty())
        .or(header_key.filter(|k| !k.is_empty()))
        .map(str::to_string)
}

fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Runs before every `/v0/management` handler.
pub async fn require_key(State(m): State<Arc<Management>>, req: Request, next: Next) -> Response {
    let live = m.app.live();
    let key = presented(req.headers());
    match m.attempts.check(
        &live.config.remote_management,
        peer(&req),
        key.as_deref(),
        Instant::now(),
    ) {
        Ok(()) => next.run(req).await,
        Err(why) => refusal(why),
    }
}

/// Runs before the management page: the same address rules, but no key (the page asks for it).
pub async fn page_allowed(State(m): State<Arc<Management>>, req: Request, next: Next) -> Response {
    let live = m.app.live();
    let access = &live.config.remote_management;
    if access.secret_key.is_none() {
        return refusal(Refusal::Off);
    }
    let local = peer(&req).map(canonical).is_some_and(|ip| ip.is_loopback());
    if !local && !access.allow_remote {
        return refusal(Refusal::RemoteRefused);
    }
    next.run(req).await
}

fn refusal(why: Refusal) -> Response {
    match why {
        Refusal::Off => cpa_error(
            StatusCode::NOT_FOUND,
            "the management API is off: set remote-management.secret-key in the config to turn it on",
        ),
        Refusal::RemoteRefused => cpa_error(
            StatusCode::FORBIDDEN,
            "remote management is disabled: only this machine may manage the proxy unless \
             remote-management.allow-remote is true",
        ),
        Refusal::Banned(left) => {
            let secs = left.as_secs().max(1);
            let mut resp = cpa_error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong management keys from this address; try again in {} minutes", secs.div_ceil(60)),
            );
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            resp
        }
        Refusal::MissingKey => cpa_error(
            StatusCode::UNAUTHORIZED,
            "missing management key: send remote-management.secret-key as `Authorization: Bearer <key>` \
             or `X-Management-Key`",
        ),
        Refusal::WrongKey => cpa_error(
            StatusCode::UNAUTHORIZED,
            "invalid management key: it is not the config's remote-management.secret-key",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn access(allow_remote: bool) -> RemoteManagement {
        RemoteManagement {
            allow_remote,
            secret_key: Some(SecretString::from("s3cret".to_string())),
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn no_key_configured_means_off() {
        let a = Attempts::default();
        let off = RemoteManagement::default();
        assert_eq!(
            a.check(&off, ip("127.0.0.1"), Some("x"), Instant::now()),
            Err(Refusal::Off)
        );
    }

    #[test]
    fn remote_clients_need_allow_remote() {
        let a = Attempts::default();
        let now = Instant::now();
        assert_eq!(
            a.check(&access(false), ip("192.168.1.9"), Some("s3cret"), now),
            Err(Refusal::RemoteRefused)
        );
        assert_eq!(
            a.check(&access(false), None, Some("s3cret"), now),
            Err(Refusal::RemoteRefused)
        );
        assert_eq!(
            a.check(&access(true), ip("192.168.1.9"), Some("s3cret"), now),
            Ok(())
        );
        assert_eq!(
            a.check(&access(false), ip("::1"), Some("s3cret"), now),
            Ok(())
        );
        assert_eq!(
            a.check(&access(false), ip("::ffff:127.0.0.1"), Some("s3cret"), now),
            Ok(())
        );
    }

    /// Four wrong keys from `addr`, each refused as wrong.
    fn four_wrong(a: &Attempts, acc: &RemoteManagement, addr: &str, now: Instant) {
        for _ in 0..4 {
            let got = a.check(acc, ip(addr), Some("nope"), now);
            assert_eq!(got, Err(Refusal::WrongKey));
        }
    }

    #[test]
    fn five_failures_bar_one_address_for_thirty_minutes() {
        let a = Attempts::default();
        let (acc, now) = (access(true), Instant::now());
        four_wrong(&a, &acc, "10.0.0.1", now);
        // Another address succeeding does not clear the first one's count.
        assert_eq!(a.check(&acc, ip("10.0.0.2"), Some("s3cret"), now), Ok(()));
        let fifth = a.check(&acc, ip("10.0.0.1"), None, now);
        assert_eq!(fifth, Err(Refusal::MissingKey));
        let barred = a.check(&acc, ip("10.0.0.1"), Some("s3cret"), now);
        assert_eq!(barred, Err(Refusal::Banned(BAN)));
        assert_eq!(a.check(&acc, ip("10.0.0.2"), Some("s3cret"), now), Ok(()));
        let later = now + BAN;
        assert_eq!(a.check(&acc, ip("10.0.0.1"), Some("s3cret"), later), Ok(()));
    }

    #[test]
    fn a_success_clears_the_count() {
        let a = Attempts::default();
        let (acc, now) = (access(false), Instant::now());
        four_wrong(&a, &acc, "127.0.0.1", now);
        assert_eq!(a.check(&acc, ip("127.0.0.1"), Some("s3cret"), now), Ok(()));
        four_wrong(&a, &acc, "127.0.0.1", now);
        assert_eq!(a.check(&acc, ip("127.0.0.1"), Some("s3cret"), now), Ok(()));
    }

    #[test]
    fn the_key_comes_from_either_header() {
        let with = |name: &'static str, v: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(v).unwrap());
            presented(&h)
        };
        assert_eq!(with("authorization", "Bearer k").as_deref(), Some("k"));
        assert_eq!(with("authorization", "k").as_deref(), Some("k"));
        assert_eq!(with("x-management-key", " k ").as_deref(), Some("k"));
        assert_eq!(with("authorization", "Bearer ").as_deref(), None);
    }
}
