//! The reference HTTP server's library: the application state, the router (built by a
//! function, so it is tested without a socket) and its JSON errors. The `brim` binary wires it to
//! a database, a mailer and a listener (`brim serve`).
#![warn(missing_docs)]

pub mod app;
#[allow(missing_docs)]
pub mod error;
pub mod http;
#[allow(missing_docs)]
pub mod input;
pub mod jobs;

pub use app::{
    App, Backlog, GIVE_WAY_AT_MOST, Recorder, Store, spawn_generation, sweep_missing_emails,
};
pub use http::{ApiError, router};
