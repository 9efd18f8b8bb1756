//! Helpers shared by the CLI tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `harness` binary with `args` in `cwd`.
pub fn harness(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("harness binary runs")
}

/// Exit code and stderr of an output.
pub fn code_and_stderr(out: &Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The committed CLI fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/cli")
        .join(name)
}

/// `harness score --pred <fixture pred/> --gt <fixture gt/> EXTRA…` in a fresh directory.
pub fn score_fixture_dirs(extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (pred, gt) = (fixture("pred"), fixture("gt"));
    let mut args = vec![
        "score",
        "--pred",
        pred.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    harness(dir.path(), &args)
}

/// The workspace root (suites live there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// A tiny valid suite; `patch` replaces text in it to make it invalid.
pub const TINY_SUITE: &str = "\
version: 1
name: tiny
seed: 3
data:
  source: synth
  split: test
  fakes_per_category: 1
  properties: [bald, smile]
  generators: [GEN]
  reals: 2
evaluation:
  bootstrap_resamples: 200
localizers:
  - oracle
  - kind: constant
    params: {value: 0.3}
  - resampling
tests:
  disorganize: true
  degrade:
    - op: jpeg
      levels: [50]
    - op: blur
      levels: [5]
report:
  qualitative: 2
";

/// The one run directory under `runs/<suite>` (tests start from an empty output directory).
pub fn single_run(suite_dir: &Path) -> PathBuf {
    std::fs::read_dir(suite_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// A run's `results.json`.
pub fn read_results(run: &Path) -> harness::results::Results {
    serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap()
}

/// The PNG figures of a run whose names start with `prefix` (e.g. "qualitative_"), sorted.
pub fn png_figures(run: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".png"))
        .collect();
    names.sort();
    names
}

/// Writes `manifest.csv` in `dir` (the header row, then `rows`) and `s.yaml`: suite `name`
/// over that manifest with 100 bootstrap resamples and `localizers` (YAML list items).
pub fn manifest_suite(dir: &Path, name: &str, rows: &str, localizers: &str) {
    let manifest = format!("id,split,generator,property,kind,fake,real,mask\n{rows}");
    std::fs::write(dir.join("manifest.csv"), manifest).unwrap();
    let suite = format!(
        "version: 1\nname: {name}\ndata:\n  source: manifest\n  manifest: manifest.csv\nevaluation:\n  bootstrap_resamples: 100\nlocalizers:\n{localizers}"
    );
    std::fs::write(dir.join("s.yaml"), suite).unwrap();
}
