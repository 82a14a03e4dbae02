//! The delivery port and its adapters: SMTP (lettre, pooled) and an outbox folder of `.eml`
//! files (the development default: nothing leaves the machine).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Error, Result};

/// How a failed send should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth retrying later (a 4xx reply, a timeout, a refused connection).
    Transient,
    /// Not worth retrying (a 5xx reply, an invalid message): the row goes dead.
    Permanent,
    /// The mailbox does not exist (550/551/553): dead, and the address is suppressed.
    HardBounce,
}

/// A send that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Retry, give up, or give up and suppress.
    pub kind: FailureKind,
    /// What happened (the server's reply, the I/O error).
    pub message: String,
}

/// Delivers messages.
///
/// Contract: `send` returns `Ok` only once the message is accepted (by the SMTP server, or
/// whole in the outbox folder: written, then renamed in). Sending the same message again
/// (same Message-ID) is safe for the outbox (the file is replaced) and for receivers that
/// drop duplicate Message-IDs.
///
/// The outbox does not `fsync` its files: a process crash loses nothing, but a crash of the
/// machine (power loss) can lose the messages written in the last seconds before it while the
/// queue already says they were sent. It is a folder for development, tests and hand-off to
/// another program, not a mail server's spool; use SMTP where that matters.
pub trait Mailer: Send + Sync + 'static {
    /// Delivers `message`, whose Message-ID is `message_id`.
    fn send(
        &self,
        message: &Message,
        message_id: &str,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// A name for logs (`outbox:/path`, `smtp://host:port`; never a password).
    fn describe(&self) -> String;
}

/// Writes each message as `{message-id}.eml` into a folder.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    /// One writer at a time: concurrent creates and renames in one directory contend on its
    /// lock in the kernel and were measured slower than taking turns.
    turn: std::sync::Arc<std::sync::Mutex<()>>,
}

impl OutboxMailer {
    /// An outbox in `dir` (created if missing, with a `.tmp` folder for partial writes).
    pub fn new(dir: impl Into<PathBuf>) -> Result<OutboxMailer> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let tmp = dir.join(".tmp");
        std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
            path: tmp.display().to_string(),
            source,
        })?;
        Ok(OutboxMailer {
            dir,
            turn: std::sync::Arc::default(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message goes to: its Message-ID with anything but letters, digits, `.`, `-`,
    /// `_` and `@` replaced by `_`.
    pub fn file_for(&self, message_id: &str) -> PathBuf {
        let name: String = message_id
            .trim_matches(['<', '>'])
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{name}.eml"))
    }
}

impl Mailer for OutboxMailer {
    async fn send(&self, message: &Message, message_id: &str) -> Result<(), SendError> {
        let path = self.file_for(message_id);
        let bytes = message.formatted();
        // Write under `.tmp/`, then rename into the folder: a reader never sees half a message
        // (as in Maildir).
        let tmp = self
            .dir
            .join(".tmp")
            .join(path.file_name().unwrap_or_default());
        let turn = self.turn.clone();
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let _turn = turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SendError {
                kind: FailureKind::Transient,
                message: format!("outbox {}: {e}", self.dir.display()),
            }),
            Err(e) => Err(SendError {
                kind: FailureKind::Transient,
                message: format!("outbox writer stopped: {e}"),
            }),
        }
    }

    fn describe(&self) -> String {
        format!("outbox:{}", self.dir.display())
    }
}

/// Sends over SMTP through a pool of connections.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    label: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.label)
            .finish_non_exhaustive()
    }
}

/// The URL without its user and password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl SmtpMailer {
    /// An SMTP mailer for `url`: `smtp://host:port` (plain; for a local relay),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS from the start).
    /// Credentials come from the URL's user and password or, when these are set, from
    /// `username`/`password` (e.g. `BRIM_SMTP_USERNAME`/`BRIM_SMTP_PASSWORD`). `connections`
    /// caps the pool; `timeout` applies to each SMTP command. Call it inside a Tokio runtime
    /// (the pool runs a task).
    pub fn new(
        url: &str,
        credentials: Option<(String, String)>,
        connections: u32,
        timeout: Duration,
    ) -> Result<SmtpMailer> {
        let label = redact_url(url);
        if tokio::runtime::Handle::try_current().is_err() {
            // lettre's pool starts a task: without a runtime it would panic.
            return Err(Error::config(
                "BRIM_SMTP_URL",
                "the SMTP mailer must be created inside a Tokio runtime",
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            Error::config(
                "BRIM_SMTP_URL",
                format!(
                    "{label}: {e} (expected smtp://host:port, smtp://host:587?tls=required or smtps://host:465)"
                ),
            )
        })?;
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let transport = builder
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(connections.max(1)))
            .build();
        Ok(SmtpMailer { transport, label })
    }
}

impl SmtpMailer {
    /// [`SmtpMailer::new`] with the user and password from `BRIM_SMTP_USERNAME` and
    /// `BRIM_SMTP_PASSWORD` when both are set (otherwise the URL's, if any).
    pub fn from_env(url: &str, connections: u32, timeout: Duration) -> Result<SmtpMailer> {
        let credentials = match (
            std::env::var("BRIM_SMTP_USERNAME"),
            std::env::var("BRIM_SMTP_PASSWORD"),
        ) {
            (Ok(user), Ok(password)) => Some((user, password)),
            _ => None,
        };
        SmtpMailer::new(url, credentials, connections, timeout)
    }
}

/// Classifies an SMTP error: 4xx and connection problems are transient; 550, 551 and 553 are
/// hard bounces; other 5xx are permanent.
pub fn classify(error: &lettre::transport::smtp::Error) -> FailureKind {
    if error.is_permanent() {
        match error.status().map(u16::from) {
            Some(550 | 551 | 553) => FailureKind::HardBounce,
            _ => FailureKind::Permanent,
        }
    } else {
        FailureKind::Transient
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message, _message_id: &str) -> Result<(), SendError> {
        match self.transport.send(message.clone()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError {
                kind: classify(&e),
                message: format!("{}: {e}", self.label),
            }),
        }
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_it_is_an_error_not_a_panic() {
        let err = SmtpMailer::new("smtp://127.0.0.1:25", None, 1, Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside a Tokio runtime"), "{err}");
    }

    #[tokio::test]
    async fn passwords_stay_out_of_labels() {
        assert_eq!(
            redact_url("smtps://user:hunter2@mail.example:465"),
            "smtps://***@mail.example:465"
        );
        assert_eq!(redact_url("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
        let err = SmtpMailer::new("ftp://user:hunter2@x", None, 1, Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("BRIM_SMTP_URL: "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
