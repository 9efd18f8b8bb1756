//! `harness train CONFIG.yaml` (docs/training.md): trains a `localizers::models`
//! network on the synthetic benchmark or a manifest's `train` split with Adam, selects the
//! checkpoint on `val` (never `test`), and writes resumable checkpoints, a JSONL log and a
//! loss-curve plot.
//!
//! Determinism: initialisation, the images of every step and every dropout mask are seeded
//! from (config seed, step), so a resumed run continues exactly as an uninterrupted one.

mod examples;
mod memory;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use localizers::models::candle_core::{Device, Tensor};
use localizers::models::losses::{classifier_loss, fake_probability, MapLoss};
use localizers::models::optim::{Adam, AdamParams};
use localizers::models::{
    build_trainable, candle_core, parse_device, save_checkpoint, varmap_tensors, TrainOutput,
    TrainableNet,
};
use metrics::Map;
use serde::{Deserialize, Serialize};

use examples::{load_all, stack, Example, Sampler, Shapes};

pub use crate::config::training::default_dir;
use crate::config::training::BEST_WEIGHTS;
use crate::config::{Selection, TrainConfig};
use crate::data::{seeds, Dataset, DatasetError};
use crate::report::plots::{loss_curves, LossCurve};
use crate::util::{write_atomic, Progress};

/// Files of a training directory besides `BEST_WEIGHTS`.
const LAST_WEIGHTS: &str = "last.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";
const LOG: &str = "log.jsonl";

/// Errors that stop training (exit code 1; checkpoints already written stay).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("model: {0}")]
    Model(String),
    #[error("{0}")]
    Config(String),
}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError::Model(e.to_string())
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// How to run [`train`].
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Output directory (default [`default_dir`]).
    pub out: Option<PathBuf>,
    /// Start over even if the directory holds a run of this config.
    pub fresh: bool,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
    /// Stop (with a checkpoint) after this many steps in total; a later call resumes.
    pub stop_after: Option<usize>,
    /// Continue a run of the same config with fewer `steps` (see [`extend_from`]).
    pub extend_from: Option<PathBuf>,
}

/// Validation metrics of one checkpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ValMetrics {
    /// Mean training objective over the validation images.
    pub loss: f64,
    /// Mean COSS of the sigmoid map against the ground truth over the validation fakes.
    pub coss: f64,
    /// Mean SSIM over the validation fakes (maps of at least 11×11).
    pub ssim: Option<f64>,
    /// Accuracy of the classifier at 0.5 over all validation images.
    pub acc: Option<f64>,
}

/// `state.json`: where a run stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    config_hash: String,
    /// Steps completed and saved in `last.safetensors`.
    step: usize,
    best_step: Option<usize>,
    best: Option<ValMetrics>,
    finished: bool,
    /// Seconds spent training, summed over resumed sessions.
    wall_s: f64,
}

/// What a finished training produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    pub dir: PathBuf,
    /// The selected checkpoint (`best.safetensors`).
    pub best: PathBuf,
    pub best_step: usize,
    pub best_metrics: ValMetrics,
    /// Steps run in this call (0 when a finished run was reused).
    pub steps_run: usize,
    /// Steps completed in total.
    pub step: usize,
    /// All configured steps are done.
    pub finished: bool,
    pub wall_s: f64,
}

/// True when `dir` holds a finished training run of the config with hash `config_hash` (what a
/// sharded run needs to find before it starts, since it never trains).
pub fn is_finished(dir: &Path, config_hash: &str) -> bool {
    matches!(read_state(dir), Ok(Some(state)) if state.finished && state.config_hash == config_hash)
        && dir.join(BEST_WEIGHTS).is_file()
}

