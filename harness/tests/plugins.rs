//! A plugin that crashes, run isolated, fails only its own work units: the run completes, the
//! other localizers' results are kept and the failure is reported (exit code 1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

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
        harness::synth::generators()[0].name,
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
            .aggregate("resampling", "clean", "all", "coss")
            .is_some(),
        "the other localizer's results are kept"
    );
    assert!(results
        .aggregate("crasher", "clean", "all", "coss")
        .is_none());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Failures"));
}
