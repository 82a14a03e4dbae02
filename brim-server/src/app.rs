//! What the handlers share: the store, the clock, the scorers, and the bounded queue that feeds
//! e-mail generation in the background.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

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
    /// Batch scoring jobs.
    pub jobs: Arc<crate::jobs::Jobs>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<crate::http::Metrics>,
    /// Requests per client IP and minute on the public endpoints.
    pub public_limit: Arc<crate::http::PublicLimit>,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Group commit for scored requests; `None`: each request writes on its own.
    pub recorder: Option<Recorder>,
    /// Scored leads waiting for their e-mail (bounded: a full queue slows the requests down
    /// instead of growing without limit). `None`: no e-mails are generated.
    pub generation: Option<mpsc::Sender<(Lead, ScoreReport)>>,
    /// Where uploaded models are kept (`PUT /api/models/{name}`); `None`: uploads are refused.
    pub models_dir: Option<PathBuf>,
    scorers: RwLock<BTreeMap<String, ModelEntry>>,
    model_uploads: tokio::sync::Mutex<()>,
    /// Becomes `true` when the server shuts down: batch jobs stop between batches.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// A model the server scores with.
#[derive(Clone)]
pub struct ModelEntry {
    /// The scorer.
    pub scorer: Arc<Scorer>,
    /// Shipped with Brim (`preset`, never replaced) or uploaded (`custom`).
    pub source: ModelSource,
}

/// Where a model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// One of brim-core's presets.
    Preset,
    /// Uploaded through the API (kept in the models folder).
    Custom,
}

impl ModelSource {
    /// `preset` or `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Preset => "preset",
            ModelSource::Custom => "custom",
        }
    }
}

/// Why an upload was refused.
#[derive(Debug)]
pub enum PutModelError {
    /// The name is not 1–64 letters, digits, `_` or `-`.
    BadName(String),
    /// A preset has that name.
    Preset(String),
    /// The model file has problems (every one listed).
    Invalid(brim_core::ModelError),
    /// The file's own `name` differs from the name in the URL.
    NameMismatch {
        /// The name in the URL.
        url: String,
        /// The name in the file.
        file: String,
    },
    /// The server keeps no models folder.
    NoFolder,
    /// Writing the file failed.
    Io(std::io::Error),
}

