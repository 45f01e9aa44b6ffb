//! What the upstream receives besides the client's request: client-sent identity and tracing
//! headers removed, then the gateway's request id, `traceparent`, `x-forwarded-*` and (from the
//! proxy) the signed identity assertion added.
//!
//! Plain functions over a `RequestHeader`, so they are tested without a server. Also where the
//! requests go: the `[upstream]` section, and `strip_headers`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use pingora::http::RequestHeader;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use service_config::rule::within;

/// `[upstream]`: timesheet-svc, plain HTTP on the internal network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct UpstreamConfig {
    #[serde(deserialize_with = "resolve")]
    pub address: SocketAddr,
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), MAX_UPSTREAM_WAIT)))]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), MAX_UPSTREAM_WAIT)))]
    pub read_timeout: Duration,
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), MAX_UPSTREAM_WAIT)))]
    pub write_timeout: Duration,
    /// How often a TCP connect probes the upstream (feeds `/readyz`).
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), MAX_UPSTREAM_WAIT)))]
    pub health_check_interval: Duration,
}

const MAX_UPSTREAM_WAIT: Duration = Duration::from_secs(600);

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            health_check_interval: Duration::from_secs(2),
        }
    }
}

/// `host:port`; a name is resolved once, when the file is read (at start and on reload), never
/// per request.
fn resolve<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let raw = String::deserialize(deserializer)?;
    let mut found = raw
        .to_socket_addrs()
        .map_err(|e| D::Error::custom(format!("{raw:?} is not host:port ({e})")))?;
    found
        .next()
        .ok_or_else(|| D::Error::custom(format!("{raw:?} resolves to nothing")))
}

/// `strip_headers` as read: the file's names, trimmed and in lowercase.
pub fn strip_headers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    Ok(names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect())
}

/// The rule of each `strip_headers` entry.
pub fn header_name(name: &str, _: &()) -> garde::Result {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(drop)
        .map_err(|_| garde::Error::new("is not a valid header name"))
}

/// Identity headers a client must never be able to set: stripped whatever `strip_headers` says.
pub const IDENTITY_HEADERS: [&str; 4] = ["x-user-id", "x-tenant-id", "x-principal", "x-scopes"];

/// Header carrying the gateway's request id; the service checks it against the assertion.
pub const REQUEST_ID: &str = "x-request-id";
pub const TRACEPARENT: &str = "traceparent";

/// Removes every header a client could use to impersonate someone or to confuse the service:
/// an identity assertion, a request id, any `x-forwarded-*`/`forwarded` (we set our own), the
/// identity headers of [`IDENTITY_HEADERS`], and `strip` (lowercase names from the config).
pub fn strip_client_headers(req: &mut RequestHeader, strip: &[String]) {
    // Forwarding headers are matched by prefix, so their names are gathered before removal;
    // most requests carry none, and an empty Vec allocates nothing.
    let forwarding: Vec<http::HeaderName> = req
        .headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-forwarded-") || *name == "forwarded")
        .cloned()
        .collect();
    for name in &forwarding {
        // `remove_header` drops every value of a repeated header.
        let _ = req.remove_header(name);
    }
    // The access token stays at the edge: the service trusts only the assertion, and a bearer
    // token copied into internal logs or traces could be replayed against the public API.
    let fixed = [
        identity_assertion::HEADER,
        REQUEST_ID,
        http::header::AUTHORIZATION.as_str(),
    ];
    let always = fixed.into_iter().chain(IDENTITY_HEADERS);
    for name in always.chain(strip.iter().map(String::as_str)) {
        let _ = req.remove_header(name);
    }
}

