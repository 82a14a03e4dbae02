//! Columns to features, fitted on the training rows only: numbers imputed, standardised and
//! binned; categories with rare values pooled, one-hot for the logistic regression and coded
//! for the trees' categorical splits.

use serde::{Deserialize, Serialize};

use super::metrics::roc_auc;
use super::{LEAK_AUC, LeakWarning, RARE, Table, Values};

/// Value bins of a numeric feature for the trees, at most (one more holds the missing values).
const MAX_BINS: usize = 255;
/// Quantile bins of a numeric feature for the logistic regression.
const DECILES: usize = 10;

/// One-hot width of a numeric feature's deciles (none without bounds).
fn decile_width(cuts: &[f64]) -> usize {
    if cuts.is_empty() { 0 } else { cuts.len() + 1 }
}

/// Categories kept per column, at most (the most frequent; the rest are `(other)`).
const MAX_CATEGORIES: usize = 250;

/// How one column becomes features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The column's name.
    pub column: String,
    /// Numeric or categorical, with what was learned from the training rows.
    pub kind: FeatureKind,
}

/// A feature's kind and its fitted parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FeatureKind {
    /// A number.
    Numeric {
        /// What a missing value is imputed with (the training median).
        median: f64,
        /// The training mean, for standardising.
        mean: f64,
        /// The training standard deviation (1 when constant).
        sd: f64,
        /// Whether the training rows had missing values (then a "missing" indicator is a
        /// feature of its own).
        missing_indicator: bool,
        /// Upper bounds of the trees' bins (a value `v` is in the first bin whose bound is
        /// `>= v`; above the last: the last bin).
        thresholds: Vec<f64>,
        /// Training rows that were missing.
        missing: usize,
        /// Bounds of the value's deciles (the logistic regression also sees which decile a
        /// value is in: a curve, not only a slope).
        #[serde(default)]
        cuts: Vec<f64>,
    },
    /// A category.
    Categorical {
        /// The categories kept, most frequent first; anything else is `(other)`.
        categories: Vec<String>,
        /// Training rows that were missing.
        missing: usize,
    },
}

/// The fitted features of a table's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    /// One spec per column used.
    pub features: Vec<FeatureSpec>,
}

/// Rows as dense features for the logistic regression (row-major).
pub(crate) struct Dense {
    pub rows: usize,
    pub width: usize,
    pub x: Vec<f64>,
}

/// Rows as bin codes for the trees (column-major).
pub(crate) struct Binned {
    pub rows: usize,
    /// Per feature: each row's bin.
    pub codes: Vec<Vec<u8>>,
}

impl FeatureSpec {
    /// Bins of this feature for the trees (the missing bin included).
    pub(crate) fn bins(&self) -> usize {
        match &self.kind {
            FeatureKind::Numeric { thresholds, .. } => thresholds.len() + 2,
            FeatureKind::Categorical { categories, .. } => categories.len() + 2,
        }
    }

    pub(crate) fn is_categorical(&self) -> bool {
        matches!(self.kind, FeatureKind::Categorical { .. })
    }

    /// The missing values' bin.
    pub(crate) fn missing_bin(&self) -> usize {
        self.bins() - 1
    }

    /// The label of bin `bin` of a categorical feature: `column = value`.
    pub(crate) fn category_label(&self, bin: usize) -> String {
        match &self.kind {
            FeatureKind::Categorical { categories, .. } => match categories.get(bin) {
                Some(c) => format!("{} = {c}", self.column),
                None if bin == categories.len() => format!("{} = (other)", self.column),
                None => format!("{} = (missing)", self.column),
            },
            FeatureKind::Numeric { .. } => self.column.clone(),
        }
    }

    /// Dense features of this column: (label, width).
    fn dense_width(&self) -> usize {
        match &self.kind {
            FeatureKind::Numeric {
                missing_indicator,
                cuts,
                ..
            } => 1 + usize::from(*missing_indicator) + decile_width(cuts),
            FeatureKind::Categorical { categories, .. } => categories.len() + 2,
        }
    }
}

