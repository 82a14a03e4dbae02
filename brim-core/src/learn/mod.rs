//! The learned scoring model: outcomes teach it which leads convert.
//!
//! Pure, like the rest of brim-core: a [`Table`] of columns in (from a CSV export, a data
//! frame, or the store's leads joined with their outcomes), a [`LearnedModel`] out, with its
//! features, its metrics and how to explain each prediction. The caller passes the seed and the
//! date; nothing here reads a clock or a random source.
//!
//! - **Features** are derived from the columns: a column whose every present value is a number
//!   is numeric (missing values imputed with the training median, and flagged when any are
//!   missing); any other is categorical (values seen fewer than [`RARE`] times pooled into
//!   `(other)`, missing values a category of their own). Which columns are used is the
//!   caller's: [`TrainOptions::drop`].
//! - **Learners**: L2-regularised logistic regression (L-BFGS), gradient-boosted trees
//!   (histograms, native categorical splits, leaf-wise growth) and, by default, the average of
//!   both probabilities ([`Learner::Ensemble`]). Deterministic given the seed.
//! - **Evaluation** ([`cross_validate`]): stratified k-fold cross-validation, every fold's
//!   features fitted on its training rows only; ROC-AUC, log-loss and a calibration table.

mod boost;
mod encode;
mod leads;
mod logistic;
mod metrics;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use boost::{BoostParams, Boosted};
pub use encode::{Encoder, FeatureKind, FeatureSpec};
pub use leads::{BLEND_REASONS, LearnedScore, TOOL_PREFIX, is_lead_column, lead_table};
pub use logistic::Logistic;
pub use metrics::{CalibrationBin, Comparison, Scored, calibration, compare, log_loss, roc_auc};

/// The logistic function.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The log-odds of `p` (clipped away from 0 and 1).
pub(crate) fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// A category seen fewer times than this in the training rows is pooled into `(other)`.
pub const RARE: usize = 10;

/// The format tag of a saved model.
pub const FORMAT: &str = "brim-learned-model";

/// The version of the saved-model format this build writes; it reads this and every earlier one.
pub const FORMAT_VERSION: u32 = 2;

/// A column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers; `None` (or NaN) is missing.
    Numbers(Vec<Option<f64>>),
    /// Text; `None` or an empty string is missing.
    Texts(Vec<Option<String>>),
}

