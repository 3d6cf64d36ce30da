//! Gradient-boosted decision trees, trained and served in Rust.
//!
//! The learner follows LightGBM's design because it is the strongest published model on the
//! KCS data: features are cut into at most 255 quantile bins (bin 0 holds missing values),
//! gradient/hessian histograms are built per leaf (the larger child by subtraction from its
//! parent), trees grow leaf-wise (best gain first) to `num_leaves`, and each split learns
//! where missing values go. Writing it here keeps the dependency graph small and the model
//! format ours ([`crate::model_file`]).
//!
//! Serving walks flat node arrays with `x <= threshold` on raw `f32` features, so a trained
//! model needs no bin tables. Every node keeps the value it would have as a leaf, which gives
//! path-based per-feature contributions (Saabas) for explanations: bias + Σ contributions =
//! raw score, exactly.

use crate::features::Matrix;

/// The loss being minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Binary log-loss; scores are log-odds, [`Model::predict`] gives p(fraud).
    Logistic,
    /// Squared error; used for expected revenue given fraud.
    SquaredError,
}

/// Training settings. Defaults are LightGBM's, so comparisons are like for like.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// Number of trees.
    pub trees: usize,
    /// Shrinkage.
    pub learning_rate: f64,
    /// Leaves per tree.
    pub num_leaves: usize,
    /// Depth limit (0 = none).
    pub max_depth: usize,
    /// Minimum rows in a leaf.
    pub min_data_in_leaf: usize,
    /// Minimum hessian sum in a leaf.
    pub min_sum_hessian: f64,
    /// L2 regularisation of leaf values.
    pub lambda_l2: f64,
    /// Bins per feature (2–255).
    pub max_bins: usize,
    /// Threads for histogram building (1 = none spawned).
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            trees: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: 0,
            min_data_in_leaf: 20,
            min_sum_hessian: 1e-3,
            lambda_l2: 0.0,
            max_bins: 255,
            threads: 1,
        }
    }
}

/// Why training refused its input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    /// No rows.
    #[error("TARGET_TRAIN_EMPTY: no labelled rows to train on")]
    Empty,
    /// Labels and rows differ in number.
    #[error("TARGET_TRAIN_SHAPE: {rows} rows but {labels} labels")]
    Shape {
        /// Rows.
        rows: usize,
        /// Labels.
        labels: usize,
    },
    /// A label is not usable.
    #[error("TARGET_TRAIN_LABEL: label {value} at row {row} is not {expected}")]
    Label {
        /// Row index.
        row: usize,
        /// Value.
        value: f64,
        /// What the objective needs.
        expected: &'static str,
    },
    /// A setting is out of range.
    #[error("TARGET_TRAIN_CONFIG: {0}")]
    Config(&'static str),
}

/// One node; a leaf has `left == 0` (the root is never a child).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// Feature index (internal nodes).
    pub feature: u32,
    /// Go left when `x <= threshold`.
    pub threshold: f32,
    /// Where a missing (NaN) value goes.
    pub default_left: bool,
    /// Left child index, 0 for a leaf.
    pub left: u32,
    /// Right child index.
    pub right: u32,
    /// Output if this node were a leaf (shrunk); the leaf output for leaves.
    pub value: f32,
}

impl Node {
    /// Whether this is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.left == 0
    }

    /// The child a row goes to from this internal node.
    #[inline]
    pub fn child(&self, x: &[f32]) -> u32 {
        let v = x[self.feature as usize];
        let left = if v.is_nan() {
            self.default_left
        } else {
            v <= self.threshold
        };
        if left { self.left } else { self.right }
    }
}

/// One tree, nodes in creation order (children after parents).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// Nodes; index 0 is the root.
    pub nodes: Vec<Node>,
}

impl Tree {
    #[inline]
    fn leaf(&self, x: &[f32]) -> &Node {
        let mut node = &self.nodes[0];
        while !node.is_leaf() {
            node = &self.nodes[node.child(x) as usize];
        }
        node
    }
}

