//! Image-level detection: the fake score of a map, the accuracy of scores (ACC) and the share of
//! real images called fake (FPR).

use crate::auc::{f32_from_ordered_bits, ordered_bits_f32};
use crate::error::{check_same_len, check_threshold, check_values, MetricError};
use crate::Map;

/// Share of the map's pixels, highest first, averaged by [`map_fake_score`].
pub const FAKE_SCORE_TOP_FRACTION: f64 = 0.01;

/// Fake score of a map, for localizers without their own image-level score: the mean of the top
/// 1% of map values (at least one pixel), in [0, 1] for maps in [0, 1].
///
/// Why: a partial manipulation (e.g. `smile`) marks a small region, so the map mean would call
/// most fakes real; the single maximum would turn one noisy pixel into a detection. The top 1%
/// (502 pixels ≈ a 22×22 patch at 224×224) needs a coherent region of high values.
///
/// Returns NaN for an empty map or one holding a non-finite value, so that [`accuracy`] and
/// [`crate::roc_auc`] reject that image with an error naming its index.
pub fn map_fake_score(map: &Map) -> f64 {
    let values = map.as_raw();
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let k = ((values.len() as f64 * FAKE_SCORE_TOP_FRACTION).ceil() as usize).max(1);
    // Integer keys in the floats' order: selecting on them is faster than on `total_cmp`.
    let mut keys: Vec<u32> = values.iter().map(|&v| ordered_bits_f32(v)).collect();
    let split = keys.len() - k;
    keys.select_nth_unstable(split);
    let top = &mut keys[split..];
    // Summed from the largest down: the selection leaves the top k in an order that depends on
    // its algorithm (and the standard library's version), and a float sum depends on its order.
    top.sort_unstable_by(|a, b| b.cmp(a));
    top.iter()
        .map(|&bits| f64::from(f32_from_ordered_bits(bits)))
        .sum::<f64>()
        / k as f64
}

/// Image-level accuracy: the share of images whose prediction (`score >= threshold` ⇒ fake)
/// matches `is_fake`, in [0, 1]. The harness's threshold is 0.5.
///
/// Errors: empty or differently sized inputs, a non-finite score (naming its index), or a
/// non-finite threshold.
pub fn accuracy(scores: &[f64], is_fake: &[bool], threshold: f64) -> Result<f64, MetricError> {
    check_threshold("threshold", threshold)?;
    check_same_len("scores", scores.len(), "is_fake", is_fake.len())?;
    check_values(scores, "scores")?;
    let correct = scores
        .iter()
        .zip(is_fake)
        .filter(|(&s, &fake)| (s >= threshold) == fake)
        .count();
    Ok(correct as f64 / scores.len() as f64)
}

/// False-positive rate: the share of real images (`is_fake` false) whose prediction
/// (`score >= threshold` ⇒ fake) is fake, in [0, 1]; fake images are ignored. `None` when there
/// is no real image.
///
/// Why beside ACC: on a fake-heavy set a detector that calls every image fake, e.g. because a
/// degradation leaves traces it mistakes for upsampling, keeps a high ACC; its FPR shows it.
///
/// Errors: empty or differently sized inputs, a non-finite score (naming its index), or a
/// non-finite threshold.
pub fn false_positive_rate(
    scores: &[f64],
    is_fake: &[bool],
    threshold: f64,
) -> Result<Option<f64>, MetricError> {
    check_threshold("threshold", threshold)?;
    check_same_len("scores", scores.len(), "is_fake", is_fake.len())?;
    check_values(scores, "scores")?;
    let reals: Vec<f64> = scores
        .iter()
        .zip(is_fake)
        .filter(|(_, &fake)| !fake)
        .map(|(&s, _)| s)
        .collect();
    if reals.is_empty() {
        return Ok(None);
    }
    let called_fake = reals.iter().filter(|&&s| s >= threshold).count();
    Ok(Some(called_fake as f64 / reals.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_score_averages_the_top_percent() {
        // 200 pixels → top 2: values 1.0 and 0.5 among zeros.
        let mut map = Map::new(20, 10);
        map.put_pixel(3, 4, image::Luma([1.0]));
        map.put_pixel(7, 9, image::Luma([0.5]));
        map.put_pixel(8, 9, image::Luma([0.25]));
        assert_eq!(map_fake_score(&map), 0.75);
    }

    #[test]
    fn fake_score_of_tiny_map_uses_one_pixel() {
        let map = Map::from_raw(3, 1, vec![0.2, 0.9, 0.4]).unwrap();
        assert_eq!(map_fake_score(&map), f64::from(0.9f32));
    }

    /// The top 1% of these 2000 pixels mixes values 2^40 apart, whose f64 sum depends on its
    /// order: the score must not depend on where in the map the values lie.
    #[test]
    fn fake_score_does_not_depend_on_pixel_order() {
        let mut values = vec![0.0f32; 2000];
        for (i, v) in values.iter_mut().enumerate().take(20) {
            *v = if i % 3 == 0 {
                0.7 + i as f32 * 1e-3
            } else {
                1e-12 * (i + 1) as f32
            };
        }
        let score = |v: &[f32]| map_fake_score(&Map::from_raw(2000, 1, v.to_vec()).unwrap());
        let want = score(&values);
        for shift in 1..40 {
            let mut moved = values.clone();
            moved.rotate_right(shift * 37);
            if shift % 2 == 1 {
                moved.reverse();
            }
            assert_eq!(score(&moved).to_bits(), want.to_bits(), "shift {shift}");
        }
    }

    #[test]
    fn fake_score_of_bad_maps_is_nan_and_accuracy_rejects_it() {
        assert!(map_fake_score(&Map::new(0, 0)).is_nan());
        let nan = map_fake_score(&Map::from_raw(2, 1, vec![0.2, f32::NAN]).unwrap());
        assert!(nan.is_nan());
        assert!(matches!(
            accuracy(&[0.9, nan], &[true, false], 0.5),
            Err(MetricError::NonFiniteValue { index: 1, .. })
        ));
    }

    #[test]
    fn accuracy_counts_threshold_as_fake() {
        let acc = accuracy(&[0.5, 0.49, 0.7, 0.1], &[true, false, false, true], 0.5).unwrap();
        assert_eq!(acc, 0.5);
        assert!(matches!(
            accuracy(&[0.5], &[true], f64::NAN),
            Err(MetricError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn false_positive_rate_counts_reals_at_the_threshold_as_false_positives() {
        // Reals 0.2, 0.7, 0.5: two of three are called fake; the fakes change nothing.
        let fpr = false_positive_rate(
            &[0.2, 0.7, 0.5, 0.1, 0.9],
            &[false, false, false, true, true],
            0.5,
        )
        .unwrap();
        assert_eq!(fpr, Some(2.0 / 3.0));
        assert_eq!(false_positive_rate(&[0.9], &[true], 0.5).unwrap(), None);
        assert!(matches!(
            false_positive_rate(&[0.2, f64::NAN], &[false, false], 0.5),
            Err(MetricError::NonFiniteValue { index: 1, .. })
        ));
    }
}
