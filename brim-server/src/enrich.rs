//! `brim enrich`: leads in, the same leads filled in from a data provider out (and `brim score
//! --enrich`: scored after that), in input order, with where each value came from.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use brim_core::enrich::{MergePolicy, MergeReport, ProviderConfig, merge};
use brim_core::{Lead, LeadError, Scorer};
use brim_email::{CachedEnricher, EnrichError, Enricher, HttpEnricher, Lookup, SharedGate};
use brim_store::EnrichmentStore;
use futures_util::StreamExt;
use serde_json::json;

use crate::error::CliError;
use crate::input::{InputFormat, Locator};

pub const EXAMPLES: &str = "\
Examples:
  APOLLO_API_KEY=... brim enrich leads.csv --provider apollo -o enriched.jsonl
  brim enrich leads.jsonl --provider my-provider.toml --overwrite industry
  brim enrich leads.csv --provider clearbit --no-cache
  brim score leads.csv --enrich apollo --format table

Providers: apollo (APOLLO_API_KEY), clearbit (CLEARBIT_API_KEY), or a configuration file
(docs/enrichment.md says how to write one). Answers are cached in --database-url for the
provider's cache_hours (24 by default), and its request rate is shared with every brim on that
database. The lead's own values always win unless --overwrite names the field. Each output lead
carries `sources` (where each filled value came from) and `enrichment` (what happened); a bad
input line is reported on stderr and does not stop the others.";

