//! Sharded runs and `harness merge`: N shards merge to the unsharded results (apart from the
//! environment, the timing and the shard bookkeeping); incomplete or mixed sets of shards are refused.

use std::path::{Path, PathBuf};

use crate::common::*;

fn suite(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let text = TINY_SUITE
        .replace("GEN", harness::data::synth::generators()[0].name)
        .replace("name: tiny", &format!("name: {name}"))
        .replace("seed: 3", &format!("seed: {seed}"));
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// results.json without what legitimately differs between a merged and an unsharded run.
fn comparable(run: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    let o = v.as_object_mut().unwrap();
    for key in ["environment", "timing", "shard", "merged_from"] {
        o.remove(key);
    }
    v
}

fn runs_in(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs
}

fn merge(cwd: &Path, out: &str, runs: &[PathBuf]) -> (i32, String, String) {
    let mut args = vec!["merge", "--out", out];
    let runs: Vec<String> = runs.iter().map(|r| r.display().to_string()).collect();
    args.extend(runs.iter().map(String::as_str));
    let output = harness(cwd, &args);
    let (code, err) = code_and_stderr(&output);
    (
        code,
        err,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn three_shards_merge_to_the_unsharded_results() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    suite(cwd, "tiny", 3);
    let whole = harness(
        cwd,
        &["run", "tiny.yaml", "--out", "whole", "--no-progress"],
    );
    assert!(whole.status.success(), "{}", code_and_stderr(&whole).1);
    // Shards 0 and 1 by hand, shard 2 from a Slurm array's environment (task ids 5..7).
    for i in 0..2 {
        let shard = format!("{i}/3");
        let out = harness(
            cwd,
            &["run", "tiny.yaml", "--out", "shards", "--shard", &shard],
        );
        assert!(out.status.success(), "{}", code_and_stderr(&out).1);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "tiny.yaml", "--out", "shards", "--shard", "auto"])
        .env("SLURM_ARRAY_TASK_ID", "7")
        .env("SLURM_ARRAY_TASK_MIN", "5")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", code_and_stderr(&out).1);
    let shards = runs_in(&cwd.join("shards/tiny"));
    let names: Vec<String> = shards
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for i in 0..3 {
        assert!(
            names.iter().any(|n| n.ends_with(&format!("-shard-{i}of3"))),
            "{names:?}"
        );
    }
    // Every shard did a third of the work, within one image's units.
    let units: Vec<u64> = shards
        .iter()
        .map(|s| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(s.join("results.json")).unwrap()).unwrap();
            v["shard"]["units"].as_u64().unwrap()
        })
        .collect();
    assert!(units.iter().all(|&u| u > 0), "{units:?}");

    let (code, err, stdout) = merge(cwd, "merged", &shards);
    assert_eq!(code, 0, "{err}");
    let merged = PathBuf::from(stdout.lines().last().unwrap().trim());
    let merged = if merged.is_absolute() {
        merged
    } else {
        cwd.join(merged)
    };
    assert!(merged.ends_with(merged.file_name().unwrap()));
    assert!(
        merged.to_string_lossy().ends_with("-merged"),
        "{}",
        merged.display()
    );
    let single = single_run(&cwd.join("whole/tiny"));
    assert_eq!(comparable(&merged), comparable(&single));
    // The merged timing sums the shards' localizer times and keeps each shard's wall time.
    let timing = |run: &Path| read_results(run).timing.expect("timing");
    let parts: Vec<_> = shards.iter().map(|s| timing(s)).collect();
    let whole_timing = timing(&merged);
    assert_eq!(
        whole_timing.shard_wall_seconds,
        Some(parts.iter().map(|t| t.wall_seconds).collect())
    );
    for (k, l) in whole_timing.localizers.iter().enumerate() {
        let images: usize = parts.iter().map(|t| t.localizers[k].images).sum();
        let seconds: f64 = parts.iter().map(|t| t.localizers[k].seconds).sum();
        assert_eq!(l.images, images, "{}", l.name);
        assert!((l.seconds - seconds).abs() < 1e-9, "{}", l.name);
    }
    let units: usize = whole_timing.localizers.iter().map(|l| l.images).sum();
    let rows = std::fs::read_to_string(merged.join("per_image.jsonl")).unwrap();
    assert_eq!(units, rows.lines().count(), "every work unit counted once");
    assert_eq!(
        std::fs::read(merged.join("per_image.jsonl")).unwrap(),
        std::fs::read(single.join("per_image.jsonl")).unwrap()
    );
    // The qualitative panels come from the maps the shards captured.
    let panels = |run: &Path| png_figures(run, "qualitative_");
    assert!(!panels(&single).is_empty());
    assert_eq!(panels(&merged), panels(&single));
    // The gate accepts a merged run like any other.
    let baseline = cwd.join("baseline.json");
    let update = harness(
        cwd,
        &[
            "gate",
            single.to_str().unwrap(),
            "--baseline",
            baseline.to_str().unwrap(),
            "--update",
        ],
    );
    assert!(update.status.success(), "{}", code_and_stderr(&update).1);
    let gate = harness(
        cwd,
        &[
            "gate",
            merged.to_str().unwrap(),
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert!(gate.status.success(), "{}", code_and_stderr(&gate).1);

    // Refused, exit 2, naming the problem: a missing shard, a duplicated one, a foreign one.
    let (code, err, _) = merge(cwd, "bad", &shards[..2]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing shard"), "{err}");
    let twice = [shards.clone(), vec![shards[0].clone()]].concat();
    let (code, err, _) = merge(cwd, "bad", &twice);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is given 2 times"), "{err}");
    suite(cwd, "other", 4);
    let out = harness(
        cwd,
        &["run", "other.yaml", "--out", "other", "--shard", "2/3"],
    );
    assert!(out.status.success(), "{}", code_and_stderr(&out).1);
    let foreign = runs_in(&cwd.join("other/other")).pop().unwrap();
    let mixed = vec![shards[0].clone(), shards[1].clone(), foreign];
    let (code, err, _) = merge(cwd, "bad", &mixed);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not shards of one run"), "{err}");
    assert!(!cwd.join("bad").exists(), "a refused merge writes nothing");
}

#[test]
fn shard_auto_without_a_scheduler_and_bad_shards_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path(), "tiny", 3);
    for (args, needle) in [
        (vec!["--shard", "auto"], "neither is set"),
        (vec!["--shard", "3/3"], "out of range"),
        (vec!["--shard", "one/3"], "not a non-negative integer"),
    ] {
        let mut all = vec!["run", "tiny.yaml", "--out", "runs"];
        all.extend(args);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(&all)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let (code, err) = code_and_stderr(&out);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(err.contains(needle), "{all:?}: {err}");
    }
    assert!(!dir.path().join("runs").exists());
    let out = harness(dir.path(), &["run", "tiny.yaml", "--train-only"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to train"));
}
