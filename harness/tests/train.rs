//! `harness train`: config validation, a tiny training run with its files, exact resumption,
//! reuse of a finished run, and the trained checkpoint in a localizer.

use std::path::Path;

use crate::common::{code_and_stderr, harness};
use harness::config::TrainConfig;
use harness::training::{self as train, TrainOptions};
use localizers::models::candle_core::{safetensors, DType, Device};

const TINY: &str = "\
version: 1
name: tiny
seed: 5
model: {kind: deeplabv3, preset: resnet10_os16_w8, classifier: true}
data:
  source: synth
  generators: [tconv]
  properties: [bald, smile]
  synth_size: 64
training:
  input_size: 64
  batch: 2
  steps: 4
  val_every: 2
  val_per_category: 1
  val_reals: 2
  lr: 0.001
";

fn config(dir: &Path, text: &str) -> TrainConfig {
    let path = dir.join("tiny.yaml");
    std::fs::write(&path, text).unwrap();
    TrainConfig::load(&path).unwrap()
}

fn options(out: &Path, stop_after: Option<usize>) -> TrainOptions {
    TrainOptions {
        out: Some(out.to_path_buf()),
        fresh: false,
        progress: false,
        stop_after,
        extend_from: None,
    }
}

fn tensors(path: &Path) -> Vec<(String, Vec<f64>)> {
    let mut all: Vec<_> = safetensors::load(path, &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| {
            let t = t.to_dtype(DType::F64).unwrap();
            (k, t.flatten_all().unwrap().to_vec1::<f64>().unwrap())
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn trains_writes_its_files_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), TINY);
    let straight = dir.path().join("straight");
    let outcome = train::train(&cfg, &options(&straight, None)).unwrap();
    assert!(outcome.finished);
    assert_eq!((outcome.steps_run, outcome.step), (4, 4));
    for file in [
        "config.resolved.json",
        "log.jsonl",
        "state.json",
        "last.safetensors",
        "optimizer.safetensors",
        "best.safetensors",
        "best.json",
        "loss.png",
        "loss.svg",
    ] {
        assert!(straight.join(file).is_file(), "{file} missing");
    }
    let log = std::fs::read_to_string(straight.join("log.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let train_steps: Vec<u64> = lines
        .iter()
        .filter(|l| l["type"] == "train")
        .map(|l| l["step"].as_u64().unwrap())
        .collect();
    assert_eq!(train_steps, [1, 2, 3, 4]);
    let val: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "val").collect();
    assert_eq!(val.len(), 2);
    for v in &val {
        let coss = v["metrics"]["coss"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&coss), "{v}");
        assert!(
            v["metrics"]["acc"].as_f64().is_some(),
            "classifier accuracy is logged"
        );
    }
    assert!(image::open(straight.join("loss.png")).is_ok());

    // Interrupted after 2 steps and resumed: the same weights and optimizer state, bit for bit.
    let resumed = dir.path().join("resumed");
    let first = train::train(&cfg, &options(&resumed, Some(2))).unwrap();
    assert!(!first.finished);
    assert_eq!(first.step, 2);
    let second = train::train(&cfg, &options(&resumed, None)).unwrap();
    assert_eq!((second.steps_run, second.step), (2, 4));
    assert_eq!(
        tensors(&straight.join("last.safetensors")),
        tensors(&resumed.join("last.safetensors"))
    );
    assert_eq!(
        tensors(&straight.join("optimizer.safetensors")),
        tensors(&resumed.join("optimizer.safetensors"))
    );
    let resumed_log = std::fs::read_to_string(resumed.join("log.jsonl")).unwrap();
    assert_eq!(
        resumed_log
            .lines()
            .filter(|l| l.contains("\"train\""))
            .count(),
        4
    );

    // A finished run is reused, not retrained.
    let again = train::train(&cfg, &options(&straight, None)).unwrap();
    assert_eq!(again.steps_run, 0);

    // Another config in the same directory is refused.
    let other = config(dir.path(), &TINY.replace("seed: 5", "seed: 6"));
    let err = train::train(&other, &options(&straight, None)).unwrap_err();
    assert!(err.to_string().contains("another config"), "{err}");

    // The checkpoint records its preset and size, so the localizer needs only the path.
    let params = serde_json::json!({"weights": straight.join("best.safetensors")});
    let localizer = localizers::build("deeplabv3", params.as_object().unwrap()).unwrap();
    assert_eq!(
        localizer.input_size(),
        localizers::InputSize::Fixed {
            width: 64,
            height: 64
        }
    );
}

