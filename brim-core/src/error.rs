//! Errors of `brim-core`: one typed enum, no catch-alls.

use std::fmt;

/// A result whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `brim-core`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A lead failed validation.
    #[error(transparent)]
    Lead(#[from] LeadError),
    /// A scoring model failed to load or validate.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// No preset has this name.
    #[error("unknown model preset {0:?} (known: balanced, aggressive, conservative, intent)")]
    UnknownPreset(String),
}

/// A lead field that is missing or has a value of the wrong shape.
///
/// Displays as `field: expected ..., got ...`, e.g.
/// `employee_count: expected a whole number >= 0, got "abc"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LeadError {
    /// The JSON field name (`employee_count`, `contact.email`, `tech_stack[2]`, ...).
    pub field: String,
    /// What was expected and what was found.
    pub message: String,
}

impl LeadError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        LeadError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One problem found in a scoring model, at a path such as `fit.rules[0].cases[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProblem {
    /// Where in the model file the problem is (empty for the whole model).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ModelProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A scoring model that was rejected, with **every** problem found (never half-loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// The problems, in the order they were found; never empty.
    pub problems: Vec<ModelProblem>,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid scoring model ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ModelError {}
