//! `brim serve`: the HTTP API, e-mail generation and the send worker in one process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use brim_core::SendWindow;
use brim_email::{
    Author, Composer, GenerateConfig, Generator, LlmClient, LlmConfig, Mailer, MessageConfig,
    OutboxMailer, Sender, Signer, SmtpMailer, SystemClock, TemplateWriter, Worker, WorkerConfig,
};
use brim_server::app::Settings;
use brim_server::{App, Store, router, spawn_generation};
use brim_store::{PgStore, SqliteStore};
use tokio::sync::watch;

use crate::error::CliError;

/// `brim serve` settings: each flag can also come from the environment variable it names.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Any address other than loopback needs an API key.
    #[arg(long, env = "BRIM_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// A file holding the API key that every non-public endpoint then requires
    /// (`Authorization: Bearer <key>`). The key itself can come from BRIM_API_KEY instead.
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// Requests per client IP and minute on the public endpoints (activation events, tracking,
    /// unsubscribe); 0 turns the limit off.
    #[arg(long, env = "BRIM_PUBLIC_RATE_LIMIT", default_value_t = 600)]
    public_rate_limit: u32,
    /// Origins allowed to call the API from a browser (CORS), comma-separated; `*` for any.
    #[arg(long, env = "BRIM_CORS_ORIGINS", value_delimiter = ',')]
    cors_origin: Vec<String>,
    /// Folder of uploaded scoring models (`PUT /api/models/{name}`), loaded at start; each
    /// server reads its own, so give servers that share a database the same files.
    #[arg(long, env = "BRIM_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Who writes the e-mails: `gemini` (GEMINI_API_KEY), `openai` (any OpenAI-compatible
    /// server: OpenAI with OPENAI_API_KEY, or Ollama, vLLM, llama.cpp at --llm-url) or
    /// `templates`. Unset: Gemini when GEMINI_API_KEY is set, else OpenAI-compatible when
    /// OPENAI_API_KEY or BRIM_LLM_URL is, else templates. Templates are the fallback always.
    #[arg(long, value_enum)]
    llm: Option<LlmChoice>,
    /// The LLM server's base URL, e.g. `http://127.0.0.1:11434/v1` for Ollama.
    #[arg(long, env = "BRIM_LLM_URL")]
    llm_url: Option<String>,
    /// The model to ask, e.g. `gemini-2.5-flash`, `gpt-4o-mini`, `llama3.1`.
    #[arg(long, env = "BRIM_LLM_MODEL")]
    llm_model: Option<String>,
    /// A file holding the API key of the --llm provider (instead of GEMINI_API_KEY /
    /// OPENAI_API_KEY in the environment). Keys are never printed or logged.
    #[arg(long, value_name = "FILE")]
    llm_key_file: Option<PathBuf>,
    /// Score a file of leads (JSON lines, a JSON array or CSV) once the server is up, as a
    /// batch job: their e-mails are written and queued like any other. Handy to try Brim with
    /// `examples/leads.jsonl`.
    #[arg(long, value_name = "FILE")]
    import: Option<PathBuf>,
    /// The model for --import.
    #[arg(long, default_value = "balanced", requires = "import")]
    import_model: String,
    /// Do not run the send worker in this process (run `brim worker` processes instead).
    #[arg(long)]
    no_worker: bool,
    /// Which leads get an outreach e-mail, by their action (comma-separated), or `all`. By
    /// default only the outreach actions: a lead whose action is low_priority_monitoring is
    /// watched, not written to. The dashboard says which policy is in force.
    #[arg(
        long,
        env = "BRIM_EMAIL_ACTIONS",
        value_delimiter = ',',
        default_value = "high_priority_outreach,medium_priority_outreach"
    )]
    email_actions: Vec<String>,
    /// Only leads scoring at least this (0-100) get an e-mail, on top of --email-actions.
    #[arg(long, env = "BRIM_EMAIL_MIN_SCORE", value_parser = clap::value_parser!(u8).range(0..=100))]
    email_min_score: Option<u8>,
    /// The activation flow's steps, in order (comma-separated): the only steps
    /// POST /api/activation/log-event accepts (any other: 422) and the activation funnel
    /// counts. `result_viewed` is the step that counts as an activation in the KPIs and must be
    /// one of them.
    #[arg(
        long,
        env = "BRIM_ACTIVATION_STEPS",
        value_delimiter = ',',
        default_value = "file_upload,result_viewed,share_step_reached"
    )]
    activation_steps: Vec<String>,
    /// A data provider to fill leads in from (`apollo`, `clearbit`, or a configuration file):
    /// used by `POST /api/score-company?enrich=true`, `POST /api/leads/{id}/enrich` and batch
    /// jobs with `enrich=true`. Its key comes from the variable or file its configuration
    /// names; answers are cached and its rate shared in the database.
    #[arg(long, env = "BRIM_ENRICH", value_name = "PROVIDER")]
    enrich: Option<String>,
    /// Fields the provider's value replaces although the lead has one (comma-separated; by
    /// default none: the lead's own values win).
    #[arg(
        long,
        env = "BRIM_ENRICH_OVERWRITE",
        value_delimiter = ',',
        requires = "enrich"
    )]
    enrich_overwrite: Vec<String>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// The activation flow and the e-mail policy from `--activation-steps`, `--email-actions` and
