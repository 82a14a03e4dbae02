//! What the handlers share: the store, the clock, the scorers, and the bounded queue that feeds
//! e-mail generation in the background.

use std::collections::HashMap;
use std::sync::Arc;

use brim_core::{Lead, ScoreReport, Scorer};
use brim_email::{Clock, Composer, Generator};
use brim_store::{Analytics, EmailQueue, EventStore, LeadStore, OutcomeStore, ScoreStore};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Everything the server needs from a database (both adapters are one).
pub trait Store:
    LeadStore + ScoreStore + EventStore + EmailQueue + Analytics + OutcomeStore + Send + Sync + 'static
{
}

impl<T> Store for T where
    T: LeadStore
        + ScoreStore
        + EventStore
        + EmailQueue
        + Analytics
        + OutcomeStore
        + Send
        + Sync
        + 'static
{
}

/// The application: shared by every request.
pub struct App<S> {
    /// The database.
    pub store: Arc<S>,
    /// "Now".
    pub clock: Arc<dyn Clock>,
    /// Renders previews and verifies the signed unsubscribe and tracking links.
    pub composer: Arc<Composer>,
    /// When set, every non-public endpoint needs `Authorization: Bearer <key>`.
    pub api_key: Option<Arc<str>>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<crate::http::Metrics>,
    /// Requests per client IP and minute on the public endpoints.
    pub public_limit: Arc<crate::http::PublicLimit>,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Scored leads waiting for their e-mail (bounded: a full queue slows the requests down
    /// instead of growing without limit). `None`: no e-mails are generated.
    pub generation: Option<mpsc::Sender<(Lead, ScoreReport)>>,
    scorers: HashMap<String, Arc<Scorer>>,
}

impl<S: Store> App<S> {
    /// An application over `store` with the preset models.
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        composer: Arc<Composer>,
        generation: Option<mpsc::Sender<(Lead, ScoreReport)>>,
    ) -> App<S> {
        let scorers = brim_core::PRESETS
            .iter()
            .filter_map(|(name, _)| {
                Scorer::preset(name)
                    .ok()
                    .map(|s| (name.to_string(), Arc::new(s)))
            })
            .collect();
        App {
            store,
            clock,
            composer,
            api_key: None,
            metrics: Arc::default(),
            public_limit: Arc::new(crate::http::PublicLimit::new(600)),
            cors_origins: Vec::new(),
            generation,
            scorers,
        }
    }

    /// Requires `key` on every non-public endpoint.
    pub fn with_api_key(mut self, key: impl Into<Arc<str>>) -> App<S> {
        self.api_key = Some(key.into());
        self
    }

    /// At most `per_minute` requests per client IP on the public endpoints (0: no limit).
    pub fn with_public_limit(mut self, per_minute: u32) -> App<S> {
        self.public_limit = Arc::new(crate::http::PublicLimit::new(per_minute));
        self
    }

    /// Lets browsers on `origins` call the API (CORS).
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> App<S> {
        self.cors_origins = origins;
        self
    }

    /// The scorer for a model name, if there is one.
    pub fn scorer(&self, name: &str) -> Option<Arc<Scorer>> {
        self.scorers.get(name).cloned()
    }

    /// The model names, sorted.
    pub fn model_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.scorers.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Starts the background task that writes and queues e-mails for scored leads: it takes what is
/// waiting (up to 64 at a time) and runs the generator on it. Returns the queue's sender and the
/// task, which ends once every sender is dropped and the queue is drained.
pub fn spawn_generation<S>(
    generator: Generator<S>,
    clock: Arc<dyn Clock>,
    capacity: usize,
) -> (mpsc::Sender<(Lead, ScoreReport)>, JoinHandle<()>)
where
    S: EmailQueue + EventStore + LeadStore + ScoreStore + Send + Sync + 'static,
{
    let (tx, mut rx) = mpsc::channel::<(Lead, ScoreReport)>(capacity.max(1));
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(64);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < 64 {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let n = batch.len();
            match generator
                .generate(std::mem::take(&mut batch), clock.now_ms())
                .await
            {
                Ok(report) => tracing::debug!(?report, "e-mails generated"),
                Err(e) => tracing::error!(error = %e, leads = n, "e-mail generation failed"),
            }
        }
    });
    (tx, task)
}
