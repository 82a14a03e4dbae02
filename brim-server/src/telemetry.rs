//! What the HTTP layer counts and limits, kept in the application state: request metrics and
//! the public endpoints' per-client limits (the middleware that uses them is `http::guard`).

use std::collections::HashMap;
use std::sync::Mutex;

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
    pub(crate) fn record(
        &self,
        method: &axum::http::Method,
        route: &str,
        status: u16,
        seconds: f64,
    ) {
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
    pub(crate) fn take(&self, ip: std::net::IpAddr, now_ms: i64) -> Result<(), u64> {
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
