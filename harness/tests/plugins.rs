//! A plugin that crashes, run isolated, fails only its own work units: the run completes, the
//! other localizers' results are kept and the failure is reported (exit code 1).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use harness::results::Metric;

/// Builds the misbehaving example plugin and `localizer-host` next to the harness binary.
fn build_plugin() -> PathBuf {
    let harness = Path::new(env!("CARGO_BIN_EXE_harness"));
    let profile_dir = harness.parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args([
        "build",
        "-p",
        "misbehaving-plugin",
        "-p",
        "plugin-host",
        "--lib",
        "--bin",
        "localizer-host",
    ])
    .arg("--target-dir")
    .arg(target_dir)
    .current_dir(workspace());
    if profile_dir.file_name().unwrap() == "release" {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the example plugin failed");
    profile_dir.join(format!(
        "{}misbehaving_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

#[test]
fn an_isolated_plugin_that_segfaults_fails_only_its_own_units() {
    let library = build_plugin();
    let dir = tempfile::tempdir().unwrap();
    let suite = format!(
        "version: 1
name: crash
data:
  source: synth
  generators: [{}]
  properties: [bald, smile]
  fakes_per_category: 1
  reals: 2
evaluation:
  bootstrap_resamples: 100
localizers:
  - resampling
  - kind: plugin
    name: crasher
    params: {{path: '{}', isolate: true, params: {{mode: segfault}}}}
report:
  qualitative: 0
",
        harness::data::synth::generators()[0].name,
        library.display()
    );
    std::fs::write(dir.path().join("crash.yaml"), suite).unwrap();
    let out = harness(dir.path(), &["run", "crash.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("work units failed"), "{err}");
    let run = single_run(&dir.path().join("runs/crash"));
    let results = read_results(&run);
    assert!(!results.failures.is_empty());
    assert!(results.failures.iter().all(|f| f.localizer == "crasher"));
    assert!(
        results.failures[0].error.contains("signal 11"),
        "{}",
        results.failures[0].error
    );
    assert!(
        results
            .aggregate(
                "resampling",
                "clean",
                "all",
                Metric::from_name("coss").unwrap()
            )
            .is_some(),
        "the other localizer's results are kept"
    );
    assert!(results
        .aggregate(
            "crasher",
            "clean",
            "all",
            Metric::from_name("coss").unwrap()
        )
        .is_none());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Failures"));
}

/// A subprocess localizer whose maps are all NaN: its units fail validation, and the run still
/// finishes with results.json, the report and the failures listed (exit 1). The report draws
/// from the maps captured during the run, so it never meets the NaN maps again.
#[test]
fn a_localizer_returning_nan_maps_leaves_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let client = workspace().join("examples/plugins/python");
    std::fs::write(
        dir.path().join("nan_maps.py"),
        format!(
            "import sys\nsys.path.insert(0, {:?})\nimport numpy as np\nfrom harness_plugin import serve\n\n\
class NanMaps:\n    name = 'nan_maps'\n    input_size = None\n    max_batch = 4\n\n    \
def __init__(self, params):\n        pass\n\n    \
def localize(self, images):\n        \
return [(np.full(px.shape[:2], np.nan, dtype=np.float32), None) for _, px in images]\n\n\
serve(NanMaps)\n",
            client.to_str().unwrap()
        ),
    )
    .unwrap();
    let suite = TINY_SUITE
        .replace("GEN", harness::data::synth::generators()[0].name)
        .replace(
            "  - resampling\n",
            "  - resampling\n  - kind: subprocess\n    name: nan\n    params: {command: [python3, nan_maps.py]}\n",
        );
    std::fs::write(dir.path().join("nan.yaml"), &suite).unwrap();
    let out = harness(dir.path(), &["run", "nan.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("work units failed"), "{err}");
    let run = single_run(&dir.path().join("runs/tiny"));
    let results = read_results(&run);
    assert!(!results.failures.is_empty());
    assert!(results.failures.iter().all(|f| f.localizer == "nan"));
    assert!(
        results.failures[0].error.contains("NaN"),
        "{}",
        results.failures[0].error
    );
    assert!(results
        .aggregate("oracle", "clean", "all", Metric::Coss)
        .is_some());
    for file in ["report.md", "report.html", "tables.csv", "per_image.jsonl"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Failures"), "{report}");
    // The other localizers' qualitative panels are drawn; the failing one has none.
    assert!(run.join("plots/qualitative_oracle_clean.png").is_file());
    assert!(!run.join("plots/qualitative_nan_clean.png").exists());
}
