//! The outbound e-mail queue's rows and answers.

use crate::names::names;

names! {
    /// Where an e-mail is in its life.
    pub enum EmailStatus ("e-mail status") {
        /// Waiting for a contact address (`wait_reason` = `no_contact`).
        Waiting = "waiting",
        /// Ready to be claimed once `due_at` has passed (a new row, a retry after backoff, or a
        /// row deferred to its send window; `wait_reason` says which).
        Queued = "queued",
        /// Held by a worker until `due_at`, the lease deadline.
        Leased = "leased",
        /// Sent. Final.
        Sent = "sent",
        /// Given up after the last attempt or a permanent failure; visible, can be re-queued.
        Dead = "dead",
        /// Withdrawn before it was sent. Final.
        Cancelled = "cancelled",
    }
}

names! {
    /// Why an e-mail that is not sent is not being sent now.
    pub enum WaitReason ("wait reason") {
        /// The lead has no contact address yet.
        NoContact = "no_contact",
        /// Deferred to the lead's next local business hours.
        SendWindow = "send_window",
        /// Waiting out the backoff after a failed attempt.
        Backoff = "backoff",
    }
}

names! {
    /// Who wrote an e-mail.
    pub enum Writer ("writer") {
        /// A language model.
        Llm = "llm",
        /// A fallback template.
        Template = "template",
    }
}

names! {
    /// Why an address or domain is suppressed.
    pub enum SuppressionReason ("suppression reason") {
        /// The recipient unsubscribed.
        Unsubscribed = "unsubscribed",
        /// Mail to it bounced permanently.
        HardBounce = "hard_bounce",
        /// Blocked by hand.
        Manual = "manual",
    }
}

/// An e-mail to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEmail {
    /// The company it is for (at most one e-mail per company is ever sent).
    pub company_id: String,
    /// The address; `None` queues the e-mail as *waiting* for a contact.
    pub recipient: Option<String>,
    /// The contact's name, for the `To:` header.
    pub recipient_name: Option<String>,
    /// The lead's IANA time zone, for its send window (`None`: the deployment's default).
    pub timezone: Option<String>,
    /// The lead's score: the priority (higher first).
    pub score: u8,
    /// The A/B variant.
    pub variant: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, if any.
    pub body_html: Option<String>,
    /// Who wrote it.
    pub writer: Writer,
    /// A stable, unique Message-ID (see `brim_core::message_id`).
    pub message_id: String,
    /// Not before this time (Unix ms), e.g. the start of the lead's send window; `None` = now.
    pub not_before: Option<i64>,
}

/// An e-mail as the queue holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEmail {
    /// Increases in enqueue order.
    pub id: i64,
    /// The company.
    pub company_id: String,
    /// The address, if known.
    pub recipient: Option<String>,
    /// The contact's name, if known.
    pub recipient_name: Option<String>,
    /// The lead's IANA time zone, if known.
    pub timezone: Option<String>,
    /// The priority.
    pub score: u8,
    /// The A/B variant.
    pub variant: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body.
    pub body_html: Option<String>,
    /// Who wrote it.
    pub writer: Writer,
    /// Its Message-ID.
    pub message_id: String,
    /// Where it is.
    pub status: EmailStatus,
    /// Why it is waiting, when it is.
    pub wait_reason: Option<WaitReason>,
    /// Set when the recipient (address or domain) is on the suppression list: it will not be
    /// claimed.
    pub suppressed: Option<SuppressionReason>,
    /// Attempts made (sent or failed).
    pub attempts: u32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The worker holding (or that last held) the lease.
    pub leased_by: Option<String>,
    /// When it was queued (Unix ms).
    pub created_at: i64,
    /// Queued: the earliest next attempt. Leased: the lease deadline. Otherwise informational.
    pub due_at: i64,
    /// When it was sent.
    pub sent_at: Option<i64>,
    /// Last change.
    pub updated_at: i64,
}

/// A scored company's place in the order [`crate::EmailQueue::unqueued_leads`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredKey {
    /// When its latest score was given (Unix ms).
    pub scored_at: i64,
    /// The company.
    pub company_id: String,
}

/// What [`crate::EmailQueue::enqueue`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// Ids of the rows queued, in the order of the input that was queued.
    pub queued: Vec<i64>,
    /// E-mails not queued because their company already has one (queued, sent or dead):
    /// `(index in the input, company_id, the existing row's id)`.
    pub skipped: Vec<(usize, String, i64)>,
}

/// What [`crate::EmailQueue::mark_sent`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMark {
    /// The row is now sent.
    Marked,
    /// It was already sent (marking again changes nothing).
    AlreadySent,
}

/// A failed attempt, as a worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure<'a> {
    /// What went wrong (kept as `last_error`).
    pub error: &'a str,
    /// `true` for failures worth retrying (a timeout, a 4xx SMTP reply); `false` for permanent
    /// ones (a 5xx reply, an invalid address), which go straight to *dead*.
    pub transient: bool,
    /// The seed of the backoff jitter (e.g. the row id mixed with the worker's seed).
    pub seed: u64,
}

/// What [`crate::EmailQueue::mark_failed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMark {
    /// Queued again for this time (Unix ms).
    Retry {
        /// The next attempt's earliest time.
        at: i64,
    },
    /// Given up: the row is dead.
    Dead,
    /// The worker no longer holds the lease (it expired and another worker claimed the row, or
    /// the row was already finished): nothing changed.
    LeaseLost,
}

/// An address or domain never to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// `someone@example.com` or `example.com` (compared without regard to case).
    pub value: String,
    /// Why.
    pub reason: SuppressionReason,
    /// Since when (Unix ms).
    pub created_at: i64,
}

/// How many e-mails are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Waiting for a contact.
    pub waiting: u64,
    /// Queued (due or not).
    pub queued: u64,
    /// Leased to a worker.
    pub leased: u64,
    /// Sent.
    pub sent: u64,
    /// Dead.
    pub dead: u64,
    /// Cancelled.
    pub cancelled: u64,
}

/// The lower-cased address and its domain, as the suppression list compares them.
pub(crate) fn recipient_keys(recipient: Option<&str>) -> (Option<String>, Option<String>) {
    match recipient {
        Some(address) => {
            let key = address.trim().to_lowercase();
            let domain = key.rsplit_once('@').map(|(_, d)| d.to_string());
            (Some(key), domain)
        }
        None => (None, None),
    }
}
