//! Who may use the proxy: local programs with a client key. Requests a web page makes (an `Origin` of a page,
//! or a `Host` that is not ours, as in DNS rebinding) are refused so no site can spend the user's
//! subscriptions; the config's `browser-access` allow-lists open specific origins and hosts.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::config::BrowserAccess;

/// Why a request from a browser context was refused.
pub fn check_browser(
    headers: &HeaderMap,
    bound: SocketAddr,
    access: &BrowserAccess,
) -> Result<(), String> {
    let host = headers
        .get(http::header::HOST)
        .map(|h| h.to_str().unwrap_or("<invalid>").trim());
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("<invalid>").trim();
        if !origin_allowed(origin, host, bound, access) {
            return Err(format!(
                "requests from web pages are refused (Origin: {origin}); add the origin to \
                 browser-access.allowed-origins in the config to allow it"
            ));
        }
    }
    if let Some(host) = host {
        if !host_allowed(host, bound, access) {
            return Err(format!(
                "Host `{host}` is not an address of this proxy (DNS rebinding protection); add it to \
                 browser-access.allowed-hosts in the config to allow it"
            ));
        }
    }
    Ok(())
}

fn origin_allowed(
    origin: &str,
    host: Option<&str>,
    bound: SocketAddr,
    access: &BrowserAccess,
) -> bool {
    if access
        .allowed_origins
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Ok(url) = url::Url::parse(origin) else {
        // `null` (sandboxed frames, file pages) and garbage: a browser sent it, so refuse.
        return false;
    };
    match url.scheme() {
        // A page served by this very proxy (its management UI) is same-origin: its address is the
        // one the request went to (the `Host`, itself checked below), or a loopback name of our port.
        "http" | "https" => {
            host.is_some_and(|host| same_authority(&url, host))
                || (url.port_or_known_default() == Some(bound.port())
                    && url
                        .host_str()
                        .is_some_and(|h| is_loopback_name(h) || is_bound_ip(h, bound)))
        }
        // Desktop apps and editor webviews (`vscode-webview://`, `tauri://`, `app://`) are not web pages.
        _ => true,
    }
}

/// Whether the origin `url` names the same host and port as the `Host` header.
fn same_authority(url: &url::Url, host: &str) -> bool {
    let Some(name) = url.host_str() else {
        return false;
    };
    let (host_name, host_port) = match host.rsplit_once(':') {
        Some((n, p))
            if !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (!n.contains(':') || n.ends_with(']')) =>
        {
            (n, p.parse::<u16>().ok())
        }
        _ => (host, None),
    };
    let default_port = if url.scheme() == "https" { 443 } else { 80 };
    let unbracket = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_string();
    unbracket(host_name).eq_ignore_ascii_case(&unbracket(name))
        && Some(host_port.unwrap_or(default_port)) == url.port_or_known_default()
}

fn host_allowed(host: &str, bound: SocketAddr, access: &BrowserAccess) -> bool {
    let name = strip_port(host);
    if is_loopback_name(name) || is_bound_ip(name, bound) {
        return true;
    }
    if access
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(host))
    {
        return true;
    }
    // Listening on every interface (a server): any IP literal is fine; rebinding needs a DNS name.
    bound.ip().is_unspecified() && parse_ip(name).is_some()
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

fn parse_ip(name: &str) -> Option<IpAddr> {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn is_loopback_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || parse_ip(name).is_some_and(|ip| ip.is_loopback())
}

fn is_bound_ip(name: &str, bound: SocketAddr) -> bool {
    parse_ip(name).is_some_and(|ip| ip == bound.ip())
}

/// The keys a request presents, from every place clients put them. All are checked, so a stale
/// `Authorization` header does not mask a valid `x-api-key`.
pub fn presented_keys<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(v) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let key = match v.get(..6) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer") => v[6..].trim(),
            _ => v,
        };
        keys.push(key.to_string());
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            keys.push(v.trim().to_string());
        }
    }
    for pair in query.unwrap_or("").split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if name == "key" || name == "auth_token" {
                let decoded = url::form_urlencoded::parse(value.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                keys.push(decoded);
            }
        }
    }
    keys.retain(|k| !k.is_empty());
    keys
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
}

