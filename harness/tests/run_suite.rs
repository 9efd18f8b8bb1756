//! End-to-end runs of a tiny suite: artefacts, the oracle's perfect scores, determinism
//! across thread counts and resuming.

use std::path::{Path, PathBuf};

use crate::common::*;
use harness::results::Metric;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = TINY_SUITE.replace("GEN", harness::data::synth::generators()[0].name);
    std::fs::write(dir.path().join("tiny.yaml"), text).unwrap();
    dir
}

fn run_dir(out: &Path) -> PathBuf {
    let suite_dir = out.join("tiny");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suite_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().unwrap()
}

/// results.json without what differs between identical runs (times, threads, host).
fn results_without_environment(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("environment");
    o.remove("timing");
    v
}

fn run(dir: &Path, args: &[&str]) {
    let o = harness(dir, args);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn run_writes_artefacts_and_the_oracle_is_perfect() {
    let dir = setup();
    run(dir.path(), &["run", "tiny.yaml", "--out", "runs"]);
    let out = run_dir(&dir.path().join("runs"));
    for f in [
        "results.json",
        "per_image.jsonl",
        "tables.csv",
        "report.md",
        "report.html",
        "suite.resolved.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    for f in [
        "gamma_coss.png",
        "gamma_coss.svg",
        "disorganization.png",
        "disorganization.svg",
    ] {
        assert!(out.join("plots").join(f).is_file(), "missing plots/{f}");
    }
    assert!(std::fs::read_dir(out.join("plots")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("qualitative_oracle_clean")));
    let results = read_results(&out);
    let get = |loc: &str, metric: &str| {
        results
            .aggregate(loc, "clean", "all", Metric::from_name(metric).unwrap())
            .unwrap()
            .mean
    };
    assert_eq!(get("oracle", "coss"), 1.0);
    assert_eq!(get("oracle", "ssim"), 1.0);
    assert_eq!(get("oracle", "psnr"), 100.0);
    assert!(get("constant", "coss") < 0.99);
    assert!(results.failures.is_empty());
    let paired = results
        .comparisons
        .iter()
        .find(|c| {
            c.localizer == "constant"
                && c.reference == "oracle"
                && c.condition == "clean"
                && c.metric == Metric::Coss
        })
        .expect("paired comparison of constant against oracle");
    assert!(
        paired.summary.ci_high < 0.0,
        "the constant map is clearly worse than the oracle"
    );
    assert!((paired.summary.mean - (get("constant", "coss") - 1.0)).abs() < 1e-12);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("data:image/png;base64,"),
        "the HTML report embeds its figures"
    );
    let rows = std::fs::read_to_string(out.join("per_image.jsonl")).unwrap();
    // 3 localizers × 4 conditions × (fakes + 2 reals).
    let images = results.dataset["images"].as_u64().unwrap() as usize;
    assert_eq!(rows.lines().count(), 3 * 4 * images);
    // Where the time went: each localizer ran every one of its units, in plausible time.
    let timing = results.timing.as_ref().expect("timing in results.json");
    let names: Vec<&str> = timing.localizers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["oracle", "constant", "resampling"]);
    for l in &timing.localizers {
        assert_eq!(l.images, 4 * images, "{}", l.name);
        assert!(l.seconds >= 0.0 && l.seconds < timing.wall_seconds, "{l:?}");
        assert!(l.batch >= 1 && l.threads.is_some(), "{l:?}");
    }
    let phase = |name: &str| {
        timing
            .phases
            .iter()
            .find(|p| p.phase == name)
            .unwrap_or_else(|| panic!("phase {name}"))
    };
    for name in [
        "load",
        "prepare",
        "localize",
        "score",
        "aggregate",
        "write",
        "report",
    ] {
        assert!(phase(name).wall_seconds > 0.0, "{name}: {:?}", phase(name));
    }
    let localized: f64 = timing.localizers.iter().map(|l| l.seconds).sum();
    assert!(phase("localize").wall_seconds >= localized);
    let phased: f64 = timing.phases.iter().map(|p| p.wall_seconds).sum();
    assert!(
        phased <= timing.wall_seconds,
        "the phases run one after another"
    );
    assert!(
        (phased + timing.unaccounted_seconds - timing.wall_seconds).abs() < 1e-9,
        "{timing:?}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Where the time went"), "{md}");
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let dir = setup();
    run(
        dir.path(),
        &["--threads", "1", "run", "tiny.yaml", "--out", "one"],
    );
    run(
        dir.path(),
        &["--threads", "2", "run", "tiny.yaml", "--out", "two"],
    );
    let a = run_dir(&dir.path().join("one"));
    let b = run_dir(&dir.path().join("two"));
    assert_eq!(
        results_without_environment(&a),
        results_without_environment(&b)
    );
    assert_eq!(
        std::fs::read(a.join("per_image.jsonl")).unwrap(),
        std::fs::read(b.join("per_image.jsonl")).unwrap()
    );
}