/// `--email-min-score`.
fn settings(args: &ServeArgs) -> Result<Settings, CliError> {
    let mut steps: Vec<String> = Vec::new();
    for step in args.activation_steps.iter().map(|s| s.trim()) {
        let ok = !step.is_empty()
            && step.len() <= 64
            && step
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(fail(format!(
                "--activation-steps: expected names of 1-64 letters, digits, _ or -, got {}",
                brim_core::quote(step)
            )));
        }
        if steps.iter().any(|s| s == step) {
            return Err(fail(format!("--activation-steps: {step} is listed twice")));
        }
        steps.push(step.to_string());
    }
    if !steps.iter().any(|s| s == brim_store::ACTIVATION_STEP) {
        return Err(fail(format!(
            "--activation-steps: must include {} (the step that counts as an activation)",
            brim_store::ACTIVATION_STEP
        )));
    }
    let names: Vec<&str> = args.email_actions.iter().map(|s| s.trim()).collect();
    let email_actions = if names == ["all"] {
        None
    } else {
        let mut actions = Vec::new();
        for name in names {
            let action = brim_core::Action::from_name(name).ok_or_else(|| {
                fail(format!(
                    "--email-actions: expected all or a list of {}, got {}",
                    brim_core::Action::ALL.map(|a| a.as_str()).join(", "),
                    brim_core::quote(name)
                ))
            })?;
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
        Some(actions)
    };
    Ok(Settings {
        activation_steps: steps,
        email_actions,
        email_min_score: args.email_min_score,
    })
}