/// A trained ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Loss it was trained for.
    pub objective: Objective,
    /// Initial score (log-odds of the base rate, or the mean).
    pub base_score: f64,
    /// Feature names, in matrix column order.
    pub feature_names: Vec<String>,
    /// Trees.
    pub trees: Vec<Tree>,
}

/// Feature columns do not match the model's.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "TARGET_MODEL_FEATURES: the model expects {expected} features ({first_difference}), the data has {found}"
)]
pub struct FeatureMismatch {
    /// Model's count.
    pub expected: usize,
    /// Data's count.
    pub found: usize,
    /// First differing name.
    pub first_difference: String,
}

impl Model {
    /// Raw score (log-odds for logistic).
    #[inline]
    pub fn predict_raw(&self, x: &[f32]) -> f64 {
        let mut sum = 0.0f32;
        for tree in &self.trees {
            sum += tree.leaf(x).value;
        }
        self.base_score + f64::from(sum)
    }

    /// p(fraud) for logistic, the predicted value otherwise.
    pub fn predict(&self, x: &[f32]) -> f64 {
        let raw = self.predict_raw(x);
        match self.objective {
            Objective::Logistic => sigmoid(raw),
            Objective::SquaredError => raw,
        }
    }

    /// Checks that a matrix has this model's columns.
    pub fn check_features(&self, names: &[String]) -> Result<(), FeatureMismatch> {
        if names == self.feature_names.as_slice() {
            return Ok(());
        }
        let first_difference = self
            .feature_names
            .iter()
            .zip(names)
            .find(|(a, b)| a != b)
            .map_or_else(
                || "different count".to_owned(),
                |(a, b)| format!("{a:?} where the data has {b:?}"),
            );
        Err(FeatureMismatch {
            expected: self.feature_names.len(),
            found: names.len(),
            first_difference,
        })
    }

    /// Scores every row of a matrix on `threads` threads (see [`Scorer`]).
    pub fn predict_matrix(&self, m: &Matrix, threads: usize) -> Result<Vec<f64>, FeatureMismatch> {
        self.check_features(&m.names)?;
        let scorer = Scorer::new(self);
        let width = m.names.len().max(1);
        let mut out = vec![0.0; m.rows];
        let threads = threads.clamp(1, 64);
        let chunk = m.rows.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (values, out) in m.values.chunks(chunk * width).zip(out.chunks_mut(chunk)) {
                let scorer = &scorer;
                s.spawn(move || scorer.score_rows(values, width, out));
            }
        });
        Ok(out)
    }

    /// Path-based contributions (Saabas): `(bias, per-feature)` with
    /// `bias + Σ per-feature = predict_raw(x)` up to float rounding.
    pub fn contributions(&self, x: &[f32]) -> (f64, Vec<f64>) {
        let mut contrib = vec![0.0; self.feature_names.len()];
        let mut bias = self.base_score;
        for tree in &self.trees {
            let mut node = &tree.nodes[0];
            bias += f64::from(node.value);
            while !node.is_leaf() {
                let child = &tree.nodes[node.child(x) as usize];
                contrib[node.feature as usize] += f64::from(child.value) - f64::from(node.value);
                node = child;
            }
        }
        (bias, contrib)
    }

    /// Number of times each feature is used in a split.
    pub fn split_counts(&self) -> Vec<u32> {
        let mut counts = vec![0; self.feature_names.len()];
        for node in self.trees.iter().flat_map(|t| &t.nodes) {
            if !node.is_leaf() {
                counts[node.feature as usize] += 1;
            }
        }
        counts
    }
}

/// A model laid out for batch scoring. Every tree is walked for a block of rows at once, one
/// level per step for every row with branch-free child selection and leaves looping on
/// themselves; the walk stops as soon as a step moves no row (every row of the block is at a
/// leaf), which is usually well before the tree's depth because leaf-wise trees are deep but
/// most paths are short. Walking several rows together hides the latency of each step. The
/// comparisons and the order of the per-row sums are those of [`Model::predict`], so the
/// scores are bit-for-bit the same.
#[derive(Debug, Clone)]
pub struct Scorer {
    objective: Objective,
    base_score: f64,
    nodes: Vec<Packed>,
    trees: Vec<Root>,
}

