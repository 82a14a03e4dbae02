//! What the handlers share: the store, the clock, the scorers, and the bounded queue that feeds
//! e-mail generation in the background.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use brim_core::learn::LearnedModel;
use brim_core::{Lead, ScoreReport, Scorer};
use brim_email::{Clock, Composer, Generator};
use brim_store::{
    Analytics, Backlog, EmailQueue, EnrichmentStore, EventStore, LeadStore, LearnedModelStore,
    OutcomeStore, Recorder, ScoreStore,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Everything the server needs from a database (both adapters are one).
pub trait Store:
    LeadStore
    + ScoreStore
    + EventStore
    + EmailQueue
    + Analytics
    + OutcomeStore
    + LearnedModelStore
    + EnrichmentStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: LeadStore
        + ScoreStore
        + EventStore
        + EmailQueue
        + Analytics
        + OutcomeStore
        + LearnedModelStore
        + EnrichmentStore
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
    pub metrics: Arc<crate::telemetry::Metrics>,
    /// Requests per client IP and minute on the public endpoints.
    pub public_limit: Arc<crate::telemetry::PublicLimit>,
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
    /// The activation flow and the e-mail policy, as configured.
    pub settings: Settings,
    learned: RwLock<LearnedState>,
    /// The data provider leads can be filled in from (`brim serve --enrich`); `None`: none.
    pub enricher: Option<Arc<brim_email::CachedEnricher<S>>>,
    /// Which fields the provider's value may replace (`--enrich-overwrite`; by default none).
    pub enrich_policy: brim_core::enrich::MergePolicy,
}

/// The learned model in force, as this process last read the registry.
#[derive(Clone, Default)]
struct LearnedState {
    /// The activation read last (`None`: none yet, or none in the registry).
    activation: Option<i64>,
    active: Option<ActiveLearned>,
}

/// The learned model that scores with the rules (see [`App::blend`]).
#[derive(Clone)]
pub struct ActiveLearned {
    /// Its id in the registry.
    pub model_id: i64,
    /// The activation that made it active.
    pub activation_id: i64,
    /// Its share of the total score, 0..=1.
    pub weight: f64,
    /// The model.
    pub model: Arc<LearnedModel>,
}

/// What a deployment configures about its funnel and its outreach (`brim serve --help`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The activation flow's steps, in order: the only steps `POST /api/activation/log-event`
    /// accepts and the activation funnel counts.
    pub activation_steps: Vec<String>,
    /// Only leads with one of these actions get an e-mail; `None`: every action.
    pub email_actions: Option<Vec<brim_core::Action>>,
    /// Only leads scoring at least this get an e-mail; `None`: any score.
    pub email_min_score: Option<u8>,
}

impl Default for Settings {
    /// The activation page's flow (`file_upload → result_viewed → share_step_reached`), and
    /// e-mails for the outreach actions only (a lead to monitor gets none).
    fn default() -> Self {
        Settings {
            activation_steps: brim_store::ACTIVATION_STEPS.map(String::from).to_vec(),
            email_actions: Some(brim_core::Action::OUTREACH.to_vec()),
            email_min_score: None,
        }
    }
}