fn read_state(dir: &Path) -> Result<Option<State>, TrainError> {
    let path = dir.join(STATE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::Io {
                path,
                message: format!(
                    "corrupt training state ({e}); delete the directory or pass --fresh"
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serializable");
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(io_err(path))
}

/// Header metadata of saved weights: enough to rebuild the network (`harness.kind`,
/// `harness.preset`, `harness.input_size`, `harness.classifier`) and to trace it.
fn weights_metadata(config: &TrainConfig, step: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("harness.kind".into(), config.model.kind.clone()),
        ("harness.preset".into(), config.model.preset.clone()),
        ("harness.input_size".into(), config.input_size.to_string()),
        (
            "harness.classifier".into(),
            config.model.classifier.to_string(),
        ),
        ("harness.train_config".into(), config.name.clone()),
        ("harness.config_hash".into(), config.config_hash()),
        ("harness.step".into(), step.to_string()),
    ])
}

/// Trains `config` (or resumes it, or reuses a finished run of it) and returns the selected
/// checkpoint.
pub fn train(config: &TrainConfig, options: &TrainOptions) -> Result<TrainOutcome, TrainError> {
    let dir = options.out.clone().unwrap_or_else(|| default_dir(config));
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let hash = config.config_hash();
    if let Some(source) = &options.extend_from {
        extend_from(config, source, &dir)?;
    }
    let mut state = if options.fresh {
        None
    } else {
        read_state(&dir)?
    };
    if let Some(s) = &state {
        if s.config_hash != hash {
            return Err(TrainError::Config(format!(
                "{} holds a training run of another config (hash {}, this one {hash}); choose another --out, delete it, or pass --fresh",
                dir.display(),
                s.config_hash
            )));
        }
        if s.finished {
            // Redrawn from the log, so a reused run's plot follows the current harness.
            plot_log(&dir, config, s.best_step)?;
            return finished(&dir, s, 0);
        }
    }
    write_json(&dir.join("config.resolved.json"), config)?;

    let device = parse_device(&config.device).map_err(TrainError::Config)?;
    let sources = config.sources();
    let train_sets = sources
        .iter()
        .map(|s| Dataset::open(&s.data))
        .collect::<Result<Vec<_>, _>>()?;
    let val_sets = sources
        .iter()
        .map(|s| Dataset::open(&s.val))
        .collect::<Result<Vec<_>, _>>()?;
    let weighted: Vec<(&Dataset, f64)> = train_sets
        .iter()
        .zip(&sources)
        .map(|(set, source)| (set, source.weight))
        .collect();
    let sampler = Sampler::new(
        &weighted,
        config.real_fraction,
        config.entire_fraction,
        config.seed,
    );
    let (fakes, reals) = sampler.counts();
    for ((partial, entire, source_reals), source) in sampler.pools().zip(&sources) {
        let what = format!("{:?} source", source.data.source).to_lowercase();
        if config.entire_fraction.is_some() && partial == 0 && entire == 0 {
            return Err(TrainError::Config(format!(
                "{}: the training pool of the {what} has no fakes; widen its generators and properties",
                config.path.display()
            )));
        }
        if config.model.classifier && source_reals == 0 && config.real_fraction > 0.0 {
            return Err(TrainError::Config(format!(
                "{}: the training pool of the {what} has no real images, so the classifier cannot learn; add reals or set training.real_fraction: 0",
                config.path.display()
            )));
        }
    }
    let (partial, entire) = sampler.fake_counts();
    if config.entire_fraction.is_some() && (partial == 0 || entire == 0) {
        return Err(TrainError::Config(format!(
            "{}: training.entire_fraction mixes partial manipulations and full syntheses, but the training pool has {partial} partial and {entire} entire fakes; add both kinds or remove entire_fraction",
            config.path.display()
        )));
    }

    let (net, mut varmap) = build_trainable(&config.model, config.seed, &device)?;
    let (mean, std) = net.normalization();
    let map = memory::probe(config, &device)?;
    let shapes = Shapes {
        input: config.input_size,
        map,
        mean,
        std,
    };
    let mut adam = Adam::from_varmap(
        &varmap,
        AdamParams {
            lr: config.lr,
            beta1: config.betas[0],
            beta2: config.betas[1],
            eps: config.eps,
            weight_decay: config.weight_decay,
        },
    )?;
    let start = match &state {
        Some(s) if s.step > 0 => {
            varmap.load(dir.join(LAST_WEIGHTS))?;
            let path = dir.join(OPTIMIZER);
            let tensors = candle_core::safetensors::load(&path, &device)?;
            adam.load_state(&tensors.into_iter().collect())?;
            truncate_log(&dir.join(LOG), s.step)?;
            s.step
        }
        _ => {
            // A fresh start: no stale log lines or checkpoints from an older attempt.
            for name in [LOG, LAST_WEIGHTS, OPTIMIZER, BEST_WEIGHTS, "best.json"] {
                let _ = std::fs::remove_file(dir.join(name));
            }
            if let Some(init) = &config.init {
                varmap.load(&init.resolved).map_err(|e| {
                    TrainError::Config(format!(
                        "{}: model.init {}: {e}; the checkpoint must be a {} {} network",
                        config.path.display(),
                        init.resolved.display(),
                        config.model.kind,
                        config.model.preset
                    ))
                })?;
            }
            0
        }
    };
    let mut state = state.take().unwrap_or(State {
        config_hash: hash,
        step: 0,
        best_step: None,
        best: None,
        finished: false,
        wall_s: 0.0,
    });

    // Validation images are augmented like training ones, each by a stream seeded by its id,
    // so the selected checkpoint is the one that copes best with degraded images too.
    let val_jobs: Vec<_> = val_sets
        .iter()
        .flat_map(|set| {
            set.images.iter().map(move |image| {
                let seed = seeds::from_labels(config.seed, &["augment-val", &image.id]);
                (set, image, seed)
            })
        })
        .collect();
    let val_examples = load_all(&val_jobs, &shapes, config.augment.as_ref())?;
    eprintln!(
        "training {} ({} {}, {}×{} input, map {}×{}) on {fakes} fakes + {reals} reals, validating on {} images; {} → {}",
        config.name,
        config.model.kind,
        config.model.preset,
        config.input_size,
        config.input_size,
        map.0,
        map.1,
        val_examples.len(),
        match (&config.init, start) {
            (_, 1..) => format!("resuming at step {start}"),
            (Some(init), _) => format!("starting from {}", init.path),
            (None, _) => "from scratch".into(),
        },
        dir.display()
    );

    let bar = Progress::new(
        config.steps as u64,
        options.progress,
        "{elapsed_precise} [{bar:40}] step {pos}/{len} {msg}, ETA {eta}",
        &format!("train {}", config.name),
        "steps",
    );
    bar.set_position(start as u64);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG))
        .map_err(io_err(&dir.join(LOG)))?;
    let session = Instant::now();
    let wall_before = state.wall_s;
    let end = options
        .stop_after
        .map_or(config.steps, |s| s.clamp(start, config.steps));
    for step in start..end {
        let jobs = sampler.batch(step, config.batch);
        let batch = load_all(&jobs, &shapes, config.augment.as_ref())?;
        let refs: Vec<&Example> = batch.iter().collect();
        let (x, target, labels) = stack(&refs, &shapes, &device)?;
        net.reseed(seeds::from_labels(
            config.seed,
            &["dropout", &step.to_string()],
        ));
        let output = net.forward_train(&x, true)?;
        let losses = objective(config, &output, &target, &labels)?;
        adam.backward_step(&losses.total)?;
        let line = serde_json::json!({
            "type": "train",
            "step": step + 1,
            "loss": losses.total.to_scalar::<f32>()?,
            "map_loss": losses.map.to_scalar::<f32>()?,
            "class_loss": losses.class.as_ref().map(|c| c.to_scalar::<f32>()).transpose()?,
            "elapsed_s": wall_before + session.elapsed().as_secs_f64(),
        });
        writeln!(log, "{line}").map_err(io_err(&dir.join(LOG)))?;
        bar.inc(1);
        bar.set_message(format!(
            "loss {:.4}",
            line["loss"].as_f64().unwrap_or(f64::NAN)
        ));

        let done = step + 1;
        if done % config.val_every == 0 || done == end {
            let metrics = validate(config, net.as_ref(), &val_examples, &shapes, &device)?;
            let line = serde_json::json!({"type": "val", "step": done, "metrics": metrics});
            writeln!(log, "{line}").map_err(io_err(&dir.join(LOG)))?;
            log.flush().map_err(io_err(&dir.join(LOG)))?;
            let tensors = varmap_tensors(&varmap)?;
            let metadata = weights_metadata(config, done);
            save_checkpoint(&dir.join(LAST_WEIGHTS), &tensors, &metadata)?;
            save_checkpoint(&dir.join(OPTIMIZER), &adam.state()?, &BTreeMap::new())?;
            if improves(config.selection, &metrics, state.best.as_ref()) {
                save_checkpoint(&dir.join(BEST_WEIGHTS), &tensors, &metadata)?;
                write_json(
                    &dir.join("best.json"),
                    &serde_json::json!({"step": done, "metrics": metrics}),
                )?;
                state.best_step = Some(done);
                state.best = Some(metrics.clone());
            }
            state.step = done;
            state.finished = done == config.steps;
            state.wall_s = wall_before + session.elapsed().as_secs_f64();
            write_json(&dir.join(STATE), &state)?;
            bar.println(format!(
                "step {done}: val loss {:.4}, COSS {:.4}{}{}",
                metrics.loss,
                metrics.coss,
                metrics
                    .ssim
                    .map(|s| format!(", SSIM {s:.4}"))
                    .unwrap_or_default(),
                metrics
                    .acc
                    .map(|a| format!(", ACC {a:.3}"))
                    .unwrap_or_default(),
            ));
        }
    }
    bar.finish();
    plot_log(&dir, config, state.best_step)?;
    finished(&dir, &state, end - start)
}