/// The log without its wall-clock field.
fn log_without_times(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("elapsed_s");
            v
        })
        .collect()
}

#[test]
fn extending_a_shorter_run_equals_training_from_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let short = config(dir.path(), TINY);
    let short_dir = dir.path().join("short");
    train::train(&short, &options(&short_dir, None)).unwrap();
    let long = config(dir.path(), &TINY.replace("steps: 4", "steps: 6"));
    let straight = dir.path().join("straight");
    train::train(&long, &options(&straight, None)).unwrap();

    let extended = dir.path().join("extended");
    let extend = |out: &Path, source: &Path, cfg: &TrainConfig| {
        let options = TrainOptions {
            extend_from: Some(source.to_path_buf()),
            ..options(out, None)
        };
        train::train(cfg, &options)
    };
    let outcome = extend(&extended, &short_dir, &long).unwrap();
    assert!(outcome.finished);
    assert_eq!((outcome.steps_run, outcome.step), (2, 6));
    for file in [
        "last.safetensors",
        "optimizer.safetensors",
        "best.safetensors",
    ] {
        assert_eq!(
            tensors(&straight.join(file)),
            tensors(&extended.join(file)),
            "{file}"
        );
    }
    assert_eq!(log_without_times(&straight), log_without_times(&extended));
    let state = |d: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("state.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("wall_s");
        v
    };
    assert_eq!(state(&straight), state(&extended));

    // Refused: a config that differs in more than the steps, a run that did not stop at a
    // validation step, and a directory that already holds a run.
    let other = config(
        dir.path(),
        &TINY
            .replace("steps: 4", "steps: 6")
            .replace("seed: 5", "seed: 6"),
    );
    let err = extend(&dir.path().join("other"), &short_dir, &other).unwrap_err();
    assert!(err.to_string().contains("differs in: seed"), "{err}");
    let odd = dir.path().join("odd");
    train::train(&short, &options(&odd, Some(3))).unwrap();
    let err = extend(&dir.path().join("from_odd"), &odd, &long).unwrap_err();
    assert!(err.to_string().contains("stopped at step 3"), "{err}");
    let err = extend(&extended, &short_dir, &long).unwrap_err();
    assert!(err.to_string().contains("already holds"), "{err}");
}

/// Two sources (faces and photographs), every augmentation op, and a start from another run's
/// checkpoint: trains, resumes bit for bit, and a single-source config serialises as before.
#[test]
fn a_mixed_augmented_run_from_a_checkpoint_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    train::train(&config(dir.path(), TINY), &options(&base, None)).unwrap();
    let single = serde_json::to_value(config(dir.path(), TINY)).unwrap();
    for key in ["mix", "augment", "init"] {
        assert!(single.get(key).is_none(), "{key} in {single}");
    }
    let mixed = TINY
        .replace(
            "model: {kind: deeplabv3, preset: resnet10_os16_w8, classifier: true}",
            "model: {kind: deeplabv3, preset: resnet10_os16_w8, classifier: true, init: base/best.safetensors}",
        )
        .replace(
            "data:\n  source: synth\n  generators: [tconv]\n  properties: [bald, smile]\n  synth_size: 64\n",
            "data:\n  - source: synth\n    weight: 2\n    generators: [tconv]\n    properties: [bald, smile]\n    synth_size: 64\n  - source: photos\n    generators: [tconv]\n    properties: [paste]\n    photo_size: 64\n    crops_per_photo: 1\n",
        )
        .replace(
            "  lr: 0.001\n",
            "  lr: 0.001\n  augment:\n    probability: 0.9\n    ops:\n      - {op: jpeg, min: 30, max: 90}\n      - {op: blur, min: 3, max: 9}\n      - {op: noise, min: 5, max: 50}\n      - {op: lowres, min: 1.5, max: 3}\n      - {op: disorganize}\n",
        );
    let cfg = config(dir.path(), &mixed);
    assert_eq!(cfg.sources().len(), 2);
    assert_eq!(cfg.sources()[0].weight, 2.0);
    assert_eq!(cfg.augment.as_ref().unwrap().ops.len(), 5);
    assert_ne!(cfg.config_hash(), config(dir.path(), TINY).config_hash());
    let straight = dir.path().join("mixed");
    let outcome = train::train(&cfg, &options(&straight, None)).unwrap();
    assert!(outcome.finished);
    let resumed = dir.path().join("mixed-resumed");
    train::train(&cfg, &options(&resumed, Some(2))).unwrap();
    train::train(&cfg, &options(&resumed, None)).unwrap();
    assert_eq!(
        tensors(&straight.join("last.safetensors")),
        tensors(&resumed.join("last.safetensors"))
    );
    // Starting from the checkpoint, not from the seed's initialisation: the first step's loss
    // differs from a run without `init`.
    let first_loss = |dir: &Path| log_without_times(dir)[0]["loss"].as_f64().unwrap();
    let fresh = dir.path().join("mixed-fresh");
    let without_init = config(
        dir.path(),
        &mixed.replace(", init: base/best.safetensors", ""),
    );
    train::train(&without_init, &options(&fresh, Some(2))).unwrap();
    assert_ne!(first_loss(&straight), first_loss(&fresh));
}