/// `brim worker` settings.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// What the server and the worker share.
#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    /// `sqlite://FILE` (created if missing) or `postgres://...` (several servers and workers
    /// can share one).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://brim.db")]
    database_url: String,
    /// What an answered request survives on a SQLite file: `normal` (the default) survives the
    /// process crashing; `full` syncs every commit to the disk, so it also survives a power cut
    /// (slower: numbers in docs/PERFORMANCE.md). PostgreSQL keeps its own settings.
    #[arg(
        long,
        env = "BRIM_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "normal"
    )]
    synchronous: Synchronous,
    /// How long a worker holds the e-mails it claimed (`30s`, `5m`). A live worker renews its
    /// lease while it sends; a worker that dies lets go of its e-mails when the lease runs out,
    /// and another worker takes them then.
    #[arg(long, env = "BRIM_LEASE", default_value = "30s", value_parser = parse_duration)]
    lease: Duration,
    /// Folder for sent messages (`.eml` files) when no SMTP server is configured.
    #[arg(long, env = "BRIM_OUTBOX", default_value = "./outbox")]
    outbox: PathBuf,
    /// `smtp://host:25`, `smtp://host:587?tls=required` or `smtps://host:465`; credentials from
    /// BRIM_SMTP_USERNAME / BRIM_SMTP_PASSWORD. Unset: messages go to the outbox folder.
    #[arg(long, env = "BRIM_SMTP_URL")]
    smtp_url: Option<String>,
    /// SMTP connections kept open (each carries one message at a time).
    #[arg(long, env = "BRIM_SMTP_CONNECTIONS", default_value_t = 16)]
    smtp_connections: u32,
    /// When e-mails may leave, in each lead's time zone: `Mon-Fri 09:00-17:00`,
    /// `Tue,Thu 10:00-11:00`, `always`.
    #[arg(long, env = "BRIM_SEND_WINDOW", default_value = "Mon-Fri 09:00-17:00")]
    send_window: SendWindow,
    /// The zone of leads without a `timezone`.
    #[arg(long, env = "BRIM_DEFAULT_TIMEZONE", default_value = "UTC")]
    default_timezone: String,
    /// Seconds between worker cycles when the queue has nothing due.
    #[arg(long, default_value_t = 5)]
    worker_interval: u64,
    /// E-mails claimed per worker cycle.
    #[arg(long, default_value_t = 100)]
    batch_size: u32,
    /// The From address.
    #[arg(
        long,
        env = "BRIM_FROM",
        default_value = "Brim <outreach@brim.localhost>"
    )]
    from: String,
    /// The URL recipients reach the server at (unsubscribe and tracking links).
    #[arg(long, env = "BRIM_PUBLIC_URL", default_value = "http://127.0.0.1:8000")]
    public_url: String,
    /// Track opens and clicks (through the public URL).
    #[arg(long, env = "BRIM_TRACKING")]
    tracking: bool,
    /// The secret that signs unsubscribe and tracking links (created when missing; every
    /// server and worker of a deployment must share it).
    #[arg(long, env = "BRIM_SECRET_FILE", default_value = "brim.secret")]
    secret_file: PathBuf,
    /// Who signs the e-mails.
    #[arg(long, env = "BRIM_SENDER_NAME", default_value = "The Brim team")]
    sender_name: String,
    /// The company sending.
    #[arg(long, env = "BRIM_SENDER_COMPANY", default_value = "Brim")]
    sender_company: String,
    /// What you offer, as in "helps teams <product>".
    #[arg(
        long,
        env = "BRIM_PRODUCT",
        default_value = "automate the busywork between their tools"
    )]
    product: String,
    /// A link to book a call, offered in every e-mail (tracked with --tracking).
    #[arg(long, env = "BRIM_CTA_URL")]
    cta_url: Option<String>,
    /// A folder of your own e-mail templates (see docs/email.md).
    #[arg(long, env = "BRIM_TEMPLATES")]
    templates: Option<PathBuf>,
}

/// `--synchronous`: SQLite's `synchronous` setting for a file database.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Synchronous {
    /// Survives a process crash (WAL with `synchronous = NORMAL`).
    Normal,
    /// Also survives a power cut (`synchronous = FULL`).
    Full,
}

/// A duration such as `30s`, `5m`, `1h` or `1500ms` (plain seconds without a unit).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 30s or 5m, got {text:?}"))?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    if d < Duration::from_secs(1) {
        return Err(format!("{text:?} is shorter than a second"));
    }
    Ok(d)
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Serve(e.to_string())
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<std::process::ExitCode, CliError> {
    if !args.bind.ip().is_loopback() && api_key(&args)?.is_none() {
        return Err(fail(format!(
            "--bind {}: listening beyond loopback needs an API key (--api-key-file or BRIM_API_KEY)",
            args.bind
        )));
    }
    with_store(
        &args.pipeline.database_url.clone(),
        args.pipeline.synchronous,
        Mode::Serve(args),
    )
}

/// Runs only the send worker until SIGTERM or Ctrl-C.
pub fn run_worker(args: WorkerArgs) -> Result<std::process::ExitCode, CliError> {
    with_store(
        &args.pipeline.database_url.clone(),
        args.pipeline.synchronous,
        Mode::Worker(args),
    )
}

/// The API key from `--api-key-file` or `BRIM_API_KEY` (at least 16 characters).
fn api_key(args: &ServeArgs) -> Result<Option<String>, CliError> {
    let key = match &args.api_key_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| fail(format!("--api-key-file {}: {e}", path.display())))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("BRIM_API_KEY")
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty()),
    };
    match key {
        Some(k) if k.len() < 16 => Err(fail(
            "the API key must be at least 16 characters (--api-key-file or BRIM_API_KEY)",
        )),
        other => Ok(other),
    }
}