/// Rewrites the upstream request's headers: `Host` from `:authority` when the client spoke
/// HTTP/2, client identity headers stripped, then the gateway's `x-request-id`, `traceparent`
/// (the client's if valid) and `x-forwarded-proto`/`x-forwarded-for`. The assertion is added by
/// the caller, which holds the signing key; with tracing on, the caller also replaces this
/// `traceparent` with its own upstream span's (`telemetry::propagate`).
pub fn rewrite(
    req: &mut RequestHeader,
    strip: &[String],
    request_id: &str,
    client_ip: Option<IpAddr>,
) -> pingora::Result<()> {
    let incoming = req.headers.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    let traceparent = traceparent(incoming);
    if req.headers.get(http::header::HOST).is_none() {
        // HTTP/2 carries the host in :authority; an HTTP/1.1 upstream needs a Host header.
        if let Some(authority) = req.uri.authority().map(|a| a.as_str().to_owned()) {
            req.insert_header(http::header::HOST, authority)?;
        }
    }
    strip_client_headers(req, strip);
    req.insert_header(REQUEST_ID, request_id)?;
    req.insert_header(TRACEPARENT, traceparent)?;
    req.insert_header("x-forwarded-proto", "https")?;
    if let Some(ip) = client_ip {
        req.insert_header("x-forwarded-for", ip.to_string())?;
    }
    Ok(())
}

/// The `traceparent` to forward: the client's when it is a valid W3C version-00 value,
/// otherwise a new one (a new trace, sampled).
pub fn traceparent(incoming: Option<&str>) -> String {
    match incoming.map(str::trim) {
        Some(value) if is_valid_traceparent(value) => value.to_ascii_lowercase(),
        _ => new_traceparent(),
    }
}

/// `00-<32 hex trace id, not all zero>-<16 hex parent id, not all zero>-<2 hex flags>`.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [version, trace, parent, flags]
        if *version == "00"
            && hex(trace, 32) && nonzero(trace)
            && hex(parent, 16) && nonzero(parent)
            && hex(flags, 2))
}

fn new_traceparent() -> String {
    // UUID v4 bytes are random; two of them give the trace id and the span id.
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{trace}-{}-01", &span[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/v1/timesheets/entries?x=1", None).unwrap();
        for (name, value) in headers {
            req.append_header(name.to_string(), *value).unwrap();
        }
        req
    }

    #[test]
    fn client_identity_headers_are_all_removed() {
        let mut req = request(&[
            ("x-gateway-assertion", "forged"),
            ("x-gateway-assertion", "forged-again"),
            ("x-request-id", "mine"),
            ("x-forwarded-for", "10.0.0.1"),
            ("X-Forwarded-Proto", "http"),
            ("forwarded", "for=1.2.3.4"),
            ("x-user-id", "admin"),
            ("x-scopes", "approve:timesheets"),
            ("x-custom-identity", "root"),
            ("accept", "application/json"),
        ]);
        strip_client_headers(&mut req, &["x-custom-identity".into()]);
        let left: Vec<&str> = req.headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, vec!["accept"]);
    }

    #[test]
    fn rewrite_sets_the_gateway_headers_over_the_clients() {
        let mut req = request(&[("x-request-id", "mine"), ("x-forwarded-for", "10.0.0.1")]);
        req.set_uri("https://a.example.com/v1/x?y=1".parse().unwrap());
        rewrite(&mut req, &[], "rid-1", Some("127.0.0.2".parse().unwrap())).unwrap();
        let get = |name: &str| req.headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(get("x-request-id"), "rid-1");
        assert_eq!(get("x-forwarded-for"), "127.0.0.2");
        assert_eq!(get("x-forwarded-proto"), "https");
        assert_eq!(get("host"), "a.example.com");
        assert!(is_valid_traceparent(&get("traceparent")));
    }

    #[test]
    fn a_valid_traceparent_passes_through() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(traceparent(Some(tp)), tp);
    }

    #[test]
    fn an_invalid_or_missing_traceparent_is_replaced_with_a_valid_one() {
        for bad in [
            None,
            Some("garbage"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
        ] {
            let tp = traceparent(bad);
            assert!(is_valid_traceparent(&tp), "{tp}");
            assert_ne!(Some(tp.as_str()), bad);
        }
    }
}
