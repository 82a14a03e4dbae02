//! Errors of `brim-store`.

/// A result whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when storing or reading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
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
}