/// Seeds `dir` with the run in `source`, a run of the same config except for a smaller
/// `steps`, so training continues where that run stopped instead of starting over.
///
/// This gives the same result as training `config` from scratch: `steps` only says where
/// training stops (the learning rate is constant, batches and dropout are seeded per step),
/// provided `source` stopped at a validation step, as a finished run whose `steps` is a
/// multiple of `val_every` does.
fn extend_from(config: &TrainConfig, source: &Path, dir: &Path) -> Result<(), TrainError> {
    if read_state(dir)?.is_some() {
        return Err(TrainError::Config(format!(
            "{} already holds a training run; --extend-from only seeds a new directory (drop it to resume, or choose another --out)",
            dir.display()
        )));
    }
    let Some(state) = read_state(source)? else {
        return Err(TrainError::Config(format!(
            "{} holds no training run (no {STATE}); pass the directory of an earlier `harness train`",
            source.display()
        )));
    };
    let without_steps = |value: serde_json::Value| match value {
        serde_json::Value::Object(mut fields) => {
            fields.remove("steps");
            serde_json::Value::Object(fields)
        }
        other => other,
    };
    let resolved = source.join("config.resolved.json");
    let text = std::fs::read_to_string(&resolved).map_err(io_err(&resolved))?;
    let theirs: serde_json::Value = serde_json::from_str(&text).map_err(|e| TrainError::Io {
        path: resolved.clone(),
        message: format!("corrupt resolved config ({e})"),
    })?;
    let ours = serde_json::to_value(config).expect("serializable");
    let (theirs, ours) = (without_steps(theirs), without_steps(ours));
    if theirs != ours {
        let differing: Vec<String> = ours
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, value)| theirs.get(key.as_str()) != Some(value))
            .map(|(key, _)| key.clone())
            .collect();
        return Err(TrainError::Config(format!(
            "{} was trained from another config (differs in: {}); --extend-from continues a run whose config differs only in training.steps",
            source.display(),
            differing.join(", ")
        )));
    }
    if state.step > config.steps || state.step % config.val_every != 0 {
        return Err(TrainError::Config(format!(
            "{} stopped at step {}; --extend-from needs a run that stopped at a multiple of val_every ({}) no later than this config's steps ({})",
            source.display(),
            state.step,
            config.val_every,
            config.steps
        )));
    }
    for name in [LOG, LAST_WEIGHTS, OPTIMIZER, BEST_WEIGHTS, "best.json"] {
        let (from, to) = (source.join(name), dir.join(name));
        if from.is_file() {
            std::fs::copy(&from, &to).map_err(io_err(&to))?;
        }
    }
    write_json(
        &dir.join(STATE),
        &State {
            config_hash: config.config_hash(),
            finished: state.step == config.steps,
            ..state
        },
    )
}

