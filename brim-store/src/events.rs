//! Event types and rows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of event Brim records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A lead was scored.
    ScoreCalculated,
    /// An e-mail was written for a lead.
    EmailGenerated,
    /// An e-mail left for the recipient.
    EmailSent,
    /// Sending an e-mail failed.
    EmailFailed,
    /// The recipient opened an e-mail.
    EmailOpened,
    /// The recipient clicked a link.
    EmailClicked,
    /// The recipient unsubscribed.
    Unsubscribed,
    /// A CRM reported an outcome for a company.
    OutcomeReported,
    /// A visitor completed a step of the activation flow.
    ActivationStepCompleted,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 9] = [
        EventType::ScoreCalculated,
        EventType::EmailGenerated,
        EventType::EmailSent,
        EventType::EmailFailed,
        EventType::EmailOpened,
        EventType::EmailClicked,
        EventType::Unsubscribed,
        EventType::OutcomeReported,
        EventType::ActivationStepCompleted,
    ];

    /// The stored name, e.g. `score_calculated`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ScoreCalculated => "score_calculated",
            EventType::EmailGenerated => "email_generated",
            EventType::EmailSent => "email_sent",
            EventType::EmailFailed => "email_failed",
            EventType::EmailOpened => "email_opened",
            EventType::EmailClicked => "email_clicked",
            EventType::Unsubscribed => "unsubscribed",
            EventType::OutcomeReported => "outcome_reported",
            EventType::ActivationStepCompleted => "activation_step_completed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub event_type: EventType,
    /// When (Unix ms, UTC).
    pub occurred_at: i64,
    /// Who did it (an anonymous visitor id, a user), if anyone.
    pub user_id: Option<String>,
    /// Which company it concerns, if any.
    pub company_id: Option<String>,
    /// Details, as JSON.
    pub payload: serde_json::Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Increases in append order.
    pub id: i64,
    /// What happened.
    pub event_type: EventType,
    /// When (Unix ms, UTC).
    pub occurred_at: i64,
    /// Who, if anyone.
    pub user_id: Option<String>,
    /// Which company, if any.
    pub company_id: Option<String>,
    /// Details.
    pub payload: serde_json::Value,
}

/// What a CRM reports about a company (the learned model's labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A demo was booked.
    DemoBooked,
    /// The deal was won.
    ClosedWon,
    /// The deal was lost.
    ClosedLost,
    /// The company is not a fit.
    NotAFit,
}

impl OutcomeKind {
    /// Every kind.
    pub const ALL: [OutcomeKind; 4] = [
        OutcomeKind::DemoBooked,
        OutcomeKind::ClosedWon,
        OutcomeKind::ClosedLost,
        OutcomeKind::NotAFit,
    ];

    /// The stored name, e.g. `closed_won`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::DemoBooked => "demo_booked",
            OutcomeKind::ClosedWon => "closed_won",
            OutcomeKind::ClosedLost => "closed_lost",
            OutcomeKind::NotAFit => "not_a_fit",
        }
    }
}

impl FromStr for OutcomeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutcomeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown outcome {s:?}; expected demo_booked, closed_won, closed_lost or not_a_fit")
            })
    }
}

/// A reported outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The company.
    pub company_id: String,
    /// What happened.
    pub outcome: OutcomeKind,
    /// When (Unix ms, UTC).
    pub occurred_at: i64,
}
