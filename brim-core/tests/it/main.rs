//! brim-core's integration tests: one binary, a module per concern.

mod docs;
mod presets;
mod properties;
mod rules;
mod spec_examples;

use brim_core::{Lead, ScoreReport, Scorer};

/// Parses a lead from JSON, panicking with the error (test data is known good).
pub fn lead(json: &str) -> Lead {
    Lead::from_json(json).unwrap_or_else(|e| panic!("bad test lead {json}: {e}"))
}

/// Scores `json` with preset `model`.
pub fn report(model: &str, json: &str) -> ScoreReport {
    Scorer::preset(model).unwrap().report(&lead(json))
}