fn finished(dir: &Path, state: &State, steps_run: usize) -> Result<TrainOutcome, TrainError> {
    let best = dir.join(BEST_WEIGHTS);
    let (Some(best_step), Some(best_metrics)) = (state.best_step, state.best.clone()) else {
        return Err(TrainError::Config(format!(
            "{}: the run finished without a validated checkpoint; pass --fresh",
            dir.display()
        )));
    };
    Ok(TrainOutcome {
        dir: dir.to_path_buf(),
        best,
        best_step,
        best_metrics,
        steps_run,
        step: state.step,
        finished: state.finished,
        wall_s: state.wall_s,
    })
}

fn improves(selection: Selection, new: &ValMetrics, best: Option<&ValMetrics>) -> bool {
    match best {
        None => true,
        Some(best) => match selection {
            Selection::ValLoss => new.loss < best.loss,
            Selection::ValCoss => new.coss > best.coss,
        },
    }
}

/// The terms of the training objective.
struct Losses {
    total: Tensor,
    map: Tensor,
    class: Option<Tensor>,
}

/// Map loss (plus `cosine_weight` × the cosine loss) plus, with a classifier,
/// `classifier_weight` × its cross-entropy.
fn objective(
    config: &TrainConfig,
    output: &TrainOutput,
    target: &Tensor,
    labels: &[u8],
) -> Result<Losses, TrainError> {
    if output.map_logits.dims() != target.dims() {
        return Err(TrainError::Model(format!(
            "the network produced a {:?} map for a {:?} target (the probe saw a different size)",
            output.map_logits.dims(),
            target.dims()
        )));
    }
    let mut map = config.loss.compute(&output.map_logits, target)?;
    if config.cosine_weight > 0.0 {
        let cosine = MapLoss::Cosine.compute(&output.map_logits, target)?;
        map = (map + (cosine * config.cosine_weight)?)?;
    }
    let class = output
        .class_logits
        .as_ref()
        .map(|logits| classifier_loss(logits, labels))
        .transpose()?;
    let total = match &class {
        Some(c) => (&map + (c * config.classifier_weight)?)?,
        None => map.clone(),
    };
    Ok(Losses { total, map, class })
}

