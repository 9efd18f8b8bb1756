//! `harness gt|degrade|score|predict` against committed reference outputs
//! (tests/fixtures/cli/make_fixtures.py: PIL, scikit-image).

use crate::common::*;

fn gray(path: &std::path::Path) -> image::GrayImage {
    image::open(path).unwrap().to_luma8()
}

#[test]
fn gt_equals_pil_luma_of_the_absolute_difference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gt.png");
    let o = harness(
        dir.path(),
        &[
            "gt",
            fixture("real.png").to_str().unwrap(),
            fixture("fake.png").to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = gray(&out);
    let theirs = gray(&fixture("gt_expected.png"));
    assert_eq!(ours.dimensions(), theirs.dimensions());
    assert_eq!(ours.as_raw(), theirs.as_raw());
    assert!(
        ours.as_raw().iter().any(|&v| v > 0),
        "the fixture has a manipulated blob"
    );
}

#[test]
fn degrade_jpeg_equals_pil_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.png");
    let o = harness(
        dir.path(),
        &[
            "degrade",
            fixture("fake.png").to_str().unwrap(),
            out.to_str().unwrap(),
            "--op",
            "jpeg:50",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = image::open(&out).unwrap().to_rgb8();
    let theirs = image::open(fixture("fake_jpeg50.png")).unwrap().to_rgb8();
    assert_eq!(ours.as_raw(), theirs.as_raw());
}

#[test]
fn degrade_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fixture("fake.png");
    let run = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        let o = harness(
            dir.path(),
            &[
                "degrade",
                fake.to_str().unwrap(),
                out.to_str().unwrap(),
                "--op",
                "noise:25",
                "--seed",
                seed,
            ],
        );
        assert!(o.status.success());
        std::fs::read(out).unwrap()
    };
    assert_eq!(run("7", "a.png"), run("7", "b.png"));
    assert_ne!(run("7", "a.png"), run("8", "c.png"));
}

#[test]
fn degrade_writes_the_format_its_extension_names() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fixture("fake.png");
    let run = |name: &str| {
        harness(
            dir.path(),
            &["degrade", fake.to_str().unwrap(), name, "--op", "blur:3"],
        )
    };
    for (name, magic) in [
        ("o.png", &b"\x89PNG"[..]),
        ("o.jpg", &[0xFF, 0xD8, 0xFF]),
        ("o.JPEG", &[0xFF, 0xD8, 0xFF]),
    ] {
        let o = run(name);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert!(bytes.starts_with(magic), "{name}");
    }
    let (code, err) = code_and_stderr(&run("o.bmp"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains(".png, .jpg, .jpeg"),
        "{err}"
    );
    assert!(!dir.path().join("o.bmp").exists());
}

#[test]
fn score_json_matches_scikit_image() {
    let dir = tempfile::tempdir().unwrap();
    let o = harness(
        dir.path(),
        &[
            "score",
            "--pred",
            fixture("pred").to_str().unwrap(),
            "--gt",
            fixture("gt").to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected_scores.json")).unwrap())
            .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["type"] != "summary")
        .collect();
    assert_eq!(lines.len(), expected.len());
    for (ours, theirs) in lines.iter().zip(&expected) {
        assert_eq!(ours["name"], theirs["name"]);
        for m in ["coss", "psnr", "ssim"] {
            let (a, b) = (ours[m].as_f64().unwrap(), theirs[m].as_f64().unwrap());
            let tol = if m == "psnr" { 1e-4 } else { 1e-6 };
            assert!((a - b).abs() < tol, "{m}: {a} vs {b}");
        }
    }
}

fn score_dirs(extra: &[&str]) -> std::process::Output {
    let o = score_fixture_dirs(extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
fn score_json_ends_with_a_summary_of_means_and_cis() {
    let o = score_dirs(&["--json"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, pairs) = lines.split_last().unwrap();
    assert_eq!(pairs.len(), 2);
    // The per-pair objects stay as they were: no `type` key for external checkers to trip on.
    assert!(pairs.iter().all(|p| p.get("type").is_none()), "{pairs:?}");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["n"], 2);
    for m in ["coss", "psnr", "ssim", "f1", "iou"] {
        let s = &summary["metrics"][m];
        let mean = pairs.iter().map(|p| p[m].as_f64().unwrap()).sum::<f64>() / 2.0;
        let (got, lo, hi) = (
            s["mean"].as_f64().unwrap(),
            s["ci_low"].as_f64().unwrap(),
            s["ci_high"].as_f64().unwrap(),
        );
        assert!((got - mean).abs() < 1e-12, "{m}: {got} vs {mean}");
        assert!(lo <= got && got <= hi, "{m}: {lo} {got} {hi}");
        let values: Vec<f64> = pairs.iter().map(|p| p[m].as_f64().unwrap()).collect();
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            lo >= min - 1e-12 && hi <= max + 1e-12,
            "{m}: CI within the pairs' range"
        );
    }
    // Seeded: the same intervals on every run.
    assert_eq!(score_dirs(&["--json"]).stdout, o.stdout);
}

#[test]
fn score_text_ends_with_the_means() {
    let o = score_dirs(&[]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("mean over 2 pairs"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("COSS ")),
        "{text}"
    );
}

#[test]
fn score_single_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = harness(
        dir.path(),
        &[
            "score",
            "--pred",
            fixture("pred/a.png").to_str().unwrap(),
            "--gt",
            fixture("gt/a.png").to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success());
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8(o.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["name"], "a.png");
}

#[test]
fn predict_writes_one_map_per_image_at_native_size() {
    let dir = tempfile::tempdir().unwrap();
    let o = harness(
        dir.path(),
        &[
            "predict",
            "--localizer",
            "constant",
            "--param",
            "value=0.4",
            "--out",
            "maps",
            fixture("fake.png").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let map = gray(&dir.path().join("maps/fake.png"));
    assert_eq!(map.dimensions(), (64, 48));
    assert!(map.as_raw().iter().all(|&v| v == 102), "0.4 × 255 = 102");
}
