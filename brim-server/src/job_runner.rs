//! Running a batch job: score a file of leads in chunks, store each chunk with its scores and
//! events, hand the leads to e-mail generation, and keep the job's status (the registry and
//! the parsing are `jobs`'s).

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use brim_core::{Lead, Scorer};

use crate::app::{App, Store};
use crate::input::{InputFormat, Source};
use crate::jobs::{JobStatus, KEPT_FAILURES, split_batch};

fn lock(status: &Arc<Mutex<JobStatus>>) -> std::sync::MutexGuard<'_, JobStatus> {
    status.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a job scoring the file at `path` (which it removes when done) with `model`, each
/// lead first filled in from the server's data provider when `enrich`; returns the job's id.
pub fn spawn<S: Store>(
    app: &Arc<App<S>>,
    model: &str,
    scorer: Arc<Scorer>,
    path: PathBuf,
    format: InputFormat,
    bytes: u64,
    enrich: bool,
) -> String {
    let status = app
        .jobs
        .start(model, format.as_str(), bytes, app.clock.now_ms());
    let id = lock(&status).id.clone();
    tokio::spawn(run(app.clone(), scorer, path, format, status, enrich));
    id
}

/// Lookups in flight at most while a job enriches (the provider's rate is kept whatever this
/// is).
const ENRICH_IN_FLIGHT: usize = 32;

/// Scores the spooled file at `path` into the store, updating `status`; removes the file.
pub async fn run<S: Store>(
    app: Arc<App<S>>,
    scorer: Arc<Scorer>,
    path: PathBuf,
    format: InputFormat,
    status: Arc<Mutex<JobStatus>>,
    enrich: bool,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<Lead>, String>>(2);
    let reader_status = status.clone();
    let file_path = path.clone();
    // Reading and parsing are blocking work: a thread of their own, a bounded hand-over.
    let reader = tokio::task::spawn_blocking(move || {
        let file = match std::fs::File::open(&file_path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e.to_string()));
                return;
            }
        };
        let reader: BufReader<Box<dyn std::io::Read + Send>> =
            BufReader::with_capacity(1 << 20, Box::new(file));
        let mut source = Source::open(format, reader, Arc::new(AtomicU64::new(0)));
        loop {
            match source.next_batch() {
                Ok(Some(batch)) => {
                    let (leads, failures) = split_batch(&batch);
                    {
                        let mut s = lock(&reader_status);
                        s.failed += failures.len() as u64;
                        let room = KEPT_FAILURES.saturating_sub(s.failures.len());
                        s.failures.extend(failures.into_iter().take(room));
                    }
                    source.recycle(batch.data.into_bytes());
                    for chunk in leads.chunks(1024) {
                        if tx.blocking_send(Ok(chunk.to_vec())).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.to_string()));
                    return;
                }
            }
        }
    });
    let mut error = None;
    let mut stopped = false;
    while let Some(item) = rx.recv().await {
        if *app.stopping.borrow() {
            stopped = true;
            break;
        }
        let leads = match item {
            Ok(leads) => leads,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        // Enrichment first (a failed lookup leaves the lead as it was: scored with what it has).
        let mut enrich_events = Vec::new();
        let leads = if enrich && app.enricher.is_some() {
            use futures_util::StreamExt;
            let app_ref = &app;
            let done: Vec<Option<(Lead, crate::app::EnrichOutcome)>> =
                futures_util::stream::iter(leads.into_iter().map(|lead| async move {
                    let fallback = lead.clone();
                    app_ref
                        .enrich(lead, None)
                        .await
                        .or(Some((fallback, empty_outcome())))
                }))
                .buffered(ENRICH_IN_FLIGHT)
                .collect()
                .await;
            let now = app.clock.now_ms();
            done.into_iter()
                .flatten()
                .map(|(lead, outcome)| {
                    enrich_events.push(outcome.event(&lead.company_id(), now));
                    lead
                })
                .collect()
        } else {
            leads
        };
        let scoring = scorer.clone();
        let learned = app.active_learned();
        let Ok((leads, reports)) = tokio::task::spawn_blocking(move || {
            let mut reports = scoring.report_batch(&leads);
            crate::app::blend(learned.as_ref(), &scoring, &leads, &mut reports);
            (leads, reports)
        })
        .await
        else {
            error = Some("scoring stopped unexpectedly".into());
            break;
        };
        let now = app.clock.now_ms();
        let scores: Vec<brim_store::NewScore> = reports
            .iter()
            .map(|report| brim_store::NewScore {
                report: report.clone(),
                scored_at: now,
            })
            .collect();
        let events: Vec<brim_store::NewEvent> = reports
            .iter()
            .map(|report| brim_store::NewEvent::score_calculated(report, now))
            .chain(enrich_events)
            .collect();
        if let Err(e) = app.store.record_scored(&leads, now, &scores, &events).await {
            tracing::error!(error = %e, "batch job: storing failed");
            error = Some("the database could not store the leads".into());
            break;
        }
        let mut handed = 0u64;
        if let Some(generation) = &app.generation {
            for (lead, report) in leads.into_iter().zip(reports.iter().cloned()) {
                // A full queue leaves the rest to the generation sweep.
                if generation.try_send((lead, report)).is_ok() {
                    handed += 1;
                }
            }
        }
        let mut s = lock(&status);
        s.scored += reports.len() as u64;
        s.queued_for_email += handed;
    }
    drop(rx);
    let _ = reader.await;
    let _ = tokio::fs::remove_file(&path).await;
    let mut s = lock(&status);
    s.finished_at = Some(app.clock.now_ms());
    match error {
        Some(e) => {
            s.status = "failed";
            s.error = Some(e);
        }
        None if stopped => {
            s.status = "stopped";
            s.error = Some("the server stopped before the job finished; the leads counted as scored are stored, the rest are not: upload the file again".into());
        }
        None => s.status = "done",
    }
}

/// The outcome of a lead no provider was asked about (never used: `enrich` needs one).
fn empty_outcome() -> crate::app::EnrichOutcome {
    crate::app::EnrichOutcome {
        provider: String::new(),
        status: "skipped",
        filled: Vec::new(),
        kept: Vec::new(),
        refused: Vec::new(),
        reason: Some("no data provider".into()),
    }
}