/// Evaluation-mode pass over the validation images.
fn validate(
    config: &TrainConfig,
    net: &dyn TrainableNet,
    examples: &[Example],
    shapes: &Shapes,
    device: &Device,
) -> Result<ValMetrics, TrainError> {
    let (mut loss_sum, mut coss_sum, mut ssim_sum, mut fakes) = (0.0, 0.0, 0.0, 0usize);
    let (mut correct, mut classified) = (0usize, 0usize);
    let with_ssim = shapes.map.0.min(shapes.map.1) >= metrics::SSIM_WINDOW;
    for chunk in examples.chunks(config.batch) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let (x, target, labels) = stack(&refs, shapes, device)?;
        let output = net.forward_train(&x, false)?;
        let losses = objective(config, &output, &target, &labels)?;
        loss_sum += losses.total.to_scalar::<f32>()? as f64 * chunk.len() as f64;
        let maps = sigmoid_maps(&output.map_logits)?;
        for (example, values) in chunk.iter().zip(maps) {
            if example.label == 0 {
                continue;
            }
            let map = Map::from_raw(shapes.map.0, shapes.map.1, values)
                .ok_or_else(|| TrainError::Model("map has the wrong size".into()))?;
            fakes += 1;
            coss_sum += metrics::coss(&map, &example.target)
                .map_err(|e| TrainError::Model(e.to_string()))?;
            if with_ssim {
                ssim_sum += metrics::ssim(&map, &example.target)
                    .map_err(|e| TrainError::Model(e.to_string()))?;
            }
        }
        if let Some(logits) = &output.class_logits {
            let p = fake_probability(logits)?.to_vec1::<f32>()?;
            for (p, label) in p.iter().zip(&labels) {
                classified += 1;
                correct += ((*p > 0.5) as u8 == *label) as usize;
            }
        }
    }
    let fakes_f = fakes.max(1) as f64;
    Ok(ValMetrics {
        loss: loss_sum / examples.len().max(1) as f64,
        coss: coss_sum / fakes_f,
        ssim: with_ssim.then_some(ssim_sum / fakes_f),
        acc: (classified > 0).then(|| correct as f64 / classified as f64),
    })
}

