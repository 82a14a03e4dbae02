//! The reference HTTP server's library: the application state, the router (built by a
//! function, so it is tested without a socket) and its JSON errors. The `brim` binary wires it to
//! a database, a mailer and a listener (`brim serve`).
#![warn(missing_docs)]

pub mod app;
pub mod http;
#[allow(missing_docs)]
pub mod input;
pub mod job_runner;
pub mod jobs;
pub mod telemetry;

pub use app::{App, GIVE_WAY_AT_MOST, Store, spawn_generation, sweep_missing_emails};
pub use http::{ApiError, router};