impl Values {
    /// Rows in the column.
    pub fn len(&self) -> usize {
        match self {
            Values::Numbers(v) => v.len(),
            Values::Texts(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Named columns of equal length: what a model learns from and scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The column names, in order.
    pub names: Vec<String>,
    /// The columns, as `names`.
    pub columns: Vec<Values>,
}

impl Table {
    /// Columns of text, typed: a column whose every non-empty cell reads as a finite number
    /// becomes [`Values::Numbers`]; any other stays text. (What a CSV export gives.)
    pub fn from_text_columns(names: Vec<String>, columns: Vec<Vec<Option<String>>>) -> Table {
        let columns = columns
            .into_iter()
            .map(|cells| {
                let numeric = cells.iter().flatten().all(|c| {
                    let t = c.trim();
                    t.is_empty() || t.parse::<f64>().is_ok_and(f64::is_finite)
                }) && cells.iter().flatten().any(|c| !c.trim().is_empty());
                if numeric {
                    Values::Numbers(
                        cells
                            .iter()
                            .map(|c| c.as_deref().and_then(|t| t.trim().parse::<f64>().ok()))
                            .collect(),
                    )
                } else {
                    Values::Texts(
                        cells
                            .into_iter()
                            .map(|c| c.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
                            .collect(),
                    )
                }
            })
            .collect();
        Table { names, columns }
    }

    /// A JSON array of objects (rows) as a table: a column per key seen in any row (in order
    /// of first appearance); a column whose every present value is a number or a bool is
    /// numeric, any other text; `null` and absent keys are missing.
    ///
    /// ```
    /// use brim_core::learn::{Table, Values};
    /// let t = Table::from_json_rows(r#"[{"a": 1, "b": "x"}, {"a": null, "c": true}]"#).unwrap();
    /// assert_eq!(t.names, ["a", "b", "c"]);
    /// assert_eq!(t.columns[0], Values::Numbers(vec![Some(1.0), None]));
    /// assert!(Table::from_json_rows("[{}, {}]").is_err());
    /// ```
    pub fn from_json_rows(text: &str) -> Result<Table, LearnError> {
        use serde_json::Value;
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_str(text).map_err(|e| {
                LearnError::Input(format!("rows: expected a JSON array of objects: {e}"))
            })?;
        let mut names: Vec<String> = Vec::new();
        for row in &rows {
            for key in row.keys() {
                if !names.contains(key) {
                    names.push(key.clone());
                }
            }
        }
        if names.is_empty() && !rows.is_empty() {
            // A table knows its rows by its columns: without one, the rows would be lost.
            return Err(LearnError::Input(
                "rows: the objects have no keys; give at least one column".into(),
            ));
        }
        let columns = names
            .iter()
            .map(|name| {
                let cells: Vec<Option<&Value>> = rows
                    .iter()
                    .map(|r| r.get(name).filter(|v| !v.is_null()))
                    .collect();
                if cells
                    .iter()
                    .flatten()
                    .all(|v| v.is_number() || v.is_boolean())
                {
                    Values::Numbers(
                        cells
                            .iter()
                            .map(|v| {
                                v.and_then(|v| match v {
                                    Value::Bool(b) => Some(f64::from(u8::from(*b))),
                                    other => other.as_f64(),
                                })
                            })
                            .collect(),
                    )
                } else {
                    Values::Texts(
                        cells
                            .iter()
                            .map(|v| {
                                v.map(|v| match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                            })
                            .collect(),
                    )
                }
            })
            .collect();
        Ok(Table { names, columns })
    }

    /// Rows in the table (0 without columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Values::len)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// The table's rows `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                Values::Numbers(v) => Values::Numbers(rows.iter().map(|&r| v[r]).collect()),
                Values::Texts(v) => Values::Texts(rows.iter().map(|&r| v[r].clone()).collect()),
            })
            .collect();
        Table {
            names: self.names.clone(),
            columns,
        }
    }

    fn check(&self) -> Result<(), LearnError> {
        if self.names.len() != self.columns.len() {
            return Err(LearnError::Input(format!(
                "{} names for {} columns",
                self.names.len(),
                self.columns.len()
            )));
        }
        if let Some(i) = (1..self.names.len()).find(|&i| self.names[..i].contains(&self.names[i])) {
            return Err(LearnError::Input(format!(
                "column {} appears twice",
                crate::quote(&self.names[i])
            )));
        }
        let n = self.rows();
        if let Some(i) = self.columns.iter().position(|c| c.len() != n) {
            return Err(LearnError::Input(format!(
                "column {} has {} rows, the first has {n}",
                crate::quote(&self.names[i]),
                self.columns[i].len()
            )));
        }
        Ok(())
    }
}

/// What went wrong in training or scoring.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    /// The table or the options are not usable as given.
    #[error("{0}")]
    Input(String),
    /// Too few rows of a class to learn anything honest.
    #[error(
        "too little data: {positives} positive and {negatives} negative rows; at least {min} of each are needed (commercial predictive scoring asks for 120 conversions). Collect more outcomes, or lower the minimum knowingly"
    )]
    TooLittleData {
        /// Rows labelled positive.
        positives: usize,
        /// Rows labelled negative.
        negatives: usize,
        /// The minimum of each.
        min: usize,
    },
    /// A saved model that cannot be read.
    #[error("not a learned model: {0}")]
    Model(String),
}

/// Which learner to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// L2-regularised logistic regression.
    Logistic,
    /// Gradient-boosted trees.
    Boosted,
    /// The average of both probabilities (the default: the two err differently).
    #[default]
    Ensemble,
}

