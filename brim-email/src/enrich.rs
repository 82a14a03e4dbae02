//! The enrichment port and its HTTP adapter: a data provider asked about a lead, as a
//! [`ProviderConfig`](brim_core::enrich::ProviderConfig) describes it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brim_store::{CachedAnswer, EnrichmentStore};

use brim_core::Lead;
use brim_core::enrich::{ProviderConfig, ProviderRecord};

use crate::llm::{jitter_unit, server_delay, shorten};
use crate::{ApiKey, Error, Result};

/// What a provider said about a lead.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Its record.
    Found(ProviderRecord),
    /// It does not know the company.
    NotFound,
    /// It is looking the company up: ask again later (Clearbit's 202).
    Pending,
    /// Nothing was asked: the lead lacks what the request names it by (`no domain to look up`).
    Skipped(String),
}

/// Why a lookup failed. Never holds the API key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnrichError {
    /// The provider refused the key (401/403): every lookup will fail until it is fixed.
    #[error("{provider}: the API key was refused (HTTP {status}); check {setting}")]
    Unauthorized {
        /// The provider.
        provider: String,
        /// 401 or 403.
        status: u16,
        /// Where the key comes from (`APOLLO_API_KEY`, a key file).
        setting: String,
    },
    /// Any other unsuccessful answer, after the retries.
    #[error("{provider}: HTTP {status} after {attempts} attempt(s): {detail}")]
    Status {
        /// The provider.
        provider: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The answer's start, on one line.
        detail: String,
    },
    /// No answer (timeout, connection), after the retries.
    #[error("{provider}: {what} after {attempts} attempt(s)")]
    Transport {
        /// The provider.
        provider: String,
        /// `timeout`, `connection failed`, ...
        what: String,
        /// Attempts made.
        attempts: u32,
    },
    /// An answer that cannot be read (not JSON, too big).
    #[error("{0}")]
    Malformed(String),
    /// The provider asked to wait longer than a lookup may (its `Retry-After`).
    #[error("{provider}: asked to wait {seconds} s, longer than a lookup waits")]
    TooLongToWait {
        /// The provider.
        provider: String,
        /// The wait it asked for.
        seconds: u64,
    },
    /// Too many lookups failed in a row: the provider is not called for a while.
    #[error("{provider}: {failures} lookups failed in a row; not calling it for {seconds} s")]
    CircuitOpen {
        /// The provider.
        provider: String,
        /// Consecutive failures that opened the circuit.
        failures: u32,
        /// Seconds until it is tried again.
        seconds: u64,
    },
}

/// The enrichment port: asks a data provider about a lead.
///
/// Contract every adapter keeps: a lookup **may fail, may be slow and may be rate-limited**,
/// and says which (an [`EnrichError`], never a panic); it respects the provider's limits
/// itself (waiting for its turn, honouring `Retry-After`, giving up after its deadline); it
/// never logs or returns the API key; and it only reads — merging is the caller's, with
/// [`brim_core::enrich::merge`], so a provider never overwrites what the user gave.
pub trait Enricher: Send + Sync {
    /// The provider's name (provenance, cache and rate-limit key).
    fn name(&self) -> &str;
    /// Asks about `lead`; `now_ms` stamps the record.
    fn lookup(
        &self,
        lead: &Lead,
        now_ms: i64,
    ) -> impl Future<Output = std::result::Result<Lookup, EnrichError>> + Send;
}

/// The largest answer read (a provider's company record is a few KB).
pub const MAX_ANSWER: usize = 2 * 1024 * 1024;

/// Consecutive failed lookups that open the circuit.
pub const CIRCUIT_FAILURES: u32 = 5;

/// How long an open circuit stays open before one lookup is tried again.
pub const CIRCUIT_COOLDOWN: Duration = Duration::from_secs(30);

