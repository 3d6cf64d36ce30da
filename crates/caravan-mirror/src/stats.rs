//! Robust statistics the detectors and aggregates share: median, MAD, robust z-scores,
//! trailing (past-only) cells and a Huber M-estimator for the Fisman–Wei regression.
//!
//! A threshold that judges a declaration must not know the future of it (spec
//! `analytics.md`, targeting: "rolling 12 months, past data only"; "no row of a later
//! period informs any statistic used on an earlier one"). [`TrailingCell`] answers
//! "median and MAD of this cell over the days before day d" so that the detectors can
//! keep to that rule.

use std::collections::HashMap;

/// Median of `values` (sorted in place); NaN-free input assumed, 0 for empty input.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median and median absolute deviation.
pub fn median_mad(values: &[f64]) -> (f64, f64) {
    let mut v = values.to_vec();
    let med = median(&mut v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    (med, median(&mut dev))
}

/// z = (x − median) / (1.4826 · MAD); the MAD is floored at `min_mad` so that a cell of
/// identical values does not turn every small difference into an infinite score.
pub fn robust_z(x: f64, median: f64, mad: f64, min_mad: f64) -> f64 {
    (x - median) / (1.4826 * mad.max(min_mad))
}

/// One statistics cell whose values carry a day: median, MAD and count over a trailing
/// window that ends the day before the one asked about.
#[derive(Debug, Clone, Default)]
pub struct TrailingCell {
    values: Vec<(i32, f64)>,
    sorted: bool,
    memo: HashMap<(i32, i32), (f64, f64, usize)>,
}

impl TrailingCell {
    /// Adds `value` observed on `day` (any day count, e.g. days since the Common Era).
    pub fn push(&mut self, day: i32, value: f64) {
        self.values.push((day, value));
        self.sorted = false;
        self.memo.clear();
    }

    /// (median, MAD, n) of the values observed on days `day - window ..= day - 1`;
    /// (0, 0, 0) when there are none. Memoised per day and window.
    pub fn before(&mut self, day: i32, window: i32) -> (f64, f64, usize) {
        if !self.sorted {
            self.values
                .sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            self.sorted = true;
        }
        if let Some(&s) = self.memo.get(&(day, window)) {
            return s;
        }
        let from = day.saturating_sub(window.max(0));
        let start = self.values.partition_point(|v| v.0 < from);
        let end = self.values.partition_point(|v| v.0 < day);
        let past: Vec<f64> = self.values[start..end].iter().map(|v| v.1).collect();
        let (med, mad) = median_mad(&past);
        let stats = (med, mad, past.len());
        self.memo.insert((day, window), stats);
        stats
    }
}

/// Result of a robust linear regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// Coefficients, intercept first.
    pub coefficients: Vec<f64>,
    /// Approximate standard errors (σ̂² (X'WX)⁻¹ at convergence).
    pub std_errors: Vec<f64>,
    /// Observations used.
    pub n: usize,
}

fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    // Gauss–Jordan with partial pivoting; returns the solution and the inverse.
    let k = b.len();
    let mut inv: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for j in 0..k {
            a[col][j] /= p;
            inv[col][j] /= p;
        }
        b[col] /= p;
        for row in 0..k {
            if row != col {
                let f = a[row][col];
                if f != 0.0 {
                    for j in 0..k {
                        a[row][j] -= f * a[col][j];
                        inv[row][j] -= f * inv[col][j];
                    }
                    b[row] -= f * b[col];
                }
            }
        }
    }
    Some((b, inv))
}

/// Huber M-estimation (k = 1.345, scale by MAD of residuals) of y on the columns of `x`
/// plus an intercept, by iteratively reweighted least squares. `None` when the design is
/// singular or there are fewer observations than coefficients + 2.
pub fn huber_regression(y: &[f64], x: &[Vec<f64>]) -> Option<Regression> {
    let n = y.len();
    let k = x.first().map_or(0, Vec::len) + 1;
    if n < k + 2 || x.len() != n {
        return None;
    }
    let row = |i: usize| -> Vec<f64> {
        let mut r = Vec::with_capacity(k);
        r.push(1.0);
        r.extend_from_slice(&x[i]);
        r
    };
    let mut w = vec![1.0; n];
    let mut beta = vec![0.0; k];
    let mut inverse = Vec::new();
    for _ in 0..50 {
        let mut xtx = vec![vec![0.0; k]; k];
        let mut xty = vec![0.0; k];
        for i in 0..n {
            let r = row(i);
            for a in 0..k {
                xty[a] += w[i] * r[a] * y[i];
                for b in 0..k {
                    xtx[a][b] += w[i] * r[a] * r[b];
                }
            }
        }
        let (next, inv) = solve(xtx, xty)?;
        let change: f64 = next.iter().zip(&beta).map(|(a, b)| (a - b).abs()).sum();
        beta = next;
        inverse = inv;
        let residuals: Vec<f64> = (0..n)
            .map(|i| y[i] - row(i).iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let (_, mad) = median_mad(&residuals);
        let scale = (1.4826 * mad).max(1e-9);
        for i in 0..n {
            let u = (residuals[i] / scale).abs();
            w[i] = if u <= 1.345 { 1.0 } else { 1.345 / u };
        }
        if change < 1e-10 {
            break;
        }
    }
    let residuals: Vec<f64> = (0..n)
        .map(|i| y[i] - row(i).iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    let sigma2 = residuals
        .iter()
        .zip(&w)
        .map(|(r, w)| w * r * r)
        .sum::<f64>()
        / (n - k) as f64;
    let std_errors = (0..k)
        .map(|j| (sigma2 * inverse[j][j]).max(0.0).sqrt())
        .collect();
    Some(Regression {
        coefficients: beta,
        std_errors,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn trailing_cell_sees_only_the_window_before_the_day(
            values in proptest::collection::vec((0i32..60, -5.0f64..5.0), 0..80),
            day in 0i32..70,
            window in 0i32..40,
        ) {
            let mut cell = TrailingCell::default();
            for &(d, v) in &values {
                cell.push(d, v);
            }
            let past: Vec<f64> = values
                .iter()
                .filter(|(d, _)| *d < day && *d >= day - window)
                .map(|(_, v)| *v)
                .collect();
            let (med, mad) = median_mad(&past);
            prop_assert_eq!(cell.before(day, window), (med, mad, past.len()));
            // Memoised answers are the same answers.
            prop_assert_eq!(cell.before(day, window), (med, mad, past.len()));
        }
    }

    #[test]
    fn a_value_on_the_day_itself_or_later_is_not_seen() {
        let mut cell = TrailingCell::default();
        cell.push(10, 1.0);
        cell.push(11, 100.0);
        cell.push(9, 3.0);
        assert_eq!(cell.before(10, 365), (3.0, 0.0, 1));
        assert_eq!(cell.before(9, 365), (0.0, 0.0, 0));
        assert_eq!(cell.before(12, 1), (100.0, 0.0, 1));
    }
}
