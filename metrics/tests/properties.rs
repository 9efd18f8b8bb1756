//! Property tests: bounds, symmetry, identities of the per-image metrics; determinism and
//! invariants of the bootstrap.

use metrics::{coss, f1_iou, pixel_auc, psnr, roc_auc, ssim, Bootstrap, Map, PSNR_CAP_DB};
use proptest::prelude::*;

/// Values in [0,1], half of the cases quantised to k/255 as real GT maps are (massive ties).
fn value(quantised: bool) -> BoxedStrategy<f32> {
    if quantised {
        (0u8..=255).prop_map(|k| f32::from(k) / 255.0).boxed()
    } else {
        (0.0f32..=1.0).boxed()
    }
}

/// A pair of maps of the same size, at least 11×11 so SSIM is defined.
fn map_pair() -> impl Strategy<Value = (Map, Map)> {
    (11u32..=24, 11u32..=24, any::<bool>()).prop_flat_map(|(w, h, q)| {
        let n = (w * h) as usize;
        (
            prop::collection::vec(value(q), n),
            prop::collection::vec(value(q), n),
        )
            .prop_map(move |(p, g)| {
                (
                    Map::from_raw(w, h, p).unwrap(),
                    Map::from_raw(w, h, g).unwrap(),
                )
            })
    })
}

fn finite_values(min: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(min..=1.0f64, 1..60)
}

fn small_bootstrap(seed: u64) -> Bootstrap {
    Bootstrap {
        resamples: 200,
        confidence: 0.95,
        seed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn metrics_stay_in_bounds((pred, gt) in map_pair(), tau in 0.05f32..0.95, thr in 0.0f32..0.9) {
        let c = coss(&pred, &gt).unwrap();
        prop_assert!((0.0..=1.0).contains(&c), "COSS {c}");
        let s = ssim(&pred, &gt).unwrap();
        prop_assert!((-1.0..=1.0).contains(&s), "SSIM {s}");
        let p = psnr(&pred, &gt).unwrap();
        let all_opposite = pred.as_raw().iter().zip(gt.as_raw()).all(|(a, b)| (a - b).abs() == 1.0);
        prop_assert!(p <= PSNR_CAP_DB && (p > 0.0 || all_opposite), "PSNR {p}");
        if let Some(a) = pixel_auc(&pred, &gt, thr).unwrap() {
            prop_assert!((0.0..=1.0).contains(&a), "AUC {a}");
        }
        let b = f1_iou(&pred, &gt, tau, thr).unwrap();
        prop_assert!((0.0..=1.0).contains(&b.f1) && (0.0..=1.0).contains(&b.iou));
        // IoU = F1 / (2 − F1) holds for any confusion counts.
        prop_assert!((b.iou - b.f1 / (2.0 - b.f1)).abs() < 1e-12);
    }

    #[test]
    fn similarity_metrics_are_symmetric((pred, gt) in map_pair()) {
        prop_assert_eq!(coss(&pred, &gt).unwrap(), coss(&gt, &pred).unwrap());
        prop_assert_eq!(psnr(&pred, &gt).unwrap(), psnr(&gt, &pred).unwrap());
        let (a, b) = (ssim(&pred, &gt).unwrap(), ssim(&gt, &pred).unwrap());
        prop_assert!((a - b).abs() < 1e-12, "SSIM {a} vs {b}");
    }

    #[test]
    fn a_map_against_itself_is_perfect((map, _) in map_pair()) {
        let s = ssim(&map, &map).unwrap();
        prop_assert!((s - 1.0).abs() < 1e-12, "SSIM(x,x) = {s}");
        prop_assert_eq!(psnr(&map, &map).unwrap(), PSNR_CAP_DB);
    }

    #[test]
    fn image_auc_is_bounded_and_flips(scores in prop::collection::vec((0u8..=20).prop_map(|k| f64::from(k) / 20.0), 2..80),
                                      labels in prop::collection::vec(any::<bool>(), 80)) {
        let labels = &labels[..scores.len()];
        if let Some(a) = roc_auc(&scores, labels).unwrap() {
            prop_assert!((0.0..=1.0).contains(&a));
            // Negating the scores reverses every comparison; ties stay ties.
            let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
            let flipped = roc_auc(&negated, labels).unwrap().unwrap();
            prop_assert!((a + flipped - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn bootstrap_ci_contains_the_mean(values in finite_values(0.0), seed in any::<u64>()) {
        let s = small_bootstrap(seed).summarize(&values).unwrap();
        prop_assert!(s.ci_low <= s.mean && s.mean <= s.ci_high, "{s:?}");
        prop_assert_eq!(s.n, values.len());
    }

    #[test]
    fn same_seed_same_summary(a in finite_values(0.0), seed in any::<u64>()) {
        let b: Vec<f64> = a.iter().map(|v| (v * 3.7).sin().abs()).collect();
        let boot = small_bootstrap(seed);
        prop_assert_eq!(boot.summarize(&a).unwrap(), boot.summarize(&a).unwrap());
        prop_assert_eq!(boot.paired_difference(&a, &b).unwrap(), boot.paired_difference(&a, &b).unwrap());
        prop_assert_eq!(boot.ratio(&b, &a, 100.0).ok(), boot.ratio(&b, &a, 100.0).ok());
    }

    #[test]
    fn ratio_of_identical_arrays_is_the_scale(values in finite_values(0.01), scale in 1.0f64..200.0, seed in any::<u64>()) {
        let g = small_bootstrap(seed).ratio(&values, &values, scale).unwrap();
        prop_assert_eq!((g.mean, g.ci_low, g.ci_high), (scale, scale, scale));
    }
}

#[test]
fn different_seeds_resample_differently() {
    let values: Vec<f64> = (0..30).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
    let a = small_bootstrap(1).summarize(&values).unwrap();
    let b = small_bootstrap(2).summarize(&values).unwrap();
    assert_eq!(a.mean, b.mean);
    assert_ne!((a.ci_low, a.ci_high), (b.ci_low, b.ci_high));
}
