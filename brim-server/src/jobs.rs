//! Batch scoring jobs: an upload is spooled to a temporary file (so a 1 GB upload needs no
//! 1 GB of memory), then read in batches — JSON lines, a JSON array, or CSV, as `brim score`
//! reads them — scored, stored, and handed to e-mail generation, while `GET /api/jobs/{id}`
//! reports progress.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use brim_core::Lead;
use serde::Serialize;

use crate::input::{Batch, Body, InputFormat, Source, detect};

/// Failures kept per job (the count goes on).
pub(crate) const KEPT_FAILURES: usize = 1_000;

/// Finished jobs remembered; older finished ones are forgotten first.
const KEPT_JOBS: usize = 1_000;

/// A record that could not be scored.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `line N` or `item N`.
    pub at: String,
    /// The field and what was expected.
    pub error: String,
}

/// A job's progress.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// The job's id.
    pub id: String,
    /// `running`, `done`, `failed` or `stopped` (the server shut down first).
    pub status: &'static str,
    /// The model used.
    pub model: String,
    /// The input format detected.
    pub format: String,
    /// Leads scored and stored.
    pub scored: u64,
    /// Records that could not be scored.
    pub failed: u64,
    /// The first failures, with their line or item numbers.
    pub failures: Vec<Failure>,
    /// Leads handed to e-mail generation (e-mails are written in the background).
    pub queued_for_email: u64,
    /// Bytes of the upload.
    pub bytes: u64,
    /// Why the whole job failed, if it did.
    pub error: Option<String>,
    /// When it started and finished (Unix ms).
    pub started_at: i64,
    /// When it finished.
    pub finished_at: Option<i64>,
}

/// The jobs of this process.
#[derive(Debug, Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<String, Arc<Mutex<JobStatus>>>>,
}

impl Jobs {
    /// A new job's status, registered.
    pub fn start(&self, model: &str, format: &str, bytes: u64, now: i64) -> Arc<Mutex<JobStatus>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("job-{now}-{n}");
        let status = Arc::new(Mutex::new(JobStatus {
            id: id.clone(),
            status: "running",
            model: model.to_string(),
            format: format.to_string(),
            scored: 0,
            failed: 0,
            failures: Vec::new(),
            queued_for_email: 0,
            bytes,
            error: None,
            started_at: now,
            finished_at: None,
        }));
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.len() >= KEPT_JOBS {
            // Forget the oldest finished job (running ones are always kept).
            let oldest = jobs
                .iter()
                .filter_map(|(id, j)| {
                    let j = j.lock().unwrap_or_else(|p| p.into_inner());
                    j.finished_at.map(|t| (t, id.clone()))
                })
                .min();
            if let Some((_, id)) = oldest {
                jobs.remove(&id);
            }
        }
        jobs.insert(id, status.clone());
        drop(jobs);
        status
    }

    /// A job's status.
    pub fn get(&self, id: &str) -> Option<JobStatus> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.get(id)
            .map(|j| j.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// Detects the format of the file at `path` as `brim score` does: the flag, else the file's
/// extension (spooled uploads have none), else its first bytes.
pub fn detect_format(path: &PathBuf, flag: Option<InputFormat>) -> Result<InputFormat, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader: BufReader<Box<dyn std::io::Read + Send>> = BufReader::new(Box::new(file));
    detect(flag, Some(path), &mut reader).map_err(|e| e.to_string())
}

/// The batch's leads, and a failure (with its line or item) for each record that is not one.
pub fn split_batch(batch: &Batch) -> (Vec<Lead>, Vec<Failure>) {
    let mut leads = Vec::with_capacity(batch.records.len());
    let mut failures = Vec::new();
    for record in &batch.records {
        let mut owned = None;
        if let Err(e) = record.lead(&batch.data, &mut owned) {
            failures.push(Failure {
                at: record.locator.to_string(),
                error: e.to_string(),
            });
            continue;
        }
        // JSON records were parsed into `owned`; CSV records carry their lead.
        match (owned.take(), &record.body) {
            (Some(lead), _) => leads.push(lead),
            (None, Body::Lead(parsed)) => {
                if let Ok(lead) = parsed.as_ref() {
                    leads.push(lead.clone());
                }
            }
            (None, Body::Json(_)) => {}
        }
    }
    (leads, failures)
}

/// Every lead in `bytes` (JSON array, JSON lines or CSV: `flag`, else detected), and the records
/// that are not leads; an error when the input as a whole cannot be read, holds more than `max`
/// leads, or more than `max` records that are not.
pub fn parse_all(
    bytes: Vec<u8>,
    flag: Option<InputFormat>,
    max: usize,
) -> Result<(Vec<Lead>, Vec<Failure>), String> {
    let mut reader: BufReader<Box<dyn std::io::Read + Send>> =
        BufReader::new(Box::new(std::io::Cursor::new(bytes)));
    let format = detect(flag, None, &mut reader).map_err(|e| e.to_string())?;
    let mut source = Source::open(format, reader, Arc::new(AtomicU64::new(0)));
    let (mut leads, mut failures) = (Vec::new(), Vec::new());
    while let Some(batch) = source.next_batch().map_err(|e| e.to_string())? {
        let (l, f) = split_batch(&batch);
        leads.extend(l);
        failures.extend(f);
        if leads.len() > max {
            return Err(format!("expected at most {max} leads"));
        }
        if failures.len() > max {
            return Err(format!(
                "more than {max} records are not leads; is this a lead file?"
            ));
        }
    }
    Ok((leads, failures))
}