// Built once per process from the command line: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Mode {
    Serve(ServeArgs),
    Worker(WorkerArgs),
}

fn with_store(
    url: &str,
    synchronous: Synchronous,
    mode: Mode,
) -> Result<std::process::ExitCode, CliError> {
    let runtime = tokio::runtime::Runtime::new().map_err(fail)?;
    runtime.block_on(async move {
        if url.starts_with("sqlite:") {
            let durability = match synchronous {
                Synchronous::Normal => brim_store::Durability::Process,
                Synchronous::Full => brim_store::Durability::PowerLoss,
            };
            let store = SqliteStore::connect_with(url, durability)
                .await
                .map_err(|e| fail(format!("--database-url {url}: {e}")))?;
            start(Arc::new(store), mode).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = PgStore::connect(url)
                .await
                .map_err(|e| fail(format!("--database-url: {e}")))?;
            start(Arc::new(store), mode).await
        } else {
            Err(fail(format!(
                "--database-url: expected sqlite://FILE or postgres://..., got {:?}",
                brim_email::redact_url(url)
            )))
        }
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The parts both commands build from the settings.
struct Parts {
    clock: Arc<dyn brim_email::Clock>,
    composer: Arc<Composer>,
    default_zone: brim_core::TimeZone,
}

fn parts(p: &PipelineArgs) -> Result<Parts, CliError> {
    let default_zone = brim_core::time_zone(&p.default_timezone)
        .map_err(|e| fail(format!("--default-timezone: {e}")))?;
    let mut message = MessageConfig::new(&p.from, &p.public_url).map_err(fail)?;
    if p.tracking {
        message = message.tracking(&p.public_url).map_err(fail)?;
    }
    let signer = Signer::load_or_create(&p.secret_file).map_err(fail)?;
    Ok(Parts {
        clock: Arc::new(SystemClock),
        composer: Arc::new(Composer::new(message, signer)),
        default_zone,
    })
}

fn start_worker<S: Store>(
    store: Arc<S>,
    p: &PipelineArgs,
    parts: &Parts,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, CliError> {
    let config = WorkerConfig {
        batch_size: p.batch_size,
        interval: Duration::from_secs(p.worker_interval.max(1)),
        window: p.send_window.clone(),
        default_zone: parts.default_zone.clone(),
        lease: p.lease,
        ..WorkerConfig::default()
    };
    let composer = parts.composer.clone();
    let clock = parts.clock.clone();
    Ok(match &p.smtp_url {
        Some(url) => {
            let mailer = Arc::new(
                SmtpMailer::from_env(url, p.smtp_connections, Duration::from_secs(30))
                    .map_err(fail)?,
            );
            spawn_worker(store, mailer, composer, config, clock, stop)
        }
        None => {
            let mailer = Arc::new(OutboxMailer::new(&p.outbox).map_err(fail)?);
            spawn_worker(store, mailer, composer, config, clock, stop)
        }
    })
}

async fn start<S: Store>(store: Arc<S>, mode: Mode) -> Result<(), CliError> {
    match mode {
        Mode::Worker(args) => {
            let parts = parts(&args.pipeline)?;
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = start_worker(store, &args.pipeline, &parts, stop_rx)?;
            eprintln!("brim: worker running (Ctrl-C or SIGTERM stops it)");
            shutdown_signal().await;
            let _ = stop_tx.send(true);
            let _ = task.await;
            eprintln!("brim: stopped");
            Ok(())
        }
        Mode::Serve(args) => serve(store, args).await,
    }
}

/// `--llm`: who writes the e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LlmChoice {
    /// Google Gemini (GEMINI_API_KEY or --llm-key-file).
    Gemini,
    /// An OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp...).
    Openai,
    /// The built-in (or --templates) templates only.
    Templates,
}

/// The LLM settings from the flags, the key file and the environment.
fn llm_config(args: &ServeArgs) -> Result<Option<LlmConfig>, CliError> {
    if args.llm == Some(LlmChoice::Templates) {
        return Ok(None);
    }
    if args.llm_key_file.is_some() && args.llm.is_none() {
        return Err(fail(
            "--llm-key-file: say whose key it is with --llm gemini or --llm openai",
        ));
    }
    let file_key = match &args.llm_key_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| fail(format!("--llm-key-file {}: {e}", path.display())))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let get = |name: &str| -> Option<String> {
        match (name, args.llm) {
            ("BRIM_LLM_URL", _) => args.llm_url.clone(),
            ("BRIM_LLM_MODEL", _) => args.llm_model.clone(),
            ("GEMINI_API_KEY", Some(LlmChoice::Openai)) => None,
            ("OPENAI_API_KEY", Some(LlmChoice::Gemini)) => None,
            ("GEMINI_API_KEY", Some(LlmChoice::Gemini)) => file_key.clone().or_else(|| env(name)),
            ("OPENAI_API_KEY", Some(LlmChoice::Openai)) => file_key.clone().or_else(|| env(name)),
            _ => env(name),
        }
    };
    let config = LlmConfig::from_lookup(get).map_err(fail)?;
    match (args.llm, &config) {
        (Some(LlmChoice::Gemini), None) => Err(fail(
            "--llm gemini needs an API key: GEMINI_API_KEY or --llm-key-file",
        )),
        (Some(LlmChoice::Openai), None) => Err(fail(
            "--llm openai needs OPENAI_API_KEY (or --llm-key-file) for OpenAI, or --llm-url for a local server",
        )),
        _ => Ok(config),
    }
}

/// How often a server reads which learned model is in force (another server on the database may
/// have activated one).
const FOLLOW_LEARNED_EVERY: Duration = Duration::from_secs(5);

/// Follows the learned-model registry until the application is gone (it holds the application
/// only while it reads, so a shutdown never waits for it).
async fn follow_learned<S: Store>(app: std::sync::Weak<App<S>>) {
    let mut tick = tokio::time::interval(FOLLOW_LEARNED_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(app) = app.upgrade() else { return };
        if *app.stopping.borrow() {
            return;
        }
        if let Err(e) = app.refresh_learned().await {
            tracing::warn!(error = %e, "cannot read the learned-model registry; keeping the model in force");
        }
    }
}

/// Starts a batch job on a copy of `file` (the job removes its input when done).
async fn import<S: Store>(app: &Arc<App<S>>, file: &Path, model: &str) -> Result<(), CliError> {
    let scorer = app
        .scorer_for(model)
        .map_err(|e| fail(format!("--import-model: {e}")))?;
    let copy = std::env::temp_dir().join(format!(
        "brim-import-{}-{}",
        std::process::id(),
        file.file_name().and_then(|n| n.to_str()).unwrap_or("leads")
    ));
    let bytes = std::fs::copy(file, &copy)
        .map_err(|e| fail(format!("--import {}: {e}", file.display())))?;
    // The copy keeps the file's name, so its extension counts as in `brim score`.
    let format = brim_server::jobs::detect_format(&copy, None)
        .map_err(|e| fail(format!("--import {}: {e}", file.display())))?;
    let id = brim_server::job_runner::spawn(app, model, scorer, copy, format, bytes, false);
    tracing::info!(file = %file.display(), job = %id, "importing leads");
    eprintln!(
        "brim: importing {} as job {id} (GET /api/jobs/{id})",
        file.display()
    );
    Ok(())
}

async fn serve<S: Store>(store: Arc<S>, args: ServeArgs) -> Result<(), CliError> {
    let p = &args.pipeline;
    let parts = parts(p)?;
    let sender = Sender {
        name: p.sender_name.clone(),
        company: p.sender_company.clone(),
        product: p.product.clone(),
        cta_url: p.cta_url.clone(),
    };
    let templates = match &p.templates {
        Some(dir) => TemplateWriter::with_folder(sender.clone(), dir).map_err(fail)?,
        None => TemplateWriter::new(sender.clone()),
    };
    let llm = match llm_config(&args)? {
        Some(config) => Some(LlmClient::new(config).map_err(fail)?),
        None => None,
    };
    let writer = llm
        .as_ref()
        .map_or("templates".to_string(), LlmClient::label);
    let settings = settings(&args)?;
    tracing::info!(policy = %settings.email_policy(), steps = ?settings.activation_steps, "outreach and activation settings");
    let author = Arc::new(Author::new(llm, templates, sender));
    let generator = Generator::new(
        store.clone(),
        author,
        GenerateConfig {
            window: p.send_window.clone(),
            default_zone: parts.default_zone.clone(),
            message_domain: parts.composer.config().domain(),
            actions: settings.email_actions.clone(),
            min_score: settings.email_min_score,
            ..GenerateConfig::default()
        },
    );
    // Turned on when the server stops: batch jobs stop between batches, sweeps between pages.
    let (stopping_tx, stopping) = watch::channel(false);
    // Scored requests are committed first; e-mail generation gives way to them.
    let (recorder, recorder_task) = brim_store::Recorder::spawn(store.clone())
        .map_err(|e| fail(format!("cannot start the request recorder: {e}")))?;
    let (generation, generation_task) = spawn_generation(
        generator,
        parts.clock.clone(),
        1024,
        Duration::from_secs(30),
        stopping.clone(),
        Some(recorder.backlog()),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_task = if args.no_worker {
        None
    } else {
        Some(start_worker(store.clone(), p, &parts, stop_rx)?)
    };
    let mut app = App::new(
        store,
        parts.clock.clone(),
        parts.composer.clone(),
        Some(generation),
    );
    if let Some(key) = api_key(&args)? {
        app = app.with_api_key(key);
    }
    app = app
        .with_settings(settings)
        .with_recorder(recorder)
        .with_public_limit(args.public_rate_limit)
        .with_cors_origins(args.cors_origin.clone())
        .with_stopping(stopping)
        .with_models_dir(&args.models_dir)
        .map_err(|e| fail(format!("--models-dir: {e}")))?;
    if let Some(provider) = &args.enrich {
        let http =
            crate::enrich::http_enricher(provider).map_err(|e| fail(format!("--enrich: {e}")))?;
        let policy = brim_core::enrich::MergePolicy::overwriting(
            args.enrich_overwrite.iter().map(String::as_str),
        )
        .map_err(|e| fail(format!("--enrich-overwrite: {e}")))?;
        tracing::info!(provider = %http.config().name, overwrite = ?policy.overwrite, "enrichment on");
        app = app.with_enrich_policy(policy);
        let store = app.store.clone();
        app = app.with_enricher(Arc::new(crate::enrich::cached(http, store)));
    }
    let app = Arc::new(app);
    app.refresh_learned()
        .await
        .map_err(|e| fail(format!("cannot read the learned-model registry: {e}")))?;
    tokio::spawn(follow_learned(Arc::downgrade(&app)));
    if let Some(file) = &args.import {
        import(&app, file, &args.import_model).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| fail(format!("--bind {}: {e}", args.bind)))?;
    tracing::info!(bind = %args.bind, writer = %writer, worker = !args.no_worker, "brim serve listening");
    if !brim_server::http::has_wasm_package() {
        tracing::warn!(
            "this brim was built without the brim-wasm package: /activate cannot score files in the browser (run scripts/build-wasm, then build brim again)"
        );
    }
    eprintln!(
        "brim: listening on http://{bind} (writer: {writer}): dashboard http://{bind}/, API docs http://{bind}/docs/",
        bind = args.bind
    );
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(fail)?;
    // In-flight requests are answered. Batch jobs stop (they hold the application); once the
    // router and they are gone, the recorder and the generation queue drain, then the worker
    // finishes its in-flight sends.
    let _ = stopping_tx.send(true);
    let _ = recorder_task.await;
    let _ = generation_task.await;
    let _ = stop_tx.send(true);
    if let Some(task) = worker_task {
        let _ = task.await;
    }
    eprintln!("brim: stopped");
    Ok(())
}

fn spawn_worker<S: Store, M: Mailer>(
    store: Arc<S>,
    mailer: Arc<M>,
    composer: Arc<Composer>,
    config: WorkerConfig,
    clock: Arc<dyn brim_email::Clock>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let worker = Worker::new(store, mailer, composer, config, clock);
    tokio::spawn(async move { worker.run(stop).await })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    eprintln!("brim: stopping (finishing requests and sends)");
}
