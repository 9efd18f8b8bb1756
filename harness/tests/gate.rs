//! `harness gate`: passes on the run it was made from, exits 3 naming the metric when the
//! baseline is stricter than reality, 0 within tolerance, and 2 on a corrupt or mismatched
//! baseline.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = TINY_SUITE.replace("GEN", harness::data::synth::generators()[0].name);
    std::fs::write(dir.path().join("tiny.yaml"), text).unwrap();
    let o = harness(dir.path(), &["run", "tiny.yaml", "--out", "runs"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = single_run(&dir.path().join("runs/tiny"));
    let o = harness(
        dir.path(),
        &[
            "gate",
            run.to_str().unwrap(),
            "--baseline",
            "base.json",
            "--update",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (dir, run)
}

fn gate(dir: &Path, run: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["gate", run.to_str().unwrap(), "--baseline", "base.json"];
    args.extend_from_slice(extra);
    let o = harness(dir, &args);
    let (code, err) = code_and_stderr(&o);
    (code, String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

/// Edits the baseline JSON in place.
fn edit(dir: &Path, f: impl FnOnce(&mut Value)) {
    let path = dir.join("base.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

fn scale_aggregate(v: &mut Value, localizer: &str, metric: &str, factor: f64) {
    for a in v["aggregates"].as_array_mut().unwrap() {
        if a["localizer"] == localizer
            && a["metric"] == metric
            && a["condition"] == "clean"
            && a["category"] == "all"
        {
            let m = a["mean"].as_f64().unwrap();
            a["mean"] = (m * factor).into();
        }
    }
}

#[test]
fn passes_on_its_own_run() {
    let (dir, run) = setup();
    let (code, out, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("gate passed"), "{out}");
    let (code, out, err) = gate(dir.path(), &run, &["--paired"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_stricter_baseline_fails_with_exit_3_naming_the_metric() {
    let (dir, run) = setup();
    edit(dir.path(), |v| {
        scale_aggregate(v, "resampling", "coss", 1.2)
    });
    let (code, out, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("coss") && out.contains("resampling") && out.contains("clean"),
        "{out}"
    );
    assert!(err.contains("metrics: coss"), "{err}");
}

#[test]
fn a_drop_within_tolerance_passes() {
    let (dir, run) = setup();
    edit(dir.path(), |v| {
        scale_aggregate(v, "resampling", "ssim", 1.005)
    });
    let (code, out, err) = gate(dir.path(), &run, &["--tolerance", "0.01"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, _) = gate(dir.path(), &run, &["--tolerance", "0.001"]);
    assert_eq!(code, 3);
}

#[test]
fn paired_mode_tests_the_per_image_differences() {
    let (dir, run) = setup();
    edit(dir.path(), |v| {
        for r in v["rows"].as_array_mut().unwrap() {
            if r["localizer"] == "resampling" && r["condition"] == "clean" && r["coss"].is_f64() {
                let c = r["coss"].as_f64().unwrap();
                r["coss"] = (c + 0.05).into();
            }
        }
    });
    let (code, out, err) = gate(dir.path(), &run, &["--paired"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("paired difference"), "{out}");
}

#[test]
fn corrupt_or_mismatched_baselines_are_errors_not_passes() {
    let (dir, run) = setup();
    let good = std::fs::read(dir.path().join("base.json")).unwrap();
    std::fs::write(dir.path().join("base.json"), &good[..good.len() / 2]).unwrap();
    let (code, _, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("base.json") && err.contains("not a valid baseline"),
        "{err}"
    );

    std::fs::write(dir.path().join("base.json"), &good).unwrap();
    edit(dir.path(), |v| v["config_hash"] = "00000000".into());
    let (code, _, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("suite configuration 00000000 differs"),
        "{err}"
    );

    std::fs::write(dir.path().join("base.json"), &good).unwrap();
    edit(dir.path(), |v| v["dataset_fingerprint"] = "x".into());
    let (code, _, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("different images"), "{err}");
}

/// `--paired` ignores per-image differences below the minimum effect (floating-point noise of
/// another machine or build), and still fails a real drop.
#[test]
fn paired_mode_ignores_noise_below_the_minimum_effect() {
    let (dir, run) = setup();
    let shift = |dir: &Path, delta: f64| {
        edit(dir, |v| {
            for r in v["rows"].as_array_mut().unwrap() {
                if r["localizer"] == "resampling" && r["coss"].is_f64() {
                    let c = r["coss"].as_f64().unwrap();
                    r["coss"] = (c + delta).into();
                }
            }
        })
    };
    shift(dir.path(), 2e-6);
    let (code, out, err) = gate(dir.path(), &run, &["--paired"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("minimum effect"), "{out}");
    // The same noise fails when the minimum effect is set to zero: the CI alone lies below 0.
    let (code, out, err) = gate(
        dir.path(),
        &run,
        &["--paired", "--min-effect", "0", "--min-effect-rel", "0"],
    );
    assert_eq!(code, 3, "{out}{err}");
    let (code, _, err) = gate(dir.path(), &run, &["--paired", "--min-effect", "-1"]);
    assert_eq!(code, 2, "{err}");
}

/// A baseline without per-image rows cannot be compared pairwise: refused, not passed.
#[test]
fn paired_mode_refuses_a_baseline_without_rows() {
    let (dir, run) = setup();
    edit(dir.path(), |v| v["rows"] = Value::Array(vec![]));
    let (code, out, err) = gate(dir.path(), &run, &["--paired"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no per-image rows"), "{err}");
}

/// Units that fail in the run but not in the baseline fail the gate, and so does an aggregate
/// computed over a different number of images, even when its mean is within tolerance.
#[test]
fn new_failures_and_changed_counts_fail_the_gate() {
    let (dir, run) = setup();
    let rows_path = run.join("per_image.jsonl");
    let text = std::fs::read_to_string(&rows_path).unwrap();
    let mut failed = 0;
    let rows: Vec<String> = text
        .lines()
        .map(|line| {
            let mut r: Value = serde_json::from_str(line).unwrap();
            if failed == 0 && r["localizer"] == "resampling" && r["condition"] == "jpeg:50" {
                failed += 1;
                r["error"] = "localizer 'resampling' on image 'x': timed out".into();
            }
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    std::fs::write(&rows_path, rows.join("\n") + "\n").unwrap();
    let (code, out, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("did not fail in the baseline"), "{out}");
    assert!(err.contains("1 new failed work units"), "{err}");

    std::fs::write(&rows_path, text).unwrap();
    edit(dir.path(), |v| {
        for a in v["aggregates"].as_array_mut().unwrap() {
            if a["localizer"] == "oracle" && a["metric"] == "coss" && a["category"] == "all" {
                a["n"] = (a["n"].as_u64().unwrap() + 1).into();
            }
        }
    });
    let (code, out, err) = gate(dir.path(), &run, &["--tolerance", "0.5"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("computed over"), "{out}");
}

/// Gating a run against another suite's baseline says so and never suggests overwriting it.
#[test]
fn another_suites_baseline_is_named_not_overwritten() {
    let (dir, run) = setup();
    edit(dir.path(), |v| v["suite_name"] = "smoke".into());
    let (code, _, err) = gate(dir.path(), &run, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("baseline of suite 'smoke'"), "{err}");
    assert!(!err.contains("--update`"), "{err}");
}

/// Even when everything else differs too (configuration, data, rows), the suite comes first, so
/// no message invites `--update` over another suite's baseline; and `--update` itself refuses.
#[test]
fn another_suites_baseline_is_never_refreshed() {
    let (dir, run) = setup();
    edit(dir.path(), |v| {
        v["suite_name"] = "smoke".into();
        v["config_hash"] = "00000000".into();
        v["dataset_fingerprint"] = "other".into();
        v["rows"] = Value::Array(vec![]);
    });
    for extra in [&[][..], &["--paired"]] {
        let (code, _, err) = gate(dir.path(), &run, extra);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("baseline of suite 'smoke'"), "{err}");
        assert!(!err.contains("--update`"), "{err}");
    }
    let before = std::fs::read(dir.path().join("base.json")).unwrap();
    let (code, out, err) = gate(dir.path(), &run, &["--update"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with("error: ") && err.contains("refusing to overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.path().join("base.json")).unwrap(), before);
    // The same suite's baseline is refreshed as before.
    edit(dir.path(), |v| v["suite_name"] = "tiny".into());
    let (code, out, err) = gate(dir.path(), &run, &["--update"]);
    assert_eq!(code, 0, "{out}{err}");
}
