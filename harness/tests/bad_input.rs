//! Bad input gets a clear message and the documented exit code: 2 for usage/config errors
//! (no work unit ran), 1 for runtime errors.

use std::path::Path;

use crate::common::*;

fn tiny_suite() -> String {
    TINY_SUITE.replace("GEN", harness::data::synth::generators()[0].name)
}

fn run_suite(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    code_and_stderr(&harness(dir.path(), &["run", "s.yaml", "--out", "runs"]))
}

#[test]
fn missing_suite_file() {
    let (code, err) = run_suite_path("nope.yaml");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nope.yaml") && err.contains("cannot read"),
        "{err}"
    );
}

fn run_suite_path(path: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    code_and_stderr(&harness(dir.path(), &["run", path]))
}

#[test]
fn wrong_yaml_type_names_line_and_column() {
    let (code, err) = run_suite(&tiny_suite().replace("seed: 3", "seed: three"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("s.yaml:3:"), "{err}");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let (code, err) = run_suite(&tiny_suite().replace("evaluation:", "evalution:"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("evalution") && err.contains("did you mean 'evaluation'"),
        "{err}"
    );
    assert!(err.contains("s.yaml:"), "{err}");
}

#[test]
fn unknown_localizer_suggests_the_right_one() {
    let (code, err) = run_suite(&tiny_suite().replace("  - oracle", "  - oracel"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("oracel") && err.contains("did you mean 'oracle'"),
        "{err}"
    );
    assert!(err.contains("s.yaml:14:"), "{err}");
}

#[test]
fn a_wrong_key_inside_a_localizer_mapping_is_named_with_its_line() {
    let (code, err) = run_suite(&tiny_suite().replace(
        "  - oracle",
        "  - {kind: deeplabv3, name: d, weights: none}",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.yaml:14:") && err.contains("weights") && err.contains("params"),
        "{err}"
    );
    assert!(!err.contains("did not match any variant"), "{err}");
}

#[test]
fn unknown_degradation_suggests_the_right_one() {
    let (code, err) = run_suite(&tiny_suite().replace("op: jpeg", "op: jpg"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("jpg") && err.contains("did you mean 'jpeg'"),
        "{err}"
    );
}

#[test]
fn bad_degradation_parameter() {
    let (code, err) = run_suite(&tiny_suite().replace("levels: [50]", "levels: [150]"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("150") && err.contains("s.yaml:22:"), "{err}");
}

#[test]
fn bad_localizer_parameter() {
    let (code, err) = run_suite(&tiny_suite().replace("value: 0.3", "value: 3.0"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("value"), "{err}");
}

#[test]
fn manifest_problems_are_reported_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixture("real.png"), d.join("real.png")).unwrap();
    std::fs::copy(fixture("fake.png"), d.join("fake.png")).unwrap();
    std::fs::copy(fixture("gt/a.png"), d.join("small.png")).unwrap();
    std::fs::write(d.join("corrupt.png"), b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
    manifest_suite(
        d,
        "m",
        "ok,test,g,p,partial,fake.png,real.png,\n\
         missing,test,g,p,partial,nothere.png,real.png,\n\
         corrupt,test,g,p,partial,corrupt.png,real.png,\n\
         mismatch,test,g,p,partial,fake.png,small.png,\n\
         ok,test,g,p,partial,fake.png,real.png,\n\
         weird,test,g,p,sideways,fake.png,,\n",
        "  - constant\n",
    );
    let (code, err) = code_and_stderr(&harness(d, &["run", "s.yaml", "--out", "runs"]));
    assert_eq!(code, 2, "{err}");
    for expected in [
        "line 3: fake file",
        "nothere.png does not exist",
        "line 4: fake file",
        "corrupt.png is unreadable",
        "line 5: real image is 56×40 but the fake is 64×48",
        "line 6: duplicate id 'ok' (first used on line 2)",
        "line 7: unknown kind 'sideways'",
    ] {
        assert!(err.contains(expected), "missing '{expected}' in:\n{err}");
    }
    assert!(
        !d.join("runs").exists(),
        "a broken manifest must not start a run"
    );
}

#[test]
fn gt_reports_missing_corrupt_and_mismatched_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let real = fixture("real.png");
    let fake = fixture("fake.png");
    let (code, err) = code_and_stderr(&harness(
        d,
        &["gt", "absent.png", fake.to_str().unwrap(), "o.png"],
    ));
    // A missing input named on the command line is a usage error, as a missing suite file.
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("absent.png: file not found"), "{err}");

    std::fs::write(d.join("corrupt.png"), b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    let (code, err) = code_and_stderr(&harness(
        d,
        &["gt", real.to_str().unwrap(), "corrupt.png", "o.png"],
    ));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("corrupt.png: cannot read image"), "{err}");

    let small = fixture("gt/a.png");
    let (code, err) = code_and_stderr(&harness(
        d,
        &[
            "gt",
            real.to_str().unwrap(),
            small.to_str().unwrap(),
            "o.png",
        ],
    ));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("differ in size") && err.contains("64×48"),
        "{err}"
    );
}

#[test]
fn degrade_rejects_bad_ops_as_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fixture("fake.png");
    for op in ["jpeg:0", "blur:4", "noise:-1", "lowres:0.5", "jpg:50"] {
        let (code, err) = code_and_stderr(&harness(
            dir.path(),
            &["degrade", fake.to_str().unwrap(), "o.png", "--op", op],
        ));
        assert_eq!(code, 2, "{op}: {err}");
        assert!(err.contains("--op"), "{op}: {err}");
    }
}

#[test]
fn predict_with_unknown_localizer_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fixture("fake.png");
    let (code, err) = code_and_stderr(&harness(
        dir.path(),
        &[
            "predict",
            "--localizer",
            "resampler",
            "--out",
            "maps",
            fake.to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean 'resampling'"), "{err}");
}

fn score_with(extra: &[&str]) -> (i32, String) {
    code_and_stderr(&score_fixture_dirs(extra))
}

#[test]
fn score_refuses_thresholds_outside_the_unit_interval() {
    for args in [
        &["--tau", "-3"][..],
        &["--tau=-3"],
        &["--tau", "NaN"],
        &["--tau", "1.5"],
        &["--gt-threshold", "-0.1"],
    ] {
        let (code, err) = score_with(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        let flag = args[0].split('=').next().unwrap();
        assert!(
            err.contains(flag) && err.contains("[0, 1]"),
            "{args:?}: {err}"
        );
    }
    let (code, err) = score_with(&["--tau", "0", "--gt-threshold", "1"]);
    assert_eq!(code, 0, "the ends of [0, 1] are allowed: {err}");
}

#[test]
fn suite_thresholds_use_the_same_rule() {
    let suite = tiny_suite().replace(
        "  bootstrap_resamples: 200",
        "  bootstrap_resamples: 200\n  tau: -3",
    );
    let (code, err) = run_suite(&suite);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("evaluation.tau must lie in [0, 1], got -3"),
        "{err}"
    );
}

#[test]
fn missing_inputs_exit_2_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fixture("fake.png");
    for args in [
        vec!["degrade", "absent.png", "o.png", "--op", "blur:3"],
        vec![
            "predict",
            "--localizer",
            "constant",
            "--out",
            "m",
            "absent.png",
        ],
        vec!["gt", fake.to_str().unwrap(), "absent.png", "o.png"],
    ] {
        let (code, err) = code_and_stderr(&harness(dir.path(), &args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains("absent.png: file not found"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn score_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let gt = fixture("gt");
    for args in [
        vec!["score", "--pred", "nope.png", "--gt", "nope2.png"],
        vec!["score", "--pred", "empty", "--gt", gt.to_str().unwrap()],
        vec!["score", "--pred", "empty", "--gt", "empty"],
        vec!["score", "--pred", "empty", "--gt", "x.png"],
    ] {
        let (code, err) = code_and_stderr(&harness(dir.path(), &args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

/// A manifest directory with a good pair, a real image and `bad.png` (written by the caller) on
/// line 3, and a suite over it.
fn manifest_with_bad_png(d: &Path, bad: &[u8]) {
    std::fs::copy(fixture("real.png"), d.join("real.png")).unwrap();
    std::fs::copy(fixture("fake.png"), d.join("fake.png")).unwrap();
    std::fs::write(d.join("bad.png"), bad).unwrap();
    manifest_suite(
        d,
        "m",
        "ok,test,g,p,partial,fake.png,real.png,\n\
         bad,test,g,p,partial,bad.png,real.png,\n\
         real,test,r,none,real,real.png,,\n",
        "  - constant\n  - oracle\n",
    );
}

#[test]
fn a_truncated_image_is_caught_before_the_run_with_its_manifest_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("fake.png")).unwrap();
    manifest_with_bad_png(dir.path(), &bytes[..bytes.len() / 2]);
    let (code, err) = code_and_stderr(&harness(dir.path(), &["run", "s.yaml", "--out", "runs"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 3") && err.contains("bad.png") && err.contains("truncated?"),
        "{err}"
    );
    assert!(!dir.path().join("runs").exists(), "nothing ran");
}

#[test]
fn a_corrupt_image_fails_its_own_units_with_its_manifest_line_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Whole, with the header and the end intact (the pre-check passes), and image data that
    // fails its checksum in the middle.
    let mut bytes = std::fs::read(fixture("fake.png")).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0x5A;
    }
    manifest_with_bad_png(d, &bytes);
    let (code, err) = code_and_stderr(&harness(d, &["run", "s.yaml", "--out", "runs"]));
    assert_eq!(code, 1, "{err}");
    let run = single_run(&d.join("runs/m"));
    let results = read_results(&run);
    // Both localizers' units of `bad` failed, naming the line and the file; `ok` was scored.
    assert_eq!(results.failures.len(), 2, "{:?}", results.failures);
    for f in &results.failures {
        let text = serde_json::to_string(f).unwrap();
        assert!(
            text.contains("manifest line 3") && text.contains("bad.png"),
            "{text}"
        );
    }
    let rows = std::fs::read_to_string(run.join("per_image.jsonl")).unwrap();
    assert!(rows
        .lines()
        .any(|l| l.contains("\"id\":\"ok\"") && l.contains("\"coss\":")));
}