/// Whether `name` can name an uploaded model: 1–64 ASCII letters, digits, `_` or `-`.
pub fn valid_model_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
                Scorer::preset(name).ok().map(|s| {
                    (
                        name.to_string(),
                        ModelEntry {
                            scorer: Arc::new(s),
                            source: ModelSource::Preset,
                        },
                    )
                })
            })
            .collect();
        App {
            store,
            clock,
            composer,
            api_key: None,
            recorder: None,
            jobs: Arc::default(),
            metrics: Arc::default(),
            public_limit: Arc::new(crate::http::PublicLimit::new(600)),
            cors_origins: Vec::new(),
            generation,
            models_dir: None,
            scorers: RwLock::new(scorers),
            model_uploads: tokio::sync::Mutex::new(()),
            stopping: tokio::sync::watch::channel(false).1,
        }
    }

    /// Keeps uploaded models in `dir` (created), and loads the ones already there (`*.toml`,
    /// `*.json`). A file that does not load stops the start with its name and every problem.
    pub fn with_models_dir(mut self, dir: impl Into<PathBuf>) -> Result<App<S>, String> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: cannot create the models folder: {e}", dir.display()))?;
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: cannot read the models folder: {e}", dir.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            // An upload interrupted by a crash leaves its temporary file: remove it.
            .filter(|p| {
                let stale = p.extension().is_some_and(|e| e == "tmp")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if stale {
                    let _ = std::fs::remove_file(p);
                }
                !stale
            })
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("toml" | "json")
                )
            })
            .collect();
        paths.sort();
        {
            let mut scorers = self.scorers.write().unwrap_or_else(|p| p.into_inner());
            for path in paths {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                if !valid_model_name(&name) || scorers.contains_key(&name) {
                    return Err(format!(
                        "{}: a model file must be named NAME.toml or NAME.json, NAME not a preset's and used once",
                        path.display()
                    ));
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let scorer = load_scorer(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                if scorer.model().name != name {
                    return Err(format!(
                        "{}: the file names its model {:?}; name the file after it",
                        path.display(),
                        scorer.model().name
                    ));
                }
                scorers.insert(
                    name,
                    ModelEntry {
                        scorer: Arc::new(scorer),
                        source: ModelSource::Custom,
                    },
                );
            }
        }
        self.models_dir = Some(dir);
        Ok(self)
    }

    /// Checks `text` (TOML or JSON) as the model `name`, keeps it in the models folder (written
    /// whole and synced, then renamed into place; uploads take turns) and scores with it from
    /// now on. Answers its scorer, and `true` when it is new, `false` when it replaced an
    /// uploaded model of that name.
    pub async fn put_model(
        &self,
        name: &str,
        text: &str,
    ) -> Result<(Arc<Scorer>, bool), PutModelError> {
        if !valid_model_name(name) {
            return Err(PutModelError::BadName(name.to_string()));
        }
        if brim_core::ScoringModel::preset_toml(name).is_some()
            || self.model_source(name) == Some(ModelSource::Preset)
        {
            return Err(PutModelError::Preset(name.to_string()));
        }
        let Some(dir) = self.models_dir.clone() else {
            return Err(PutModelError::NoFolder);
        };
        let scorer = load_scorer(text).map_err(PutModelError::Invalid)?;
        if scorer.model().name != name {
            return Err(PutModelError::NameMismatch {
                url: name.to_string(),
                file: scorer.model().name.clone(),
            });
        }
        let json = text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{');
        let (keep, other) = if json {
            ("json", "toml")
        } else {
            ("toml", "json")
        };
        // One upload at a time: the file on disk, the other format's removal and the model in
        // memory change together.
        let _turn = self.model_uploads.lock().await;
        let tmp = dir.join(format!(".{name}.{keep}.tmp"));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes()).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, dir.join(format!("{name}.{keep}"))).await?;
            match tokio::fs::remove_file(dir.join(format!("{name}.{other}"))).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(PutModelError::Io(e));
        }
        let scorer = Arc::new(scorer);
        let previous = self
            .scorers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                name.to_string(),
                ModelEntry {
                    scorer: scorer.clone(),
                    source: ModelSource::Custom,
                },
            );
        Ok((scorer, previous.is_none()))
    }

    /// The models, for reading (a panicked writer left them whole: every change is one insert).
    fn registry(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ModelEntry>> {
        self.scorers.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the model `name` came from, if there is one.
    pub fn model_source(&self, name: &str) -> Option<ModelSource> {
        self.registry().get(name).map(|e| e.source)
    }

    /// Every model, by name.
    pub fn models(&self) -> Vec<(String, ModelEntry)> {
        self.registry()
            .iter()
            .map(|(n, e)| (n.clone(), e.clone()))
            .collect()
    }

    /// Stops batch jobs between batches once `stopping` turns `true` (a shutdown).
    pub fn with_stopping(mut self, stopping: tokio::sync::watch::Receiver<bool>) -> App<S> {
        self.stopping = stopping;
        self
    }

    /// Requires `key` on every non-public endpoint.
    pub fn with_api_key(mut self, key: impl Into<Arc<str>>) -> App<S> {
        self.api_key = Some(key.into());
        self
    }

    /// Stores scored requests through `recorder` (group commit).
    pub fn with_recorder(mut self, recorder: Recorder) -> App<S> {
        self.recorder = Some(recorder);
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
        self.registry().get(name).map(|e| e.scorer.clone())
    }

    /// The scorer for `name`, or a sentence naming the known models.
    pub fn scorer_for(&self, name: &str) -> Result<Arc<Scorer>, String> {
        self.scorer(name).ok_or_else(|| {
            format!(
                "unknown model {name:?} (known: {})",
                self.model_names().join(", ")
            )
        })
    }

    /// The model names, sorted.
    pub fn model_names(&self) -> Vec<String> {
        self.registry().keys().cloned().collect()
    }
}

fn load_scorer(text: &str) -> Result<Scorer, brim_core::ModelError> {
    Scorer::new(brim_core::ScoringModel::from_text(text)?)
}

/// Starts the background task that writes and queues e-mails for scored leads: it takes what is
/// waiting in the queue (up to 64 at a time) and runs the generator on it, and every
/// `sweep_every` (and once at start) it looks for scored leads that have no e-mail yet — those
/// the queue was too full to take, or whose request was answered just before a crash — so no
/// lead is left without its e-mail. Once `stopping` turns `true` no sweep starts and a running
/// one stops between pages. Returns the queue's sender and the task, which ends once every
/// sender is dropped and the queue is drained.
///
/// With `give_way` (the [`Recorder`]'s [`Backlog`]), each batch and each sweep page first waits
/// until no scored request waits for its commit, for at most [`GIVE_WAY_AT_MOST`]: requests
/// and generation share SQLite's one writer, and a request's answer waits for its commit while
/// an e-mail can be written a moment later. Under a load that never lets up, generation still
/// gets the writer once per [`GIVE_WAY_AT_MOST`] per batch; what the queue cannot take then is
/// left to the sweep.
pub fn spawn_generation<S: Store>(
    generator: Generator<S>,
    clock: Arc<dyn Clock>,
    capacity: usize,
    sweep_every: std::time::Duration,
    stopping: tokio::sync::watch::Receiver<bool>,
    give_way: Option<Arc<Backlog>>,
) -> (mpsc::Sender<(Lead, ScoreReport)>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<(Lead, ScoreReport)>(capacity.max(1));
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(64);
        let mut tick = tokio::time::interval(sweep_every.max(std::time::Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let first = tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
                _ = tick.tick() => {
                    // A shutdown (`stopping`, or every sender gone) stops a long sweep between
                    // pages: the next start's sweep goes on from there.
                    let stop = || *stopping.borrow() || rx.is_closed();
                    if stop() {
                        continue;
                    }
                    match sweep_until(&generator, clock.now_ms(), stop, give_way.as_deref()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(emails = n, "queued e-mails for scored leads that had none"),
                        Err(e) => tracing::error!(error = %e, "sweep for leads without e-mails failed"),
                    }
                    continue;
                }
            };
            batch.push(first);
            while batch.len() < 64 {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let n = batch.len();
            if let Some(backlog) = &give_way {
                backlog.wait_idle(GIVE_WAY_AT_MOST).await;
            }
            match generator
                .generate(std::mem::take(&mut batch), clock.now_ms())
                .await
            {
                Ok(report) => tracing::debug!(?report, "e-mails generated"),
                Err(e) => {
                    // The leads and scores are stored: the next sweep writes these e-mails.
                    tracing::error!(error = %e, leads = n, "e-mail generation failed; the sweep will retry")
                }
            }
        }
    });
    (tx, task)
}