/// Where a tree's walk starts.
#[derive(Debug, Clone, Copy)]
enum Root {
    /// An internal root node and the tree's depth.
    Walk { root: u32, depth: u32 },
    /// The tree is a single leaf with this output.
    Leaf(f32),
}

/// One node in 16 bytes, one cache-line fetch per step.
#[derive(Debug, Clone, Copy, Default)]
struct Packed {
    threshold: f32,
    /// Feature index with the default-left flag in the top bit.
    feature: u32,
    /// Left child (right = left + 1); a leaf points at itself.
    left: u32,
    /// Leaf output (0 for internal nodes).
    value: f32,
}

const DEFAULT_LEFT: u32 = 1 << 31;
const BLOCK: usize = 4;

impl Scorer {
    /// Lays a model out, breadth first with siblings adjacent.
    pub fn new(model: &Model) -> Scorer {
        let mut nodes: Vec<Packed> = Vec::new();
        let mut trees = Vec::with_capacity(model.trees.len());
        for tree in &model.trees {
            if tree.nodes[0].is_leaf() {
                trees.push(Root::Leaf(tree.nodes[0].value));
                continue;
            }
            let root = nodes.len() as u32;
            let mut queue = std::collections::VecDeque::from([(0usize, root, 0u32)]);
            let mut depth = 0;
            nodes.push(Packed::default());
            while let Some((src, dst, d)) = queue.pop_front() {
                let node = &tree.nodes[src];
                nodes[dst as usize] = if node.is_leaf() {
                    depth = depth.max(d);
                    Packed {
                        threshold: f32::INFINITY,
                        feature: DEFAULT_LEFT,
                        left: dst,
                        value: node.value,
                    }
                } else {
                    let l = nodes.len() as u32;
                    nodes.push(Packed::default());
                    nodes.push(Packed::default());
                    queue.push_back((node.left as usize, l, d + 1));
                    queue.push_back((node.right as usize, l + 1, d + 1));
                    Packed {
                        threshold: node.threshold,
                        feature: node.feature | if node.default_left { DEFAULT_LEFT } else { 0 },
                        left: l,
                        value: 0.0,
                    }
                };
            }
            trees.push(Root::Walk { root, depth });
        }
        Scorer {
            objective: model.objective,
            base_score: model.base_score,
            nodes,
            trees,
        }
    }