enum Column<'a> {
    Numbers(&'a [Option<f64>]),
    Texts(&'a [Option<String>]),
    Absent,
}

fn number(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// A number written as text, as the table's typing reads it (trimmed; NaN and infinities are
/// missing).
fn parse_number(text: Option<&str>) -> Option<f64> {
    number(text.and_then(|t| t.trim().parse().ok()))
}

impl Encoder {
    /// Fits every column of `table`.
    pub fn fit(table: &Table) -> Encoder {
        let features = table
            .names
            .iter()
            .zip(&table.columns)
            .map(|(name, values)| FeatureSpec {
                column: name.clone(),
                kind: match values {
                    Values::Numbers(v) => fit_numeric(v),
                    Values::Texts(v) => fit_categorical(v),
                },
            })
            .collect();
        Encoder { features }
    }

    fn column<'a>(&self, table: &'a Table, i: usize) -> Column<'a> {
        match table.column(&self.features[i].column) {
            Some(Values::Numbers(v)) => Column::Numbers(v),
            Some(Values::Texts(v)) => Column::Texts(v),
            None => Column::Absent,
        }
    }

    /// The dense features' names, in order.
    pub fn dense_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for spec in &self.features {
            match &spec.kind {
                FeatureKind::Numeric {
                    missing_indicator,
                    cuts,
                    ..
                } => {
                    names.push(spec.column.clone());
                    if *missing_indicator {
                        names.push(format!("{} is missing", spec.column));
                    }
                    if decile_width(cuts) > 0 {
                        let bound =
                            |i: usize| cuts.get(i).map_or("∞".to_string(), |c| format!("{c:.4}"));
                        for k in 0..=cuts.len() {
                            let low = if k == 0 {
                                "-∞".to_string()
                            } else {
                                bound(k - 1)
                            };
                            names.push(format!("{} in ({low}, {}]", spec.column, bound(k)));
                        }
                    }
                }
                FeatureKind::Categorical { categories, .. } => {
                    for bin in 0..categories.len() + 2 {
                        names.push(spec.category_label(bin));
                    }
                }
            }
        }
        names
    }

    /// The label an explanation gives dense feature `j` (the column for a number and its
    /// missing indicator, `column = value` for a category).
    pub(crate) fn dense_owner(&self) -> Vec<String> {
        let mut owners = Vec::new();
        for spec in &self.features {
            match &spec.kind {
                FeatureKind::Numeric { .. } => {
                    owners.extend(std::iter::repeat_n(spec.column.clone(), spec.dense_width()))
                }
                FeatureKind::Categorical { categories, .. } => {
                    for bin in 0..categories.len() + 2 {
                        owners.push(spec.category_label(bin));
                    }
                }
            }
        }
        owners
    }

    /// `table`'s rows as dense features.
    pub(crate) fn dense(&self, table: &Table) -> Dense {
        let rows = table.rows();
        let width: usize = self.features.iter().map(FeatureSpec::dense_width).sum();
        let mut x = vec![0.0; rows * width];
        let mut offset = 0;
        for (i, spec) in self.features.iter().enumerate() {
            let column = self.column(table, i);
            match &spec.kind {
                FeatureKind::Numeric {
                    median,
                    mean,
                    sd,
                    missing_indicator,
                    cuts,
                    ..
                } => {
                    let deciles = offset + 1 + usize::from(*missing_indicator);
                    for r in 0..rows {
                        let v = numeric_value(&column, r);
                        x[r * width + offset] = (v.unwrap_or(*median) - mean) / sd;
                        if *missing_indicator {
                            x[r * width + offset + 1] = if v.is_none() { 1.0 } else { 0.0 };
                        }
                        // A missing value is in no decile (its indicator says so).
                        if let (Some(v), true) = (v, decile_width(cuts) > 0) {
                            x[r * width + deciles + cuts.partition_point(|&c| c < v)] = 1.0;
                        }
                    }
                }
                FeatureKind::Categorical { .. } => {
                    for r in 0..rows {
                        let bin = categorical_bin(spec, &column, r);
                        x[r * width + offset + bin] = 1.0;
                    }
                }
            }
            offset += spec.dense_width();
        }
        Dense { rows, width, x }
    }

    /// `table`'s rows as bin codes.
    pub(crate) fn binned(&self, table: &Table) -> Binned {
        let rows = table.rows();
        let codes = self
            .features
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let column = self.column(table, i);
                (0..rows)
                    .map(|r| match &spec.kind {
                        FeatureKind::Numeric { thresholds, .. } => {
                            match numeric_value(&column, r) {
                                None => spec.missing_bin() as u8,
                                Some(v) => thresholds.partition_point(|&t| t < v) as u8,
                            }
                        }
                        FeatureKind::Categorical { .. } => categorical_bin(spec, &column, r) as u8,
                    })
                    .collect()
            })
            .collect();
        Binned { rows, codes }
    }

    /// Columns that rank the training rows almost perfectly on their own (ROC-AUC ≥
    /// [`LEAK_AUC`]): a number by its value, a category by its rate of positives.
    pub(crate) fn leak_warnings(&self, binned: &Binned, y: &[bool]) -> Vec<LeakWarning> {
        let mut out = Vec::new();
        for (i, spec) in self.features.iter().enumerate() {
            let codes = &binned.codes[i];
            let score: Vec<f64> = if spec.is_categorical() {
                let bins = spec.bins();
                let mut pos = vec![0.0; bins];
                let mut all = vec![0.0; bins];
                for (r, &b) in codes.iter().enumerate() {
                    all[b as usize] += 1.0;
                    if y[r] {
                        pos[b as usize] += 1.0;
                    }
                }
                codes
                    .iter()
                    .map(|&b| pos[b as usize] / all[b as usize])
                    .collect()
            } else {
                codes.iter().map(|&b| f64::from(b)).collect()
            };
            let auc = roc_auc(&score, y);
            let auc = auc.max(1.0 - auc);
            if auc >= LEAK_AUC {
                out.push(LeakWarning {
                    column: spec.column.clone(),
                    roc_auc: auc,
                });
            }
        }
        out
    }
}

