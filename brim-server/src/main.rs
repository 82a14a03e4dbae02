//! `brim`: score leads from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use brim_server::input;
mod enrich;
mod error;
mod models;
mod output;
mod score;
mod serve;
mod train;

use error::CliError;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Brim: score leads, explain why, write the e-mails and send them.
#[derive(Debug, Parser)]
#[command(name = "brim", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Score leads from a file or stdin and print one result per lead.
    #[command(after_help = score::EXAMPLES)]
    Score(score::ScoreArgs),
    /// Fill in what leads are missing (head count, industry, funding, tools...) from a data
    /// provider, keeping the leads' own values and saying where each new one came from.
    #[command(after_help = enrich::EXAMPLES)]
    Enrich(enrich::EnrichArgs),
    /// List the scoring presets or print one as TOML to copy and edit.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Run the HTTP API with the e-mail pipeline: scores, writes and sends (SQLite, the outbox
    /// folder and templates by default).
    Serve(serve::ServeArgs),
    /// Train a learned scoring model on a CSV of leads with outcomes, cross-validate it, and
    /// save it as JSON.
    #[command(after_help = train::EXAMPLES)]
    Train(train::TrainArgs),
    /// Compare two learned models on the same labelled leads: ROC-AUC, log-loss, top-decile
    /// lift, and the difference in ROC-AUC with a paired-bootstrap interval.
    Compare(train::CompareArgs),
    /// Run only the send worker against the database (beside `brim serve --no-worker`, or
    /// several of them on one PostgreSQL).
    Worker(serve::WorkerArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BRIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score(args) => score::run(args),
        Command::Enrich(args) => enrich::run(args),
        Command::Models { command } => models::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => serve::run_worker(args),
        Command::Train(args) => train::run(args),
        Command::Compare(args) => train::run_compare(args),
    };
    match result {
        Ok(code) => code,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brim: {e}");
            ExitCode::from(1)
        }
    }
}

/// Where a model comes from: a preset name or a file path.
pub(crate) fn load_model(spec: &str) -> Result<brim_core::ScoringModel, CliError> {
    let path = PathBuf::from(spec);
    let looks_like_path = spec.contains('/')
        || spec.contains('\\')
        || spec.ends_with(".toml")
        || spec.ends_with(".json");
    if looks_like_path || (path.is_file() && brim_core::ScoringModel::preset_toml(spec).is_none()) {
        let text = std::fs::read_to_string(&path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        let model = if spec.ends_with(".json") {
            brim_core::ScoringModel::from_json(&text)
        } else if spec.ends_with(".toml") {
            brim_core::ScoringModel::from_toml(&text)
        } else {
            brim_core::ScoringModel::from_text(&text)
        };
        return model.map_err(|source| CliError::Model { path, source });
    }
    Ok(brim_core::ScoringModel::preset(spec)?)
}