impl Settings {
    /// The e-mail policy in a sentence, as the dashboard and `--help` say it.
    pub fn email_policy(&self) -> String {
        let who = match &self.email_actions {
            None => "Every scored lead".to_string(),
            Some(actions) if actions.is_empty() => return "No lead gets an e-mail.".into(),
            Some(actions) => {
                let names: Vec<String> = actions
                    .iter()
                    .map(|a| a.as_str().replace('_', " "))
                    .collect();
                format!("Only leads whose action is {}", names.join(" or "))
            }
        };
        match self.email_min_score {
            Some(min) => format!("{who} and whose score is at least {min} get an e-mail."),
            None => format!("{who} get an e-mail."),
        }
    }
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
            public_limit: Arc::new(crate::telemetry::PublicLimit::new(600)),
            cors_origins: Vec::new(),
            generation,
            models_dir: None,
            scorers: RwLock::new(scorers),
            model_uploads: tokio::sync::Mutex::new(()),
            stopping: tokio::sync::watch::channel(false).1,
            settings: Settings::default(),
            learned: RwLock::default(),
            enricher: None,
            enrich_policy: Default::default(),
        }
    }

    /// Fills leads in from `enricher` when asked (`?enrich=true`, `POST /api/leads/{id}/enrich`,
    /// batch jobs with `enrich=true`).
    pub fn with_enricher(mut self, enricher: Arc<brim_email::CachedEnricher<S>>) -> App<S> {
        self.enricher = Some(enricher);
        self
    }

    /// `lead`'s report with `scorer`, the learned model in force blended in.
    pub fn report(&self, scorer: &Scorer, lead: &Lead) -> ScoreReport {
        let mut reports = [scorer.report(lead)];
        blend(
            self.active_learned().as_ref(),
            scorer,
            std::slice::from_ref(lead),
            &mut reports,
        );
        let [report] = reports;
        report
    }

    /// Lets the provider's values replace the lead's own in `policy`'s fields.
    pub fn with_enrich_policy(mut self, policy: brim_core::enrich::MergePolicy) -> App<S> {
        self.enrich_policy = policy;
        self
    }

    /// Uses `settings` (the activation flow, the e-mail policy) instead of the defaults.
    pub fn with_settings(mut self, settings: Settings) -> App<S> {
        self.settings = settings;
        self
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
        self.public_limit = Arc::new(crate::telemetry::PublicLimit::new(per_minute));
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
                "unknown model {} (known: {})",
                brim_core::quote(name),
                self.model_names().join(", ")
            )
        })
    }

    /// The model names, sorted.
    pub fn model_names(&self) -> Vec<String> {
        self.registry().keys().cloned().collect()
    }
}

impl<S: Store> App<S> {
    /// The learned model in force, as last read ([`App::refresh_learned`]).
    pub fn active_learned(&self) -> Option<ActiveLearned> {
        self.learned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .active
            .clone()
    }

    /// Reads which learned model is in force from the registry, loading its file when the
    /// activation changed since the last read (cheap otherwise: one row). Every server and
    /// batch job on the database follows the registry this way (`brim serve` reads it every
    /// few seconds). A model file that no longer loads leaves the rules alone, with an error
    /// in the log.
    pub async fn refresh_learned(&self) -> Result<(), brim_store::Error> {
        let latest = self.store.learned_activations(1).await?.into_iter().next();
        let id = latest.as_ref().map(|a| a.id);
        if self
            .learned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .activation
            == id
        {
            return Ok(());
        }
        let active = match latest.as_ref().and_then(|a| a.model_id.map(|m| (a, m))) {
            None => None,
            Some((activation, model_id)) => match self.store.learned_model(model_id).await? {
                None => None,
                Some((info, body)) => match LearnedModel::from_json(&body) {
                    Ok(model) => Some(ActiveLearned {
                        model_id,
                        activation_id: activation.id,
                        weight: activation.weight,
                        model: Arc::new(model),
                    }),
                    Err(e) => {
                        tracing::error!(model = info.id, error = %e, "the active learned model does not load; scoring with the rules alone");
                        None
                    }
                },
            },
        };
        match &active {
            Some(a) => tracing::info!(
                model = a.model_id,
                name = %a.model.name,
                version = %a.model.version,
                weight = a.weight,
                "learned model in force"
            ),
            None if id.is_some() => tracing::info!("no learned model in force: the rules alone"),
            None => {}
        }
        *self.learned.write().unwrap_or_else(|p| p.into_inner()) = LearnedState {
            activation: id,
            active,
        };
        Ok(())
    }
}

