//! `brim serve`: the HTTP API, e-mail generation and the send worker in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use brim_core::SendWindow;
use brim_email::{
    Author, Composer, GenerateConfig, Generator, LlmClient, LlmConfig, Mailer, MessageConfig,
    OutboxMailer, Sender, Signer, SmtpMailer, SystemClock, TemplateWriter, Worker, WorkerConfig,
};
use brim_server::{App, Store, router, spawn_generation};
use brim_store::{PgStore, SqliteStore};
use tokio::sync::watch;

use crate::error::CliError;

/// `brim serve` settings: each flag can also come from the environment variable it names.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Only loopback addresses for now: API keys, required for any other
    /// address, are not implemented yet.
    #[arg(long, env = "BRIM_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// `sqlite://FILE` (created if missing) or `postgres://...` (several servers and workers
    /// can share one).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://brim.db")]
    database_url: String,
    /// Folder for sent messages (`.eml` files) when no SMTP server is configured.
    #[arg(long, env = "BRIM_OUTBOX", default_value = "./outbox")]
    outbox: PathBuf,
    /// `smtp://host:25`, `smtp://host:587?tls=required` or `smtps://host:465`; credentials from
    /// BRIM_SMTP_USERNAME / BRIM_SMTP_PASSWORD. Unset: messages go to the outbox folder.
    #[arg(long, env = "BRIM_SMTP_URL")]
    smtp_url: Option<String>,
    /// When e-mails may leave, in each lead's time zone: `Mon-Fri 09:00-17:00`,
    /// `Tue,Thu 10:00-11:00`, `always`.
    #[arg(long, env = "BRIM_SEND_WINDOW", default_value = "Mon-Fri 09:00-17:00")]
    send_window: SendWindow,
    /// The zone of leads without a `timezone`.
    #[arg(long, env = "BRIM_DEFAULT_TIMEZONE", default_value = "UTC")]
    default_timezone: String,
    /// Do not run the send worker in this process (run `brim serve --no-worker` beside workers).
    #[arg(long)]
    no_worker: bool,
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
    /// The URL recipients reach this server at (unsubscribe links). Default: http://BIND.
    #[arg(long, env = "BRIM_PUBLIC_URL")]
    public_url: Option<String>,
    /// The secret that signs unsubscribe and tracking links (created when missing).
    #[arg(long, env = "BRIM_SECRET_FILE", default_value = "brim.secret")]
    secret_file: PathBuf,
    /// A folder of your own e-mail templates (see docs/email.md).
    #[arg(long, env = "BRIM_TEMPLATES")]
    templates: Option<PathBuf>,
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Serve(e.to_string())
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<std::process::ExitCode, CliError> {
    if !args.bind.ip().is_loopback() {
        return Err(fail(format!(
            "--bind {}: only loopback addresses are allowed until API keys are implemented",
            args.bind
        )));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(fail)?;
    runtime.block_on(async move {
        let url = args.database_url.clone();
        if url.starts_with("sqlite:") {
            let store = SqliteStore::connect(&url)
                .await
                .map_err(|e| fail(format!("--database-url {url}: {e}")))?;
            serve(Arc::new(store), args).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = PgStore::connect(&url)
                .await
                .map_err(|e| fail(format!("--database-url: {e}")))?;
            serve(Arc::new(store), args).await
        } else {
            Err(fail(format!(
                "--database-url: expected sqlite://FILE or postgres://..., got {:?}",
                brim_email::redact_url(&url)
            )))
        }
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve<S: Store>(store: Arc<S>, args: ServeArgs) -> Result<(), CliError> {
    let clock: Arc<dyn brim_email::Clock> = Arc::new(SystemClock);
    let default_zone = brim_core::time_zone(&args.default_timezone)
        .map_err(|e| fail(format!("--default-timezone: {e}")))?;
    let sender = Sender::default();
    let templates = match &args.templates {
        Some(dir) => TemplateWriter::with_folder(sender.clone(), dir).map_err(fail)?,
        None => TemplateWriter::new(sender.clone()),
    };
    let llm = match LlmConfig::from_env().map_err(fail)? {
        Some(config) => Some(LlmClient::new(config).map_err(fail)?),
        None => None,
    };
    let writer = llm
        .as_ref()
        .map_or("templates".to_string(), LlmClient::label);
    let author = Arc::new(Author::new(llm, templates, sender));
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let message = MessageConfig::new(&args.from, &public_url).map_err(fail)?;
    let signer = Signer::load_or_create(&args.secret_file).map_err(fail)?;
    let composer = Arc::new(Composer::new(message.clone(), signer));
    let generator = Generator::new(
        store.clone(),
        author,
        GenerateConfig {
            window: args.send_window.clone(),
            default_zone: default_zone.clone(),
            message_domain: message.domain(),
            ..GenerateConfig::default()
        },
    );
    let (generation, generation_task) = spawn_generation(generator, clock.clone(), 1024);

    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_config = WorkerConfig {
        batch_size: args.batch_size,
        interval: Duration::from_secs(args.worker_interval.max(1)),
        window: args.send_window.clone(),
        default_zone,
        ..WorkerConfig::default()
    };
    let worker_task = if args.no_worker {
        None
    } else if let Some(url) = &args.smtp_url {
        let mailer =
            Arc::new(SmtpMailer::from_env(url, 16, Duration::from_secs(30)).map_err(fail)?);
        Some(spawn_worker(
            store.clone(),
            mailer,
            composer.clone(),
            worker_config,
            clock.clone(),
            stop_rx,
        ))
    } else {
        let mailer = Arc::new(OutboxMailer::new(&args.outbox).map_err(fail)?);
        Some(spawn_worker(
            store.clone(),
            mailer,
            composer.clone(),
            worker_config,
            clock.clone(),
            stop_rx,
        ))
    };

    let app = Arc::new(App::new(store, clock, composer, Some(generation)));
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| fail(format!("--bind {}: {e}", args.bind)))?;
    tracing::info!(bind = %args.bind, writer = %writer, worker = !args.no_worker, "brim serve listening");
    eprintln!("brim: listening on http://{} (writer: {writer})", args.bind);
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(fail)?;
    // The router (and with it the generation queue's sender) is gone: drain the queue, then let
    // the worker finish its in-flight sends.
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
