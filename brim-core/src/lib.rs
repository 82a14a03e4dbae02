//! # brim-core
//!
//! Brim's pure engine: [`Lead`]s, [`ScoringModel`]s as data, intent [`signals`], and a
//! [`Scorer`] that gives every lead a fit, intent and total score with the reasons behind it.
//!
//! No I/O, no async, no clock, no randomness: values in, decisions out. It builds for
//! `wasm32-unknown-unknown`; on native targets the default `parallel` feature scores batches
//! on all cores with rayon.
//!
//! ```
//! use brim_core::{Lead, Scorer};
//!
//! let scorer = Scorer::preset("balanced")?;
//! let lead = Lead::from_json(r#"{"company_name": "Acme", "employee_count": 1000, "industry": "Government"}"#)?;
//! let report = scorer.report(&lead);
//! assert_eq!(report.total_score, 0);
//! assert_eq!(report.reasoning.negative, ["Company size is outside target range."]);
//! # Ok::<(), brim_core::Error>(())
//! ```
//!
//! The model file format, the presets and the signals are described in `docs/scoring.md`.
#![warn(missing_docs)]

mod delivery;
mod engine;
pub mod enrich;
mod error;
mod lead;
pub mod learn;
pub mod limits;
mod model;
pub mod signals;
pub mod stats;
mod stream;
mod text;
mod variant;
mod window;
mod zones;

pub use delivery::{Backoff, message_id};
pub use engine::{
    Action, CategoryName, Contribution, ContributionDetail, Explanation, Outcome, OutcomeKind,
    Reasoning, Score, ScoreReport, Scorer,
};
pub use error::{Error, LeadError, ModelError, ModelProblem, Result};
pub use jiff::tz::TimeZone;
pub use lead::{
    AttrValue, Contact, FieldSource, Lead, ORIGINAL_FIELDS, UncheckedLead, company_id_for_name,
};
pub use limits::quote;
pub use model::{
    Aggregate, Blend, Case, Category, MissingPolicy, Outcome as RuleOutcome, PRESETS, Polarity,
    Rule, ScoringModel, Thresholds,
};
pub use signals::{Funding, Signal, SignalKind, SignalSource, extract_signals};
pub use stream::{InputError, LeadStream, Row, StreamFormat};
pub use variant::{
    PROBLEM_FOCUSED, ROI_FOCUSED, VariantChoice, VariantPolicy, VariantRules, experiment_bucket,
};
pub use window::{SendWindow, WindowError, time_zone};

/// docs/learning.md's Rust example, compiled and run as a doc test.
#[doc = include_str!("../../docs/learning.md")]
#[cfg(doctest)]
pub struct LearningDoctests;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