/// Arguments of `brim enrich`.
#[derive(Debug, clap::Args)]
pub struct EnrichArgs {
    /// Leads: a .jsonl, .json or .csv file; `-` or nothing reads stdin.
    pub input: Option<PathBuf>,
    /// The provider: `apollo`, `clearbit`, or a configuration file (.toml).
    #[arg(long, default_value = "apollo")]
    pub provider: String,
    #[command(flatten)]
    pub options: EnrichOptions,
    /// Input format, when the extension and content do not tell.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// Write the enriched leads here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// `jsonl` (streamed) or `csv` (held until the end, to know every attribute column; `brim
    /// score` reads it back).
    #[arg(short, long, value_enum, default_value_t = EnrichFormat::Jsonl)]
    pub format: EnrichFormat,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The output formats of `brim enrich`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnrichFormat {
    /// One JSON object per lead: the lead with `sources`, and `enrichment`.
    Jsonl,
    /// A header row, then one row per lead: the lead's fields (lists joined by `;`), then
    /// `enrichment_status`, `enrichment_reason` and `sources` (`field=provider;...`).
    Csv,
}

/// The lead columns of `brim enrich --format csv`, before the attributes.
const CSV_FIELDS: [&str; 14] = [
    "id",
    "company_name",
    "employee_count",
    "industry",
    "funding_stage",
    "tech_stack",
    "recent_job_posts",
    "news_mentions",
    "contact.name",
    "contact.email",
    "contact.title",
    "timezone",
    "country",
    "domain",
];

/// Writes the leads as CSV: the lead columns, every attribute seen, and what enrichment did.
fn write_csv(rows: &[serde_json::Value], out: &mut impl Write) -> Result<(), CliError> {
    let mut attributes: Vec<String> = rows
        .iter()
        .filter_map(|r| r["attributes"].as_object())
        .flat_map(|a| a.keys().cloned())
        .collect();
    attributes.sort();
    attributes.dedup();
    let mut w = csv::Writer::from_writer(out);
    let header: Vec<String> = CSV_FIELDS
        .iter()
        .map(|f| f.to_string())
        .chain(attributes.iter().map(|a| format!("attributes.{a}")))
        .chain(["enrichment_status", "enrichment_reason", "sources"].map(String::from))
        .collect();
    w.write_record(&header)
        .map_err(|e| CliError::Write(e.into()))?;
    let cell = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(";"),
            other => other.to_string(),
        }
    };
    for row in rows {
        let mut record: Vec<String> = CSV_FIELDS
            .iter()
            .map(|f| match f.split_once('.') {
                Some((a, b)) => cell(&row[a][b]),
                None => cell(&row[*f]),
            })
            .collect();
        record.extend(attributes.iter().map(|a| cell(&row["attributes"][a])));
        record.push(cell(&row["enrichment"]["status"]));
        record.push(cell(&row["enrichment"]["reason"]));
        let sources = row["sources"]
            .as_object()
            .map(|s| {
                s.iter()
                    .map(|(f, src)| format!("{f}={}", cell(&src["provider"])))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        record.push(sources);
        w.write_record(&record)
            .map_err(|e| CliError::Write(e.into()))?;
    }
    w.flush().map_err(CliError::Write)
}

/// What `brim enrich` and `brim score --enrich` share.
#[derive(Debug, Clone, clap::Args)]
pub struct EnrichOptions {
    /// Fields the provider's value replaces although the lead has one (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub overwrite: Vec<String>,
    /// Where answers are cached and the request rate is shared (SQLite or PostgreSQL).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://brim.db")]
    pub database_url: String,
    /// Neither cache nor shared rate: every lead is looked up, at this process's rate.
    #[arg(long)]
    pub no_cache: bool,
    /// Lookups in flight at most (the provider's rate is kept whatever this is).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// What happened to one lead.
struct Enriched {
    lead: Lead,
    status: &'static str,
    report: MergeReport,
    error: Option<String>,
    cached: bool,
}

fn load_provider(name: &str) -> Result<ProviderConfig, CliError> {
    if let Some(config) = brim_core::enrich::preset(name) {
        return Ok(config);
    }
    let path = Path::new(name);
    if !path.exists() {
        return Err(CliError::Input(format!(
            "--provider: {} is neither a shipped provider ({}) nor a file",
            brim_core::quote(name),
            brim_core::enrich::PRESETS.map(|(n, _)| n).join(", ")
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    ProviderConfig::from_toml(&text).map_err(|e| {
        CliError::Input(format!(
            "{}: {} problem(s):\n  - {}",
            path.display(),
            e.problems.len(),
            e.problems.join("\n  - ")
        ))
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The HTTP adapter for `provider` (a preset's name or a file), its key from the environment
/// or the file its configuration names.
pub fn http_enricher(provider: &str) -> Result<HttpEnricher, CliError> {
    let config = load_provider(provider)?;
    HttpEnricher::new(config, |name| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
    .map_err(|e| CliError::Input(e.to_string()))
}

/// Looks `lead` up and merges what was found.
async fn enrich_one(
    enricher: &dyn DynEnricher,
    policy: &MergePolicy,
    mut lead: Lead,
) -> Result<Enriched, EnrichError> {
    let now = now_ms();
    let lookup = enricher.lookup_boxed(&lead, now).await?;
    let (status, report, cached) = match lookup {
        Lookup::Found(record) => {
            let cached = record.fetched_at < now;
            ("found", merge(&mut lead, &record, policy), cached)
        }
        Lookup::NotFound => ("not_found", MergeReport::default(), false),
        Lookup::Pending => ("pending", MergeReport::default(), false),
        Lookup::Skipped(why) => {
            return Ok(Enriched {
                lead,
                status: "skipped",
                report: MergeReport::default(),
                error: Some(why),
                cached: false,
            });
        }
    };
    Ok(Enriched {
        lead,
        status,
        report,
        error: None,
        cached,
    })
}

/// Counts for the summary.
#[derive(Default)]
struct Tally {
    found: u64,
    not_found: u64,
    pending: u64,
    skipped: u64,
    failed: u64,
    bad_input: u64,
    cached: u64,
}

/// Reads leads from `args`' input and hands each, enriched or not, to `emit` in input order.
/// A refused key stops the run (every later lookup would fail the same way).
async fn run_pipeline(
    enricher: &dyn DynEnricher,
    options: &EnrichOptions,
    input: Option<&Path>,
    input_format: Option<InputFormat>,
    quiet: bool,
    mut emit: impl FnMut(Result<Enriched, (Lead, String)>) -> Result<(), CliError>,
) -> Result<Tally, CliError> {
    let crate::score::Opened {
        mut source,
        size,
        bytes_read,
        ..
    } = crate::score::open_input(input, input_format, quiet, "enrich")?;
    let progress = crate::output::progress_bar(!quiet && std::io::stderr().is_terminal(), size);
    let policy = MergePolicy::overwriting(options.overwrite.iter().map(String::as_str))
        .map_err(|e| CliError::Input(format!("--overwrite: {e}")))?;
    let mut tally = Tally::default();
    while let Some(batch) = source.next_batch()? {
        let mut leads: Vec<(Locator, Result<Lead, LeadError>)> = Vec::new();
        for record in &batch.records {
            let mut owned = None;
            leads.push((
                record.locator,
                record.lead(&batch.data, &mut owned).cloned(),
            ));
        }
        let policy = &policy;
        let mut results =
            futures_util::stream::iter(leads.into_iter().map(|(locator, lead)| async move {
                match lead {
                    Err(e) => (locator, Err(Err(e))),
                    Ok(lead) => {
                        let kept = lead.clone();
                        match enrich_one(enricher, policy, lead).await {
                            Ok(done) => (locator, Ok(done)),
                            Err(e) => (locator, Err(Ok((kept, e)))),
                        }
                    }
                }
            }))
            .buffered(options.concurrency.max(1));
        while let Some((locator, result)) = results.next().await {
            match result {
                Ok(done) => {
                    match done.status {
                        "found" => tally.found += 1,
                        "not_found" => tally.not_found += 1,
                        "pending" => tally.pending += 1,
                        _ => tally.skipped += 1,
                    }
                    tally.cached += u64::from(done.cached);
                    emit(Ok(done))?;
                }
                Err(Err(e)) => {
                    tally.bad_input += 1;
                    progress.suspend(|| eprintln!("{locator}: {e}"));
                }
                Err(Ok((lead, e))) => {
                    if let EnrichError::Unauthorized { .. } = e {
                        progress.finish_and_clear();
                        return Err(CliError::Input(format!(
                            "{e} (stopped: every lookup would fail)"
                        )));
                    }
                    tally.failed += 1;
                    progress.suspend(|| eprintln!("{locator}: {e}"));
                    emit(Err((lead, e.to_string())))?;
                }
            }
            progress.set_message(format!(
                "{} found, {} not found, {} failed, {} from the cache",
                tally.found, tally.not_found, tally.failed, tally.cached
            ));
        }
        progress.set_position(bytes_read.load(Ordering::Relaxed));
    }
    progress.finish_and_clear();
    Ok(tally)
}

/// An enriched lead as a JSON line: the lead (with `sources`) and `enrichment`.
fn enriched_line(result: &Result<Enriched, (Lead, String)>, provider: &str) -> serde_json::Value {
    let (lead, enrichment) = match result {
        Ok(e) => (
            &e.lead,
            json!({
                "provider": provider,
                "status": e.status,
                "filled": e.report.filled.iter().map(|p| &p.field).collect::<Vec<_>>(),
                "kept": e.report.kept,
                "refused": e.report.refused,
                "reason": e.error,
                "cached": e.cached,
            }),
        ),
        Err((lead, error)) => (
            lead,
            json!({"provider": provider, "status": "failed", "reason": error}),
        ),
    };
    let mut v = serde_json::to_value(lead).unwrap_or_default();
    v["enrichment"] = enrichment;
    v
}

fn summary(tally: &Tally, provider: &str, seconds: f64) -> String {
    format!(
        "brim: enriched from {provider}: {} found, {} not found, {} pending, {} skipped, {} failed, {} bad input ({} from the cache) in {seconds:.1} s",
        tally.found,
        tally.not_found,
        tally.pending,
        tally.skipped,
        tally.failed,
        tally.bad_input,
        tally.cached
    )
}

/// The enricher the options ask for, cached and rate-shared through the database unless
/// `--no-cache`; runs `f` with it.
async fn with_enricher<T>(
    provider: &str,
    options: &EnrichOptions,
    f: impl AsyncFnOnce(&dyn DynEnricher) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let http = http_enricher(provider)?;
    if options.no_cache {
        return f(&http).await;
    }
    let url = &options.database_url;
    let fail = |e: brim_store::Error| {
        CliError::Input(format!(
            "--database-url {}: {e}",
            brim_email::redact_url(url)
        ))
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = Arc::new(brim_store::PgStore::connect(url).await.map_err(fail)?);
        let cached = cached(http, store);
        f(&cached).await
    } else {
        let store = Arc::new(brim_store::SqliteStore::connect(url).await.map_err(fail)?);
        let cached = cached(http, store);
        f(&cached).await
    }
}

pub fn cached<S: EnrichmentStore + Send + Sync + 'static>(
    http: HttpEnricher,
    store: Arc<S>,
) -> CachedEnricher<S> {
    let http = http.with_gate(Arc::new(SharedGate::new(store.clone())));
    CachedEnricher::new(http, store)
}

/// [`Enricher`] as an object (its `lookup` boxed), so one pipeline serves every adapter.
trait DynEnricher: Send + Sync {
    fn name(&self) -> &str;
    fn lookup_boxed<'a>(
        &'a self,
        lead: &'a Lead,
        now_ms: i64,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Lookup, EnrichError>> + Send + 'a>>;
}

impl<E: Enricher> DynEnricher for E {
    fn name(&self) -> &str {
        Enricher::name(self)
    }
    fn lookup_boxed<'a>(
        &'a self,
        lead: &'a Lead,
        now_ms: i64,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Lookup, EnrichError>> + Send + 'a>> {
        Box::pin(self.lookup(lead, now_ms))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Input(format!("cannot start the runtime: {e}")))
}

/// Runs `brim enrich`.
pub fn run(args: EnrichArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let input = args.input.as_deref().filter(|p| p.as_os_str() != "-");
    let sink: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(File::create(p).map_err(CliError::Write)?),
        None => Box::new(std::io::stdout()),
    };
    let mut out = BufWriter::new(sink);
    let mut held: Vec<serde_json::Value> = Vec::new();
    let tally = runtime()?.block_on(with_enricher(
        &args.provider,
        &args.options,
        async |enricher| {
            let provider = enricher.name().to_string();
            run_pipeline(
                enricher,
                &args.options,
                input,
                args.input_format,
                args.quiet,
                |result| {
                    let line = enriched_line(&result, &provider);
                    if args.format == EnrichFormat::Csv {
                        held.push(line);
                        return Ok(());
                    }
                    serde_json::to_writer(&mut out, &line)
                        .map_err(|e| CliError::Write(e.into()))?;
                    out.write_all(b"\n").map_err(CliError::write)
                },
            )
            .await
        },
    ))?;
    if args.format == EnrichFormat::Csv {
        write_csv(&held, &mut out)?;
    }
    out.flush().map_err(CliError::write)?;
    if !args.quiet {
        eprintln!(
            "{}",
            summary(&tally, &args.provider, started.elapsed().as_secs_f64())
        );
    }
    Ok(if tally.failed + tally.bad_input > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `brim score --enrich`: each lead enriched, then scored; one report per lead (JSON
/// lines), the reasons saying which rested on enriched values. A lead whose lookup failed is
/// scored with what it has.
#[allow(clippy::too_many_arguments)]
pub fn run_score(
    provider: &str,
    options: &EnrichOptions,
    scorer: &Scorer,
    input: Option<&Path>,
    input_format: Option<InputFormat>,
    output: Option<&Path>,
    format: crate::output::OutputFormat,
    quiet: bool,
) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let sink: Box<dyn Write + Send> = match output {
        Some(p) => Box::new(File::create(p).map_err(CliError::Write)?),
        None => Box::new(std::io::stdout()),
    };
    let mut out = BufWriter::new(sink);
    let mut rows = Vec::new();
    out.write_all(crate::output::prologue(format))
        .map_err(CliError::write)?;
    let mut first = true;
    let tally = runtime()?.block_on(with_enricher(provider, options, async |enricher| {
        run_pipeline(enricher, options, input, input_format, quiet, |result| {
            let lead = match &result {
                Ok(e) => &e.lead,
                Err((lead, _)) => lead,
            };
            let report = scorer.report(lead);
            if format == crate::output::OutputFormat::Table {
                rows.push(crate::output::TableRow::from_report(&report));
                return Ok(());
            }
            let mut bytes = Vec::new();
            crate::output::append(format, &report, &mut bytes);
            let mut slice: &[u8] = &bytes;
            if format == crate::output::OutputFormat::Json && first {
                slice = &slice[2..];
            }
            first = false;
            out.write_all(slice).map_err(CliError::write)
        })
        .await
    }))?;
    if format == crate::output::OutputFormat::Table {
        crate::output::write_table(&mut rows, None, &mut out).map_err(CliError::write)?;
    }
    out.write_all(crate::output::epilogue(format))
        .map_err(CliError::write)?;
    out.flush().map_err(CliError::write)?;
    if !quiet {
        eprintln!(
            "{}",
            summary(&tally, provider, started.elapsed().as_secs_f64())
        );
    }
    Ok(if tally.bad_input > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