/// Writes and queues the e-mails of scored leads that have none (oldest score first), a page at
/// a time. Returns how many were queued. Leads the generation policy leaves out are passed over.
pub async fn sweep_missing_emails<S: Store>(
    generator: &Generator<S>,
    now: i64,
) -> Result<usize, brim_email::Error> {
    sweep_until(generator, now, || false, None).await
}

/// [`sweep_missing_emails`], stopping between pages once `stop()` says so.
/// With `give_way`, each page first waits for the request backlog as the queue's batches do.
async fn sweep_until<S: Store>(
    generator: &Generator<S>,
    now: i64,
    stop: impl Fn() -> bool,
    give_way: Option<&Backlog>,
) -> Result<usize, brim_email::Error> {
    const PAGE: u32 = 256;
    let store = generator.store();
    let mut after: Option<brim_store::ScoredKey> = None;
    let mut queued = 0;
    loop {
        let mut keys = store.unqueued_leads(after.as_ref(), PAGE).await?;
        if keys.is_empty() || stop() {
            return Ok(queued);
        }
        let mut items = Vec::with_capacity(keys.len());
        for key in &keys {
            if let (Some(lead), Some(score)) = (
                store.get_lead(&key.company_id).await?,
                store.latest_score(&key.company_id).await?,
            ) {
                items.push((lead.lead, score.report));
            }
        }
        if let Some(backlog) = give_way {
            backlog.wait_idle(GIVE_WAY_AT_MOST).await;
        }
        queued += generator.generate(items, now).await?.queued;
        // The next page starts past this one, whether its leads were queued or passed over by
        // the generation policy (they would be passed over again).
        if keys.len() < PAGE as usize {
            return Ok(queued);
        }
        after = keys.pop();
    }
}

/// The longest e-mail generation waits for scored requests to be committed before it takes
/// its turn as the writer (see [`spawn_generation`]). Measured under the load benchmark
/// (docs/PERFORMANCE.md): 0 → 2.4 k requests/s, 50 ms → 3.4 k, 200 ms → 3.8 k.
pub const GIVE_WAY_AT_MOST: std::time::Duration = std::time::Duration::from_millis(200);

/// Scored requests given to the [`Recorder`] and not yet answered: what e-mail generation
/// gives way to.
#[derive(Debug, Default)]
pub struct Backlog {
    pending: std::sync::atomic::AtomicUsize,
    /// Requests ever added: a quiet spell is one in which this does not move.
    arrived: std::sync::atomic::AtomicU64,
    idle: tokio::sync::Notify,
}

