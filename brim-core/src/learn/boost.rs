//! Gradient-boosted trees for log-loss on binned features: histograms per node (the larger
//! child's by subtraction), leaf-wise growth, numeric splits that send the missing values to
//! the better side, and categorical splits by the categories' gradient ratio (as LightGBM and
//! scikit-learn's `HistGradientBoostingClassifier` do).

use serde::{Deserialize, Serialize};

use super::encode::{Binned, Encoder};
use super::sigmoid;

/// The trees' settings. The defaults are scikit-learn's `HistGradientBoostingClassifier`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Trees.
    pub iterations: usize,
    /// Each tree's shrinkage.
    pub learning_rate: f64,
    /// Leaves per tree, at most.
    pub max_leaves: usize,
    /// Rows per leaf, at least.
    pub min_leaf: usize,
    /// L2 regularisation of the leaf values.
    pub l2: f64,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            iterations: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            min_leaf: 20,
            l2: 0.0,
        }
    }
}

/// A node: a leaf, or a split whose `left` set of bins goes left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node's value (log-odds, shrunk): a leaf's output; for a split, what it would output
    /// as a leaf (for explanations).
    pub value: f64,
    /// The split, unless a leaf.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub split: Option<Split>,
}

/// A split on one feature's bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// The feature (the encoder's column index).
    pub feature: usize,
    /// The bins that go left, as 256 bits. Written as 64 hexadecimal digits (bin 255 first):
    /// a JSON number above 2^53 would not survive JavaScript's `JSON.parse`. Format version 1
    /// files wrote four numbers, which are still read.
    #[serde(with = "bins_text")]
    pub left_bins: [u64; 4],
    /// The left child's index.
    pub left: usize,
    /// The right child's index.
    pub right: usize,
}

/// One tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

/// A fitted ensemble of trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boosted {
    /// The starting log-odds (the training rate's).
    pub base: f64,
    /// The trees, in order.
    pub trees: Vec<Tree>,
    /// The settings it was trained with.
    pub params: BoostParams,
}

fn goes_left(bins: &[u64; 4], bin: u8) -> bool {
    (bins[usize::from(bin >> 6)] >> (bin & 63)) & 1 == 1
}

#[derive(Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// A leaf waiting to be split: its rows (a range of the row order), sums and best split.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    hist: Vec<Vec<Bin>>,
    g: f64,
    h: f64,
    best: Option<Candidate>,
}

#[derive(Clone)]
struct Candidate {
    gain: f64,
    feature: usize,
    left_bins: [u64; 4],
}

impl Boosted {
    /// Fits `params.iterations` trees on `x` and `y`.
    pub(crate) fn fit(x: &Binned, encoder: &Encoder, y: &[bool], params: &BoostParams) -> Boosted {
        let n = x.rows;
        let positives = y.iter().filter(|&&b| b).count() as f64;
        let rate = (positives / n.max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        let base = (rate / (1.0 - rate)).ln();
        let mut raw = vec![base; n];
        let mut g = vec![0.0; n];
        let mut h = vec![0.0; n];
        let bins: Vec<usize> = encoder.features.iter().map(|f| f.bins()).collect();
        let categorical: Vec<bool> = encoder
            .features
            .iter()
            .map(|f| f.is_categorical())
            .collect();
        let mut trees = Vec::with_capacity(params.iterations);
        let mut order: Vec<u32> = (0..n as u32).collect();
        for _ in 0..params.iterations {
            for r in 0..n {
                let p = sigmoid(raw[r]);
                g[r] = p - if y[r] { 1.0 } else { 0.0 };
                h[r] = (p * (1.0 - p)).max(1e-16);
            }
            let grower = Grower {
                x,
                g: &g,
                h: &h,
                bins: &bins,
                categorical: &categorical,
                params,
            };
            let tree = grower.grow(&mut order, &mut raw);
            trees.push(tree);
        }
        Boosted {
            base,
            trees,
            params: params.clone(),
        }
    }

    fn raw(&self, x: &Binned, r: usize) -> f64 {
        let mut z = self.base;
        for tree in &self.trees {
            let mut i = 0;
            while let Some(split) = &tree.nodes[i].split {
                i = if goes_left(&split.left_bins, x.codes[split.feature][r]) {
                    split.left
                } else {
                    split.right
                };
            }
            z += tree.nodes[i].value;
        }
        z
    }

    /// Probabilities of `x`'s rows.
    pub(crate) fn predict(&self, x: &Binned) -> Vec<f64> {
        (0..x.rows).map(|r| sigmoid(self.raw(x, r))).collect()
    }

    /// The first row's log-odds split among the features on its path through each tree
    /// (Saabas): each split adds the change in node value to its feature.
    pub(crate) fn contributions(&self, encoder: &Encoder, x: &Binned) -> Vec<(String, f64)> {
        let mut parts = vec![0.0; encoder.features.len()];
        for tree in &self.trees {
            let mut i = 0;
            while let Some(split) = &tree.nodes[i].split {
                let next = if goes_left(&split.left_bins, x.codes[split.feature][0]) {
                    split.left
                } else {
                    split.right
                };
                parts[split.feature] += tree.nodes[next].value - tree.nodes[i].value;
                i = next;
            }
        }
        encoder
            .features
            .iter()
            .enumerate()
            .map(|(f, spec)| {
                let label = if spec.is_categorical() {
                    spec.category_label(usize::from(x.codes[f][0]))
                } else {
                    spec.column.clone()
                };
                (label, parts[f])
            })
            .collect()
    }
}

struct Grower<'a> {
    x: &'a Binned,
    g: &'a [f64],
    h: &'a [f64],
    bins: &'a [usize],
    categorical: &'a [bool],
    params: &'a BoostParams,
}