impl Learner {
    /// The learner named `name` (`logistic`, `boosted`, `ensemble`).
    pub fn from_name(name: &str) -> Option<Learner> {
        match name {
            "logistic" => Some(Learner::Logistic),
            "boosted" => Some(Learner::Boosted),
            "ensemble" => Some(Learner::Ensemble),
            _ => None,
        }
    }
}

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The label column: 1/0, true/false, yes/no or won/lost.
    pub label: String,
    /// Columns not to learn from (ids, and anything filled in after the outcome).
    pub drop: Vec<String>,
    /// The learner.
    pub learner: Learner,
    /// The seed of every random choice (fold assignment, nothing else).
    pub seed: u64,
    /// Fewer rows than this of either class is [`LearnError::TooLittleData`].
    pub min_per_class: usize,
    /// Logistic regression's L2 strength (scikit-learn's `1/C`).
    pub l2: f64,
    /// The boosted trees' settings.
    pub boost: BoostParams,
    /// Leave out rows whose label is not an outcome (an open deal's "Engaging") instead of
    /// refusing the table.
    pub skip_unknown_labels: bool,
}

impl TrainOptions {
    /// Defaults for `label`: the ensemble, seed 0, at least 120 of each class, `l2` 1.
    pub fn new(label: impl Into<String>) -> TrainOptions {
        TrainOptions {
            label: label.into(),
            drop: Vec::new(),
            learner: Learner::default(),
            seed: 0,
            min_per_class: 120,
            l2: 1.0,
            boost: BoostParams::default(),
            skip_unknown_labels: false,
        }
    }
}

/// The labels of `table`'s label column, as booleans; rows without one (and, with
/// `skip_unknown`, rows whose label is not an outcome) are `None`.
pub fn label_column(
    table: &Table,
    label: &str,
    skip_unknown: bool,
) -> Result<Vec<Option<bool>>, LearnError> {
    let column = table.column(label).ok_or_else(|| {
        LearnError::Input(format!(
            "no label column {} (columns: {})",
            crate::quote(label),
            table.names.join(", ")
        ))
    })?;
    let mut out = Vec::with_capacity(column.len());
    match column {
        Values::Numbers(v) => {
            for (row, x) in v.iter().enumerate() {
                out.push(match x {
                    None => None,
                    Some(x) if x.is_nan() => None,
                    Some(x) if *x == 1.0 => Some(true),
                    Some(x) if *x == 0.0 => Some(false),
                    Some(x) => {
                        return Err(LearnError::Input(format!(
                            "row {}: {label}: expected 1 or 0, got {x}",
                            row + 1
                        )));
                    }
                });
            }
        }
        Values::Texts(v) => {
            for (row, x) in v.iter().enumerate() {
                out.push(match x.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(t) => match parse_label(t) {
                        Some(b) => Some(b),
                        None if skip_unknown => None,
                        None => {
                            return Err(LearnError::Input(format!(
                                "row {}: {label}: expected 1/0, true/false, yes/no or won/lost, got {} (leave out rows whose outcome is not known yet, such as open deals, with --skip-unknown)",
                                row + 1,
                                crate::quote(t)
                            )));
                        }
                    },
                });
            }
        }
    }
    Ok(out)
}

fn parse_label(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" | "yes" | "y" | "won" | "converted" => Some(true),
        "0" | "0.0" | "false" | "no" | "n" | "lost" | "not_converted" => Some(false),
        _ => None,
    }
}

/// The rows with a label, the labels, and the table of their features (label and dropped
/// columns removed).
fn prepare(table: &Table, options: &TrainOptions) -> Result<(Table, Vec<bool>), LearnError> {
    table.check()?;
    for name in &options.drop {
        if table.column(name).is_none() {
            return Err(LearnError::Input(format!(
                "--drop {}: no such column (columns: {})",
                crate::quote(name),
                table.names.join(", ")
            )));
        }
    }
    let labels = label_column(table, &options.label, options.skip_unknown_labels)?;
    let rows: Vec<usize> = (0..labels.len()).filter(|&r| labels[r].is_some()).collect();
    let y: Vec<bool> = rows.iter().filter_map(|&r| labels[r]).collect();
    let positives = y.iter().filter(|&&b| b).count();
    let negatives = y.len() - positives;
    if positives < options.min_per_class || negatives < options.min_per_class {
        return Err(LearnError::TooLittleData {
            positives,
            negatives,
            min: options.min_per_class,
        });
    }
    let keep: Vec<usize> = (0..table.names.len())
        .filter(|&i| table.names[i] != options.label && !options.drop.contains(&table.names[i]))
        .collect();
    if keep.is_empty() {
        return Err(LearnError::Input(
            "no columns left to learn from once the label and the dropped ones are removed".into(),
        ));
    }
    let features = Table {
        names: keep.iter().map(|&i| table.names[i].clone()).collect(),
        columns: keep.iter().map(|&i| table.columns[i].clone()).collect(),
    };
    Ok((features.select(&rows), y))
}

