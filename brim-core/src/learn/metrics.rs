//! How good a ranking and a probability are: ROC-AUC, log-loss, calibration, lift.

use serde::{Deserialize, Serialize};

/// The area under the ROC curve of `score` against `y`: the chance that a random positive
/// scores above a random negative (ties count a half). 0.5 when a class is absent.
///
/// ```
/// use brim_core::learn::roc_auc;
/// assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), 0.75);
/// ```
pub fn roc_auc(score: &[f64], y: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // Mann-Whitney U with average ranks for ties.
    let (mut rank_sum, mut positives) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &r in &order[i..=j] {
            if y[r] {
                rank_sum += rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = score.len() - positives;
    if positives == 0 || negatives == 0 {
        return 0.5;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// The mean log-loss of probabilities `p` against `y` (probabilities clipped to
/// `[1e-15, 1 - 1e-15]`, as scikit-learn does).
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    let total: f64 = p
        .iter()
        .zip(y)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / p.len().max(1) as f64
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// The bin's lower bound of predicted probability.
    pub from: f64,
    /// Its upper bound.
    pub to: f64,
    /// Rows predicted in it.
    pub rows: usize,
    /// Their mean predicted probability.
    pub predicted: f64,
    /// Their observed rate of positives.
    pub observed: f64,
}

/// Predicted against observed in `bins` equal bins of predicted probability (empty bins left
/// out): a calibrated model's rows convert about as often as it says.
pub fn calibration(p: &[f64], y: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut sum_p = vec![0.0; bins];
    let mut pos = vec![0usize; bins];
    let mut rows = vec![0usize; bins];
    for (&p, &y) in p.iter().zip(y) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sum_p[b] += p;
        rows[b] += 1;
        pos[b] += usize::from(y);
    }
    (0..bins)
        .filter(|&b| rows[b] > 0)
        .map(|b| CalibrationBin {
            from: b as f64 / bins as f64,
            to: (b + 1) as f64 / bins as f64,
            rows: rows[b],
            predicted: sum_p[b] / rows[b] as f64,
            observed: pos[b] as f64 / rows[b] as f64,
        })
        .collect()
}

/// The conversion rate of the top tenth of rows by `score`, over the rate of all rows (1: no
/// better than chance).
pub fn top_decile_lift(score: &[f64], y: &[bool]) -> f64 {
    let n = score.len();
    let overall = y.iter().filter(|&&b| b).count() as f64 / n.max(1) as f64;
    if n == 0 || overall == 0.0 {
        return 1.0;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let top = (n / 10).max(1);
    let rate = order[..top].iter().filter(|&&r| y[r]).count() as f64 / top as f64;
    rate / overall
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_halves_and_is_symmetric() {
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, false]), 1.0);
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, false]), 0.0);
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]), 0.5);
    }

    #[test]
    fn log_loss_matches_the_formula() {
        let l = log_loss(&[0.8, 0.3], &[true, false]);
        assert!((l - (-(0.8f64.ln()) - 0.7f64.ln()) / 2.0).abs() < 1e-12);
        assert!(log_loss(&[0.0], &[true]).is_finite());
    }

    #[test]
    fn calibration_and_lift() {
        let p = [0.05, 0.15, 0.95, 0.92];
        let y = [false, false, true, true];
        let bins = calibration(&p, &y, 10);
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[2].rows, bins[2].observed), (2, 1.0));
        assert_eq!(top_decile_lift(&p, &y), 2.0);
    }
}

/// One model's quality on a labelled set, as [`compare`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Log-loss.
    pub log_loss: f64,
    /// The top decile's conversion rate over the overall rate.
    pub top_decile_lift: f64,
}

/// Two models' predictions on the same rows, compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Rows compared.
    pub rows: usize,
    /// The first model's quality.
    pub a: Scored,
    /// The second's.
    pub b: Scored,
    /// `b.roc_auc - a.roc_auc`.
    pub roc_auc_difference: f64,
    /// Its 95 % interval from a paired bootstrap (the same resampled rows for both models).
    pub roc_auc_difference_ci: [f64; 2],
    /// Resamples the interval was drawn from.
    pub resamples: usize,
}

impl Comparison {
    /// The comparison in words: which model ranks these rows better, when the interval says
    /// one does.
    pub fn verdict(&self) -> &'static str {
        let [lo, hi] = self.roc_auc_difference_ci;
        if lo > 0.0 {
            "B ranks these rows better"
        } else if hi < 0.0 {
            "A ranks these rows better"
        } else {
            "no clear difference on these rows"
        }
    }
}

/// Compares the predictions `a` and `b` of two models on the same rows with labels `y`: each
/// model's ROC-AUC, log-loss and top-decile lift, and the difference in ROC-AUC with a 95 %
/// paired-bootstrap interval (1,000 resamples drawn from `seed`). An interval that excludes 0
/// means one model ranks these rows better.
pub fn compare(a: &[f64], b: &[f64], y: &[bool], seed: u64) -> Comparison {
    const RESAMPLES: usize = 1000;
    let score = |p: &[f64]| Scored {
        roc_auc: roc_auc(p, y),
        log_loss: log_loss(p, y),
        top_decile_lift: top_decile_lift(p, y),
    };
    let (sa, sb) = (score(a), score(b));
    let n = y.len();
    let mut rng = super::SplitMix64(seed ^ 0x5851_f42d_4c95_7f2d);
    let mut diffs = Vec::with_capacity(RESAMPLES);
    let (mut ra, mut rb, mut ry) = (vec![0.0; n], vec![0.0; n], vec![false; n]);
    for _ in 0..RESAMPLES {
        for i in 0..n {
            let j = (rng.next() % n.max(1) as u64) as usize;
            ra[i] = a[j];
            rb[i] = b[j];
            ry[i] = y[j];
        }
        diffs.push(roc_auc(&rb, &ry) - roc_auc(&ra, &ry));
    }
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| {
        diffs
            .get(((RESAMPLES as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Comparison {
        rows: n,
        roc_auc_difference: sb.roc_auc - sa.roc_auc,
        roc_auc_difference_ci: [at(0.025), at(0.975)],
        resamples: RESAMPLES,
        a: sa,
        b: sb,
    }
}
