//! Event types and rows.

use crate::names::names;

names! {
    /// The kinds of event Brim records.
    pub enum EventType ("event type") {
        /// A lead was scored.
        ScoreCalculated = "score_calculated",
        /// An e-mail was written for a lead.
        EmailGenerated = "email_generated",
        /// An e-mail left for the recipient.
        EmailSent = "email_sent",
        /// Sending an e-mail failed.
        EmailFailed = "email_failed",
        /// The recipient opened an e-mail.
        EmailOpened = "email_opened",
        /// The recipient clicked a link.
        EmailClicked = "email_clicked",
        /// The recipient unsubscribed.
        Unsubscribed = "unsubscribed",
        /// A CRM reported an outcome for a company.
        OutcomeReported = "outcome_reported",
        /// A visitor completed a step of the activation flow.
        ActivationStepCompleted = "activation_step_completed",
        /// A data provider was asked about a lead (found or not, and what it filled in).
        LeadEnriched = "lead_enriched",
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

impl NewEvent {
    /// The `score_calculated` event of `report`, scored at `at`: the model, the score and the
    /// company's name in its payload.
    pub fn score_calculated(report: &brim_core::ScoreReport, at: i64) -> NewEvent {
        NewEvent {
            event_type: EventType::ScoreCalculated,
            occurred_at: at,
            user_id: None,
            company_id: Some(report.company_id.clone()),
            payload: serde_json::json!({
                "model_used": report.model,
                "score": report.total_score,
                "company_name": report.company_name,
            }),
        }
    }
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

names! {
    /// What a CRM reports about a company (the learned model's labels).
    pub enum OutcomeKind ("outcome") {
        /// A demo was booked.
        DemoBooked = "demo_booked",
        /// The deal was won.
        ClosedWon = "closed_won",
        /// The deal was lost.
        ClosedLost = "closed_lost",
        /// The company is not a fit.
        NotAFit = "not_a_fit",
    }
}

impl OutcomeKind {
    /// Whether it counts as converting for a learned model: a demo booked or a deal won.
    pub fn is_positive(self) -> bool {
        matches!(self, OutcomeKind::DemoBooked | OutcomeKind::ClosedWon)
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