/// A feature's weight in the model, for "what drives conversion".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeight {
    /// `column` or `column = value`.
    pub feature: String,
    /// The logistic regression's coefficient on the standardised feature (positive: more
    /// likely to convert).
    pub weight: f64,
}

/// A column that predicts the label almost perfectly on its own: probably filled in after the
/// outcome was known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakWarning {
    /// The column.
    pub column: String,
    /// Its ROC-AUC alone (as a ranking by its value, or by each category's rate).
    pub roc_auc: f64,
}

/// A cross-validated ROC-AUC below this barely beats chance: the columns say little about
/// the outcome.
pub const WEAK_AUC: f64 = 0.6;

/// A single column whose AUC alone is at or above this warns of a leak (in lead scoring a
/// whole model rarely ranks that well: one column that does was probably filled in after the
/// outcome).
pub const LEAK_AUC: f64 = 0.9;

/// Metrics of a model on rows it did not see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Folds.
    pub folds: usize,
    /// Mean ROC-AUC over the folds.
    pub roc_auc: f64,
    /// Its standard deviation over the folds.
    pub roc_auc_sd: f64,
    /// Mean log-loss over the folds.
    pub log_loss: f64,
    /// Every fold's ROC-AUC.
    pub fold_roc_auc: Vec<f64>,
    /// Predicted against observed, in ten bins of predicted probability (all folds' rows).
    pub calibration: Vec<CalibrationBin>,
    /// The lift of the top decile: its conversion rate over the overall rate.
    pub top_decile_lift: f64,
}

/// A trained model: its features, its learners, and what is known of its quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// The file format's version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// A name for the registry (`learned` unless set).
    pub name: String,
    /// The caller's version string (e.g. a date and a counter).
    pub version: String,
    /// When it was trained, as the caller said (Unix ms).
    pub trained_at: i64,
    /// The label column.
    pub label: String,
    /// The learner.
    pub learner: Learner,
    /// Rows trained on.
    pub n_rows: usize,
    /// Of those, positive.
    pub n_positive: usize,
    /// How the columns become features.
    pub encoder: Encoder,
    /// The logistic regression (for [`Learner::Logistic`] and [`Learner::Ensemble`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub logistic: Option<Logistic>,
    /// The boosted trees (for [`Learner::Boosted`] and [`Learner::Ensemble`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub boosted: Option<Boosted>,
    /// Cross-validated metrics, when training ran them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evaluation: Option<Evaluation>,
    /// The strongest features by the logistic regression's coefficients, most positive first.
    pub top_features: Vec<FeatureWeight>,
    /// Columns that look like they leak the outcome.
    pub leak_warnings: Vec<LeakWarning>,
}

/// One feature's part in one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    /// `column` or `column = value`.
    pub feature: String,
    /// Its contribution to the log-odds (positive: towards converting).
    pub contribution: f64,
}

/// Trains on every labelled row of `table`.
///
/// `trained_at` is the caller's "now" (Unix ms). Refuses with [`LearnError::TooLittleData`]
/// below `options.min_per_class` rows of either class.
pub fn train(
    table: &Table,
    options: &TrainOptions,
    trained_at: i64,
) -> Result<LearnedModel, LearnError> {
    let (features, y) = prepare(table, options)?;
    let model = fit(&features, &y, options, trained_at);
    Ok(model)
}

