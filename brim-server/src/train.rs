//! `brim train`: a learned scoring model from a table of leads with outcomes (a CRM export),
//! evaluated honestly (stratified cross-validation) and saved as a JSON file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use brim_core::learn::{self, Learner, TrainOptions};
use serde_json::json;

use crate::error::CliError;

/// What `brim train --help` shows after the options.
pub const EXAMPLES: &str = "Examples:
  brim train leads.csv --label converted
  brim train --database-url sqlite://brim.db --output model.json
  brim train Leads.csv --label Converted --drop \"Prospect ID,Lead Number,Tags\" --output model.json
  brim train deals.csv --label outcome --cv 10 --json > report.json";

/// Where the labelled leads come from, for `brim train` and `brim compare`: a CSV, or the
/// outcomes in the store.
#[derive(Debug, clap::Args)]
struct Source {
    /// A CSV file with a header row, one row per lead and a label column (a CRM export). To
    /// compare models, rows they did not learn from.
    #[arg(
        required_unless_present = "database_url",
        conflicts_with = "database_url"
    )]
    data: Option<PathBuf>,
    /// Use the outcomes reported to `brim serve` (POST /api/report-outcome) instead of a file:
    /// each stored lead with an outcome, labelled by its latest (demo_booked and closed_won
    /// convert; closed_lost and not_a_fit do not), its features derived from the lead.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The label column: 1/0, true/false, yes/no or won/lost. Rows without one are left out.
    /// (From a database the label is the outcome.)
    #[arg(long, required_unless_present = "database_url")]
    label: Option<String>,
    /// Leave out rows whose label is not an outcome (an open deal: "Engaging", "Prospecting")
    /// instead of stopping at the first.
    #[arg(long)]
    skip_unknown: bool,
}

/// `brim train` settings.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    source: Source,
    /// Cross-validate with this many stratified folds and report the held-out metrics (0: do
    /// not; the model is then trained without an evaluation).
    #[arg(long, default_value_t = 5)]
    cv: usize,
    /// Columns not to learn from, comma-separated: ids, and anything filled in after the
    /// outcome was known (it would "see the future").
    #[arg(long, value_delimiter = ',')]
    drop: Vec<String>,
    /// The learner: `ensemble` (the average of the other two), `logistic` (L2-regularised
    /// logistic regression) or `boosted` (gradient-boosted trees).
    #[arg(long, default_value = "ensemble", value_parser = ["ensemble", "logistic", "boosted"])]
    learner: String,
    /// Refuse to train with fewer rows than this of either class (commercial predictive
    /// scoring asks for 120 conversions).
    #[arg(long, default_value_t = 120)]
    min_class: usize,
    /// The seed of the folds' shuffle (the result is the same for the same seed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Boosted trees: how many.
    #[arg(long, default_value_t = learn::BoostParams::default().iterations)]
    trees: usize,
    /// Boosted trees: each tree's shrinkage.
    #[arg(long, default_value_t = learn::BoostParams::default().learning_rate)]
    learning_rate: f64,
    /// Boosted trees: leaves per tree, at most.
    #[arg(long, default_value_t = learn::BoostParams::default().max_leaves)]
    max_leaves: usize,
    /// Boosted trees: rows per leaf, at least.
    #[arg(long, default_value_t = learn::BoostParams::default().min_leaf)]
    min_leaf: usize,
    /// Boosted trees: L2 regularisation of the leaf values.
    #[arg(long, default_value_t = learn::BoostParams::default().l2)]
    tree_l2: f64,
    /// Write the trained model (JSON) to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The model's name in a registry.
    #[arg(long, default_value = "learned")]
    name: String,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads `path` as CSV into a table of text columns (typed by [`learn::Table::from_text_columns`]).
fn read_table(path: &PathBuf) -> Result<learn::Table, CliError> {
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| CliError::Input(format!("{}: the header row: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for (i, record) in reader.records().enumerate() {
        let record = record
            .map_err(|e| CliError::Input(format!("{}: row {}: {e}", path.display(), i + 2)))?;
        for (c, cell) in record.iter().enumerate() {
            let cell = cell.trim();
            columns[c].push((!cell.is_empty()).then(|| cell.to_string()));
        }
    }
    Ok(learn::Table::from_text_columns(names, columns))
}

/// The stored leads with an outcome as a table (labelled `converted`).
fn store_table(url: &str) -> Result<learn::Table, CliError> {
    let labelled = store_labelled(url)?;
    let (leads, labels): (Vec<brim_core::Lead>, Vec<bool>) = labelled
        .into_iter()
        .map(|(lead, outcome)| (lead, outcome.is_positive()))
        .unzip();
    Ok(learn::lead_table(&leads, Some(&labels), None))
}

/// The stored leads with their latest outcome.
fn store_labelled(url: &str) -> Result<Vec<(brim_core::Lead, brim_store::OutcomeKind)>, CliError> {
    use brim_store::OutcomeStore;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::Input(e.to_string()))?;
    let fail = |e: brim_store::Error| CliError::Input(format!("--database-url: {e}"));
    let labelled = runtime.block_on(async {
        if url.starts_with("sqlite:") {
            let store = brim_store::SqliteStore::connect(url).await.map_err(fail)?;
            store.labelled_leads().await.map_err(fail)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = brim_store::PgStore::connect(url).await.map_err(fail)?;
            store.labelled_leads().await.map_err(fail)
        } else {
            Err(CliError::Input(format!(
                "--database-url: expected sqlite://FILE or postgres://..., got {:?}",
                brim_email::redact_url(url)
            )))
        }
    })?;
    Ok(labelled)
}