impl Backlog {
    /// Requests waiting now.
    pub fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Acquire)
    }

    /// One more request waits.
    pub fn add(&self) {
        self.pending
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.arrived
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// `n` requests were answered; wakes those waiting for the backlog once it is empty.
    /// (Never below zero: more `done` than `add` leaves it empty.)
    pub fn done(&self, n: usize) {
        let before = self
            .pending
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |p| Some(p.saturating_sub(n)),
            )
            .unwrap_or(0);
        if before <= n {
            self.idle.notify_waiters();
        }
    }

    /// Returns once no request has waited for [`QUIET`], or after `at_most`. (Under a steady
    /// load the backlog is empty for a moment between two commits now and then; giving the
    /// writer away in such a moment stalled the next commit: measured, p99 +5-10 ms.)
    pub async fn wait_idle(&self, at_most: std::time::Duration) {
        let _ = tokio::time::timeout(at_most, async {
            loop {
                // Registered before the check, so a `done` in between is not missed.
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.pending() == 0 {
                    let seen = self.arrived.load(std::sync::atomic::Ordering::Acquire);
                    tokio::time::sleep(QUIET).await;
                    if self.pending() == 0
                        && self.arrived.load(std::sync::atomic::Ordering::Acquire) == seen
                    {
                        return;
                    }
                    continue;
                }
                idle.await;
            }
        })
        .await;
    }
}

/// How long no scored request must have come for e-mail generation to take the writer before
/// [`GIVE_WAY_AT_MOST`] (see [`Backlog::wait_idle`]).
pub const QUIET: std::time::Duration = std::time::Duration::from_millis(5);

/// One request counted in a [`Backlog`] until it reaches the recorder, which then counts it
/// down itself; dropped before that, it counts itself down.
struct Pending<'a> {
    backlog: &'a Backlog,
    handed_over: bool,
}

impl<'a> Pending<'a> {
    fn new(backlog: &'a Backlog) -> Pending<'a> {
        backlog.add();
        Pending {
            backlog,
            handed_over: false,
        }
    }

    fn handed_over(mut self) {
        self.handed_over = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.handed_over {
            self.backlog.done(1);
        }
    }
}

/// One scored request waiting to be stored.
struct Record {
    lead: Lead,
    report: ScoreReport,
    now: i64,
    /// Given the lead and report back once they are stored (they are moved through the batch,
    /// not copied).
    done: tokio::sync::oneshot::Sender<Result<(Lead, ScoreReport), crate::http::ApiError>>,
}

/// Group commit for scored requests: one task stores the leads, scores and `score_calculated`
/// events of every request waiting (up to 1,024) in one batch per table, then answers each
/// request — so a request is answered only once its event is durably stored, and concurrent
/// requests share transactions instead of queueing for the database one by one.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    backlog: Arc<Backlog>,
}

impl Recorder {
    /// Starts the recorder; it ends when every `Recorder` clone is dropped and the queue is
    /// empty (the returned task then completes).
    ///
    /// The recorder runs on a thread of its own (`brim-recorder`), on the current runtime's
    /// I/O and timers: it is the server's one serial step, and among the runtime's tasks it
    /// waited behind the requests' at every wake-up. With the SQLite adapter it also runs each
    /// batch's transaction on that thread, blocking it. Measured under the load benchmark
    /// (docs/PERFORMANCE.md): on a Tokio worker (`block_in_place`) 10.8 k requests/s, on its own
    /// thread 14.2-15.4 k.
    pub fn spawn<S: Store>(store: Arc<S>) -> std::io::Result<(Recorder, JoinHandle<()>)> {
        let (tx, mut rx) = mpsc::channel::<Record>(4096);
        let backlog = Arc::new(Backlog::default());
        let waiting = backlog.clone();
        let run = async move {
            let mut batch: Vec<Record> = Vec::with_capacity(1024);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let n = batch.len();
                store_batch(store.as_ref(), &mut batch).await;
                waiting.done(n);
            }
        };
        let (ended, end) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("brim-recorder".into())
            .spawn(move || {
                runtime.block_on(run);
                let _ = ended.send(());
            })?;
        // Completes when the thread's loop ends (or the thread died: its sender is dropped).
        let task = tokio::spawn(async move {
            let _ = end.await;
        });
        Ok((Recorder { tx, backlog }, task))
    }

    /// The requests waiting for their commit (give it to [`spawn_generation`]).
    pub fn backlog(&self) -> Arc<Backlog> {
        self.backlog.clone()
    }

    /// Stores `lead`, its `report` and the `score_calculated` event; returns them once
    /// committed.
    pub async fn record(
        &self,
        lead: Lead,
        report: ScoreReport,
        now: i64,
    ) -> Result<(Lead, ScoreReport), crate::http::ApiError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let gone = || crate::http::ApiError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            error: "unavailable",
            detail: "the server is shutting down".into(),
            field: None,
        };
        // Counted from here until the recorder answers; if the record never reaches the
        // recorder (the server is stopping, or the caller gave up while the queue was full)
        // the guard takes it back off, so generation never waits for a request that is gone.
        let pending = Pending::new(&self.backlog);
        self.tx
            .send(Record {
                lead,
                report,
                now,
                done,
            })
            .await
            .map_err(|_| gone())?;
        pending.handed_over();
        wait.await.map_err(|_| gone())?
    }
}