fn fit(features: &Table, y: &[bool], options: &TrainOptions, trained_at: i64) -> LearnedModel {
    let encoder = Encoder::fit(features);
    // Binned once: the leak check and the trees read the same bins.
    let binned = encoder.binned(features);
    let leak_warnings = encoder.leak_warnings(&binned, y);
    let logistic = matches!(options.learner, Learner::Logistic | Learner::Ensemble)
        .then(|| Logistic::fit(&encoder.dense(features), y, options.l2));
    let boosted = matches!(options.learner, Learner::Boosted | Learner::Ensemble)
        .then(|| Boosted::fit(&binned, &encoder, y, &options.boost));
    let top_features = match &logistic {
        Some(lr) => lr.top_features(&encoder, 10),
        None => Vec::new(),
    };
    LearnedModel {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: "learned".into(),
        version: "1".into(),
        trained_at,
        label: options.label.clone(),
        learner: options.learner,
        n_rows: y.len(),
        n_positive: y.iter().filter(|&&b| b).count(),
        encoder,
        logistic,
        boosted,
        evaluation: None,
        top_features,
        leak_warnings,
    }
}

/// Stratified k-fold cross-validation of training with `options` on `table`: each fold's
/// features and model are fitted on the other folds' rows only.
pub fn cross_validate(
    table: &Table,
    options: &TrainOptions,
    folds: usize,
) -> Result<Evaluation, LearnError> {
    if !(2..=20).contains(&folds) {
        return Err(LearnError::Input(format!(
            "--cv: expected 2 to 20 folds, got {folds}"
        )));
    }
    let (features, y) = prepare(table, options)?;
    let assignment = stratified_folds(&y, folds, options.seed);
    let mut predicted = vec![0.0; y.len()];
    let mut fold_auc = Vec::with_capacity(folds);
    let mut fold_loss = Vec::with_capacity(folds);
    for fold in 0..folds {
        let train_rows: Vec<usize> = (0..y.len()).filter(|&r| assignment[r] != fold).collect();
        let test_rows: Vec<usize> = (0..y.len()).filter(|&r| assignment[r] == fold).collect();
        let train_y: Vec<bool> = train_rows.iter().map(|&r| y[r]).collect();
        let test_y: Vec<bool> = test_rows.iter().map(|&r| y[r]).collect();
        let model = fit(&features.select(&train_rows), &train_y, options, 0);
        let p = model.predict(&features.select(&test_rows))?;
        fold_auc.push(roc_auc(&p, &test_y));
        fold_loss.push(log_loss(&p, &test_y));
        for (i, &r) in test_rows.iter().enumerate() {
            predicted[r] = p[i];
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let auc = mean(&fold_auc);
    let sd = (fold_auc.iter().map(|a| (a - auc).powi(2)).sum::<f64>() / folds as f64).sqrt();
    Ok(Evaluation {
        folds,
        roc_auc: auc,
        roc_auc_sd: sd,
        log_loss: mean(&fold_loss),
        fold_roc_auc: fold_auc,
        calibration: calibration(&predicted, &y, 10),
        top_decile_lift: metrics::top_decile_lift(&predicted, &y),
    })
}

/// Assigns each row a fold: each class shuffled (by `seed`) and dealt round-robin, so every
/// fold has the class balance of the whole.
fn stratified_folds(y: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut assignment = vec![0; y.len()];
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&r| y[r] == class).collect();
        for i in (1..rows.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            rows.swap(i, j);
        }
        for (k, &r) in rows.iter().enumerate() {
            assignment[r] = k % folds;
        }
    }
    assignment
}