/// The longest `Retry-After` a lookup waits for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Where a provider's request slots come from: this process alone ([`LocalGate`]) or every
/// process on a database ([`SharedGate`]).
pub trait RateGate: Send + Sync {
    /// Waits until `provider` may send its next request, at most `per_second` a second.
    fn wait_turn<'a>(
        &'a self,
        provider: &'a str,
        per_second: f64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Request slots of this process alone.
#[derive(Debug, Default)]
pub struct LocalGate {
    next: tokio::sync::Mutex<HashMap<String, Instant>>,
}

impl RateGate for LocalGate {
    fn wait_turn<'a>(
        &'a self,
        provider: &'a str,
        per_second: f64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let interval = Duration::from_secs_f64(1.0 / per_second);
            let at = {
                let mut next = self.next.lock().await;
                let now = Instant::now();
                let slot = next.entry(provider.to_string()).or_insert(now);
                let at = (*slot).max(now);
                *slot = at + interval;
                at
            };
            tokio::time::sleep_until(at.into()).await;
        })
    }
}

/// Request slots shared by every process on one database ([`EnrichmentStore::take_slot`]), so
/// that several servers and workers together keep a provider's limit. If the database cannot
/// be reached, this process keeps the limit alone until it can.
pub struct SharedGate<S> {
    store: Arc<S>,
    fallback: LocalGate,
}

impl<S> SharedGate<S> {
    /// Slots from `store`.
    pub fn new(store: Arc<S>) -> SharedGate<S> {
        SharedGate {
            store,
            fallback: LocalGate::default(),
        }
    }
}

impl<S: EnrichmentStore + Send + Sync> RateGate for SharedGate<S> {
    fn wait_turn<'a>(
        &'a self,
        provider: &'a str,
        per_second: f64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let interval_us = (1e6 / per_second).ceil() as i64;
            let now_us = || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64)
            };
            match self.store.take_slot(provider, interval_us, now_us()).await {
                Ok(slot) => {
                    let wait = slot - now_us();
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(provider, error = %e, "the shared rate limit is unreachable; keeping it in this process");
                    self.fallback.wait_turn(provider, per_second).await;
                }
            }
        })
    }
}

#[derive(Debug, Default)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
}

/// A provider over HTTP, as its configuration says: requests at most
/// `requests_per_second` (this process's, or with [`HttpEnricher::with_gate`] every process's
/// on a database), each with its deadline, retried with exponential
/// backoff and full jitter on 429, 5xx and timeouts (a `Retry-After` is honoured up to
/// [`MAX_WAIT`]), and a circuit that stops calling a provider after [`CIRCUIT_FAILURES`]
/// failed lookups in a row, for [`CIRCUIT_COOLDOWN`].
pub struct HttpEnricher {
    config: ProviderConfig,
    key: Option<ApiKey>,
    key_setting: String,
    client: reqwest::Client,
    gate: Arc<dyn RateGate>,
    circuit: Mutex<Circuit>,
    calls: AtomicU64,
    base_delay: Duration,
}

