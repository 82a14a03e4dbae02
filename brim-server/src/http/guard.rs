//! Access and accounting around every request: the guards (rate limit, local only, API key)
//! and the request metrics behind `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::telemetry::{Metrics, PublicLimit};

/// Paths anyone may call: recipients (tracking, unsubscribe), visitors (the activation page,
/// its events and its try-it scoring), the pages and the API description (the dashboard's data
/// still needs the key), load balancers (health).
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/dashboard"
            | "/activate"
            | "/healthz"
            | "/openapi.json"
            | "/api/activation/log-event"
            | "/api/activation/try"
    ) || path.starts_with("/t/")
        || path.starts_with("/unsubscribe/")
        || path.starts_with("/assets/")
        || path == "/docs"
        || path.starts_with("/docs/")
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request's guards, in one layer (each `from_fn` layer boxes the rest of the stack
/// again for every request): the public endpoints' rate limit ([`PublicLimit`]), then
/// [`LocalOnly`] (only without an API key), then the API key.
#[derive(Debug)]
pub struct Guards {
    pub key: Option<std::sync::Arc<str>>,
    pub local: Option<LocalOnly>,
    pub limit: std::sync::Arc<PublicLimit>,
}

/// Applies [`Guards`]: the first that refuses the request answers it.
pub async fn guard(
    State(guards): State<std::sync::Arc<Guards>>,
    request: Request,
    next: Next,
) -> Response {
    let refused = limit_public(&guards.limit, &request)
        .or_else(|| {
            guards
                .local
                .as_ref()
                .and_then(|rule| local_only(rule, &request))
        })
        .or_else(|| {
            guards
                .key
                .as_deref()
                .and_then(|key| require_key(key, &request))
        });
    match refused {
        Some(response) => response,
        None => next.run(request).await,
    }
}

/// Requires `Authorization: Bearer <key>` on every non-public path (when a key is set).
fn require_key(key: &str, request: &Request) -> Option<Response> {
    if is_public(request.uri().path()) {
        return None;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if given.is_some_and(|g| same(g.as_bytes(), key.as_bytes())) {
        return None;
    }
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        error: "unauthorized",
        detail: "this endpoint needs `Authorization: Bearer <API key>`".into(),
        field: None,
    }
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Bearer".parse().expect("a valid header"),
    );
    Some(response)
}

/// Records each request's route (the pattern, never the raw path: tokens and ids stay out of
/// the labels), status and time.
pub async fn measure(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics.record(
        &method,
        route.as_ref().map_or("(unmatched)", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Applies [`PublicLimit`] to public paths; the client is the peer address (`ConnectInfo`),
/// or one shared "unknown" client when the server runs without it.
fn limit_public(limit: &PublicLimit, request: &Request) -> Option<Response> {
    if !is_public(request.uri().path()) || request.uri().path() == "/healthz" {
        return None;
    }
    let ip = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let wait = limit.take(ip, now).err()?;
    let mut response = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        error: "rate_limited",
        detail: format!("too many requests from this client; retry in {wait} s"),
        field: None,
    }
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        wait.to_string().parse().expect("digits are a valid header"),
    );
    Some(response)
}

/// Without an API key the server trusts whoever can reach it, which is meant to be this machine
/// only. Two ways a web page could still reach in are refused here: DNS rebinding (a page whose
/// host name resolves to 127.0.0.1: its requests carry that name in `Host`), and cross-site
/// writes (a form or `fetch` posting from another origin: the browser names it in `Origin`).
#[derive(Debug, Clone, Default)]
pub struct LocalOnly {
    /// Host names (no port, lower case) requests may be addressed to.
    pub hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) allowed to send writes, besides those `hosts`.
    pub origins: Vec<String>,
}

impl LocalOnly {
    /// Loopback names, plus the hosts of `urls` (the public and tracking URLs) and the CORS
    /// `origins`.
    pub fn new(urls: &[&str], origins: &[String]) -> LocalOnly {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        hosts.extend(urls.iter().filter_map(|u| url_host(u)));
        LocalOnly {
            hosts,
            origins: origins.iter().map(|o| o.trim().to_string()).collect(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = authority_host(host);
        self.hosts.contains(&name)
    }
}

/// The host of `scheme://host[:port]/...`, lower case, without brackets.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    Some(authority_host(authority))
}

/// `host[:port]` or `[v6][:port]` → the host, lower case, without brackets.
fn authority_host(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority.clone(), |(host, _)| host.to_string())
}

fn forbidden(detail: String) -> Response {
    ApiError {
        status: StatusCode::FORBIDDEN,
        error: "forbidden",
        detail,
        field: None,
    }
    .into_response()
}

/// Applies [`LocalOnly`] (only when the server has no API key).
fn local_only(rule: &LocalOnly, request: &Request) -> Option<Response> {
    let headers = request.headers();
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok())
        && !rule.host_allowed(host)
    {
        return Some(forbidden(format!(
            "this server has no API key and answers only to localhost and its public URL, not to {host:?}; set an API key to serve other names"
        )));
    }
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if writes
        && let Some(origin) = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok())
        && origin != "null"
        && !rule.origins.iter().any(|o| o == "*" || o == origin)
        && !url_host(origin).is_some_and(|h| rule.hosts.contains(&h))
    {
        return Some(forbidden(format!(
            "a request from the web page at {origin:?} was refused: this server has no API key; allow the origin with --cors-origin, or set a key"
        )));
    }
    if writes && headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) == Some("null") {
        return Some(forbidden(
            "a request from an opaque origin (a sandboxed page or a file) was refused: this server has no API key".into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls_and_authorities() {
        assert_eq!(
            url_host("https://Brim.Example.com:8443/x?y").as_deref(),
            Some("brim.example.com")
        );
        assert_eq!(url_host("http://[::1]:8000").as_deref(), Some("::1"));
        assert_eq!(
            url_host("http://user:pw@host.example/").as_deref(),
            Some("host.example")
        );
        assert_eq!(url_host("no scheme"), None);
        assert_eq!(authority_host("127.0.0.1:8000"), "127.0.0.1");
        assert_eq!(authority_host("LOCALHOST"), "localhost");
        let rule = LocalOnly::new(&["https://brim.example.com"], &[]);
        assert!(rule.host_allowed("localhost:8000") && rule.host_allowed("[::1]:1"));
        assert!(rule.host_allowed("brim.example.com"));
        assert!(!rule.host_allowed("attacker.example:8000"));
        assert!(!rule.host_allowed("127.0.0.1.attacker.example"));
    }

    #[test]
    fn the_public_limit_counts_per_client_and_per_minute() {
        let limit = PublicLimit::new(2);
        let a = "10.0.0.1".parse().unwrap();
        let b = "10.0.0.2".parse().unwrap();
        let t = 1_795_514_400_000; // on a minute boundary
        assert_eq!(limit.take(a, t), Ok(()));
        assert_eq!(limit.take(a, t + 1), Ok(()));
        assert_eq!(limit.take(a, t + 30_000), Err(31));
        assert_eq!(limit.take(b, t + 30_000), Ok(()), "another client");
        assert_eq!(limit.take(a, t + 60_000), Ok(()), "a new minute");
        assert_eq!(PublicLimit::new(0).take(a, t), Ok(()));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
        assert!(is_public("/t/open/x") && is_public("/unsubscribe/x") && !is_public("/api/emails"));
    }
}