/// What asking the data provider about one lead did: the `lead_enriched` event's payload and
/// the `enrichment` part of an answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EnrichOutcome {
    /// The provider.
    pub provider: String,
    /// `found`, `not_found`, `pending` (ask again later), `skipped` (nothing to look it up
    /// by), `failed` or `timeout` (no answer within the budget: scored with what it had).
    pub status: &'static str,
    /// Fields filled in.
    pub filled: Vec<String>,
    /// Fields the lead had: its own values kept.
    pub kept: Vec<String>,
    /// Values refused, and why.
    pub refused: Vec<brim_core::enrich::Refused>,
    /// Why nothing was filled in, when that is worth saying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl EnrichOutcome {
    /// The `lead_enriched` event of `company_id` at `now`.
    pub fn event(&self, company_id: &str, now: i64) -> brim_store::NewEvent {
        brim_store::NewEvent {
            event_type: brim_store::EventType::LeadEnriched,
            occurred_at: now,
            user_id: None,
            company_id: Some(company_id.to_string()),
            payload: serde_json::to_value(self).unwrap_or_default(),
        }
    }
}

impl<S: Store> App<S> {
    /// Asks the provider about `lead` and merges what it knows (the lead's own values win):
    /// within `budget` when given — past it, the lead is returned as it was, with status
    /// `timeout`, while the lookup finishes in the background so its answer reaches the cache.
    /// Never fails: a failed lookup is an outcome. `None` when no provider is configured.
    pub async fn enrich(
        &self,
        lead: Lead,
        budget: Option<std::time::Duration>,
    ) -> Option<(Lead, EnrichOutcome)> {
        use brim_email::{Enricher, Lookup};
        let enricher = self.enricher.clone()?;
        let provider = enricher.name().to_string();
        let now = self.clock.now_ms();
        let asked = lead.clone();
        let task = tokio::spawn(async move { enricher.lookup(&asked, now).await });
        let joined = match budget {
            Some(budget) => match tokio::time::timeout(budget, task).await {
                Ok(joined) => joined,
                Err(_) => {
                    let outcome = EnrichOutcome {
                        provider,
                        status: "timeout",
                        filled: Vec::new(),
                        kept: Vec::new(),
                        refused: Vec::new(),
                        reason: Some(format!("no answer within {} ms", budget.as_millis())),
                    };
                    return Some((lead, outcome));
                }
            },
            None => task.await,
        };
        let mut lead = lead;
        let mut outcome = EnrichOutcome {
            provider,
            status: "failed",
            filled: Vec::new(),
            kept: Vec::new(),
            refused: Vec::new(),
            reason: None,
        };
        match joined {
            Ok(Ok(Lookup::Found(record))) => {
                let report = brim_core::enrich::merge(&mut lead, &record, &self.enrich_policy);
                outcome.status = "found";
                outcome.filled = report.filled.into_iter().map(|p| p.field).collect();
                outcome.kept = report.kept;
                outcome.refused = report.refused;
            }
            Ok(Ok(Lookup::NotFound)) => outcome.status = "not_found",
            Ok(Ok(Lookup::Pending)) => outcome.status = "pending",
            Ok(Ok(Lookup::Skipped(why))) => {
                outcome.status = "skipped";
                outcome.reason = Some(why);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "enrichment failed; scoring with what the lead has");
                outcome.reason = Some(e.to_string());
            }
            Err(_) => outcome.reason = Some("the lookup stopped unexpectedly".into()),
        }
        Some((lead, outcome))
    }
}

/// Blends `learned` (when there is one) into the rule scorer's `reports` of `leads`: see
/// [`LearnedModel::blend`]. A model that cannot score these leads leaves the rule scores as
/// they are, with a warning in the log: scoring never fails for the learned part.
pub fn blend(
    learned: Option<&ActiveLearned>,
    scorer: &Scorer,
    leads: &[Lead],
    reports: &mut [ScoreReport],
) {
    if let Some(active) = learned
        && let Err(e) = active.model.blend(scorer, leads, reports, active.weight)
    {
        tracing::warn!(model = active.model_id, error = %e, "the learned model could not score; rule scores kept");
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