/// Per-image flattened sigmoid maps.
fn sigmoid_maps(logits: &Tensor) -> Result<Vec<Vec<f32>>, TrainError> {
    Ok(localizers::models::candle_nn::ops::sigmoid(logits)?
        .flatten_from(1)?
        .to_vec2::<f32>()?)
}

/// Drops log lines past `step` (written after the last checkpoint of an interrupted run).
fn truncate_log(path: &Path, step: usize) -> Result<(), TrainError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s as usize <= step)
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    write_atomic(path, kept.as_bytes()).map_err(io_err(path))
}

/// `loss.png`/`loss.svg`: the training loss (mean per validation interval) and the
/// validation loss against the step, with the selected step marked.
fn plot_log(dir: &Path, config: &TrainConfig, best_step: Option<usize>) -> Result<(), TrainError> {
    let path = dir.join(LOG);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let mut train: Vec<(f64, f64)> = Vec::new();
    let mut val: Vec<(f64, f64)> = Vec::new();
    let (mut sum, mut count) = (0.0, 0usize);
    for value in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let step = value["step"].as_f64().unwrap_or(f64::NAN);
        match value["type"].as_str() {
            Some("train") => {
                sum += value["loss"].as_f64().unwrap_or(f64::NAN);
                count += 1;
            }
            Some("val") => {
                if count > 0 {
                    train.push((step, sum / count as f64));
                }
                (sum, count) = (0.0, 0);
                val.push((step, value["metrics"]["loss"].as_f64().unwrap_or(f64::NAN)));
            }
            _ => {}
        }
    }
    let rendered = loss_curves(
        &format!("{} ({} loss)", config.name, config.objective_name()),
        &[
            LossCurve {
                label: format!("train (mean over {} steps)", config.val_every),
                points: train,
            },
            LossCurve {
                label: "validation".into(),
                points: val,
            },
        ],
        best_step.map(|s| s as f64),
    )
    .map_err(|e| TrainError::Model(format!("loss plot: {e}")))?;
    write_atomic(&dir.join("loss.png"), &rendered.png).map_err(io_err(&dir.join("loss.png")))?;
    write_atomic(&dir.join("loss.svg"), rendered.svg.as_bytes())
        .map_err(io_err(&dir.join("loss.svg")))
}
