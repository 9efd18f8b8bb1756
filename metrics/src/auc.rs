//! Tie-aware ROC AUC: pixel AUC of a map against the binarised ground truth, and
//! image-level AUC of fake scores.
//!
//! Maps are multiples of 1/255, so ties are everywhere. The AUC is the Mann–Whitney statistic
//! with mid-ranks: P(score of a positive > score of a negative) + ½·P(tie), which equals the
//! trapezoidal area under the ROC curve whose thresholds are the distinct scores, i.e.
//! `sklearn.metrics.roc_auc_score`.

use crate::error::{check_pair, check_same_len, check_threshold, check_values, MetricError};
use crate::Map;

/// Tie-aware AUC of `keys`, each a score's ordered bits ([`ordered_bits_f32`],
/// [`ordered_bits_f64`]) times 2 plus 1 for a positive; `None` when only one class is present.
///
/// Sorts `keys` in place: plain integers sort faster than (score, label) pairs compared by
/// `total_cmp` (criterion `pixel_auc` at 224×224: 557 → 395 µs; a radix sort, `radsort`, took
/// 643 µs). The numerator is kept as an exact integer count of doubled pair wins, so the only
/// rounding is the final division.
fn tie_aware_auc<K: Copy + Ord + Into<u128>>(keys: &mut [K]) -> Option<f64> {
    keys.sort_unstable();
    let score = |k: &K| (*k).into() >> 1;
    let (mut negatives_below, mut doubled_wins) = (0u64, 0u128);
    for group in keys.chunk_by(|a, b| score(a) == score(b)) {
        let pos = group.iter().filter(|k| (**k).into() & 1 == 1).count() as u64;
        let neg = group.len() as u64 - pos;
        // Each positive beats every lower negative (2 half-wins) and ties with equal ones (1).
        doubled_wins += u128::from(pos) * u128::from(2 * negatives_below + neg);
        negatives_below += neg;
    }
    let positives = keys.len() as u64 - negatives_below;
    if positives == 0 || negatives_below == 0 {
        return None;
    }
    Some(doubled_wins as f64 / (2.0 * positives as f64 * negatives_below as f64))
}

/// Bits of a finite float whose unsigned order is the float's order, with −0 and +0 equal (they
/// must tie): positives get the sign bit set, negatives have every bit flipped.
macro_rules! ordered_bits {
    ($name:ident, $float:ty, $bits:ty) => {
        fn $name(x: $float) -> $bits {
            let bits = (x + 0.0).to_bits();
            let sign = 1 << (<$bits>::BITS - 1);
            if bits & sign == 0 {
                bits | sign
            } else {
                !bits
            }
        }
    };
}
ordered_bits!(ordered_bits_f32, f32, u32);
ordered_bits!(ordered_bits_f64, f64, u64);

/// Pixel AUC: tie-aware ROC AUC of the `pred` values as scores for the pixels labelled
/// `gt > gt_threshold`. `None` when the binarised GT has a single class (all or no pixel
/// manipulated), where the AUC is undefined.
///
/// Errors: size mismatch, empty maps, a non-finite pixel, or a non-finite threshold.
pub fn pixel_auc(pred: &Map, gt: &Map, gt_threshold: f32) -> Result<Option<f64>, MetricError> {
    check_threshold("gt_threshold", f64::from(gt_threshold))?;
    check_pair(pred, gt)?;
    Ok(pixel_auc_checked(pred, gt, gt_threshold))
}

/// [`pixel_auc`] on maps already checked for equal size and finite values.
pub(crate) fn pixel_auc_checked(pred: &Map, gt: &Map, gt_threshold: f32) -> Option<f64> {
    let mut keys: Vec<u64> = pred
        .as_raw()
        .iter()
        .zip(gt.as_raw())
        .map(|(&p, &g)| u64::from(ordered_bits_f32(p)) << 1 | u64::from(g > gt_threshold))
        .collect();
    tie_aware_auc(&mut keys)
}

/// Image-level tie-aware ROC AUC of fake `scores` against the labels `is_fake`; equals
/// `sklearn.metrics.roc_auc_score(is_fake, scores)`. `None` when all images have the same label.
///
/// Errors: empty or differently sized inputs, or a non-finite score (naming its index).
pub fn roc_auc(scores: &[f64], is_fake: &[bool]) -> Result<Option<f64>, MetricError> {
    check_same_len("scores", scores.len(), "is_fake", is_fake.len())?;
    check_values(scores, "scores")?;
    let mut keys: Vec<u128> = scores
        .iter()
        .zip(is_fake)
        .map(|(&s, &fake)| u128::from(ordered_bits_f64(s)) << 1 | u128::from(fake))
        .collect();
    Ok(tie_aware_auc(&mut keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_ties_give_one_half() {
        let auc = roc_auc(&[0.3; 6], &[true, false, true, false, false, true]).unwrap();
        assert_eq!(auc, Some(0.5));
    }

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &labels).unwrap(), Some(1.0));
        assert_eq!(roc_auc(&[0.4, 0.3, 0.2, 0.1], &labels).unwrap(), Some(0.0));
    }

    #[test]
    fn hand_counted_ties() {
        // Positives {0.5, 0.5, 0.9}, negatives {0.1, 0.5}: wins 1+1+2 = 4, ties 2 → (4 + 1)/6.
        let auc = roc_auc(
            &[0.5, 0.1, 0.5, 0.9, 0.5],
            &[true, false, true, true, false],
        )
        .unwrap();
        assert_eq!(auc, Some(5.0 / 6.0));
    }

    #[test]
    fn ordered_bits_follow_the_floats_order() {
        let floats = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-30,
            -0.0,
            0.0,
            1e-30,
            0.25,
            7.0,
            f32::INFINITY,
        ];
        for pair in floats.windows(2) {
            let (a, b) = (ordered_bits_f32(pair[0]), ordered_bits_f32(pair[1]));
            let expected = pair[0].partial_cmp(&pair[1]).unwrap();
            assert_eq!(a.cmp(&b), expected, "{pair:?}");
            let (a, b) = (
                ordered_bits_f64(pair[0].into()),
                ordered_bits_f64(pair[1].into()),
            );
            assert_eq!(a.cmp(&b), expected, "{pair:?} as f64");
        }
    }

    #[test]
    fn signed_zeros_tie() {
        let auc = roc_auc(&[-0.0, 0.0], &[true, false]).unwrap();
        assert_eq!(auc, Some(0.5));
    }

    #[test]
    fn single_class_is_none() {
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]).unwrap(), None);
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, false]).unwrap(), None);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            roc_auc(&[0.1], &[true, false]),
            Err(MetricError::LengthMismatch { .. })
        ));
        assert!(matches!(roc_auc(&[], &[]), Err(MetricError::Empty)));
        assert!(matches!(
            roc_auc(&[0.1, f64::NAN], &[true, false]),
            Err(MetricError::NonFiniteValue { index: 1, .. })
        ));
    }
}
