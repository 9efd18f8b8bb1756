//! The real-photo source through the CLI: `harness synth --source photos` exports with ground
//! truth that `harness score` pairs by name, suites on `source: photos` run from any
//! directory, and photo configuration errors stop with `file:line:column` (docs/photos.md).

use std::path::Path;

use crate::common::*;
use harness::results::Metric;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn gray(path: &Path) -> image::GrayImage {
    image::open(path).unwrap().to_luma8()
}

fn manifest_rows(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("manifest.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn photo_export_has_ground_truth_that_score_pairs_with_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&harness(
        d,
        &[
            "synth", "--source", "photos", "--out", "ex", "--split", "test", "--count", "50",
            "--size", "96", "--seed", "1",
        ],
    ));
    let ex = d.join("ex");
    let rows = manifest_rows(&ex);
    assert_eq!(rows.len(), 50);
    let mut fakes = Vec::new();
    for row in &rows {
        let (id, kind, fake, real) = (&row[0], &row[4], &row[5], &row[6]);
        assert!(id.starts_with("photo-test-p"), "{id}");
        let gt = ex.join(format!("test/gt/{id}.png"));
        match kind.as_str() {
            "real" => assert!(!gt.exists() && real.is_empty()),
            "partial" => {
                // The exported map is `harness gt REAL FAKE`, i.e. eq. 2 of the pair.
                let check = d.join("check.png");
                ok(&harness(
                    d,
                    &[
                        "gt",
                        ex.join(real).to_str().unwrap(),
                        ex.join(fake).to_str().unwrap(),
                        check.to_str().unwrap(),
                    ],
                ));
                assert_eq!(gray(&gt), gray(&check), "{id}");
                fakes.push(ex.join(fake));
            }
            "entire" => {
                assert!(gray(&gt).as_raw().iter().all(|&v| v == 255));
                fakes.push(ex.join(fake));
            }
            other => panic!("kind {other}"),
        }
    }
    // Predictions named after the fakes pair with the exported ground truth.
    let mut args = vec![
        "predict",
        "--localizer",
        "constant",
        "--out",
        "pred",
        "--size",
        "96",
    ];
    let paths: Vec<String> = fakes.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    ok(&harness(d, &args));
    let scores = ok(&harness(
        d,
        &[
            "score",
            "--pred",
            "pred",
            "--gt",
            ex.join("test/gt").to_str().unwrap(),
            "--json",
        ],
    ));
    // One object per pair, then the summary over the pairs.
    let lines: Vec<serde_json::Value> = scores
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, pairs) = lines.split_last().unwrap();
    assert_eq!(pairs.len(), fakes.len());
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["n"], fakes.len());
}

