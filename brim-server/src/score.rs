//! `brim score`: leads in, one scored result per lead out, streaming and in parallel.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use brim_core::{LeadError, Scorer};
use clap::Args;
use rayon::prelude::*;

use crate::error::CliError;
use crate::input::{self, BatchData, InputFormat, Locator, Record, Source};
use crate::output::{self, OutputFormat, TableRow};

pub const EXAMPLES: &str = "\
Examples:
  brim score examples/leads.jsonl --format table      rank the sample leads
  brim score leads.csv --model conservative -o out.jsonl
  cat leads.json | brim score - --format csv
  brim score leads.jsonl --model my-model.toml --strict
  brim score leads.csv --enrich apollo --format table   fill in from Apollo, then score

Input: JSON lines, a JSON array or CSV (lists in a cell separated by ';'), detected from the
file extension or the content. A bad line is reported on stderr with its line number and does
not stop the others; the exit code is 2 when any lead failed (1 when nothing could be scored).";

/// Arguments of `brim score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Leads to score: a .jsonl, .json or .csv file; `-` or nothing reads stdin.
    pub input: Option<PathBuf>,
    /// A preset (balanced, aggressive, conservative, intent) or a model file (.toml or .json).
    #[arg(short, long, default_value = "balanced")]
    pub model: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,
    /// Input format, when the extension and content do not tell.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// Write results here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Stop at the first bad lead (exit code 2).
    #[arg(long)]
    pub strict: bool,
    /// With --format table: show only the best N leads.
    #[arg(long)]
    pub top: Option<usize>,
    /// Worker threads (default: every core).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Fill in what each lead is missing from a data provider first (`apollo`, `clearbit`, or
    /// a configuration file); the reasons say which values came from it.
    #[arg(long, value_name = "PROVIDER")]
    pub enrich: Option<String>,
    /// With --enrich: how (cache, rate sharing, overwrites).
    #[command(flatten)]
    pub enrich_options: crate::enrich::EnrichOptions,
}

/// An input opened for reading leads.
pub struct Opened {
    /// Its batches.
    pub source: Source,
    /// Its format.
    pub format: InputFormat,
    /// The file's size (none for stdin), for the progress bar.
    pub size: Option<u64>,
    /// Bytes read so far, for the progress bar.
    pub bytes_read: Arc<AtomicU64>,
}

/// Opens `path` (`None`: stdin, with a hint on a terminal unless `quiet`, naming `brim
/// {command} --help`) and detects its format (`format` when given, else the extension or the
/// first bytes): what `brim score` and `brim enrich` read.
pub fn open_input(
    path: Option<&Path>,
    format: Option<InputFormat>,
    quiet: bool,
    command: &str,
) -> Result<Opened, CliError> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = match path {
        Some(p) => {
            let file = File::open(p).map_err(|source| CliError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size)
        }
        None => {
            if std::io::stdin().is_terminal() && !quiet {
                eprintln!(
                    "brim: reading leads from stdin (end with Ctrl-D; `brim {command} --help` for files)"
                );
            }
            (Box::new(std::io::stdin()), None)
        }
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let format = input::detect(format, path, &mut reader)?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let source = Source::open(format, reader, bytes_read.clone());
    Ok(Opened {
        source,
        format,
        size,
        bytes_read,
    })
}

/// The result of scoring part of a batch.
#[derive(Default)]
struct ChunkOut {
    bytes: Vec<u8>,
    rows: Vec<TableRow>,
    scored: u64,
    errors: Vec<(Locator, LeadError)>,
    /// Output bytes and table rows written before the first error (for `--strict`).
    before_first_error: Option<(usize, usize)>,
}

/// Records per parallel task.
const CHUNK: usize = 1024;

