//! L2-regularised logistic regression, fitted by L-BFGS: minimises the summed log-loss plus
//! `l2 / 2 · ‖w‖²` (the intercept is not penalised), as scikit-learn's `LogisticRegression`
//! with `C = 1 / l2`.

use serde::{Deserialize, Serialize};

use super::encode::{Dense, Encoder};
use super::{FeatureWeight, sigmoid};

/// A fitted logistic regression over the encoder's dense features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// The intercept (log-odds of the average row).
    pub intercept: f64,
    /// One weight per dense feature.
    pub weights: Vec<f64>,
    /// The dense features' training means (the baseline of an explanation).
    pub means: Vec<f64>,
    /// Their training standard deviations (to rank features by the effect of one deviation).
    pub sds: Vec<f64>,
    /// L-BFGS iterations run.
    pub iterations: usize,
}

/// Gradient iterations at most.
const MAX_ITER: usize = 500;
/// Corrections kept by L-BFGS.
const MEMORY: usize = 10;

impl Logistic {
    /// Fits on `x` (rows × width) and `y`.
    pub(crate) fn fit(x: &Dense, y: &[bool], l2: f64) -> Logistic {
        let (n, d) = (x.rows, x.width);
        // The rows' non-zero entries (one-hot features are mostly zero): a sparse pass.
        let mut start = Vec::with_capacity(n + 1);
        let mut idx: Vec<u32> = Vec::new();
        let mut val: Vec<f64> = Vec::new();
        for r in 0..n {
            start.push(idx.len());
            for (j, &v) in x.x[r * d..(r + 1) * d].iter().enumerate() {
                if v != 0.0 {
                    idx.push(j as u32);
                    val.push(v);
                }
            }
        }
        start.push(idx.len());
        // The mean loss (the penalty scaled alike): the same minimum as the summed objective,
        // with gradients whose size does not grow with the rows.
        let scale = 1.0 / n.max(1) as f64;
        let objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let (w, b) = (&theta[..d], theta[d]);
            let mut loss = 0.0;
            for r in 0..n {
                let (lo, hi) = (start[r], start[r + 1]);
                let mut z = b;
                for k in lo..hi {
                    z += val[k] * w[idx[k] as usize];
                }
                // log(1 + e^z) - y z, computed stably.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                let yr = if y[r] { 1.0 } else { 0.0 };
                loss += softplus - yr * z;
                let e = sigmoid(z) - yr;
                for k in lo..hi {
                    grad[idx[k] as usize] += e * val[k];
                }
                grad[d] += e;
            }
            for j in 0..d {
                loss += 0.5 * l2 * w[j] * w[j];
                grad[j] += l2 * w[j];
            }
            grad.iter_mut().for_each(|g| *g *= scale);
            loss * scale
        };
        let mut theta = vec![0.0; d + 1];
        let positives = y.iter().filter(|&&b| b).count() as f64;
        let rate = (positives / n.max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        theta[d] = (rate / (1.0 - rate)).ln();
        let iterations = lbfgs(&mut theta, objective);
        let mut means = vec![0.0; d];
        let mut sds = vec![0.0; d];
        for row in x.x.chunks_exact(d.max(1)) {
            for (m, v) in means.iter_mut().zip(row) {
                *m += v;
            }
        }
        means.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        for row in x.x.chunks_exact(d.max(1)) {
            for ((s, v), m) in sds.iter_mut().zip(row).zip(&means) {
                *s += (v - m).powi(2);
            }
        }
        sds.iter_mut()
            .for_each(|s| *s = (*s / n.max(1) as f64).sqrt());
        Logistic {
            intercept: theta[d],
            weights: theta[..d].to_vec(),
            means,
            sds,
            iterations,
        }
    }

    /// Probabilities of `x`'s rows.
    pub(crate) fn predict(&self, x: &Dense) -> Vec<f64> {
        (0..x.rows)
            .map(|r| {
                let row = &x.x[r * x.width..(r + 1) * x.width];
                sigmoid(
                    self.intercept
                        + row
                            .iter()
                            .zip(&self.weights)
                            .map(|(a, b)| a * b)
                            .sum::<f64>(),
                )
            })
            .collect()
    }

