//! The generation pipeline: score → choose a variant → write → enqueue, idempotent per
//! company, with an event for each step.

use std::sync::Arc;

use brim_core::{
    Action, Lead, ScoreReport, Scorer, SendWindow, TimeZone, VariantPolicy, message_id, time_zone,
};
use brim_store::{
    EmailQueue, EmailStatus, EventStore, EventType, LeadStore, NewEmail, NewEvent, NewScore,
    ScoreStore,
};
use futures_util::StreamExt;
use serde_json::json;

use crate::Result;
use crate::author::{Author, Written};
use crate::template::WriteRequest;

/// What the pipeline generates, for whom, and when it may be sent.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// How variants are chosen.
    pub variants: VariantPolicy,
    /// The send window (sets each e-mail's planned send time).
    pub window: SendWindow,
    /// The zone of leads without one.
    pub default_zone: TimeZone,
    /// Only leads scoring at least this get an e-mail (`None`: any score).
    pub min_score: Option<u8>,
    /// Only leads with one of these actions get an e-mail (`None`: any). By default the
    /// outreach actions ([`Action::is_outreach`]): a lead to monitor is not written to.
    pub actions: Option<Vec<Action>>,
    /// Replace a company's e-mail that is not sent yet (waiting or queued) with a new one.
    /// Otherwise a company that has an e-mail is skipped (re-scoring never queues a second).
    pub regenerate: bool,
    /// The domain of Message-IDs (the From address's).
    pub message_domain: String,
    /// E-mails being written at once (the LLM client bounds its own calls too).
    pub concurrency: usize,
    /// E-mails enqueued per transaction.
    pub chunk: usize,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            variants: VariantPolicy::default(),
            window: SendWindow::default(),
            default_zone: TimeZone::UTC,
            min_score: None,
            actions: Some(Action::OUTREACH.to_vec()),
            regenerate: false,
            message_domain: "brim.localhost".into(),
            concurrency: 64,
            chunk: 256,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateReport {
    /// Leads looked at.
    pub leads: usize,
    /// E-mails queued (including those waiting for a contact).
    pub queued: usize,
    /// Of those, waiting for a contact address.
    pub needs_contact: usize,
    /// Of those, written by the LLM.
    pub by_llm: usize,
    /// Of those, written from a template (including fallbacks).
    pub by_template: usize,
    /// Of those, written from a template because the LLM failed.
    pub fallbacks: usize,
    /// Skipped: the company already has an e-mail.
    pub already_queued: usize,
    /// Skipped: below the minimum score or not a wanted action.
    pub filtered: usize,
    /// Unsent e-mails replaced (`regenerate`).
    pub replaced: usize,
}

/// Turns scored leads into queued e-mails.
pub struct Generator<S> {
    store: Arc<S>,
    author: Arc<Author>,
    config: GenerateConfig,
}

struct Job {
    lead: Lead,
    report: ScoreReport,
    replaces: Option<i64>,
}