pub fn run(args: ScoreArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let model = crate::load_model(&args.model)?;
    let scorer = Scorer::new(model).map_err(brim_core::Error::from)?;
    if let Some(provider) = &args.enrich {
        return crate::enrich::run_score(
            provider,
            &args.enrich_options,
            &scorer,
            args.input.as_deref().filter(|p| p.as_os_str() != "-"),
            args.input_format,
            args.output.as_deref(),
            args.format,
            args.quiet,
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| CliError::Input(format!("cannot start worker threads: {e}")))?;

    let path = args.input.as_deref().filter(|p| p.as_os_str() != "-");
    let Opened {
        mut source,
        format,
        size,
        bytes_read,
    } = open_input(path, args.input_format, args.quiet, "score")?;
    tracing::info!(?format, model = %scorer.model().name, "scoring");

    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(File::create(p).map_err(CliError::Write)?),
        None => Box::new(std::io::stdout().lock()),
    };
    // Smaller than a chunk's output, so chunks go to the sink without a copy through the buffer.
    let mut out = BufWriter::with_capacity(64 << 10, sink);
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let progress = crate::output::progress_bar(show_progress, size);

    out.write_all(output::prologue(args.format))
        .map_err(CliError::write)?;
    let mut first_json = true;
    let mut rows: Vec<TableRow> = Vec::new();
    let (mut scored, mut failed) = (0u64, 0u64);
    let fmt = args.format;
    let spare_buffers: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    while let Some(batch) = source.next_batch()? {
        let data = &batch.data;
        let spare = &spare_buffers;
        let chunks: Vec<ChunkOut> = pool.install(|| {
            batch
                .records
                .par_chunks(CHUNK)
                .map(|records| {
                    let bytes = spare
                        .lock()
                        .ok()
                        .and_then(|mut s| s.pop())
                        .unwrap_or_default();
                    score_chunk(&scorer, fmt, data, records, bytes)
                })
                .collect()
        });
        for mut chunk in chunks {
            if args.strict
                && let Some((bytes, rows)) = chunk.before_first_error
            {
                // Nothing after the first bad lead is written.
                chunk.bytes.truncate(bytes);
                chunk.rows.truncate(rows);
                chunk.errors.truncate(1);
            }
            let mut bytes: &[u8] = &chunk.bytes;
            if fmt == OutputFormat::Json && first_json && !bytes.is_empty() {
                bytes = &bytes[2..]; // no comma before the first element
                first_json = false;
            }
            out.write_all(bytes).map_err(CliError::write)?;
            // Reusing output buffers keeps the kernel from zeroing fresh pages for every chunk.
            let mut reuse = chunk.bytes;
            reuse.clear();
            if let Ok(mut s) = spare_buffers.lock() {
                s.push(reuse);
            }
            rows.extend(chunk.rows);
            scored += chunk.scored;
            for (locator, err) in chunk.errors {
                failed += 1;
                progress.suspend(|| eprintln!("{locator}: {err}"));
                if args.strict {
                    out.flush().map_err(CliError::write)?;
                    eprintln!("brim: stopped at the first bad lead (--strict)");
                    return Ok(ExitCode::from(2));
                }
            }
        }
        source.recycle(batch.data.into_bytes());
        progress.set_position(bytes_read.load(Ordering::Relaxed));
        progress.set_message(format!("{scored} scored, {failed} failed"));
    }
    progress.finish_and_clear();
    if fmt == OutputFormat::Table {
        output::write_table(&mut rows, args.top, &mut out).map_err(CliError::write)?;
    }
    out.write_all(output::epilogue(fmt))
        .map_err(CliError::write)?;
    out.flush().map_err(CliError::write)?;
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(scored, failed, elapsed, "done");
    if !args.quiet && std::io::stderr().is_terminal() {
        eprintln!(
            "brim: scored {scored} leads with {} ({failed} failed) in {elapsed:.2} s",
            scorer.model().name
        );
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn score_chunk(
    scorer: &Scorer,
    fmt: OutputFormat,
    data: &BatchData,
    records: &[Record],
    bytes: Vec<u8>,
) -> ChunkOut {
    let mut out = ChunkOut {
        bytes,
        ..ChunkOut::default()
    };
    for record in records {
        let mut owned = None;
        match record.lead(data, &mut owned) {
            Ok(lead) => {
                let report = scorer.report(lead);
                if fmt == OutputFormat::Table {
                    out.rows.push(TableRow::from_report(&report));
                } else {
                    output::append(fmt, &report, &mut out.bytes);
                }
                out.scored += 1;
            }
            Err(e) => {
                if out.errors.is_empty() {
                    out.before_first_error = Some((out.bytes.len(), out.rows.len()));
                }
                out.errors.push((record.locator, e));
            }
        }
    }
    out
}
