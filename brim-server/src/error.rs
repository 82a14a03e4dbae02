//! Errors of the `brim` program.

use std::path::PathBuf;

/// What stops a `brim` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] std::io::Error),
    /// The reader of the output went away (e.g. `brim score ... | head`): stop quietly.
    #[error("broken pipe")]
    BrokenPipe,
    /// A model file was rejected.
    #[error("{path}: {source}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Every problem in it.
        source: brim_core::ModelError,
    },
    /// From brim-core (unknown preset, invalid model).
    #[error(transparent)]
    Core(#[from] brim_core::Error),
    /// The input is not readable as the format it claims.
    #[error("{0}")]
    Input(String),
    /// `brim serve` could not start or stopped on an error (names the setting or the cause).
    #[error("{0}")]
    Serve(String),
}

impl From<brim_server::input::InputError> for CliError {
    fn from(e: brim_server::input::InputError) -> CliError {
        CliError::Input(e.0)
    }
}

impl CliError {
    /// Classifies a write error: a closed pipe is not a failure.
    pub fn write(e: std::io::Error) -> CliError {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Write(e)
        }
    }
}