impl std::fmt::Debug for HttpEnricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEnricher")
            .field("provider", &self.config.name)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl HttpEnricher {
    /// An adapter for `config`, with its key read from the file or the environment variable
    /// the configuration names (`get` looks variables up: `std::env::var` in programs). A
    /// configuration whose requests use `{key}` and finds none is an error naming the setting.
    pub fn new(
        config: ProviderConfig,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<HttpEnricher> {
        let (key, key_setting) = match (&config.key_file, &config.key_env) {
            (Some(file), _) => (
                Some(ApiKey::from_file(std::path::Path::new(file))?),
                format!("the key file {file}"),
            ),
            (None, Some(env)) => (
                get(env)
                    .map(|k| ApiKey::new(k.trim()))
                    .filter(|k| !k.expose().is_empty()),
                env.clone(),
            ),
            (None, None) => (None, "no key".to_string()),
        };
        if config.uses_key() && key.is_none() {
            return Err(Error::config(
                key_setting,
                format!("provider {} needs an API key: set it", config.name),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms.min(5_000)))
            .user_agent(concat!("brim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config("enrichment", e.to_string()))?;
        Ok(HttpEnricher {
            config,
            key,
            key_setting,
            client,
            gate: Arc::new(LocalGate::default()),
            circuit: Mutex::default(),
            calls: AtomicU64::new(0),
            base_delay: Duration::from_millis(250),
        })
    }

    /// The first retry's delay (doubling each retry, with full jitter); 250 ms by default.
    pub fn with_base_delay(mut self, delay: Duration) -> HttpEnricher {
        self.base_delay = delay;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Takes request slots from `gate` ([`SharedGate`]: every process on a database
    /// together) instead of this process's own.
    pub fn with_gate(mut self, gate: Arc<dyn RateGate>) -> HttpEnricher {
        self.gate = gate;
        self
    }

    fn circuit_check(&self) -> std::result::Result<(), EnrichError> {
        let mut c = self.circuit.lock().unwrap_or_else(|p| p.into_inner());
        match c.open_until {
            Some(until) if until > Instant::now() => Err(EnrichError::CircuitOpen {
                provider: self.config.name.clone(),
                failures: c.failures,
                seconds: until
                    .saturating_duration_since(Instant::now())
                    .as_secs()
                    .max(1),
            }),
            Some(_) => {
                // Half open: this lookup is the trial; a failure opens the circuit again.
                c.open_until = None;
                c.failures = CIRCUIT_FAILURES - 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn circuit_record(&self, failed: bool) {
        let mut c = self.circuit.lock().unwrap_or_else(|p| p.into_inner());
        if failed {
            c.failures += 1;
            if c.failures >= CIRCUIT_FAILURES {
                // Lookups in flight when it opened add their failures without reopening it.
                if c.open_until.is_none() {
                    tracing::warn!(provider = %self.config.name, failures = c.failures, seconds = CIRCUIT_COOLDOWN.as_secs(), "enrichment provider keeps failing; pausing it");
                    c.open_until = Some(Instant::now() + CIRCUIT_COOLDOWN);
                }
            }
        } else {
            c.failures = 0;
            c.open_until = None;
        }
    }

    async fn attempt(
        &self,
        request: &brim_core::enrich::RequestSpec,
    ) -> std::result::Result<(u16, reqwest::header::HeaderMap, Option<String>), reqwest::Error>
    {
        let method = if request.method == "POST" {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Read a chunk at a time, so a huge answer is refused at the limit, not held whole.
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Ok((status, headers, None));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((
            status,
            headers,
            Some(String::from_utf8_lossy(&body).into_owned()),
        ))
    }
}

impl Enricher for HttpEnricher {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn lookup(&self, lead: &Lead, now_ms: i64) -> std::result::Result<Lookup, EnrichError> {
        let provider = self.config.name.clone();
        let request = match self
            .config
            .request(lead, self.key.as_ref().map(ApiKey::expose))
        {
            Ok(r) => r,
            Err(why) => return Ok(Lookup::Skipped(why)),
        };
        self.circuit_check()?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.gate
                .wait_turn(&self.config.name, self.config.requests_per_second)
                .await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let (retryable, wait, error) = match self.attempt(&request).await {
                Ok((_, _, None)) => {
                    self.circuit_record(true);
                    return Err(EnrichError::Malformed(format!(
                        "{provider}: the answer is over {} MB",
                        MAX_ANSWER / (1024 * 1024)
                    )));
                }
                Ok((status, _, _)) if self.config.not_found.contains(&status) => {
                    self.circuit_record(false);
                    return Ok(Lookup::NotFound);
                }
                Ok((status, _, _)) if self.config.pending.contains(&status) => {
                    self.circuit_record(false);
                    return Ok(Lookup::Pending);
                }
                Ok((status @ (401 | 403), _, _)) => {
                    // A refused key is the user's to fix, not the provider failing.
                    return Err(EnrichError::Unauthorized {
                        provider,
                        status,
                        setting: self.key_setting.clone(),
                    });
                }
                Ok((status, _, Some(body))) if (200..300).contains(&status) => {
                    return match self.config.record(&body, now_ms) {
                        Ok(record) => {
                            self.circuit_record(false);
                            Ok(Lookup::Found(record))
                        }
                        Err(e) => {
                            self.circuit_record(true);
                            Err(EnrichError::Malformed(shorten(&e)))
                        }
                    };
                }
                Ok((status, headers, Some(body))) => (
                    status == 429 || status >= 500,
                    server_delay(&headers, &body),
                    EnrichError::Status {
                        provider: provider.clone(),
                        status,
                        attempts: attempt,
                        detail: shorten(&body),
                    },
                ),
                Err(e) => (
                    true,
                    None,
                    EnrichError::Transport {
                        provider: provider.clone(),
                        what: if e.is_timeout() {
                            "timeout".into()
                        } else if e.is_connect() {
                            "connection failed".into()
                        } else {
                            // reqwest names the URL, which may hold the key: leave it out.
                            "the request failed".into()
                        },
                        attempts: attempt,
                    },
                ),
            };
            if !retryable || attempt > self.config.retries {
                self.circuit_record(true);
                return Err(error);
            }
            let wait = match wait {
                Some(w) if w > MAX_WAIT => {
                    self.circuit_record(true);
                    return Err(EnrichError::TooLongToWait {
                        provider,
                        seconds: w.as_secs(),
                    });
                }
                Some(w) => w,
                None => self
                    .base_delay
                    .saturating_mul(1u32 << (attempt - 1).min(16))
                    .min(MAX_WAIT)
                    .mul_f64(jitter_unit(self.calls.load(Ordering::Relaxed))),
            };
            tracing::debug!(provider = %provider, attempt, ?wait, %error, "enrichment lookup failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// An [`HttpEnricher`] behind the store's cache: a company's answer (found, or unknown to the
/// provider) is reused for the provider's `cache_hours`, so it is not looked up twice a day;
/// errors and pending lookups are not kept. A cache the database cannot serve is passed by
/// (logged): enrichment goes on uncached.
pub struct CachedEnricher<S> {
    inner: HttpEnricher,
    store: Arc<S>,
    hits: AtomicU64,
}

impl<S> CachedEnricher<S> {
    /// `inner` behind `store`'s cache.
    pub fn new(inner: HttpEnricher, store: Arc<S>) -> CachedEnricher<S> {
        CachedEnricher {
            inner,
            store,
            hits: AtomicU64::new(0),
        }
    }

    /// Lookups answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The adapter behind the cache.
    pub fn inner(&self) -> &HttpEnricher {
        &self.inner
    }
}

impl<S: EnrichmentStore + Send + Sync> Enricher for CachedEnricher<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn lookup(&self, lead: &Lead, now_ms: i64) -> std::result::Result<Lookup, EnrichError> {
        let config = self.inner.config();
        let Some(key) = config.lookup_key(lead) else {
            return self.inner.lookup(lead, now_ms).await;
        };
        match self.store.cached_answer(&config.name, &key, now_ms).await {
            Ok(Some(answer)) => {
                let cached = if answer.found {
                    answer
                        .record
                        .as_deref()
                        .and_then(|r| serde_json::from_str::<ProviderRecord>(r).ok())
                        .map(Lookup::Found)
                } else {
                    Some(Lookup::NotFound)
                };
                if let Some(lookup) = cached {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(lookup);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(provider = %config.name, error = %e, "the enrichment cache is unreachable; looking up")
            }
        }
        let lookup = self.inner.lookup(lead, now_ms).await?;
        let ttl_ms = (config.cache_hours * 3_600_000.0) as i64;
        let answer = match &lookup {
            Lookup::Found(record) => Some(CachedAnswer {
                found: true,
                record: serde_json::to_string(record).ok(),
                fetched_at: now_ms,
                expires_at: now_ms.saturating_add(ttl_ms),
            }),
            Lookup::NotFound => Some(CachedAnswer {
                found: false,
                record: None,
                fetched_at: now_ms,
                expires_at: now_ms.saturating_add(ttl_ms),
            }),
            _ => None,
        };
        if let Some(answer) = answer.filter(|_| ttl_ms > 0)
            && let Err(e) = self.store.cache_answer(&config.name, &key, &answer).await
        {
            tracing::warn!(provider = %config.name, error = %e, "could not keep the answer in the enrichment cache");
        }
        Ok(lookup)
    }
}
