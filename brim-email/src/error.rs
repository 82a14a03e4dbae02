//! brim-email's errors.

/// What can go wrong setting up or running the e-mail pipeline (a failed *send* is not an error
/// of the pipeline: it is recorded on the queue row and retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is wrong; names the setting.
    #[error("{setting}: {message}")]
    Config {
        /// The setting (`BRIM_SMTP_URL`, `--llm-url`, `templates/saas/roi_focused.txt`, ...).
        setting: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A user template does not compile or render.
    #[error("template {name}: {message}")]
    Template {
        /// The template's file name.
        name: String,
        /// minijinja's message, with the line.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] brim_store::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn config(setting: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Config {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

/// brim-email's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
