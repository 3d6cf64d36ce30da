//! The evaluation metrics of the targeting literature, defined as the spec does so figures
//! compare with DATE, gATE and the KCS paper: "top n %" is the set of rows whose score is
//! strictly above the (100 − n)th percentile (linear interpolation, as NumPy's default).
//!
//! With tied scores that rule can select nothing (an exact-value lookup gives hundreds of
//! rows the score 1.0), so the selection size is fixed at what the rule gives for distinct
//! scores, k = N − 1 − ⌊(N − 1)(100 − n)/100⌋, and ties are broken by row order (callers pass
//! rows in declaration-ID order or accept input order). For distinct scores both agree.

/// Precision, recall and revenue at one inspection rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtRate {
    /// n in percent.
    pub rate: f64,
    /// Rows selected.
    pub selected: usize,
    /// Frauds among them.
    pub hits: usize,
    /// hits / selected.
    pub precision: f64,
    /// hits / all frauds.
    pub recall: f64,
    /// Revenue recovered in the selection over all recoverable revenue (None without revenue).
    pub revenue: Option<f64>,
}

/// The `q`th percentile (0–100) of unsorted values, linear interpolation.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = (sorted.len() - 1) as f64 * q / 100.0;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Metrics at inspection rate `rate` (percent). `revenue[i]` is what inspecting row i
/// recovers (0 for compliant rows); pass None when unknown.
pub fn at_rate(scores: &[f64], fraud: &[bool], revenue: Option<&[f64]>, rate: f64) -> AtRate {
    let n = scores.len();
    let total_frauds = fraud.iter().filter(|f| **f).count();
    let k = if n == 0 {
        0
    } else {
        let pos = (n - 1) as f64 * (100.0 - rate.clamp(0.0, 100.0)) / 100.0;
        n - 1 - pos.floor() as usize
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut selected = 0;
    let mut hits = 0;
    let mut got = 0.0;
    for &i in order.iter().take(k) {
        selected += 1;
        hits += usize::from(fraud[i]);
        if let Some(rev) = revenue {
            got += rev[i];
        }
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    AtRate {
        rate,
        selected,
        hits,
        precision: ratio(hits as f64, selected as f64),
        recall: ratio(hits as f64, total_frauds as f64),
        revenue: revenue.map(|rev| ratio(got, rev.iter().sum())),
    }
}

/// Area under the ROC curve (Mann–Whitney, ties counted half). NaN without both classes.
pub fn auc(scores: &[f64], fraud: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = fraud.iter().filter(|f| **f).count();
    let negatives = fraud.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if fraud[k] {
                rank_sum += avg_rank;
            }
        }
        i = j + 1;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// Precision an oracle reaches selecting `k` rows among `frauds` frauds.
pub fn oracle_precision(k: usize, frauds: usize) -> f64 {
    if k == 0 {
        0.0
    } else {
        frauds.min(k) as f64 / k as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let scores = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05];
        let fraud = [
            true, false, true, false, false, false, false, false, false, true,
        ];
        let r = at_rate(&scores, &fraud, None, 20.0);
        assert_eq!((r.selected, r.hits), (2, 1));
        assert!((r.precision - 0.5).abs() < 1e-12);
        assert!((r.recall - 1.0 / 3.0).abs() < 1e-12);
        // Positives at ranks 10, 8 and 1 of 10: (19 − 6) / 21.
        assert!((auc(&scores, &fraud) - 13.0 / 21.0).abs() < 1e-12);
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 50.0) - 2.5).abs() < 1e-12);
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
        let rev = [10.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0];
        assert_eq!(
            at_rate(&scores, &fraud, Some(&rev), 20.0).revenue,
            Some(0.5)
        );
        // Ties: the selection size stays what distinct scores would give.
        let tied = at_rate(&[1.0; 10], &fraud, None, 20.0);
        assert_eq!((tied.selected, tied.hits), (2, 1));
    }

    proptest! {
        #[test]
        fn auc_is_rank_based_and_bounded(
            pairs in proptest::collection::vec((0u8..20, any::<bool>()), 2..200)
        ) {
            let scores: Vec<f64> = pairs.iter().map(|p| f64::from(p.0)).collect();
            let fraud: Vec<bool> = pairs.iter().map(|p| p.1).collect();
            let a = auc(&scores, &fraud);
            if fraud.iter().any(|f| *f) && fraud.iter().any(|f| !*f) {
                prop_assert!((0.0..=1.0).contains(&a));
                // A monotone transform keeps the AUC; reversing the order mirrors it.
                let squashed: Vec<f64> = scores.iter().map(|s| (s / 3.0).exp()).collect();
                prop_assert!((auc(&squashed, &fraud) - a).abs() < 1e-12);
                let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
                prop_assert!((auc(&reversed, &fraud) - (1.0 - a)).abs() < 1e-12);
            } else {
                prop_assert!(a.is_nan());
            }
            let r = at_rate(&scores, &fraud, None, 10.0);
            prop_assert!(r.selected <= scores.len() / 10 + 1);
            // Distinct scores: exactly the rows strictly above the percentile.
            let distinct: Vec<f64> = (0..scores.len()).map(|i| scores[i] + i as f64 * 1e-3).collect();
            let t = percentile(&distinct, 90.0);
            prop_assert_eq!(at_rate(&distinct, &fraud, None, 10.0).selected, distinct.iter().filter(|s| **s > t).count());
            prop_assert!(r.precision <= 1.0 && r.recall <= 1.0);
        }
    }
}
