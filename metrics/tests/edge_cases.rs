//! Edge cases of the per-image metrics and of the bootstrap: the documented rules and errors.

use metrics::{
    coss, f1_iou, pixel_auc, psnr, segmentation_scores, ssim, Bootstrap, Map, MetricError,
    PSNR_CAP_DB,
};

fn filled(w: u32, h: u32, v: f32) -> Map {
    Map::from_pixel(w, h, image::Luma([v]))
}

fn ramp(w: u32, h: u32) -> Map {
    Map::from_fn(w, h, |x, y| {
        image::Luma([((x * 7 + y * 3) % 17) as f32 / 16.0])
    })
}

#[test]
fn coss_zero_rules() {
    let (zero, g) = (filled(16, 16, 0.0), ramp(16, 16));
    assert_eq!(coss(&zero, &zero).unwrap(), 1.0);
    assert_eq!(coss(&zero, &g).unwrap(), 0.0);
    assert_eq!(coss(&g, &zero).unwrap(), 0.0);
}

#[test]
fn identical_maps_are_perfect() {
    let g = ramp(23, 19);
    assert_eq!(coss(&g, &g).unwrap(), 1.0);
    assert_eq!(psnr(&g, &g).unwrap(), PSNR_CAP_DB);
    assert!((ssim(&g, &g).unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(pixel_auc(&g, &g, 0.1).unwrap(), Some(1.0));
    // pred ≥ 0.5 and gt > 0.45 select the same pixels of a map in multiples of 1/16.
    let binary = f1_iou(&g, &g, 0.5, 0.45).unwrap();
    assert_eq!((binary.f1, binary.iou), (1.0, 1.0));
}

#[test]
fn psnr_of_opposite_maps_is_zero_and_tiny_errors_are_capped() {
    assert_eq!(psnr(&filled(8, 8, 1.0), &filled(8, 8, 0.0)).unwrap(), 0.0);
    // MSE = 1e-12 would be 120 dB: capped.
    assert_eq!(
        psnr(&filled(8, 8, 0.5 + 1e-6), &filled(8, 8, 0.5)).unwrap(),
        PSNR_CAP_DB
    );
}

#[test]
fn f1_iou_empty_cases() {
    let (zero, one) = (filled(12, 12, 0.0), filled(12, 12, 1.0));
    let both_empty = f1_iou(&zero, &zero, 0.5, 0.1).unwrap();
    assert_eq!((both_empty.f1, both_empty.iou), (1.0, 1.0));
    let empty_gt = f1_iou(&one, &zero, 0.5, 0.1).unwrap();
    assert_eq!((empty_gt.f1, empty_gt.iou), (0.0, 0.0));
    let empty_pred = f1_iou(&zero, &one, 0.5, 0.1).unwrap();
    assert_eq!((empty_pred.f1, empty_pred.iou), (0.0, 0.0));
}

#[test]
fn pixel_auc_single_class_is_none() {
    assert_eq!(
        pixel_auc(&ramp(12, 12), &filled(12, 12, 0.0), 0.1).unwrap(),
        None
    );
    assert_eq!(
        pixel_auc(&ramp(12, 12), &filled(12, 12, 1.0), 0.1).unwrap(),
        None
    );
}

#[test]
fn smaller_than_the_ssim_window_is_an_error() {
    for (w, h) in [(10, 40), (40, 10), (10, 10), (0, 0)] {
        let m = ramp(w, h);
        match ssim(&m, &m) {
            Err(MetricError::TooSmall {
                width,
                height,
                min: 11,
                ..
            }) => {
                assert_eq!((width, height), (w, h))
            }
            other => panic!("{w}x{h}: expected TooSmall, got {other:?}"),
        }
    }
    assert!(matches!(
        segmentation_scores(&ramp(10, 10), &ramp(10, 10), 0.5, 0.1),
        Err(MetricError::TooSmall { .. })
    ));
    assert!(ssim(&ramp(11, 11), &ramp(11, 11)).is_ok());
}

#[test]
fn non_finite_pixels_are_errors_naming_map_and_pixel() {
    let good = ramp(16, 12);
    let mut bad = good.clone();
    bad.put_pixel(5, 7, image::Luma([f32::NAN]));
    let expect = |r: Result<f64, MetricError>, which: &str| match r {
        Err(MetricError::NonFinite {
            which: w,
            x: 5,
            y: 7,
            ..
        }) => assert_eq!(w, which),
        other => panic!("expected NonFinite in {which} at (5,7), got {other:?}"),
    };
    expect(coss(&bad, &good), "pred");
    expect(psnr(&good, &bad), "gt");
    expect(ssim(&bad, &good), "pred");
    bad.put_pixel(5, 7, image::Luma([f32::INFINITY]));
    expect(ssim(&good, &bad), "gt");
    let err = pixel_auc(&bad, &good, 0.1).unwrap_err();
    assert!(err.to_string().contains("(x=5, y=7)"), "{err}");
}

#[test]
fn size_mismatch_names_both_sizes() {
    let err = coss(&ramp(16, 12), &ramp(12, 16)).unwrap_err();
    assert!(matches!(
        err,
        MetricError::SizeMismatch {
            pred_width: 16,
            pred_height: 12,
            gt_width: 12,
            gt_height: 16
        }
    ));
    assert!(err.to_string().contains("16x12") && err.to_string().contains("12x16"));
}

#[test]
fn empty_maps_and_bad_thresholds_are_errors() {
    let empty = Map::new(0, 0);
    assert!(matches!(coss(&empty, &empty), Err(MetricError::Empty)));
    assert!(matches!(
        f1_iou(&ramp(4, 4), &ramp(4, 4), f32::NAN, 0.1),
        Err(MetricError::InvalidParameter { name: "tau", .. })
    ));
}

#[test]
fn bootstrap_edge_cases() {
    let b = Bootstrap::default();
    assert!(matches!(b.summarize(&[]), Err(MetricError::Empty)));
    let one = b.summarize(&[0.7]).unwrap();
    assert_eq!(
        (one.n, one.mean, one.std, one.ci_low, one.ci_high),
        (1, 0.7, 0.0, 0.7, 0.7)
    );
    assert!(matches!(
        b.paired_difference(&[1.0, 2.0], &[1.0]),
        Err(MetricError::LengthMismatch { .. })
    ));
    assert!(matches!(
        b.summarize(&[1.0, f64::INFINITY]),
        Err(MetricError::NonFiniteValue { index: 1, .. })
    ));
    assert!(matches!(
        b.ratio(&[1.0, 2.0], &[0.0, 0.0], 100.0),
        Err(MetricError::Undefined {
            what: "ratio γ",
            ..
        })
    ));
    assert!(matches!(
        b.statistic(0, |_| Some(1.0)),
        Err(MetricError::Empty)
    ));
    assert!(matches!(
        b.statistic(5, |_| None),
        Err(MetricError::Undefined { .. })
    ));
    let bad = Bootstrap {
        confidence: 1.0,
        ..b
    };
    assert!(matches!(
        bad.summarize(&[1.0, 2.0]),
        Err(MetricError::InvalidParameter {
            name: "confidence",
            ..
        })
    ));
    let bad = Bootstrap { resamples: 0, ..b };
    assert!(matches!(
        bad.summarize(&[1.0, 2.0]),
        Err(MetricError::InvalidParameter {
            name: "resamples",
            ..
        })
    ));
}

#[test]
fn bootstrap_known_values() {
    let b = Bootstrap::default();
    // Constant values: every resample has the same mean.
    let s = b.summarize(&[0.4; 10]).unwrap();
    assert!((s.mean - 0.4).abs() < 1e-15 && s.std < 1e-15);
    assert!((s.ci_low - 0.4).abs() < 1e-15 && (s.ci_high - 0.4).abs() < 1e-15);
    // Paired: b = a + 0.125 exactly per image, so every resampled mean difference is −0.125 although
    // a alone varies a lot. An unpaired CI would be wide.
    let a: Vec<f64> = (0..50).map(|i| (i % 7) as f64 / 7.0).collect();
    let shifted: Vec<f64> = a.iter().map(|v| v + 0.125).collect();
    let d = b.paired_difference(&a, &shifted).unwrap();
    assert!((d.mean + 0.125).abs() < 1e-12 && (d.ci_high - d.ci_low).abs() < 1e-12);
    // γ of a uniformly halved metric is 50% on every resample.
    let half: Vec<f64> = a.iter().map(|v| v / 2.0).collect();
    let g = b.ratio(&half, &a, 100.0).unwrap();
    assert!((g.mean - 50.0).abs() < 1e-12 && (g.ci_low - 50.0).abs() < 1e-12);
    assert!((g.ci_high - 50.0).abs() < 1e-12 && g.std < 1e-12);
    // A skewed sample: the CI is wider above the mean than below.
    let skewed: Vec<f64> = (0..40).map(|i| if i < 36 { 0.0 } else { 1.0 }).collect();
    let s = b.summarize(&skewed).unwrap();
    assert!(s.ci_low < s.mean && s.mean < s.ci_high && s.ci_high - s.mean > s.mean - s.ci_low);
}

#[test]
fn bootstrap_statistic_skips_undefined_resamples() {
    // AUC over 6 images: some resamples hold one class and are skipped, the rest are averaged.
    let scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9];
    let is_fake = [false, false, true, true, false, true];
    let auc = |idx: &[usize]| {
        let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
        let y: Vec<bool> = idx.iter().map(|&i| is_fake[i]).collect();
        metrics::roc_auc(&s, &y).ok().flatten()
    };
    let summary = Bootstrap::default().statistic(6, auc).unwrap();
    assert_eq!(
        summary.mean,
        metrics::roc_auc(&scores, &is_fake).unwrap().unwrap()
    );
    assert!(summary.ci_low <= summary.mean && summary.mean <= summary.ci_high);
    assert!(summary.ci_low >= 0.0 && summary.ci_high <= 1.0 && summary.std > 0.0);
}