/// A small, well-known deterministic generator (Steele et al.'s SplitMix64): the seed is the
/// caller's, so results repeat exactly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl LearnedModel {
    /// The probability of converting for each row of `table` (columns by name; missing
    /// columns are missing values, unseen categories are `(other)`).
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>, LearnError> {
        table.check()?;
        let lr = self
            .logistic
            .as_ref()
            .map(|m| m.predict(&self.encoder.dense(table)));
        let gb = self
            .boosted
            .as_ref()
            .map(|m| m.predict(&self.encoder.binned(table)));
        Ok(match (lr, gb) {
            (Some(a), Some(b)) => a
                .iter()
                .zip(&b)
                .map(|(a, b)| sigmoid((logit(*a) + logit(*b)) / 2.0))
                .collect(),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Err(LearnError::Model("it has no learner".into())),
        })
    }

    /// The features that moved row `row` of `table` most, strongest first (at most `n`): the
    /// logistic regression's terms and the trees' path attributions (Saabas), on the log-odds
    /// scale, averaged as the probabilities are.
    pub fn explain(
        &self,
        table: &Table,
        row: usize,
        n: usize,
    ) -> Result<Vec<FeatureContribution>, LearnError> {
        table.check()?;
        if row >= table.rows() {
            return Err(LearnError::Input(format!(
                "row {row} of a table of {} rows",
                table.rows()
            )));
        }
        let one = table.select(&[row]);
        let mut parts: std::collections::BTreeMap<String, f64> = Default::default();
        let learners = usize::from(self.logistic.is_some()) + usize::from(self.boosted.is_some());
        let share = 1.0 / learners.max(1) as f64;
        if let Some(lr) = &self.logistic {
            for (feature, c) in lr.contributions(&self.encoder, &self.encoder.dense(&one)) {
                *parts.entry(feature).or_default() += c * share;
            }
        }
        if let Some(gb) = &self.boosted {
            for (feature, c) in gb.contributions(&self.encoder, &self.encoder.binned(&one)) {
                *parts.entry(feature).or_default() += c * share;
            }
        }
        let mut out: Vec<FeatureContribution> = parts
            .into_iter()
            .filter(|(_, c)| c.abs() > 1e-9)
            .map(|(feature, contribution)| FeatureContribution {
                feature,
                contribution,
            })
            .collect();
        out.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        out.truncate(n);
        Ok(out)
    }

    /// Checks what a file could get wrong and a trained model never does: bins that fit a byte,
    /// weights for every feature, trees whose splits name real features and point forward to
    /// real nodes (so no walk can leave the tree or loop).
    fn check(&self) -> Result<(), LearnError> {
        let bad = |what: String| Err(LearnError::Model(what));
        for f in &self.encoder.features {
            if f.bins() > 256 {
                return bad(format!("column {}: too many bins", crate::quote(&f.column)));
            }
        }
        if let Some(lr) = &self.logistic {
            let width = self.encoder.dense_names().len();
            if lr.weights.len() != width || lr.means.len() != width || lr.sds.len() != width {
                return bad(format!(
                    "the logistic regression has {} weights for {width} features",
                    lr.weights.len()
                ));
            }
        }
        if let Some(gb) = &self.boosted {
            for (t, tree) in gb.trees.iter().enumerate() {
                if tree.nodes.is_empty() {
                    return bad(format!("tree {t} has no nodes"));
                }
                for (i, node) in tree.nodes.iter().enumerate() {
                    if let Some(split) = &node.split {
                        let ok = split.feature < self.encoder.features.len()
                            && split.left > i
                            && split.right > i
                            && split.left < tree.nodes.len()
                            && split.right < tree.nodes.len();
                        if !ok {
                            return bad(format!("tree {t}, node {i}: a split out of range"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The model as JSON (the file `brim train --output` writes).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a saved model, checking its format and version.
    pub fn from_json(text: &str) -> Result<LearnedModel, LearnError> {
        let model: LearnedModel =
            serde_json::from_str(text).map_err(|e| LearnError::Model(e.to_string()))?;
        if model.format != FORMAT {
            return Err(LearnError::Model(format!(
                "format is {}, expected {FORMAT}",
                crate::quote(&model.format)
            )));
        }
        // Version 1 differs only in how a tree split's bins are written (read either way).
        if !(1..=FORMAT_VERSION).contains(&model.format_version) {
            return Err(LearnError::Model(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                model.format_version
            )));
        }
        if model.logistic.is_none() && model.boosted.is_none() {
            return Err(LearnError::Model("it has no learner".into()));
        }
        model.check()?;
        Ok(model)
    }
}

impl fmt::Display for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Learner::Logistic => "logistic",
            Learner::Boosted => "boosted",
            Learner::Ensemble => "ensemble",
        })
    }
}

#[cfg(test)]
mod tests;