impl Grower<'_> {
    fn leaf_value(&self, g: f64, h: f64) -> f64 {
        -g / (h + self.params.l2) * self.params.learning_rate
    }

    fn score(&self, g: f64, h: f64) -> f64 {
        g * g / (h + self.params.l2)
    }

    fn histogram(&self, rows: &[u32]) -> Vec<Vec<Bin>> {
        let mut hist: Vec<Vec<Bin>> = self.bins.iter().map(|&b| vec![Bin::default(); b]).collect();
        for (f, codes) in self.x.codes.iter().enumerate() {
            let hf = &mut hist[f];
            for &r in rows {
                let r = r as usize;
                let b = &mut hf[usize::from(codes[r])];
                b.g += self.g[r];
                b.h += self.h[r];
                b.n += 1;
            }
        }
        hist
    }

    fn best_split(&self, hist: &[Vec<Bin>], g: f64, h: f64, n: usize) -> Option<Candidate> {
        let min_leaf = self.params.min_leaf.max(1) as u32;
        if n < 2 * min_leaf as usize {
            return None;
        }
        let parent = self.score(g, h);
        let mut best: Option<Candidate> = None;
        let mut consider = |gain: f64, feature: usize, left_bins: [u64; 4]| {
            if gain > 1e-9 && best.as_ref().is_none_or(|b| gain > b.gain) {
                best = Some(Candidate {
                    gain,
                    feature,
                    left_bins,
                });
            }
        };
        let n = n as u32;
        for (f, bins) in hist.iter().enumerate() {
            if self.categorical[f] {
                // Categories ordered by gradient ratio; the best prefix goes left.
                let mut cats: Vec<usize> = (0..bins.len()).filter(|&b| bins[b].n > 0).collect();
                if cats.len() < 2 {
                    continue;
                }
                cats.sort_by(|&a, &b| {
                    let ra = bins[a].g / (bins[a].h + 10.0);
                    let rb = bins[b].g / (bins[b].h + 10.0);
                    ra.total_cmp(&rb)
                });
                let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0u32);
                let mut left = [0u64; 4];
                for &c in &cats[..cats.len() - 1] {
                    gl += bins[c].g;
                    hl += bins[c].h;
                    nl += bins[c].n;
                    left[c >> 6] |= 1 << (c & 63);
                    if nl < min_leaf || n - nl < min_leaf {
                        continue;
                    }
                    let gain = self.score(gl, hl) + self.score(g - gl, h - hl) - parent;
                    consider(gain, f, left);
                }
            } else {
                // Value bins in order; the missing bin (the last) tried on each side. The last
                // prefix (every value left, missing right) splits present from missing.
                let missing = bins.len() - 1;
                let m = bins[missing];
                let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0u32);
                let mut left = [0u64; 4];
                for t in 0..missing {
                    gl += bins[t].g;
                    hl += bins[t].h;
                    nl += bins[t].n;
                    left[t >> 6] |= 1 << (t & 63);
                    if bins[t].n == 0 {
                        continue;
                    }
                    // Missing right.
                    if nl >= min_leaf && n - nl >= min_leaf {
                        let gain = self.score(gl, hl) + self.score(g - gl, h - hl) - parent;
                        consider(gain, f, left);
                    }
                    // Missing left.
                    if m.n > 0 {
                        let nl2 = nl + m.n;
                        if nl2 >= min_leaf && n - nl2 >= min_leaf {
                            let (gl2, hl2) = (gl + m.g, hl + m.h);
                            let gain = self.score(gl2, hl2) + self.score(g - gl2, h - hl2) - parent;
                            let mut with_missing = left;
                            with_missing[missing >> 6] |= 1 << (missing & 63);
                            consider(gain, f, with_missing);
                        }
                    }
                }
            }
        }
        best
    }

    /// Grows one tree leaf-wise over `order` (the rows, reordered so that each node's rows
    /// are contiguous) and adds its leaves' values to `raw`.
    fn grow(&self, order: &mut [u32], raw: &mut [f64]) -> Tree {
        let n = order.len();
        let hist = self.histogram(order);
        let (g, h) = hist[0]
            .iter()
            .fold((0.0, 0.0), |(g, h), b| (g + b.g, h + b.h));
        let mut nodes = vec![Node {
            value: self.leaf_value(g, h),
            split: None,
        }];
        let best = self.best_split(&hist, g, h, n);
        let mut open = vec![Open {
            node: 0,
            start: 0,
            end: n,
            hist,
            g,
            h,
            best,
        }];
        let mut leaves = 1;
        let mut done: Vec<(usize, usize, usize)> = Vec::new(); // (node, start, end)
        while leaves < self.params.max_leaves.max(2) {
            // The open leaf with the best gain.
            let Some(pick) =
                (0..open.len())
                    .filter(|&i| open[i].best.is_some())
                    .max_by(|&a, &b| {
                        let ga = open[a].best.as_ref().map_or(0.0, |c| c.gain);
                        let gb = open[b].best.as_ref().map_or(0.0, |c| c.gain);
                        ga.total_cmp(&gb)
                    })
            else {
                break;
            };
            let leaf = open.swap_remove(pick);
            let Some(split) = leaf.best.clone() else {
                break;
            };
            // Partition the leaf's rows: left first.
            let codes = &self.x.codes[split.feature];
            let rows = &mut order[leaf.start..leaf.end];
            let mut mid = 0;
            for i in 0..rows.len() {
                if goes_left(&split.left_bins, codes[rows[i] as usize]) {
                    rows.swap(i, mid);
                    mid += 1;
                }
            }
            let mid = leaf.start + mid;
            // The smaller child's histogram by a scan, the larger's by subtraction.
            let left_small = mid - leaf.start <= leaf.end - mid;
            let small = if left_small {
                self.histogram(&order[leaf.start..mid])
            } else {
                self.histogram(&order[mid..leaf.end])
            };
            let mut large = leaf.hist;
            for (lf, sf) in large.iter_mut().zip(&small) {
                for (lb, sb) in lf.iter_mut().zip(sf) {
                    lb.g -= sb.g;
                    lb.h -= sb.h;
                    lb.n -= sb.n;
                }
            }
            let (left_hist, right_hist) = if left_small {
                (small, large)
            } else {
                (large, small)
            };
            let sums = |hist: &Vec<Vec<Bin>>| {
                hist[split.feature]
                    .iter()
                    .fold((0.0, 0.0), |(g, h), b| (g + b.g, h + b.h))
            };
            let (lg, lh) = sums(&left_hist);
            let (rg, rh) = (leaf.g - lg, leaf.h - lh);
            let (li, ri) = (nodes.len(), nodes.len() + 1);
            nodes.push(Node {
                value: self.leaf_value(lg, lh),
                split: None,
            });
            nodes.push(Node {
                value: self.leaf_value(rg, rh),
                split: None,
            });
            nodes[leaf.node].split = Some(Split {
                feature: split.feature,
                left_bins: split.left_bins,
                left: li,
                right: ri,
            });
            leaves += 1;
            let left_best = self.best_split(&left_hist, lg, lh, mid - leaf.start);
            let right_best = self.best_split(&right_hist, rg, rh, leaf.end - mid);
            open.push(Open {
                node: li,
                start: leaf.start,
                end: mid,
                hist: left_hist,
                g: lg,
                h: lh,
                best: left_best,
            });
            open.push(Open {
                node: ri,
                start: mid,
                end: leaf.end,
                hist: right_hist,
                g: rg,
                h: rh,
                best: right_best,
            });
        }
        done.extend(open.iter().map(|o| (o.node, o.start, o.end)));
        for (node, start, end) in done {
            let value = nodes[node].value;
            for &r in &order[start..end] {
                raw[r as usize] += value;
            }
        }
        Tree { nodes }
    }
}

/// [`Split::left_bins`] as text: 64 hex digits, most significant word first.
mod bins_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bins: &[u64; 4], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "{:016x}{:016x}{:016x}{:016x}",
            bins[3], bins[2], bins[1], bins[0]
        ))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Bins {
        Text(String),
        Words([u64; 4]),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; 4], D::Error> {
        match Bins::deserialize(d)? {
            Bins::Words(words) => Ok(words),
            Bins::Text(text) => {
                let bad = || serde::de::Error::custom("left_bins: expected 64 hexadecimal digits");
                if text.len() != 64 || !text.is_ascii() {
                    return Err(bad());
                }
                let mut out = [0u64; 4];
                for (i, word) in out.iter_mut().enumerate() {
                    let from = (3 - i) * 16;
                    *word = u64::from_str_radix(&text[from..from + 16], 16).map_err(|_| bad())?;
                }
                Ok(out)
            }
        }
    }
}