#[test]
fn a_zero_cosine_weight_keeps_the_config_hash() {
    let dir = tempfile::tempdir().unwrap();
    let with = |extra: &str| {
        config(
            dir.path(),
            &TINY.replace("  steps: 4", &format!("  steps: 4{extra}")),
        )
    };
    // Configs written before the cosine term existed keep their cache entries.
    assert_eq!(
        with("").config_hash(),
        with("\n  cosine_weight: 0").config_hash()
    );
    assert_ne!(
        with("").config_hash(),
        with("\n  cosine_weight: 1.0").config_hash()
    );
    assert_eq!(with("").objective_name(), "l1");
    assert_eq!(with("\n  cosine_weight: 1").objective_name(), "l1 + cosine");
    assert_eq!(
        with("\n  loss: l2\n  cosine_weight: 0.5").objective_name(),
        "l2 + 0.5·cosine"
    );
}

#[test]
fn entire_fraction_needs_both_kinds_of_fakes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.yaml");
    let text = TINY.replace("  steps: 4", "  steps: 4\n  entire_fraction: 0.2");
    std::fs::write(&path, text).unwrap();
    let out = harness(dir.path(), &["train", path.to_str().unwrap()]);
    let (code, stderr) = code_and_stderr(&out);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("tiny.yaml")
            && stderr.contains("4000 partial and 0 entire")
            && stderr.contains("remove entire_fraction"),
        "{stderr}"
    );
}

#[test]
fn invalid_configs_name_the_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "  steps: 4",
            "  stpes: 4",
            "tiny.yaml:13:",
            "did you mean 'steps'",
        ),
        (
            "model: {kind: deeplabv3,",
            "model: {kind: deeplab,",
            "tiny.yaml:4:",
            "did you mean 'deeplabv3'",
        ),
        (
            "  steps: 4",
            "  steps: 4\n  loss: l3",
            "tiny.yaml:14:",
            "available: l1, l2, dice, focal, bce",
        ),
        (
            "  source: synth",
            "  source: synth\n  split: test",
            "tiny.yaml:7:",
            "never 'test'",
        ),
        ("  batch: 2", "  batch: 0", "tiny.yaml:12:", "at least 1"),
        (
            "  steps: 4",
            "  steps: 4\n  cosine_weight: -1",
            "tiny.yaml:14:",
            "cosine_weight must lie in [0,",
        ),
        (
            "  steps: 4",
            "  steps: 4\n  entire_fraction: 1.5",
            "tiny.yaml:14:",
            "entire_fraction must lie in [0, 1]",
        ),
        (
            "  steps: 4",
            "  steps: 4\n  augment:\n    ops:\n      - {op: jepg, min: 30, max: 90}",
            "tiny.yaml:16:",
            "did you mean 'jpeg'",
        ),
        (
            "  steps: 4",
            "  steps: 4\n  augment:\n    ops:\n      - {op: blur, min: 4, max: 9}",
            "tiny.yaml:16:",
            "odd",
        ),
        (
            "  steps: 4",
            "  steps: 4\n  augment:\n    ops:\n      - {op: noise}",
            "tiny.yaml:16:",
            "give the level range of 'noise' as min and max",
        ),
        (
            "  source: synth",
            "  source: synth\n  weight: 2",
            "tiny.yaml:7:",
            "with one source, remove it",
        ),
        (
            "classifier: true}",
            "classifier: true, init: missing.safetensors}",
            "tiny.yaml:4:",
            "model.init: cannot read",
        ),
    ];
    for (from, to, location, hint) in cases {
        let path = dir.path().join("tiny.yaml");
        std::fs::write(&path, TINY.replace(from, to)).unwrap();
        let out = harness(dir.path(), &["train", path.to_str().unwrap()]);
        let (code, stderr) = code_and_stderr(&out);
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(
            stderr.contains(location) && stderr.contains(hint),
            "{to}: {stderr}"
        );
    }
}