#[test]
fn synthetic_export_writes_ground_truth_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&harness(
        d,
        &[
            "synth", "--out", "ex", "--split", "val", "--count", "86", "--size", "64",
        ],
    ));
    let ex = d.join("ex");
    let rows = manifest_rows(&ex);
    let mut seen = [0; 3];
    for row in &rows {
        let gt = ex.join(format!("val/gt/{}.png", row[0]));
        match row[4].as_str() {
            "real" => {
                assert!(!gt.exists());
                seen[0] += 1;
            }
            "partial" => {
                let diff = harness::data::difference_gray(
                    &image::open(ex.join(&row[6])).unwrap().to_rgb8(),
                    &image::open(ex.join(&row[5])).unwrap().to_rgb8(),
                )
                .unwrap();
                assert_eq!(gray(&gt), diff, "{}", row[0]);
                seen[1] += 1;
            }
            _ => {
                assert!(gray(&gt).as_raw().iter().all(|&v| v == 255));
                seen[2] += 1;
            }
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

const PHOTO_SUITE: &str = "\
version: 1
name: tinyphotos
seed: 2
data:
  source: photos
  split: val
  photo_size: 128
  crops_per_photo: 1
  generators: [tconv, full_style]
  properties: [color, paste, entire]
  fakes_per_category: 2
  reals: 3
evaluation:
  bootstrap_resamples: 200
localizers:
  - oracle
  - kind: constant
    params: {value: 0.3}
tests:
  degrade:
    - op: jpeg
      levels: [70]
";

#[test]
fn photo_suites_run_from_any_directory_and_the_oracle_is_perfect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("p.yaml"), PHOTO_SUITE).unwrap();
    // The working directory holds no photos/: the photographs are in the binary.
    ok(&harness(
        d,
        &["run", "p.yaml", "--out", "runs", "--no-progress"],
    ));
    let run = single_run(&d.join("runs/tinyphotos"));
    let results = read_results(&run);
    let coss = results
        .aggregate("oracle", "clean", "all", Metric::from_name("coss").unwrap())
        .unwrap();
    assert_eq!((coss.mean, coss.n), (1.0, 6));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    let text = json.to_string();
    for id in [
        "photo-val-p",
        "-c0-tconv-color",
        "-c0-tconv-paste",
        "-c0-full_style-entire",
    ] {
        assert!(
            std::fs::read_to_string(run.join("per_image.jsonl"))
                .unwrap()
                .contains(id),
            "{id}"
        );
    }
    assert!(
        text.contains("\"crops_per_photo\":1"),
        "the photo config is recorded"
    );
}

#[test]
fn photo_configuration_errors_stop_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "photo_size: 128",
            "photo_size: 384",
            "p.yaml:7:15: photo_size 384 is larger",
        ),
        (
            "properties: [color, paste, entire]",
            "properties: [color, pasted, entire]",
            "p.yaml:10:23: unknown photo edit (property) 'pasted' (did you mean 'paste'?)",
        ),
        (
            "properties: [color, paste, entire]",
            "properties: [colour]",
            "did you mean 'color'",
        ),
    ];
    for (from, to, expected) in cases {
        std::fs::write(d.join("p.yaml"), PHOTO_SUITE.replace(from, to)).unwrap();
        let out = harness(d, &["run", "p.yaml", "--out", "runs"]);
        let (code, stderr) = code_and_stderr(&out);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!d.join("runs").exists());
    }
    let out = harness(
        d,
        &["synth", "--source", "photos", "--out", "x", "--size", "384"],
    );
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, 2);
    assert!(stderr.contains("at most 320"), "{stderr}");
    let out = harness(d, &["synth", "--out", "x", "--crops-per-photo", "3"]);
    assert_eq!(code_and_stderr(&out).0, 2);
}

#[test]
fn list_shows_the_photo_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&harness(dir.path(), &["list"]));
    assert!(
        out.contains("136 photographs (94 train, 21 val, 21 test)"),
        "{out}"
    );
    assert!(out.contains("brightness, color, contrast, smooth, paste, entire"));
}

#[test]
fn real_photos_suite_selects_the_whole_heldout_set_of_test_photographs() {
    let suite = harness::config::Suite::load(&workspace().join("suites/real_photos.yaml")).unwrap();
    let names: Vec<&str> = suite.localizers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["deeplabv3", "stehouwer", "resampling", "constant", "oracle"]
    );
    let keys: Vec<&str> = suite.conditions.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["clean", "jpeg:90", "jpeg:70", "jpeg:50", "lowres:2"]);
    let data = harness::data::Dataset::open(&suite.data).unwrap();
    let summary = data.summary();
    assert_eq!(
        (summary.images, summary.fakes, summary.reals),
        (142, 100, 42)
    );
    // Every held-out image comes from a photograph of the test split, never train or val.
    let table = harness::data::photos::photos().unwrap();
    for image in &data.images {
        let photo = table
            .iter()
            .find(|p| image.id.starts_with(&format!("{}_", p.id)))
            .unwrap_or_else(|| panic!("{}: no photograph", image.id));
        assert_eq!(photo.split, harness::data::Split::Test, "{}", image.id);
    }
}