    /// Scores row-major `values` (`width` per row) into `out` (probabilities for logistic).
    ///
    /// # Panics
    /// When `values` holds fewer than `out.len() × width` values or `width` is smaller than
    /// a feature index the model uses.
    pub fn score_rows(&self, values: &[f32], width: usize, out: &mut [f64]) {
        let nodes = self.nodes.as_slice();
        let width = width.max(1);
        for (block, out) in values.chunks(BLOCK * width).zip(out.chunks_mut(BLOCK)) {
            let rows = out.len();
            let mut sum = [0.0f32; BLOCK];
            let mut at = [0u32; BLOCK];
            for &tree in &self.trees {
                let (root, depth) = match tree {
                    Root::Leaf(value) => {
                        for s in &mut sum[..rows] {
                            *s += value;
                        }
                        continue;
                    }
                    Root::Walk { root, depth } => (root, depth),
                };
                at[..rows].fill(root);
                for _ in 0..depth {
                    let mut moved = 0;
                    for (row, node) in block.chunks_exact(width).zip(&mut at[..rows]) {
                        let n = nodes[*node as usize];
                        let x = row[(n.feature & !DEFAULT_LEFT) as usize];
                        // Branch-free: left when x <= threshold, or when x is NaN and the
                        // node sends missing values left.
                        let le = u32::from(x <= n.threshold);
                        let nan_left = u32::from(x.is_nan()) & (n.feature >> 31);
                        let next = n.left + (1 ^ (le | nan_left));
                        moved |= next ^ *node;
                        *node = next;
                    }
                    if moved == 0 {
                        break;
                    }
                }
                for (s, &node) in sum[..rows].iter_mut().zip(&at[..rows]) {
                    *s += nodes[node as usize].value;
                }
            }
            for (o, s) in out.iter_mut().zip(&sum) {
                let raw = self.base_score + f64::from(*s);
                *o = match self.objective {
                    Objective::Logistic => sigmoid(raw),
                    Objective::SquaredError => raw,
                };
            }
        }
    }
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Trains a model on a matrix and labels (0/1 for logistic).
pub fn train(
    x: &Matrix,
    y: &[f64],
    config: &TrainConfig,
    objective: Objective,
) -> Result<Model, TrainError> {
    fit(x, y, config, objective).map(|(model, _)| model)
}

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

impl std::ops::Sub for Bin {
    type Output = Bin;
    fn sub(self, o: Bin) -> Bin {
        Bin {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
}

impl std::ops::Add for Bin {
    type Output = Bin;
    fn add(self, o: Bin) -> Bin {
        Bin {
            g: self.g + o.g,
            h: self.h + o.h,
            n: self.n + o.n,
        }
    }
}

const SLOTS: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    /// Left holds bins 1..=bin.
    bin: usize,
    default_left: bool,
    left: Bin,
}

struct Leaf {
    start: usize,
    end: usize,
    total: Bin,
    depth: usize,
    node: usize,
    hist: Vec<Bin>,
    best: Option<Split>,
}

/// Bin upper bounds of one column: bin b (1-based) holds values in (bounds[b-2], bounds[b-1]].
pub(crate) fn bin_bounds(column: &mut Vec<f32>, max_bins: usize) -> Vec<f32> {
    column.retain(|v| !v.is_nan());
    column.sort_by(f32::total_cmp);
    let mut distinct: Vec<(f32, usize)> = Vec::new();
    for &v in column.iter() {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    if distinct.len() <= max_bins {
        return distinct.into_iter().map(|(v, _)| v).collect();
    }
    let mut bounds = Vec::with_capacity(max_bins);
    let mut remaining = column.len();
    let mut acc = 0;
    for (i, &(v, count)) in distinct.iter().enumerate() {
        acc += count;
        let bins_left = max_bins - bounds.len();
        let target = remaining as f64 / bins_left as f64;
        let last = i + 1 == distinct.len();
        if last || (bins_left > 1 && acc as f64 >= target) {
            bounds.push(v);
            remaining -= acc;
            acc = 0;
        }
    }
    bounds
}

#[inline]
fn bin_of(bounds: &[f32], v: f32) -> u8 {
    if v.is_nan() || bounds.is_empty() {
        0
    } else {
        (bounds.partition_point(|b| *b < v) + 1).min(bounds.len()) as u8
    }
}

/// Trains and also returns the final raw training scores (for invariant tests).
pub(crate) fn fit(
    x: &Matrix,
    y: &[f64],
    config: &TrainConfig,
    objective: Objective,
) -> Result<(Model, Vec<f64>), TrainError> {
    let n = x.rows;
    let width = x.names.len();
    if n == 0 {
        return Err(TrainError::Empty);
    }
    if width == 0 {
        return Err(TrainError::Config("the matrix has no feature columns"));
    }
    if y.len() != n {
        return Err(TrainError::Shape {
            rows: n,
            labels: y.len(),
        });
    }
    if !(2..=255).contains(&config.max_bins) {
        return Err(TrainError::Config("max_bins must be 2 to 255"));
    }
    if config.num_leaves < 2
        || config.learning_rate.is_nan()
        || config.learning_rate <= 0.0
        || config.lambda_l2 < 0.0
    {
        return Err(TrainError::Config(
            "num_leaves ≥ 2, learning_rate > 0 and lambda_l2 ≥ 0 are required",
        ));
    }
    for (row, &value) in y.iter().enumerate() {
        let ok = match objective {
            Objective::Logistic => value == 0.0 || value == 1.0,
            Objective::SquaredError => value.is_finite(),
        };
        if !ok {
            let expected = match objective {
                Objective::Logistic => "0 or 1",
                Objective::SquaredError => "a finite number",
            };
            return Err(TrainError::Label {
                row,
                value,
                expected,
            });
        }
    }

    // Bin every column.
    let mut bounds = Vec::with_capacity(width);
    let mut bins = vec![0u8; width * n];
    for f in 0..width {
        let mut column: Vec<f32> = (0..n).map(|r| x.values[r * width + f]).collect();
        let b = bin_bounds(&mut column, config.max_bins);
        let col = &mut bins[f * n..(f + 1) * n];
        for (r, slot) in col.iter_mut().enumerate() {
            *slot = bin_of(&b, x.values[r * width + f]);
        }
        bounds.push(b);
    }

    let mean = y.iter().sum::<f64>() / n as f64;
    let base_score = match objective {
        Objective::Logistic => {
            let p = mean.clamp(1e-6, 1.0 - 1e-6);
            (p / (1.0 - p)).ln()
        }
        Objective::SquaredError => mean,
    };
    let mut scores = vec![base_score; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut indices: Vec<u32> = (0..n as u32).collect();
    let mut scratch: Vec<u32> = vec![0; n];
    let mut trees = Vec::with_capacity(config.trees);
    let lambda = config.lambda_l2;
    let leaf_value = |b: Bin| -> f64 { -b.g / (b.h + lambda) * config.learning_rate };

    for _ in 0..config.trees {
        for r in 0..n {
            match objective {
                Objective::Logistic => {
                    let p = sigmoid(scores[r]);
                    grad[r] = p - y[r];
                    hess[r] = (p * (1.0 - p)).max(1e-16);
                }
                Objective::SquaredError => {
                    grad[r] = scores[r] - y[r];
                    hess[r] = 1.0;
                }
            }
        }
        for (i, slot) in indices.iter_mut().enumerate() {
            *slot = i as u32;
        }
        let total = indices.iter().fold(Bin::default(), |acc, &r| {
            acc + Bin {
                g: grad[r as usize],
                h: hess[r as usize],
                n: 1,
            }
        });
        let mut nodes = vec![Node {
            feature: 0,
            threshold: 0.0,
            default_left: false,
            left: 0,
            right: 0,
            value: leaf_value(total) as f32,
        }];
        let hist = build_hist(&bins, n, width, &indices, &grad, &hess, config.threads);
        let mut leaves = vec![Leaf {
            start: 0,
            end: n,
            total,
            depth: 0,
            node: 0,
            best: None,
            hist,
        }];
        leaves[0].best = best_split(&leaves[0], &bounds, config);

        while leaves.len() < config.num_leaves {
            let Some((li, split)) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.best.map(|s| (i, s)))
                .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain).then(b.0.cmp(&a.0)))
            else {
                break;
            };
            let leaf = leaves.swap_remove(li);
            // Partition the leaf's rows.
            let col = &bins[split.feature * n..(split.feature + 1) * n];
            let rows = &indices[leaf.start..leaf.end];
            let (mut l, mut r) = (0, rows.len());
            let out = &mut scratch[leaf.start..leaf.end];
            for &row in rows {
                let b = col[row as usize];
                let go_left = if b == 0 {
                    split.default_left
                } else {
                    usize::from(b) <= split.bin
                };
                if go_left {
                    out[l] = row;
                    l += 1;
                } else {
                    r -= 1;
                    out[r] = row;
                }
            }
            indices[leaf.start..leaf.end].copy_from_slice(out);
            let mid = leaf.start + l;
            let left_total = split.left;
            let right_total = leaf.total - split.left;
            // Children after their parent.
            let left_node = nodes.len();
            let threshold = if split.bin >= bounds[split.feature].len() {
                f32::INFINITY
            } else {
                bounds[split.feature][split.bin - 1]
            };
            nodes.push(Node {
                feature: 0,
                threshold: 0.0,
                default_left: false,
                left: 0,
                right: 0,
                value: leaf_value(left_total) as f32,
            });
            nodes.push(Node {
                value: leaf_value(right_total) as f32,
                ..nodes[left_node]
            });
            let parent = &mut nodes[leaf.node];
            parent.feature = split.feature as u32;
            parent.threshold = threshold;
            parent.default_left = split.default_left;
            parent.left = left_node as u32;
            parent.right = left_node as u32 + 1;

            let (small, large) = if l <= leaf.end - mid {
                (
                    (leaf.start, mid, left_total, left_node),
                    (mid, leaf.end, right_total, left_node + 1),
                )
            } else {
                (
                    (mid, leaf.end, right_total, left_node + 1),
                    (leaf.start, mid, left_total, left_node),
                )
            };
            let small_hist = build_hist(
                &bins,
                n,
                width,
                &indices[small.0..small.1],
                &grad,
                &hess,
                config.threads,
            );
            let mut large_hist = leaf.hist;
            for (p, s) in large_hist.iter_mut().zip(&small_hist) {
                *p = *p - *s;
            }
            for (range, hist) in [(small, small_hist), (large, large_hist)] {
                let mut child = Leaf {
                    start: range.0,
                    end: range.1,
                    total: range.2,
                    depth: leaf.depth + 1,
                    node: range.3,
                    hist,
                    best: None,
                };
                child.best = best_split(&child, &bounds, config);
                leaves.push(child);
            }
        }
        for leaf in &leaves {
            let v = f64::from(nodes[leaf.node].value);
            for &r in &indices[leaf.start..leaf.end] {
                scores[r as usize] += v;
            }
        }
        trees.push(Tree { nodes });
    }
    Ok((
        Model {
            objective,
            base_score,
            feature_names: x.names.clone(),
            trees,
        },
        scores,
    ))
}

fn build_hist(
    bins: &[u8],
    n: usize,
    width: usize,
    rows: &[u32],
    grad: &[f64],
    hess: &[f64],
    threads: usize,
) -> Vec<Bin> {
    let mut hist = vec![Bin::default(); width * SLOTS];
    let gh: Vec<(f64, f64)> = rows
        .iter()
        .map(|&r| (grad[r as usize], hess[r as usize]))
        .collect();
    let fill = |f: usize, out: &mut [Bin]| {
        let col = &bins[f * n..(f + 1) * n];
        for (&r, &(g, h)) in rows.iter().zip(&gh) {
            let b = &mut out[usize::from(col[r as usize])];
            b.g += g;
            b.h += h;
            b.n += 1;
        }
    };
    let threads = threads.clamp(1, width.max(1));
    if threads == 1 || rows.len() < 4096 {
        for (f, out) in hist.chunks_mut(SLOTS).enumerate() {
            fill(f, out);
        }
    } else {
        let per = width.div_ceil(threads);
        std::thread::scope(|s| {
            for (t, chunk) in hist.chunks_mut(per * SLOTS).enumerate() {
                let fill = &fill;
                s.spawn(move || {
                    for (k, out) in chunk.chunks_mut(SLOTS).enumerate() {
                        fill(t * per + k, out);
                    }
                });
            }
        });
    }
    hist
}

fn best_split(leaf: &Leaf, bounds: &[Vec<f32>], config: &TrainConfig) -> Option<Split> {
    let count = (leaf.end - leaf.start) as u32;
    let min_data = config.min_data_in_leaf.max(1) as u32;
    if count < 2 * min_data || (config.max_depth > 0 && leaf.depth >= config.max_depth) {
        return None;
    }
    let lambda = config.lambda_l2;
    let score = |b: Bin| b.g * b.g / (b.h + lambda);
    let parent = score(leaf.total);
    let ok = |b: Bin| b.n >= min_data && b.h >= config.min_sum_hessian;
    let mut best: Option<Split> = None;
    for (f, fb) in bounds.iter().enumerate() {
        let nb = fb.len();
        if nb == 0 {
            continue;
        }
        let hist = &leaf.hist[f * SLOTS..(f + 1) * SLOTS];
        let missing = hist[0];
        let mut left = Bin::default();
        for (bin, &slot) in hist.iter().enumerate().take(nb + 1).skip(1) {
            left = left + slot;
            let options: &[(Bin, bool)] = if missing.n == 0 {
                &[(left, false)]
            } else {
                &[(left, false), (left + missing, true)]
            };
            for &(l, default_left) in options {
                if bin == nb && default_left {
                    continue; // nothing on the right
                }
                let r = leaf.total - l;
                if !ok(l) || !ok(r) {
                    continue;
                }
                let gain = score(l) + score(r) - parent;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin,
                        default_left,
                        left: l,
                    });
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix(cols: usize, values: Vec<f32>) -> Matrix {
        Matrix {
            names: (0..cols).map(|i| format!("f{i}")).collect(),
            rows: values.len() / cols,
            values,
        }
    }

    #[test]
    fn learns_a_threshold_and_missing_direction() {
        let mut values = Vec::new();
        let mut y = Vec::new();
        for i in 0..400 {
            let v = if i % 10 == 0 {
                f32::NAN
            } else {
                (i % 100) as f32
            };
            values.push(v);
            values.push((i * 7 % 13) as f32);
            y.push(if v.is_nan() || v > 60.0 { 1.0 } else { 0.0 });
        }
        let m = matrix(2, values);
        let model = train(&m, &y, &TrainConfig::default(), Objective::Logistic).unwrap();
        assert!(model.predict(&[f32::NAN, 0.0]) > 0.9);
        assert!(model.predict(&[80.0, 0.0]) > 0.9);
        assert!(model.predict(&[10.0, 0.0]) < 0.1);
        // Beyond the training range goes with the highest bin.
        assert!(model.predict(&[1e9, 0.0]) > 0.9);
        assert!(model.split_counts()[0] > 0);
    }

    #[test]
    fn refuses_bad_input() {
        let m = matrix(1, vec![1.0, 2.0]);
        assert_eq!(
            train(&m, &[0.0], &TrainConfig::default(), Objective::Logistic),
            Err(TrainError::Shape { rows: 2, labels: 1 })
        );
        assert!(matches!(
            train(
                &m,
                &[0.0, 0.5],
                &TrainConfig::default(),
                Objective::Logistic
            ),
            Err(TrainError::Label { row: 1, .. })
        ));
        assert_eq!(
            train(
                &matrix(1, vec![]),
                &[],
                &TrainConfig::default(),
                Objective::Logistic
            ),
            Err(TrainError::Empty)
        );
    }

    #[test]
    fn bounds_respect_max_bins() {
        let mut col: Vec<f32> = (0..10_000).map(|i| (i % 997) as f32).collect();
        let b = bin_bounds(&mut col, 255);
        assert!(b.len() <= 255 && b.len() > 200, "{}", b.len());
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(*b.last().unwrap(), 996.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Serving reproduces the scores training computed through bins, contributions add
        /// up to the raw score, and probabilities stay in (0, 1).
        #[test]
        fn serving_matches_training(
            rows in proptest::collection::vec(
                (prop_oneof![Just(f32::NAN), -50f32..50.0], 0u8..4, any::<bool>()), 30..300),
            leaves in 2usize..16,
            min_data in 1usize..10,
        ) {
            let mut values = Vec::new();
            let mut y = Vec::new();
            for (a, b, label) in &rows {
                values.push(*a);
                values.push(f32::from(*b));
                y.push(if *label { 1.0 } else { 0.0 });
            }
            let m = matrix(2, values);
            let config = TrainConfig { trees: 15, num_leaves: leaves, min_data_in_leaf: min_data, max_bins: 16, ..TrainConfig::default() };
            let (model, train_scores) = fit(&m, &y, &config, Objective::Logistic).unwrap();
            for (i, s) in train_scores.iter().enumerate() {
                let x = m.row(i);
                let raw = model.predict_raw(x);
                prop_assert!((raw - s).abs() < 1e-3, "row {i}: {raw} vs {s}");
                let (bias, c) = model.contributions(x);
                prop_assert!((bias + c.iter().sum::<f64>() - raw).abs() < 1e-3);
                let p = model.predict(x);
                prop_assert!(p > 0.0 && p < 1.0);
                for tree in &model.trees {
                    prop_assert!(tree.nodes.iter().filter(|n| n.is_leaf()).count() <= leaves);
                }
            }
            let scored = model.predict_matrix(&m, 2).unwrap();
            prop_assert_eq!(scored.len(), m.rows);
            for (i, s) in scored.iter().enumerate() {
                prop_assert_eq!(s.to_bits(), model.predict(m.row(i)).to_bits(), "row {}", i);
            }
        }

        /// The batch scorer gives exactly (bit for bit) the per-row reference score for any
        /// number of rows (partial blocks included), threads, missing values, single-leaf
        /// trees and both objectives.
        #[test]
        fn batch_scorer_equals_per_row_scoring(
            rows in proptest::collection::vec(
                (prop_oneof![Just(f32::NAN), -50f32..50.0],
                 prop_oneof![Just(f32::NAN), -5f32..5.0],
                 0u8..6, -3f64..3.0), 1..200),
            scored in proptest::collection::vec(
                (prop_oneof![Just(f32::NAN), Just(f32::INFINITY), -80f32..80.0],
                 prop_oneof![Just(f32::NAN), Just(f32::NEG_INFINITY), -8f32..8.0],
                 0u8..8), 0..150),
            leaves in 2usize..32,
            min_data in 1usize..40,
            threads in 1usize..5,
            squared in any::<bool>(),
        ) {
            let mut values = Vec::new();
            let mut y = Vec::new();
            for (a, b, c, target) in &rows {
                values.extend([*a, *b, f32::from(*c)]);
                y.push(if squared { *target } else if *target > 0.0 { 1.0 } else { 0.0 });
            }
            let m = matrix(3, values);
            let config = TrainConfig { trees: 12, num_leaves: leaves, min_data_in_leaf: min_data, max_bins: 32, ..TrainConfig::default() };
            let objective = if squared { Objective::SquaredError } else { Objective::Logistic };
            let model = train(&m, &y, &config, objective).unwrap();
            let t = matrix(3, scored.iter().flat_map(|(a, b, c)| [*a, *b, f32::from(*c)]).collect());
            let batch = model.predict_matrix(&t, threads).unwrap();
            prop_assert_eq!(batch.len(), t.rows);
            for (i, s) in batch.iter().enumerate() {
                prop_assert_eq!(s.to_bits(), model.predict(t.row(i)).to_bits(), "row {}", i);
            }
        }

        /// Training lowers the training log-loss below the constant model's.
        #[test]
        fn training_reduces_loss(seed in any::<u64>()) {
            let mut rng = crate::rng::SplitMix64::new(seed);
            let mut values = Vec::new();
            let mut y = Vec::new();
            for _ in 0..300 {
                let a = rng.next_f64() as f32;
                values.push(a);
                y.push(if rng.next_f64() < f64::from(a) { 1.0 } else { 0.0 });
            }
            prop_assume!(y.contains(&1.0) && y.contains(&0.0));
            let m = matrix(1, values);
            let model = train(&m, &y, &TrainConfig { trees: 20, ..TrainConfig::default() }, Objective::Logistic).unwrap();
            let loss = |p: &dyn Fn(usize) -> f64| -> f64 {
                y.iter().enumerate().map(|(i, t)| { let p = p(i).clamp(1e-9, 1.0 - 1e-9); -(t * p.ln() + (1.0 - t) * (1.0 - p).ln()) }).sum::<f64>()
            };
            let base = sigmoid(model.base_score);
            prop_assert!(loss(&|i| model.predict(m.row(i))) < loss(&|_| base));
        }
    }
}
