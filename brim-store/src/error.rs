//! Errors of `brim-store`.

/// A result whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when storing or reading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite answered the scoring writer (see `SqliteStore`) with an error.
    #[cfg(feature = "sqlite")]
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Applying the embedded schema migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be read back (e.g. a lead written by a newer version).
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt {
        /// Which kind of row.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// No row with this id.
    #[error("no {what} with id {id}")]
    NotFound {
        /// Which kind of row.
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// The row is not in a state that allows this change (e.g. marking a cancelled e-mail sent).
    #[error("e-mail {id} is {status}; cannot {action}")]
    InvalidState {
        /// The row.
        id: i64,
        /// Its status now.
        status: String,
        /// What was asked.
        action: &'static str,
    },
    /// The batch this write was committed with failed (see [`crate::Recorder`]): nothing of
    /// it was stored.
    #[error("{0}")]
    Batch(std::sync::Arc<Error>),
    /// The store's writer has stopped (the process is shutting down).
    #[error("the store's writer has stopped")]
    Closed,
    /// An argument is out of range; names it and what was expected.
    #[error("{field}: {expected}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// What was expected.
        expected: String,
    },
}

/// Reads a value stored as text (an enum's name), or says which kind of row holds an unknown one.
pub(crate) fn parse_stored<T: std::str::FromStr<Err = String>>(
    what: &'static str,
    text: &str,
) -> Result<T> {
    text.parse()
        .map_err(|detail| Error::Corrupt { what, detail })
}
