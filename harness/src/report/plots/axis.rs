//! Tick positions: round numbers for continuous axes, the data's own levels for degradation axes.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// A linear axis over `[lo, hi]` with exactly the given ticks (plotters' own f64 axis picks its
/// ticks itself, and its key-point wrapper cannot take a label formatter).
#[derive(Clone, Debug)]
pub(crate) struct Ticked {
    /// Value at the left (bottom) end.
    pub lo: f64,
    /// Value at the right (top) end.
    pub hi: f64,
    /// Tick positions, inside `[lo, hi]`.
    pub ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + f64::from(limit.1 - limit.0) * t;
        // Off-canvas values saturate instead of wrapping the i32.
        px.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// At most this many ticks on an axis of degradation levels before falling back to round numbers.
const MAX_LEVEL_TICKS: usize = 12;

/// Round-number ticks (steps of 1, 2 or 5 × 10^k) covering `[lo, hi]`, about `target` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || target == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // A step underflowing to 0 (spans near f64's smallest) would ask for billions of ticks.
    if step <= 0.0 || last.saturating_sub(first) > 100 {
        return Vec::new();
    }
    // Multiplying integers (not accumulating) keeps ticks like 0.3 exact to print.
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Ticks for an axis whose data sit at a few discrete levels: the levels themselves when there
/// are at most `MAX_LEVEL_TICKS` distinct ones, else round numbers over their range.
pub(crate) fn level_ticks(levels: &[f64], lo: f64, hi: f64) -> Vec<f64> {
    let mut distinct: Vec<f64> = levels.iter().copied().filter(|v| v.is_finite()).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() <= MAX_LEVEL_TICKS {
        distinct
    } else {
        nice_ticks(lo, hi, 8)
    }
}

/// `[lo, hi]` widened by `fraction` of its span on each side; a zero span is widened by `min_pad`.
pub(crate) fn padded(lo: f64, hi: f64, fraction: f64, min_pad: f64) -> (f64, f64) {
    let pad = ((hi - lo) * fraction).max(if hi > lo { 0.0 } else { min_pad });
    (lo - pad, hi + pad)
}

/// The `q`-quantile (0 to 1) of `sorted` values, linearly interpolated between ranks (numpy's
/// default); `None` when empty.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let at = q.clamp(0.0, 1.0) * last as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    let next = sorted[(i + 1).min(last)];
    Some(sorted[i] + frac * (next - sorted[i]))
}

/// A value range that a few outliers cannot stretch: from the 5th to the 95th percentile of the
/// finite `values`, widened to hold `core` (the range a reader expects to see, e.g. γ 50–150 %),
/// `[min(core.0, p5), max(core.1, p95)]`. Values outside are drawn clipped at its edge. `core`
/// alone when no value is finite.
pub(crate) fn robust_range(values: &[f64], core: (f64, f64)) -> (f64, f64) {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    match (quantile(&sorted, 0.05), quantile(&sorted, 0.95)) {
        (Some(p5), Some(p95)) => (core.0.min(p5), core.1.max(p95)),
        _ => core,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_robust_range_ignores_an_outlier_and_keeps_the_core() {
        // 39 values of 80–99 % and one of 270 %: the range is the core, 50–150.
        let mut values: Vec<f64> = (0..39).map(|i| 80.0 + f64::from(i % 20)).collect();
        values.push(270.0);
        assert_eq!(robust_range(&values, (50.0, 150.0)), (50.0, 150.0));
        // Many high values are no outlier: the range follows their 95th percentile.
        let high: Vec<f64> = (0..=100).map(|i| 100.0 + 2.0 * f64::from(i)).collect();
        let (lo, hi) = robust_range(&high, (50.0, 150.0));
        assert_eq!(lo, 50.0);
        assert!((hi - 290.0).abs() < 1e-9, "{hi}");
        // Low values widen the bottom the same way; non-finite values are ignored.
        let low = [10.0, 12.0, 14.0, 16.0, 100.0, f64::NAN];
        let (lo, _) = robust_range(&low, (50.0, 150.0));
        assert!((lo - 10.4).abs() < 1e-9, "{lo}");
        assert_eq!(robust_range(&[f64::NAN], (50.0, 150.0)), (50.0, 150.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn nice_ticks_are_round_and_inside() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(62.0, 104.0, 6), vec![70.0, 80.0, 90.0, 100.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.9, 3), vec![0.0, 0.5]);
        assert!(nice_ticks(5.0, 5.0, 4).is_empty());
        assert!(nice_ticks(f64::NAN, 5.0, 4).is_empty());
        assert!(nice_ticks(0.0, 1e-320, 4).len() <= 101);
        assert!(nice_ticks(-1e308, 1e308, 4).len() <= 101);
    }

    #[test]
    fn level_ticks_use_the_levels() {
        assert_eq!(
            level_ticks(&[90.0, 10.0, 50.0, 50.0, f64::NAN], 10.0, 90.0),
            vec![10.0, 50.0, 90.0]
        );
        let many: Vec<f64> = (0..30).map(f64::from).collect();
        assert_eq!(
            level_ticks(&many, 0.0, 29.0),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
        );
    }

    #[test]
    fn ticked_axis_maps_linearly() {
        let axis = Ticked {
            lo: -100.0,
            hi: -30.0,
            ticks: vec![-90.0, -50.0],
        };
        assert_eq!(axis.map(&-100.0, (10, 80)), 10);
        assert_eq!(axis.map(&-30.0, (10, 80)), 80);
        assert_eq!(axis.map(&-65.0, (10, 80)), 45);
        assert_eq!(axis.map(&-65.0, (80, 10)), 45);
        assert_eq!(axis.key_points(5usize), vec![-90.0, -50.0]);
    }

    #[test]
    fn padding() {
        assert_eq!(padded(0.0, 10.0, 0.1, 1.0), (-1.0, 11.0));
        assert_eq!(padded(3.0, 3.0, 0.1, 1.0), (2.0, 4.0));
    }
}