/// Runs `brim train`.
pub fn run(args: TrainArgs) -> Result<ExitCode, CliError> {
    let (table, label) = match (&args.source.data, &args.source.database_url) {
        (_, Some(url)) => (store_table(url)?, "converted".to_string()),
        (Some(path), None) => (
            read_table(path)?,
            args.source.label.clone().unwrap_or_default(),
        ),
        (None, None) => return Err(CliError::Input("give a CSV file or --database-url".into())),
    };
    let options = TrainOptions {
        drop: args
            .drop
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect(),
        learner: Learner::from_name(&args.learner).unwrap_or_default(),
        seed: args.seed,
        min_per_class: args.min_class,
        skip_unknown_labels: args.source.skip_unknown,
        boost: learn::BoostParams {
            iterations: args.trees,
            learning_rate: args.learning_rate,
            max_leaves: args.max_leaves,
            min_leaf: args.min_leaf,
            l2: args.tree_l2,
        },
        ..TrainOptions::new(label)
    };
    let fail = |e: learn::LearnError| CliError::Input(e.to_string());
    tracing::info!(
        rows = table.rows(),
        columns = table.names.len(),
        "read the table"
    );
    let evaluation = if args.cv > 0 {
        let started = Instant::now();
        let evaluation = learn::cross_validate(&table, &options, args.cv).map_err(fail)?;
        Some((evaluation, started.elapsed().as_secs_f64()))
    } else {
        None
    };
    let started = Instant::now();
    let now = jiff::Timestamp::now();
    let mut model = learn::train(&table, &options, now.as_millisecond()).map_err(fail)?;
    let train_seconds = started.elapsed().as_secs_f64();
    model.name = args.name.clone();
    model.version = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    model.evaluation = evaluation.as_ref().map(|(e, _)| e.clone());
    if let Some(path) = &args.output {
        std::fs::write(path, model.to_json()).map_err(|e| {
            CliError::Input(format!("--output {}: cannot write: {e}", path.display()))
        })?;
    }
    for leak in &model.leak_warnings {
        eprintln!(
            "warning: column {:?} alone ranks the outcomes with ROC-AUC {:.3}: it may be filled in after the outcome was known; if so, --drop it",
            leak.column, leak.roc_auc
        );
    }
    if let Some((e, _)) = &evaluation
        && e.roc_auc < learn::WEAK_AUC
    {
        eprintln!(
            "warning: the model barely beats chance (cross-validated ROC-AUC {:.3}): these columns say little about the outcome; do not rank leads with it",
            e.roc_auc
        );
    }
    let features = model.encoder.dense_names().len();
    let mut out = std::io::stdout().lock();
    if args.json {
        let cv = evaluation.as_ref().map(|(e, seconds)| {
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["seconds"] = json!(seconds);
            v
        });
        let report = json!({
            "roc_auc": evaluation.as_ref().map(|(e, _)| e.roc_auc),
            "log_loss": evaluation.as_ref().map(|(e, _)| e.log_loss),
            "n_rows": model.n_rows,
            "n_positive": model.n_positive,
            "n_columns": model.encoder.features.len(),
            "n_features": features,
            "learner": model.learner.to_string(),
            "train_seconds": train_seconds,
            "cv": cv,
            "top_features": model.top_features,
            "leak_warnings": model.leak_warnings,
            "output": args.output.as_ref().map(|p| p.display().to_string()),
        });
        writeln!(out, "{report}").map_err(CliError::write)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "trained {} on {} rows ({} positive, {:.1} %) and {} columns ({} features) in {:.2} s\n",
        model.learner,
        model.n_rows,
        model.n_positive,
        100.0 * model.n_positive as f64 / model.n_rows.max(1) as f64,
        model.encoder.features.len(),
        features,
        train_seconds
    );
    if let Some((e, seconds)) = &evaluation {
        text.push_str(&format!(
            "{}-fold cross-validation ({seconds:.1} s): ROC-AUC {:.4} ± {:.4}, log-loss {:.4}, top-decile lift {:.2}\n",
            e.folds, e.roc_auc, e.roc_auc_sd, e.log_loss, e.top_decile_lift
        ));
        text.push_str(
            "calibration on the held-out rows:\n  predicted      rows  mean predicted  observed\n",
        );
        for bin in &e.calibration {
            text.push_str(&format!(
                "  {:.1}–{:.1}  {:>8}  {:>14.3}  {:>8.3}\n",
                bin.from, bin.to, bin.rows, bin.predicted, bin.observed
            ));
        }
    }
    if !model.top_features.is_empty() {
        text.push_str(
            "strongest features (logistic regression, log-odds per standard deviation):\n",
        );
        for f in &model.top_features {
            text.push_str(&format!("  {:>+7.3}  {}\n", f.weight, f.feature));
        }
    }
    if let Some(path) = &args.output {
        text.push_str(&format!("saved to {}\n", path.display()));
    }
    out.write_all(text.as_bytes()).map_err(CliError::write)?;
    Ok(ExitCode::SUCCESS)
}