/// A sharded run never trains: without the checkpoint it stops with exit 2 and says to run
/// `--train-only` first; after that job (with the same --train-dir), every shard finds it.
#[test]
fn shards_need_the_training_job_first_and_then_share_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.yaml"), TINY).unwrap();
    let suite = "\
version: 1
name: trained
data:
  source: synth
  generators: [tconv]
  properties: [bald]
  fakes_per_category: 2
  reals: 2
  synth_size: 64
evaluation:
  size: 64
  bootstrap_resamples: 100
localizers:
  - kind: deeplabv3
    name: tiny_l1
    train: tiny.yaml
";
    std::fs::write(dir.path().join("suite.yaml"), suite).unwrap();
    let shard = [
        "run",
        "suite.yaml",
        "--shard",
        "0/2",
        "--train-dir",
        "shared/train",
    ];
    let (code, stderr) = code_and_stderr(&harness(dir.path(), &shard));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--train-only"), "{stderr}");
    assert!(!dir.path().join("shared").exists(), "a shard never trains");
    let train = [
        "run",
        "suite.yaml",
        "--train-only",
        "--train-dir",
        "shared/train",
    ];
    let (code, stderr) = code_and_stderr(&harness(dir.path(), &train));
    assert_eq!(code, 0, "{stderr}");
    let trained: Vec<_> = std::fs::read_dir(dir.path().join("shared/train"))
        .unwrap()
        .collect();
    assert_eq!(trained.len(), 1);
    for i in 0..2 {
        let s = format!("{i}/2");
        let args = [
            "run",
            "suite.yaml",
            "--shard",
            &s,
            "--train-dir",
            "shared/train",
        ];
        let (code, stderr) = code_and_stderr(&harness(dir.path(), &args));
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("step"), "no training in a shard: {stderr}");
    }
    assert!(!dir.path().join("results/train").exists());
}

#[test]
fn a_suite_trains_its_localizer_once_and_reuses_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.yaml"), TINY).unwrap();
    let suite = "\
version: 1
name: trained
data:
  source: synth
  generators: [tconv]
  properties: [bald]
  fakes_per_category: 2
  reals: 2
  synth_size: 64
evaluation:
  size: 64
  bootstrap_resamples: 100
localizers:
  - kind: deeplabv3
    name: tiny_l1
    train: tiny.yaml
  - constant
";
    std::fs::write(dir.path().join("suite.yaml"), suite).unwrap();
    let first = harness(dir.path(), &["run", "suite.yaml", "--out", "runs"]);
    let (code, stderr) = code_and_stderr(&first);
    assert_eq!(code, 0, "{stderr}");
    let trained: Vec<_> = std::fs::read_dir(dir.path().join("results/train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(trained.len(), 1);
    assert!(trained[0].join("best.safetensors").is_file());
    let run = crate::common::single_run(&dir.path().join("runs/trained"));
    let results = crate::common::read_results(&run);
    let json = serde_json::to_value(&results).unwrap();
    assert!(json.to_string().contains("tiny_l1"));

    let second = harness(dir.path(), &["run", "suite.yaml", "--out", "runs2"]);
    let (code, stderr) = code_and_stderr(&second);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("reusing"), "{stderr}");

    // The quick profile trains its own, shorter copy of the step.
    let quick = harness(
        dir.path(),
        &["run", "suite.yaml", "--quick", "--out", "runs3"],
    );
    let (code, stderr) = code_and_stderr(&quick);
    assert_eq!(code, 0, "{stderr}");
    let quick_dir = std::fs::read_dir(dir.path().join("results/train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tiny_quick-")
        })
        .expect("a tiny_quick training directory");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(quick_dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 10, "a tenth of 4 steps, at least 10");
    assert!(dir.path().join("runs3/trained_quick").is_dir());

    // The training config must train the localizer's kind, and weights come from the step.
    std::fs::write(
        dir.path().join("bad.yaml"),
        suite.replace(
            "    train: tiny.yaml",
            "    train: tiny.yaml\n    params: {weights: x.safetensors}",
        ),
    )
    .unwrap();
    let out = harness(dir.path(), &["run", "bad.yaml"]);
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bad.yaml:14:")
            && stderr.contains("params.weights comes from the training step"),
        "{stderr}"
    );
}