#[test]
fn resume_recomputes_only_missing_units_drops_duplicates_and_gives_the_same_results() {
    let dir = setup();
    run(dir.path(), &["run", "tiny.yaml", "--out", "runs"]);
    let out = run_dir(&dir.path().join("runs"));
    let full = results_without_environment(&out);
    let rows = std::fs::read_to_string(out.join("per_image.jsonl")).unwrap();
    let lines: Vec<&str> = rows.lines().collect();
    // Keep half the rows, three of them twice (as a crash between appending and the final
    // rewrite could leave), plus a torn line, as a crash mid-write would leave.
    let kept = format!(
        "{}\n{}\n{{\"localizer\":\"ora",
        lines[..lines.len() / 2].join("\n"),
        lines[..3].join("\n")
    );
    std::fs::write(out.join("per_image.jsonl"), kept).unwrap();
    std::fs::remove_file(out.join("results.json")).unwrap();
    run(
        dir.path(),
        &["run", "tiny.yaml", "--out", "runs", "--resume"],
    );
    assert_eq!(run_dir(&dir.path().join("runs")), out, "resumed in place");
    assert_eq!(results_without_environment(&out), full);
}

#[test]
fn an_exported_synthetic_split_runs_through_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        &["synth", "--out", "data", "--split", "test", "--count", "12"],
    );
    let manifest = std::fs::read_to_string(d.join("data/manifest.csv")).unwrap();
    assert!(manifest.starts_with("id,split,generator,property,kind,fake,real,mask"));
    assert_eq!(manifest.lines().count(), 13, "header and 12 rows");
    let suite = "version: 1\nname: exported\ndata:\n  source: manifest\n  manifest: data/manifest.csv\n  fakes_per_category: 1\n  reals: 5\nevaluation:\n  bootstrap_resamples: 100\nlocalizers: [oracle, constant]\nreport:\n  qualitative: 1\n";
    std::fs::write(d.join("exported.yaml"), suite).unwrap();
    run(d, &["run", "exported.yaml", "--out", "runs"]);
    let out = single_run(&d.join("runs/exported"));
    let results = read_results(&out);
    assert_eq!(results.dataset["source"], "manifest");
    assert!(results.dataset["fakes"].as_u64().unwrap() >= 5);
    assert_eq!(
        results
            .aggregate("oracle", "clean", "all", Metric::from_name("coss").unwrap())
            .unwrap()
            .mean,
        1.0
    );
    assert_eq!(
        results
            .aggregate("oracle", "clean", "all", Metric::from_name("psnr").unwrap())
            .unwrap()
            .mean,
        100.0
    );
}

/// With stderr in a file or pipe (a batch job, CI), a run still reports its progress, as plain
/// lines; `--no-progress` silences them.
#[test]
fn a_run_logs_progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let text = TINY_SUITE.replace("GEN", harness::data::synth::generators()[0].name);
    std::fs::write(dir.path().join("tiny.yaml"), text).unwrap();
    let out = harness(dir.path(), &["run", "tiny.yaml", "--out", "runs"]);
    let (code, err) = code_and_stderr(&out);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("run tiny: "))
        .collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines.last().unwrap().contains("image-conditions (100%)"),
        "{err}"
    );
    assert!(lines.iter().all(|l| l.contains("/s, elapsed ")), "{err}");
    let quiet = harness(
        dir.path(),
        &["run", "tiny.yaml", "--out", "q", "--no-progress"],
    );
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("run tiny: "));
}
