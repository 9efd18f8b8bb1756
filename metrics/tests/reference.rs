//! Compares every metric with scikit-image / scikit-learn / numpy reference values written by
//! `tests/fixtures/metrics/make_fixtures.py` (workspace root).

use std::path::{Path, PathBuf};

use metrics::{
    accuracy, coss, f1_iou, map_fake_score, pixel_auc, psnr, roc_auc, segmentation_scores, ssim,
    Bootstrap, Map, PSNR_CAP_DB,
};
use serde_json::Value;

/// SSIM, PSNR, COSS tolerance (absolute), from the acceptance criteria.
const TOL_MAP: f64 = 1e-6;
/// AUC tolerance (absolute).
const TOL_AUC: f64 = 1e-9;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/metrics")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json"))
        .expect("run tests/fixtures/metrics/make_fixtures.py to create reference.json");
    serde_json::from_str(&text).expect("reference.json is valid JSON")
}

fn load_map(case: &str, which: &str, width: u32, height: u32) -> Map {
    let bytes = std::fs::read(fixtures().join(format!("maps/{case}_{which}.f32"))).unwrap();
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Map::from_raw(width, height, values).expect("map file has width*height floats")
}

struct Case {
    name: String,
    pred: Map,
    gt: Map,
    r: Value,
}

fn cases() -> Vec<Case> {
    let reference = reference();
    let cases = reference["cases"].as_object().unwrap();
    assert!(cases.len() >= 12, "expected at least 12 fixture cases");
    cases
        .iter()
        .map(|(name, r)| {
            let (w, h) = (
                r["width"].as_u64().unwrap() as u32,
                r["height"].as_u64().unwrap() as u32,
            );
            Case {
                name: name.clone(),
                pred: load_map(name, "pred", w, h),
                gt: load_map(name, "gt", w, h),
                r: r.clone(),
            }
        })
        .collect()
}

fn assert_close(name: &str, metric: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{name}: {metric} = {got}, reference {want} (|Δ| = {:e} > {tol:e})",
        (got - want).abs()
    );
}

#[test]
fn ssim_matches_skimage() {
    for c in cases() {
        let want = c.r["ssim"].as_f64().unwrap();
        assert_close(
            &c.name,
            "SSIM",
            ssim(&c.pred, &c.gt).unwrap(),
            want,
            TOL_MAP,
        );
    }
}

#[test]
fn psnr_matches_skimage_with_cap() {
    for c in cases() {
        let got = psnr(&c.pred, &c.gt).unwrap();
        if c.r["psnr_is_inf"].as_bool().unwrap() {
            assert_eq!(got, PSNR_CAP_DB, "{}: skimage gives inf, we cap", c.name);
        } else {
            assert_close(&c.name, "PSNR", got, c.r["psnr"].as_f64().unwrap(), TOL_MAP);
        }
    }
}

#[test]
fn coss_matches_numpy_with_zero_rule() {
    for c in cases() {
        let got = coss(&c.pred, &c.gt).unwrap();
        if c.r["coss_is_nan"].as_bool().unwrap() {
            let zero = |m: &Map| m.as_raw().iter().all(|&v| v == 0.0);
            let want = if zero(&c.pred) && zero(&c.gt) {
                1.0
            } else {
                0.0
            };
            assert_eq!(
                got, want,
                "{}: numpy gives NaN, the documented rule applies",
                c.name
            );
        } else {
            assert_close(&c.name, "COSS", got, c.r["coss"].as_f64().unwrap(), TOL_MAP);
        }
    }
}

#[test]
fn pixel_auc_matches_sklearn() {
    let threshold = reference()["gt_threshold"].as_f64().unwrap() as f32;
    for c in cases() {
        let got = pixel_auc(&c.pred, &c.gt, threshold).unwrap();
        match c.r["pixel_auc"].as_f64() {
            None => assert_eq!(got, None, "{}: GT has one class", c.name),
            Some(want) => assert_close(&c.name, "pixel AUC", got.unwrap(), want, TOL_AUC),
        }
    }
}

#[test]
fn f1_iou_and_fake_score_match_numpy() {
    let reference = reference();
    let tau = reference["tau"].as_f64().unwrap() as f32;
    let threshold = reference["gt_threshold"].as_f64().unwrap() as f32;
    for c in cases() {
        let got = f1_iou(&c.pred, &c.gt, tau, threshold).unwrap();
        assert_close(&c.name, "F1", got.f1, c.r["f1"].as_f64().unwrap(), 1e-12);
        assert_close(&c.name, "IoU", got.iou, c.r["iou"].as_f64().unwrap(), 1e-12);
        let want = c.r["pred_fake_score"].as_f64().unwrap();
        assert_close(&c.name, "fake score", map_fake_score(&c.pred), want, 1e-9);
    }
}

#[test]
fn segmentation_scores_agree_with_single_metrics() {
    let threshold = reference()["gt_threshold"].as_f64().unwrap() as f32;
    for c in cases() {
        let all = segmentation_scores(&c.pred, &c.gt, 0.5, threshold).unwrap();
        let binary = f1_iou(&c.pred, &c.gt, 0.5, threshold).unwrap();
        assert_eq!(all.coss, coss(&c.pred, &c.gt).unwrap(), "{}", c.name);
        assert_eq!(all.psnr, psnr(&c.pred, &c.gt).unwrap(), "{}", c.name);
        assert_eq!(all.ssim, ssim(&c.pred, &c.gt).unwrap(), "{}", c.name);
        assert_eq!(all.pixel_auc, pixel_auc(&c.pred, &c.gt, threshold).unwrap());
        assert_eq!((all.f1, all.iou), (binary.f1, binary.iou), "{}", c.name);
    }
}

#[test]
fn image_level_auc_accuracy_and_summary_match_sklearn_numpy() {
    let reference = reference();
    for (name, set) in reference["image_sets"].as_object().unwrap() {
        let scores: Vec<f64> = set["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let is_fake: Vec<bool> = set["is_fake"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        match set["roc_auc"].as_f64() {
            None => assert_eq!(roc_auc(&scores, &is_fake).unwrap(), None, "{name}"),
            Some(want) => assert_close(
                name,
                "AUC",
                roc_auc(&scores, &is_fake).unwrap().unwrap(),
                want,
                TOL_AUC,
            ),
        }
        let want_acc = set["accuracy_at_0_5"].as_f64().unwrap();
        assert_close(
            name,
            "ACC",
            accuracy(&scores, &is_fake, 0.5).unwrap(),
            want_acc,
            1e-12,
        );
        let summary = Bootstrap::default().summarize(&scores).unwrap();
        assert_close(
            name,
            "mean",
            summary.mean,
            set["mean"].as_f64().unwrap(),
            1e-12,
        );
        assert_close(
            name,
            "std",
            summary.std,
            set["std_ddof1"].as_f64().unwrap(),
            1e-12,
        );
    }
}