/// Row `r` of a numeric feature's column, however it arrived (missing: `None`).
fn numeric_value(column: &Column<'_>, r: usize) -> Option<f64> {
    match column {
        Column::Numbers(v) => number(v[r]),
        Column::Texts(v) => parse_number(v[r].as_deref()),
        Column::Absent => None,
    }
}

fn categorical_bin(spec: &FeatureSpec, column: &Column<'_>, r: usize) -> usize {
    let FeatureKind::Categorical { categories, .. } = &spec.kind else {
        return 0;
    };
    let text: Option<String> = match column {
        Column::Texts(v) => v[r].clone(),
        Column::Numbers(v) => number(v[r]).map(crate::lead::format_number),
        Column::Absent => None,
    };
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => categories.len() + 1,
        Some(t) => categories
            .iter()
            .position(|c| c == t)
            .unwrap_or(categories.len()),
    }
}

fn fit_numeric(values: &[Option<f64>]) -> FeatureKind {
    let mut present: Vec<f64> = values.iter().filter_map(|&v| number(v)).collect();
    let missing = values.len() - present.len();
    present.sort_by(f64::total_cmp);
    let n = present.len();
    let median = match n {
        0 => 0.0,
        _ if n % 2 == 1 => present[n / 2],
        _ => (present[n / 2 - 1] + present[n / 2]) / 2.0,
    };
    // Mean and standard deviation of the imputed column, as the model sees it.
    let total = values.len().max(1) as f64;
    let mean = (present.iter().sum::<f64>() + median * missing as f64) / total;
    let var = (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
        + (median - mean).powi(2) * missing as f64)
        / total;
    let sd = if var > 1e-24 { var.sqrt() } else { 1.0 };
    // Bin bounds: midpoints between distinct values, or quantiles when there are too many.
    let mut distinct = present.clone();
    distinct.dedup();
    let thresholds: Vec<f64> = if distinct.len() <= MAX_BINS {
        distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
    } else {
        // Each bound halfway between a quantile and the next larger value, so that no value
        // sits on a bound (a bound read back from JSON a hair off moves no row).
        let mut t: Vec<f64> = (1..MAX_BINS)
            .filter_map(|k| {
                let a = present[k * n / MAX_BINS];
                let i = present.partition_point(|&v| v <= a);
                present.get(i).map(|&b| (a + b) / 2.0)
            })
            .collect();
        t.dedup();
        t
    };
    // Decile bounds, between values as the bins' are; a column of few values (a flag, a
    // count of 0-3) gets none: its bins would add nothing a slope cannot say.
    let mut cuts: Vec<f64> = if distinct.len() > DECILES {
        (1..DECILES)
            .filter_map(|k| {
                let a = present[k * n / DECILES];
                let i = present.partition_point(|&v| v <= a);
                present.get(i).map(|&b| (a + b) / 2.0)
            })
            .collect()
    } else {
        Vec::new()
    };
    cuts.dedup();
    FeatureKind::Numeric {
        median,
        mean,
        sd,
        missing_indicator: missing > 0,
        thresholds,
        missing,
        cuts,
    }
}

fn fit_categorical(values: &[Option<String>]) -> FeatureKind {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut missing = 0;
    for v in values {
        match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => *counts.entry(t).or_default() += 1,
            None => missing += 1,
        }
    }
    let mut kept: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= RARE).collect();
    // Most frequent first; ties by name, so the order never depends on a hash.
    kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    kept.truncate(MAX_CATEGORIES);
    FeatureKind::Categorical {
        categories: kept.into_iter().map(|(c, _)| c.to_string()).collect(),
        missing,
    }
}
