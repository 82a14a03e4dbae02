//! What a queued e-mail will look like and why it has not left yet.

use brim_store::{EmailStatus, QueuedEmail, WaitReason};
use serde::Serialize;

use crate::message::Composer;

/// A queued e-mail as a person reviewing the queue wants to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// The queue row.
    pub id: i64,
    /// The company.
    pub company_id: String,
    /// `Name <address>`, or `None` while it needs a contact.
    pub recipient: Option<String>,
    /// Where it is: waiting, queued, leased, sent, dead, cancelled.
    pub status: String,
    /// The A/B variant.
    pub variant: String,
    /// `llm` or `template`.
    pub writer: String,
    /// Subject line.
    pub subject: String,
    /// The text part as it will be sent (with the unsubscribe footer).
    pub text: String,
    /// The HTML part as it will be sent (tracked links and pixel when tracking is on).
    pub html: String,
    /// When it is planned to leave (Unix ms): `None` once sent, dead, cancelled, or while it
    /// needs a contact.
    pub planned_send_at: Option<i64>,
    /// Why it has not left yet, in words.
    pub waits_because: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<i64>,
}

/// The preview of `email`.
pub fn preview(composer: &Composer, email: &QueuedEmail) -> Preview {
    let rendered = composer.render(email);
    let (planned, waits) = match (email.status, email.wait_reason) {
        (_, _) if email.suppressed.is_some() => (
            None,
            Some(format!(
                "the recipient is on the suppression list ({})",
                email.suppressed.map(|s| s.as_str()).unwrap_or_default()
            )),
        ),
        (EmailStatus::Waiting, _) => (
            None,
            Some("needs a contact address (the lead has no contact e-mail)".to_string()),
        ),
        (EmailStatus::Queued, Some(WaitReason::SendWindow)) => (
            Some(email.due_at),
            Some("outside the lead's send window; it opens at the planned time".to_string()),
        ),
        (EmailStatus::Queued, Some(WaitReason::Backoff)) if email.last_error.is_none() => (
            Some(email.due_at),
            Some(
                "held back by the rate limit or a stopping worker; it goes at the planned time"
                    .to_string(),
            ),
        ),
        (EmailStatus::Queued, Some(WaitReason::Backoff)) => (
            Some(email.due_at),
            Some(format!(
                "retrying after a failed attempt ({} so far): {}",
                email.attempts,
                email.last_error.as_deref().unwrap_or("unknown error")
            )),
        ),
        (EmailStatus::Queued, _) => (
            Some(email.due_at),
            Some("in the queue; higher-scoring leads go first".to_string()),
        ),
        (EmailStatus::Leased, _) => (
            Some(email.updated_at),
            Some(format!(
                "being sent by {}",
                email.leased_by.as_deref().unwrap_or("a worker")
            )),
        ),
        (EmailStatus::Dead, _) => (
            None,
            Some(format!(
                "gave up after {} attempt(s): {} (re-queue it to try again)",
                email.attempts,
                email.last_error.as_deref().unwrap_or("unknown error")
            )),
        ),
        (EmailStatus::Sent | EmailStatus::Cancelled, _) => (None, None),
    };
    Preview {
        id: email.id,
        company_id: email.company_id.clone(),
        recipient: email
            .recipient
            .as_ref()
            .map(|a| match &email.recipient_name {
                Some(name) if !name.trim().is_empty() => format!("{} <{a}>", name.trim()),
                _ => a.clone(),
            }),
        status: email.status.as_str().to_string(),
        variant: email.variant.clone(),
        writer: email.writer.as_str().to_string(),
        subject: email.subject.clone(),
        text: rendered.text,
        html: rendered.html,
        planned_send_at: planned,
        waits_because: waits,
        attempts: email.attempts,
        last_error: email.last_error.clone(),
        sent_at: email.sent_at,
    }
}