impl<S> Generator<S>
where
    S: EmailQueue + EventStore + LeadStore + ScoreStore + Send + Sync + 'static,
{
    /// A generator writing with `author` into `store`.
    pub fn new(store: Arc<S>, author: Arc<Author>, config: GenerateConfig) -> Generator<S> {
        Generator {
            store,
            author,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GenerateConfig {
        &self.config
    }

    /// The store it writes to.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Scores `leads` with `scorer`, stores the leads and their scores, logs
    /// `score_calculated`, then [`Generator::generate`]s their e-mails. Work is done in chunks,
    /// so memory stays flat for any number of leads.
    pub async fn score_and_generate(
        &self,
        leads: impl IntoIterator<Item = Lead>,
        scorer: &Scorer,
        now: i64,
    ) -> Result<GenerateReport> {
        let mut total = GenerateReport::default();
        let mut leads = leads.into_iter().peekable();
        while leads.peek().is_some() {
            let chunk: Vec<Lead> = leads.by_ref().take(self.config.chunk.max(1)).collect();
            let reports = scorer.report_batch(&chunk);
            self.store.upsert_leads(&chunk, now).await?;
            let scores: Vec<NewScore> = reports
                .iter()
                .map(|r| NewScore {
                    report: r.clone(),
                    scored_at: now,
                })
                .collect();
            self.store.save_scores(&scores).await?;
            let events: Vec<NewEvent> = reports
                .iter()
                .map(|r| NewEvent {
                    event_type: EventType::ScoreCalculated,
                    occurred_at: now,
                    user_id: None,
                    company_id: Some(r.company_id.clone()),
                    payload: json!({
                        "score": r.total_score,
                        "fit_score": r.fit_score,
                        "intent_score": r.intent_score,
                        "action": r.action.as_str(),
                        "model": r.model,
                        "model_version": r.model_version,
                    }),
                })
                .collect();
            self.store.append_events(&events).await?;
            let r = self.generate(chunk.into_iter().zip(reports), now).await?;
            total = add(total, r);
        }
        Ok(total)
    }

    /// Chooses a variant, writes and enqueues an e-mail for each scored lead that passes the
    /// policy and has no e-mail yet (or, with `regenerate`, has one not sent yet). Logs
    /// `email_generated` with the variant, who wrote it and why.
    pub async fn generate(
        &self,
        items: impl IntoIterator<Item = (Lead, ScoreReport)>,
        now: i64,
    ) -> Result<GenerateReport> {
        let mut report = GenerateReport::default();
        let mut jobs = Vec::new();
        for (lead, score) in items {
            report.leads += 1;
            if self.config.min_score.is_some_and(|m| score.total_score < m)
                || self
                    .config
                    .actions
                    .as_ref()
                    .is_some_and(|a| !a.contains(&score.action))
            {
                report.filtered += 1;
                continue;
            }
            let existing = self.store.email_for_company(&score.company_id).await?;
            let replaces = match existing {
                None => None,
                Some(e)
                    if self.config.regenerate
                        && matches!(e.status, EmailStatus::Waiting | EmailStatus::Queued) =>
                {
                    Some(e.id)
                }
                Some(_) => {
                    report.already_queued += 1;
                    continue;
                }
            };
            jobs.push(Job {
                lead,
                report: score,
                replaces,
            });
        }

        let author = &self.author;
        let policy = &self.config.variants;
        let mut written = futures_util::stream::iter(jobs)
            .map(|job| async move {
                let variant = policy.choose(&job.lead, job.report.total_score);
                let w = author
                    .write(&WriteRequest {
                        lead: &job.lead,
                        report: &job.report,
                        variant: &variant,
                    })
                    .await;
                (job, variant, w)
            })
            .buffer_unordered(self.config.concurrency.max(1));
        let mut batch = Vec::with_capacity(self.config.chunk);
        while let Some(item) = written.next().await {
            batch.push(item);
            if batch.len() >= self.config.chunk.max(1) {
                self.enqueue(std::mem::take(&mut batch), now, &mut report)
                    .await?;
            }
        }
        if !batch.is_empty() {
            self.enqueue(batch, now, &mut report).await?;
        }
        Ok(report)
    }

    async fn enqueue(
        &self,
        batch: Vec<(Job, brim_core::VariantChoice, Written)>,
        now: i64,
        report: &mut GenerateReport,
    ) -> Result<()> {
        for (job, _, _) in &batch {
            if let Some(id) = job.replaces
                && self.store.cancel(id, now).await?
            {
                report.replaced += 1;
            }
        }
        let emails: Vec<NewEmail> = batch
            .iter()
            .map(|(job, variant, w)| {
                let zone = job
                    .lead
                    .timezone
                    .as_deref()
                    .and_then(|z| time_zone(z).ok())
                    .unwrap_or_else(|| self.config.default_zone.clone());
                let opens = self.config.window.next_open(now, &zone);
                let contact = job.lead.contact.as_ref();
                NewEmail {
                    company_id: job.report.company_id.clone(),
                    recipient: contact
                        .and_then(|c| c.email.as_deref())
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .map(str::to_string),
                    recipient_name: contact.and_then(|c| c.name.clone()),
                    timezone: job.lead.timezone.clone(),
                    score: job.report.total_score,
                    variant: variant.variant.clone(),
                    subject: w.draft.subject.clone(),
                    body_text: w.draft.body_text.clone(),
                    body_html: Some(w.draft.body_html.clone()),
                    writer: w.writer,
                    message_id: message_id(
                        &job.report.company_id,
                        now + i64::from(job.replaces.is_some()),
                        &self.config.message_domain,
                    ),
                    not_before: (opens > now).then_some(opens),
                }
            })
            .collect();
        // The e-mails and their `email_generated` events: one transaction.
        let mut counts = GenerateReport::default();
        let tally = &mut counts;
        self.store
            .enqueue_logged(&emails, now, |enqueued| {
                let counts = tally;
                let skipped: std::collections::HashSet<usize> =
                    enqueued.skipped.iter().map(|(i, _, _)| *i).collect();
                counts.already_queued += skipped.len();
                let mut ids = enqueued.queued.iter();
                let mut events = Vec::with_capacity(batch.len());
                for (i, ((job, variant, w), email)) in batch.iter().zip(&emails).enumerate() {
                    if skipped.contains(&i) {
                        continue;
                    }
                    let id = ids.next().copied();
                    counts.queued += 1;
                    if email.recipient.is_none() {
                        counts.needs_contact += 1;
                    }
                    match w.writer {
                        brim_store::Writer::Llm => counts.by_llm += 1,
                        brim_store::Writer::Template => counts.by_template += 1,
                    }
                    if w.fallback_reason.is_some() {
                        counts.fallbacks += 1;
                    }
                    events.push(NewEvent {
                        event_type: EventType::EmailGenerated,
                        occurred_at: now,
                        user_id: None,
                        company_id: Some(job.report.company_id.clone()),
                        payload: json!({
                            "email_id": id,
                            "variant": variant.variant,
                            "variant_reason": variant.reason,
                            "writer": w.writer.as_str(),
                            "template": w.template,
                            "fallback_reason": w.fallback_reason,
                            "llm_replies": w.llm_replies,
                            "needs_contact": email.recipient.is_none(),
                            "planned_send_at": email.not_before.unwrap_or(now),
                            "replaces": job.replaces,
                        }),
                    });
                }
                events
            })
            .await?;
        *report = add(std::mem::take(report), counts);
        Ok(())
    }
}

fn add(a: GenerateReport, b: GenerateReport) -> GenerateReport {
    GenerateReport {
        leads: a.leads + b.leads,
        queued: a.queued + b.queued,
        needs_contact: a.needs_contact + b.needs_contact,
        by_llm: a.by_llm + b.by_llm,
        by_template: a.by_template + b.by_template,
        fallbacks: a.fallbacks + b.fallbacks,
        already_queued: a.already_queued + b.already_queued,
        filtered: a.filtered + b.filtered,
        replaced: a.replaced + b.replaced,
    }
}