/// Stores the waiting requests' records in one transaction (see [`record_scored`]) and
/// answers each, giving its lead and report back; empties `batch`.
async fn store_batch<S: Store>(store: &S, batch: &mut Vec<Record>) {
    let mut leads = Vec::with_capacity(batch.len());
    let mut scores = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for record in batch.drain(..) {
        leads.push(record.lead);
        scores.push(brim_store::NewScore {
            report: record.report,
            scored_at: record.now,
        });
        answers.push(record.done);
    }
    let result = record_scored(store, &leads, &scores).await;
    for ((lead, score), done) in leads.into_iter().zip(scores).zip(answers) {
        let _ = done.send(result.clone().map(|()| (lead, score.report)));
    }
}

/// Stores scored leads (`reports[i]` scored at `times[i]`) in one transaction; see
/// [`record_scored`].
pub(crate) async fn store_scored<S: Store>(
    store: &S,
    leads: &[Lead],
    reports: &[ScoreReport],
    times: &[i64],
) -> Result<(), crate::http::ApiError> {
    let scores: Vec<brim_store::NewScore> = reports
        .iter()
        .zip(times)
        .map(|(report, &at)| brim_store::NewScore {
            report: report.clone(),
            scored_at: at,
        })
        .collect();
    record_scored(store, leads, &scores).await
}

/// Stores scored leads in one transaction: the leads (stamped with the latest time: they share
/// one upsert), each score, and each one's `score_calculated` event at its time.
async fn record_scored<S: Store>(
    store: &S,
    leads: &[Lead],
    scores: &[brim_store::NewScore],
) -> Result<(), crate::http::ApiError> {
    let now = scores.iter().map(|s| s.scored_at).max().unwrap_or(0);
    let events: Vec<brim_store::NewEvent> = scores
        .iter()
        .map(|s| crate::http::score_event(&s.report, s.scored_at))
        .collect();
    store.record_scored(leads, now, scores, &events).await?;
    Ok(())
}

#[cfg(test)]
mod backlog_tests {
    use super::{Backlog, Pending};

    /// Generation takes the writer after a quiet spell, not in the gaps between the commits of
    /// a steady load (there the backlog is empty for a moment, again and again).
    #[tokio::test]
    async fn generation_waits_for_a_quiet_spell_not_a_gap() {
        let backlog = std::sync::Arc::new(Backlog::default());
        let started = std::time::Instant::now();
        backlog.wait_idle(std::time::Duration::from_secs(5)).await;
        let idle = started.elapsed();
        assert!(idle >= super::QUIET, "{idle:?}");
        assert!(idle < std::time::Duration::from_secs(2), "{idle:?}");

        let load = backlog.clone();
        let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        let steady = tokio::spawn(async move {
            // A request every millisecond, each answered at once: empty most of the time.
            for _ in 0..400 {
                Pending::new(&load).handed_over();
                load.done(1);
                seen.lock().unwrap().push(std::time::Instant::now());
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
        let started = std::time::Instant::now();
        backlog
            .wait_idle(std::time::Duration::from_millis(150))
            .await;
        let waited = started.elapsed();
        if waited < std::time::Duration::from_millis(150) {
            // Only a real quiet spell may end the wait early: this machine stalled the load.
            let arrivals = arrivals.lock().unwrap();
            let longest = arrivals
                .windows(2)
                .map(|w| w[1] - w[0])
                .max()
                .unwrap_or_default();
            assert!(
                longest >= super::QUIET,
                "gave way after {waited:?} in a steady load"
            );
        }
        steady.abort();
    }

    #[test]
    fn a_request_that_never_reaches_the_recorder_leaves_the_backlog() {
        let backlog = Backlog::default();
        {
            let _given_up = Pending::new(&backlog);
            assert_eq!(backlog.pending(), 1);
        }
        assert_eq!(backlog.pending(), 0);
        Pending::new(&backlog).handed_over();
        assert_eq!(
            backlog.pending(),
            1,
            "the recorder counts it down after the commit"
        );
        backlog.done(1);
        assert_eq!(backlog.pending(), 0);
        backlog.done(2);
        assert_eq!(backlog.pending(), 0, "never below zero");
    }
}