    /// Each dense feature's part in the first row's log-odds, against the training average
    /// (exact for a linear model), labelled as the encoder labels it.
    pub(crate) fn contributions(&self, encoder: &Encoder, x: &Dense) -> Vec<(String, f64)> {
        let owners = encoder.dense_owner();
        (0..x.width)
            .map(|j| {
                (
                    owners[j].clone(),
                    self.weights[j] * (x.x[j] - self.means[j]),
                )
            })
            .collect()
    }

    /// The `n` most positive and `n` most negative features by the effect of one standard
    /// deviation on the log-odds, most positive first.
    pub(crate) fn top_features(&self, encoder: &Encoder, n: usize) -> Vec<FeatureWeight> {
        let names = encoder.dense_names();
        let mut all: Vec<FeatureWeight> = names
            .into_iter()
            .zip(self.weights.iter().zip(&self.sds))
            .filter(|(_, (_, sd))| **sd > 0.0)
            .map(|(feature, (w, sd))| FeatureWeight {
                feature,
                weight: w * sd,
            })
            .collect();
        all.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let positives: Vec<FeatureWeight> = all
            .iter()
            .filter(|f| f.weight > 0.0)
            .take(n)
            .cloned()
            .collect();
        let mut negatives: Vec<FeatureWeight> = all
            .iter()
            .rev()
            .filter(|f| f.weight < 0.0)
            .take(n)
            .cloned()
            .collect();
        negatives.reverse();
        positives.into_iter().chain(negatives).collect()
    }
}

/// Minimises `f` (which writes its gradient) from `theta` by L-BFGS with a backtracking
/// (Armijo) line search; returns the iterations run.
fn lbfgs(theta: &mut [f64], mut f: impl FnMut(&[f64], &mut [f64]) -> f64) -> usize {
    let d = theta.len();
    let mut grad = vec![0.0; d];
    let mut value = f(theta, &mut grad);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut next = vec![0.0; d];
    let mut next_grad = vec![0.0; d];
    for iteration in 0..MAX_ITER {
        let gnorm = grad.iter().map(|g| g.abs()).fold(0.0, f64::max);
        if gnorm < 1e-5 {
            return iteration;
        }
        // Two-loop recursion: direction = -H·grad.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(s_hist.len());
        for (s, y) in s_hist.iter().zip(&y_hist).rev() {
            let rho = 1.0 / dot(y, s);
            let a = rho * dot(s, &q);
            axpy(-a, y, &mut q);
            alphas.push((rho, a));
        }
        if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        } else {
            // First step: a unit step along the gradient scaled to a sensible length.
            let scale = 1.0 / gnorm.max(1.0);
            q.iter_mut().for_each(|v| *v *= scale);
        }
        for ((s, y), (rho, a)) in s_hist.iter().zip(&y_hist).zip(alphas.into_iter().rev()) {
            let b = rho * dot(y, &q);
            axpy(a - b, s, &mut q);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart along the gradient.
            s_hist.clear();
            y_hist.clear();
            direction = grad.iter().map(|g| -g / gnorm.max(1.0)).collect();
            slope = dot(&grad, &direction);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..d {
                next[i] = theta[i] + step * direction[i];
            }
            let v = f(&next, &mut next_grad);
            if v <= value + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = (0..d).map(|i| next[i] - theta[i]).collect();
                let y: Vec<f64> = (0..d).map(|i| next_grad[i] - grad[i]).collect();
                let converged = (value - v).abs() <= 1e-10 * value.abs().max(1.0);
                theta.copy_from_slice(&next);
                grad.copy_from_slice(&next_grad);
                value = v;
                if dot(&s, &y) > 1e-12 {
                    s_hist.push(s);
                    y_hist.push(y);
                    if s_hist.len() > MEMORY {
                        s_hist.remove(0);
                        y_hist.remove(0);
                    }
                }
                if converged {
                    return iteration + 1;
                }
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            return iteration;
        }
    }
    MAX_ITER
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}
