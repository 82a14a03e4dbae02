//! Access and accounting around every request: the guards (rate limit, local only, API key)
//! and the request metrics behind `/metrics`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

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

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Request counts and latencies by route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By route pattern, then method and status: a request's series is found without
    /// building an owned key.
    routes: Mutex<HashMap<String, ByMethod>>,
}

/// A route's series by method and status.
type ByMethod = HashMap<(axum::http::Method, u16), Series>;

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

impl Metrics {
    fn record(&self, method: &axum::http::Method, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let by_method = match routes.get_mut(route) {
            Some(by_method) => by_method,
            None => routes.entry(route.to_string()).or_default(),
        };
        let s = by_method.entry((method.clone(), status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text format of what was recorded.
    pub fn render(&self) -> String {
        let routes: HashMap<(String, String, u16), Series> = {
            let by_route = self.routes.lock().unwrap_or_else(|p| p.into_inner());
            by_route
                .iter()
                .flat_map(|(route, by_method)| {
                    by_method.iter().map(|((method, status), s)| {
                        ((method.to_string(), route.clone(), *status), s.clone())
                    })
                })
                .collect()
        };
        let mut keys: Vec<_> = routes.keys().cloned().collect();
        keys.sort();
        let mut out = String::new();
        out.push_str(
            "# HELP brim_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE brim_http_requests_total counter\n");
        for k in &keys {
            out.push_str(&format!(
                "brim_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                k.0, k.1, k.2, routes[k].count
            ));
        }
        out.push_str(
            "# HELP brim_http_request_duration_seconds Time to answer, by method and route.\n",
        );
        out.push_str("# TYPE brim_http_request_duration_seconds histogram\n");
        let mut by_route: HashMap<(String, String), Series> = HashMap::new();
        for (k, s) in routes.iter() {
            let e = by_route.entry((k.0.clone(), k.1.clone())).or_default();
            e.count += s.count;
            e.sum_seconds += s.sum_seconds;
            for i in 0..BUCKETS.len() {
                e.buckets[i] += s.buckets[i];
            }
        }
        let mut route_keys: Vec<_> = by_route.keys().cloned().collect();
        route_keys.sort();
        for k in route_keys {
            let s = &by_route[&k];
            for (i, le) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "brim_http_request_duration_seconds_bucket{{method=\"{}\",route=\"{}\",le=\"{le}\"}} {}\n",
                    k.0, k.1, s.buckets[i]
                ));
            }
            out.push_str(&format!(
                "brim_http_request_duration_seconds_bucket{{method=\"{}\",route=\"{}\",le=\"+Inf\"}} {}\n",
                k.0, k.1, s.count
            ));
            out.push_str(&format!(
                "brim_http_request_duration_seconds_sum{{method=\"{}\",route=\"{}\"}} {}\n",
                k.0, k.1, s.sum_seconds
            ));
            out.push_str(&format!(
                "brim_http_request_duration_seconds_count{{method=\"{}\",route=\"{}\"}} {}\n",
                k.0, k.1, s.count
            ));
        }
        out
    }
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

/// Per-client request limits for the public endpoints (fixed one-minute windows by client IP).
#[derive(Debug)]
pub struct PublicLimit {
    per_minute: u32,
    clients: Mutex<(i64, HashMap<std::net::IpAddr, u32>)>,
}

impl PublicLimit {
    /// At most `per_minute` public requests per client IP and minute (0: no limit).
    pub fn new(per_minute: u32) -> PublicLimit {
        PublicLimit {
            per_minute,
            clients: Mutex::new((0, HashMap::new())),
        }
    }

    /// Counts one request at `now_ms`; `Err(seconds)` to wait when over the limit.
    fn take(&self, ip: std::net::IpAddr, now_ms: i64) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let minute = now_ms.div_euclid(60_000);
        let mut guard = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0 != minute {
            // A new window: forget the old one (the map never outgrows a minute's clients).
            *guard = (minute, HashMap::new());
        }
        let count = guard.1.entry(ip).or_insert(0);
        if *count >= self.per_minute {
            let wait_ms = (minute + 1) * 60_000 - now_ms;
            return Err(u64::try_from(wait_ms.div_euclid(1000) + 1).unwrap_or(60));
        }
        *count += 1;
        Ok(())
    }
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