/// `brim compare` settings.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The first model (JSON, as `brim train --output` writes).
    a: PathBuf,
    /// The second model.
    b: PathBuf,
    #[command(flatten)]
    source: Source,
    /// The seed of the bootstrap's resamples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the comparison as one JSON object.
    #[arg(long)]
    json: bool,
}

fn read_model(path: &PathBuf) -> Result<learn::LearnedModel, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    learn::LearnedModel::from_json(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Runs `brim compare`: two models' ROC-AUC, log-loss and top-decile lift on the same
/// labelled rows, and the difference in ROC-AUC with a paired-bootstrap interval.
pub fn run_compare(args: CompareArgs) -> Result<ExitCode, CliError> {
    let (a, b) = (read_model(&args.a)?, read_model(&args.b)?);
    let fail = |e: learn::LearnError| CliError::Input(e.to_string());
    let (pa, pb, y) = match (&args.source.data, &args.source.database_url) {
        (_, Some(url)) => {
            // One read: the leads and their labels in the same order.
            let (leads, y): (Vec<brim_core::Lead>, Vec<bool>) = store_labelled(url)?
                .into_iter()
                .map(|(lead, outcome)| (lead, outcome.is_positive()))
                .unzip();
            (
                a.predict_leads(&leads).map_err(fail)?,
                b.predict_leads(&leads).map_err(fail)?,
                y,
            )
        }
        (Some(path), None) => {
            let table = read_table(path)?;
            let label = args.source.label.clone().unwrap_or_default();
            let labels =
                learn::label_column(&table, &label, args.source.skip_unknown).map_err(fail)?;
            let rows: Vec<usize> = (0..labels.len()).filter(|&r| labels[r].is_some()).collect();
            let table = table.select(&rows);
            let y: Vec<bool> = rows.iter().filter_map(|&r| labels[r]).collect();
            (
                a.predict(&table).map_err(fail)?,
                b.predict(&table).map_err(fail)?,
                y,
            )
        }
        (None, None) => return Err(CliError::Input("give a CSV file or --database-url".into())),
    };
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(CliError::Input(
            "the rows must have both outcomes to compare rankings".into(),
        ));
    }
    let c = learn::compare(&pa, &pb, &y, args.seed);
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&c).unwrap_or_default();
        v["a_model"] =
            json!({"path": args.a.display().to_string(), "name": a.name, "version": a.version});
        v["b_model"] =
            json!({"path": args.b.display().to_string(), "name": b.name, "version": b.version});
        writeln!(out, "{v}").map_err(CliError::write)?;
        return Ok(ExitCode::SUCCESS);
    }
    let line = |label: &str, m: &learn::LearnedModel, s: &learn::Scored| {
        format!(
            "{label}: {} {} ({})  ROC-AUC {:.4}  log-loss {:.4}  top-decile lift {:.2}\n",
            m.name, m.version, m.learner, s.roc_auc, s.log_loss, s.top_decile_lift
        )
    };
    let mut text = format!("{} rows\n", c.rows);
    text.push_str(&line("A", &a, &c.a));
    text.push_str(&line("B", &b, &c.b));
    let [lo, hi] = c.roc_auc_difference_ci;
    let verdict = c.verdict();
    text.push_str(&format!(
        "B - A: ROC-AUC {:+.4} (95 % paired bootstrap {:+.4} to {:+.4}, {} resamples): {verdict}\n",
        c.roc_auc_difference, lo, hi, c.resamples
    ));
    out.write_all(text.as_bytes()).map_err(CliError::write)?;
    Ok(ExitCode::SUCCESS)
}