/// Checks the presented keys against the configured ones in constant time per comparison. Returns which
/// configured key matched (`None` when no key is configured), so usage can be told apart per key.
pub fn check_client_key(
    presented: &[String],
    configured: &[SecretString],
) -> Result<Option<usize>, AuthFailure> {
    if configured.is_empty() {
        return Ok(None);
    }
    if presented.is_empty() {
        return Err(AuthFailure::Missing);
    }
    let mut ok = subtle::Choice::from(0u8);
    let mut which = 0u64;
    for p in presented {
        for (i, c) in configured.iter().enumerate() {
            // No early exit: every pair is compared, so timing does not reveal which key nearly matched.
            let eq = p.as_bytes().ct_eq(c.expose_secret().as_bytes());
            which = u64::conditional_select(&which, &(i as u64), eq);
            ok |= eq;
        }
    }
    if bool::from(ok) {
        Ok(usize::try_from(which).ok())
    } else {
        Err(AuthFailure::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn bound() -> SocketAddr {
        "127.0.0.1:8317".parse().unwrap()
    }

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn web_pages_are_refused_and_apps_are_not() {
        let none = BrowserAccess::default();
        assert!(check_browser(&with("origin", "https://evil.example"), bound(), &none).is_err());
        assert!(check_browser(&with("origin", "null"), bound(), &none).is_err());
        assert!(check_browser(&with("origin", "http://localhost:3000"), bound(), &none).is_err());
        assert!(check_browser(&with("origin", "http://127.0.0.1:8317"), bound(), &none).is_ok());
        assert!(check_browser(&with("origin", "vscode-webview://abc"), bound(), &none).is_ok());
        assert!(check_browser(&HeaderMap::new(), bound(), &none).is_ok());
        let open = BrowserAccess {
            allowed_origins: vec!["https://my.app".into()],
            allowed_hosts: vec![],
        };
        assert!(check_browser(&with("origin", "https://my.app"), bound(), &open).is_ok());
    }

    #[test]
    fn the_proxys_own_pages_are_same_origin_wherever_it_is_reached() {
        let none = BrowserAccess::default();
        let all: SocketAddr = "0.0.0.0:8317".parse().unwrap();
        let page = |origin: &str, host: &str| {
            let mut h = with("origin", origin);
            h.insert("host", HeaderValue::from_str(host).unwrap());
            h
        };
        // Reached over the LAN: the page's origin is the address the browser used.
        assert!(check_browser(
            &page("http://192.168.1.5:8317", "192.168.1.5:8317"),
            all,
            &none
        )
        .is_ok());
        assert!(check_browser(&page("http://[::1]:8317", "[::1]:8317"), bound(), &none).is_ok());
        // Another port on the same host is another origin, and a foreign page stays refused.
        assert!(check_browser(
            &page("http://192.168.1.5:9000", "192.168.1.5:8317"),
            all,
            &none
        )
        .is_err());
        assert!(check_browser(
            &page("https://evil.example", "127.0.0.1:8317"),
            bound(),
            &none
        )
        .is_err());
        // DNS rebinding: the origin matches the Host, but the Host is no name of ours.
        assert!(check_browser(
            &page("http://evil.example:8317", "evil.example:8317"),
            all,
            &none
        )
        .is_err());
        // A Host without a port is the scheme's default port.
        assert!(check_browser(&page("http://192.168.1.5", "192.168.1.5"), all, &none).is_ok());
    }

    #[test]
    fn foreign_host_names_are_refused() {
        let none = BrowserAccess::default();
        for ok in [
            "127.0.0.1:8317",
            "localhost:8317",
            "localhost",
            "[::1]:8317",
            "app.localhost",
        ] {
            assert!(
                check_browser(&with("host", ok), bound(), &none).is_ok(),
                "{ok}"
            );
        }
        assert!(check_browser(&with("host", "attacker.example:8317"), bound(), &none).is_err());
        let all: SocketAddr = "0.0.0.0:8317".parse().unwrap();
        assert!(check_browser(&with("host", "192.168.1.5:8317"), all, &none).is_ok());
        assert!(check_browser(&with("host", "proxy.lan:8317"), all, &none).is_err());
        let open = BrowserAccess {
            allowed_origins: vec![],
            allowed_hosts: vec!["proxy.lan".into()],
        };
        assert!(check_browser(&with("host", "proxy.lan:8317"), all, &open).is_ok());
    }

    #[test]
    fn keys_come_from_every_documented_place() {
        let keys = |h: HeaderMap, q: Option<&str>| presented_keys(&h, q);
        assert_eq!(keys(with("authorization", "Bearer k1"), None), vec!["k1"]);
        assert_eq!(keys(with("authorization", "bearer k1"), None), vec!["k1"]);
        assert_eq!(keys(with("authorization", "k1"), None), vec!["k1"]);
        assert_eq!(keys(with("x-api-key", "k2"), None), vec!["k2"]);
        assert_eq!(keys(with("x-goog-api-key", "k3"), None), vec!["k3"]);
        assert_eq!(
            keys(HeaderMap::new(), Some("alt=sse&key=k%2B4")),
            vec!["k+4"]
        );
        assert_eq!(keys(HeaderMap::new(), Some("auth_token=k5")), vec!["k5"]);
        assert!(keys(with("authorization", "Bearer "), None).is_empty());
    }

    #[test]
    fn any_valid_key_passes_and_is_told_apart() {
        let configured = vec![
            SecretString::from("first".to_string()),
            SecretString::from("good".to_string()),
        ];
        assert_eq!(
            check_client_key(&[], &configured),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            check_client_key(&["bad".into()], &configured),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            check_client_key(&["bad".into(), "good".into()], &configured),
            Ok(Some(1))
        );
        assert_eq!(
            check_client_key(&["first".into()], &configured),
            Ok(Some(0))
        );
        assert_eq!(
            check_client_key(&[], &[]),
            Ok(None),
            "no keys configured: open access"
        );
    }
}
