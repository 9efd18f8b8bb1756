//! Runs a suite: every (localizer, condition, image) work unit, streamed batch by batch.
//!
//! Determinism: each degraded image is seeded from (suite seed, image id, condition) only, and
//! rows are sorted before aggregation, so results do not depend on the thread count, the
//! batch order or on resuming.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use degradations::TilePermutation;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use localizers::{InputSize, Localizer, LocalizerInput, Prediction};
use metrics::Map;
use rayon::prelude::*;

use crate::data;
use crate::dataset::{Dataset, DatasetError, ImageRef, LoadedImage};
use crate::rows::{done_keys, Row, RowLog};
use crate::suite::{Condition, GroundTruthPolicy, Suite};
use crate::synth::Kind;

/// Errors that stop a run (exit code 1); already computed rows stay on disk.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Seed of one random thing, from the suite seed and the parts of its key (stable everywhere).
pub fn derive_seed(seed: u64, parts: &[&str]) -> u64 {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(seed.to_le_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// An image as one condition presents it, with its ground truth at the evaluation size.
pub struct Prepared {
    /// The (degraded) image at its native size.
    pub image: RgbImage,
    /// Ground truth at the evaluation size.
    pub ground_truth: Map,
}

/// Applies a condition to a loaded image and derives the ground truth (SPEC §2, §5).
pub fn prepare(
    suite: &Suite,
    image: &ImageRef,
    loaded: &LoadedImage,
    condition: &Condition,
) -> Result<Prepared, String> {
    let (degraded, tiles) = match &condition.degradation {
        None => (loaded.fake.clone(), None),
        Some(d) => {
            let seed = derive_seed(suite.seed, &[&image.id, &condition.key]);
            let out = d
                .apply(&loaded.fake, seed)
                .map_err(|e| format!("{}: {e}", image.id))?;
            (out.image, out.tiles)
        }
    };
    let native_gt =
        native_ground_truth(image, loaded, &degraded, tiles.as_ref(), suite.ground_truth)?;
    let size = suite.evaluation.size;
    Ok(Prepared {
        image: degraded,
        ground_truth: data::resize_map_area(&native_gt, size, size),
    })
}

/// Ground truth at the native size of an image presented as `degraded` (the clean fake when
/// nothing was applied), with `tiles` the disorganization permutation if any: a manifest mask
/// as given, zeros for a real image, ones for full synthesis, eq. 2 for a partial manipulation
/// (from the degraded or the clean pair, per `policy`).
pub fn native_ground_truth(
    image: &ImageRef,
    loaded: &LoadedImage,
    degraded: &RgbImage,
    tiles: Option<&TilePermutation>,
    policy: GroundTruthPolicy,
) -> Result<Map, String> {
    let (w, h) = loaded.fake.dimensions();
    if let Some(mask) = &loaded.mask {
        return Ok(match tiles {
            Some(t) => t.apply(mask),
            None => mask.clone(),
        });
    }
    match image.kind {
        Kind::Real => Ok(data::constant_map(w, h, 0.0)),
        Kind::Entire => Ok(data::constant_map(w, h, 1.0)),
        Kind::Partial => {
            let real = loaded
                .real
                .as_ref()
                .ok_or_else(|| format!("{}: no real source image", image.id))?;
            let gt = match policy {
                GroundTruthPolicy::Degraded => {
                    let real = match tiles {
                        Some(t) => t.apply(real),
                        None => real.clone(),
                    };
                    data::ground_truth(&real, degraded)
                }
                GroundTruthPolicy::Clean => data::ground_truth(real, &loaded.fake)
                    .map(|gt| tiles.map(|t| t.apply(&gt)).unwrap_or(gt)),
            };
            gt.map_err(|e| format!("{}: {e}", image.id))
        }
    }
}

/// The image a localizer sees, resized to its declared input size.
pub fn localizer_view(image: &RgbImage, input: InputSize, eval_size: u32) -> RgbImage {
    match input {
        InputSize::Native => image.clone(),
        InputSize::Evaluation => data::resize_rgb(image, eval_size, eval_size),
        InputSize::Fixed { width, height } => data::resize_rgb(image, width, height),
    }
}

/// Metrics of one prediction against the ground truth at the evaluation size.
pub fn score_prediction(
    suite: &Suite,
    localizer: &str,
    condition: &Condition,
    image: &ImageRef,
    prediction: &Prediction,
    ground_truth: &Map,
) -> Row {
    let size = suite.evaluation.size;
    let map = data::resize_map_bilinear(&prediction.map, size, size);
    let score = prediction
        .score
        .map(f64::from)
        .unwrap_or_else(|| metrics::map_fake_score(&map));
    let mut row = empty_row(localizer, condition, image);
    row.score = Some(score);
    if image.is_fake() {
        let e = &suite.evaluation;
        match metrics::segmentation_scores(&map, ground_truth, e.tau, e.gt_threshold) {
            Ok(s) => {
                row.coss = Some(s.coss);
                row.psnr = Some(s.psnr);
                row.ssim = Some(s.ssim);
                row.pixel_auc = s.pixel_auc;
                row.f1 = Some(s.f1);
                row.iou = Some(s.iou);
            }
            Err(err) => row.error = Some(format!("metrics: {err}")),
        }
    }
    row
}

fn failed_row(localizer: &str, condition: &Condition, image: &ImageRef, error: String) -> Row {
    Row {
        error: Some(error),
        ..empty_row(localizer, condition, image)
    }
}

/// A row with the unit's identity and no values yet.
fn empty_row(localizer: &str, condition: &Condition, image: &ImageRef) -> Row {
    Row {
        localizer: localizer.to_string(),
        condition: condition.key.clone(),
        id: image.id.clone(),
        kind: image.kind,
        generator: image.generator.clone(),
        property: image.property.clone(),
        coss: None,
        psnr: None,
        ssim: None,
        pixel_auc: None,
        f1: None,
        iou: None,
        score: None,
        error: None,
        input_sha256: String::new(),
    }
}

/// Builds the suite's localizers.
pub fn build_localizers(suite: &Suite) -> Result<Vec<Box<dyn Localizer>>, RunError> {
    suite
        .localizers
        .iter()
        .map(|c| {
            let params = match &c.train {
                Some(step) => step.params_with_weights(&c.params),
                None => c.params.clone(),
            };
            localizers::build(&c.kind, &params)
                .map_err(|e| RunError::Other(format!("localizer '{}': {e}", c.name)))
        })
        .collect()
}

/// Runs the suite's training steps that have no finished, cached run (SPEC §7: a second run
/// reuses the checkpoint), so every trained localizer has its weights before the run starts.
pub fn run_training_steps(suite: &Suite, progress: bool) -> Result<(), RunError> {
    for localizer in &suite.localizers {
        let Some(step) = &localizer.train else {
            continue;
        };
        let fail = |e: String| {
            RunError::Other(format!(
                "training step of localizer '{}' ({}): {e}",
                localizer.name,
                step.path.display()
            ))
        };
        let config = step.config().map_err(|e| fail(e.to_string()))?;
        if config.config_hash() != step.hash {
            return Err(fail(
                "the training config changed since the suite was loaded".into(),
            ));
        }
        let outcome = crate::train::train(
            &config,
            &crate::train::TrainOptions {
                progress,
                ..Default::default()
            },
        )
        .map_err(|e| fail(e.to_string()))?;
        if outcome.steps_run == 0 {
            eprintln!(
                "localizer '{}': reusing {} (trained {} steps)",
                localizer.name,
                outcome.best.display(),
                outcome.step
            );
        }
    }
    Ok(())
}

/// Runs one batch of images of one condition through one localizer.
pub fn localize_batch(
    suite: &Suite,
    name: &str,
    localizer: &mut dyn Localizer,
    condition: &Condition,
    images: &[&ImageRef],
    prepared: &[&Prepared],
) -> Vec<Row> {
    let size = suite.evaluation.size;
    let input_size = localizer.input_size();
    let views: Vec<RgbImage> = prepared
        .par_iter()
        .map(|p| localizer_view(&p.image, input_size, size))
        .collect();
    let gts: Vec<Option<Map>> = if localizer.needs_ground_truth() {
        prepared
            .par_iter()
            .zip(&views)
            .map(|(p, v)| {
                Some(data::resize_map_area(
                    &p.ground_truth,
                    v.width(),
                    v.height(),
                ))
            })
            .collect()
    } else {
        vec![None; views.len()]
    };
    let mut rows = Vec::with_capacity(images.len());
    let max_batch = localizer.max_batch().max(1);
    for start in (0..images.len()).step_by(max_batch) {
        let end = (start + max_batch).min(images.len());
        let inputs: Vec<LocalizerInput> = (start..end)
            .map(|i| LocalizerInput {
                id: &images[i].id,
                image: &views[i],
                ground_truth: gts[i].as_ref(),
            })
            .collect();
        let result = localizer.localize(&inputs).and_then(|preds| {
            localizers::validate_predictions(name, &inputs, &preds).map(|_| preds)
        });
        match result {
            Ok(preds) => rows.extend(
                (start..end)
                    .into_par_iter()
                    .map(|i| {
                        score_prediction(
                            suite,
                            name,
                            condition,
                            images[i],
                            &preds[i - start],
                            &prepared[i].ground_truth,
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
            Err(e) => rows.extend(
                (start..end).map(|i| failed_row(name, condition, images[i], e.to_string())),
            ),
        }
    }
    rows
}

/// Options of [`execute`].
pub struct ExecuteOptions {
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
}

/// Computes every missing work unit of the suite, appending rows to `log`; returns all rows
/// (old and new).
pub fn execute(
    suite: &Suite,
    dataset: &Dataset,
    log: &mut RowLog,
    existing: Vec<Row>,
    options: &ExecuteOptions,
) -> Result<Vec<Row>, RunError> {
    let mut localizers = build_localizers(suite)?;
    let done: HashSet<(String, String, String)> = done_keys(&existing);
    let mut all_rows = existing;
    let total = (dataset.images.len() * suite.conditions.len()) as u64;
    let bar = progress_bar(
        total,
        options.progress,
        "{elapsed_precise} [{bar:40}] {pos}/{len} image-conditions, ETA {eta}",
    );
    let batch = suite.evaluation.batch.max(1);
    for chunk in dataset.images.chunks(batch) {
        let pending = |cond: &Condition, image: &ImageRef| {
            suite
                .localizers
                .iter()
                .any(|l| !done.contains(&(l.name.clone(), cond.key.clone(), image.id.clone())))
        };
        let needed: Vec<&ImageRef> = chunk
            .iter()
            .filter(|img| suite.conditions.iter().any(|c| pending(c, img)))
            .collect();
        let loaded: Vec<LoadedImage> = needed
            .par_iter()
            .map(|img| dataset.load(img))
            .collect::<Result<Vec<_>, _>>()?;
        let hashes: Vec<String> = loaded.par_iter().map(input_hash).collect();
        for condition in &suite.conditions {
            let todo: Vec<usize> = (0..needed.len())
                .filter(|&i| pending(condition, needed[i]))
                .collect();
            let prepared: Vec<Result<Prepared, String>> = todo
                .par_iter()
                .map(|&i| prepare(suite, needed[i], &loaded[i], condition))
                .collect();
            let mut new_rows = Vec::new();
            for (config, localizer) in suite.localizers.iter().zip(localizers.iter_mut()) {
                let mut images = Vec::new();
                let mut preps = Vec::new();
                for (&i, prep) in todo.iter().zip(&prepared) {
                    if done.contains(&(
                        config.name.clone(),
                        condition.key.clone(),
                        needed[i].id.clone(),
                    )) {
                        continue;
                    }
                    match prep {
                        Ok(p) => {
                            images.push(needed[i]);
                            preps.push(p);
                        }
                        Err(e) => return Err(RunError::Other(e.clone())),
                    }
                }
                if images.is_empty() {
                    continue;
                }
                let mut rows = localize_batch(
                    suite,
                    &config.name,
                    localizer.as_mut(),
                    condition,
                    &images,
                    &preps,
                );
                for row in &mut rows {
                    let i = needed
                        .iter()
                        .position(|img| img.id == row.id)
                        .expect("row of a needed image");
                    row.input_sha256 = hashes[i].clone();
                }
                new_rows.extend(rows);
            }
            log.append(&new_rows).map_err(|source| RunError::Io {
                path: log.path().to_path_buf(),
                source,
            })?;
            all_rows.extend(new_rows);
            bar.inc(needed.len() as u64);
        }
        let skipped = chunk.len() - needed.len();
        bar.inc((skipped * suite.conditions.len()) as u64);
    }
    bar.finish_and_clear();
    Ok(all_rows)
}

/// A progress bar on stderr with `template` (indicatif syntax), hidden when `enabled` is false
/// or stderr is not a terminal (logs and CI stay clean).
pub(crate) fn progress_bar(total: u64, enabled: bool, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if !enabled || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// The run directory of a suite: `<parent>/<suite name>/<UTC time>-<config hash>`.
pub fn run_dir(parent: &Path, suite: &Suite, utc: &str) -> PathBuf {
    parent
        .join(&suite.name)
        .join(format!("{utc}-{}", suite.config_hash()))
}

/// SHA-256 of an image's clean inputs (fake pixels, then real pixels if any).
fn input_hash(loaded: &LoadedImage) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for img in std::iter::once(&loaded.fake).chain(loaded.real.as_ref()) {
        hasher.update(img.width().to_le_bytes());
        hasher.update(img.height().to_le_bytes());
        hasher.update(img.as_raw());
    }
    if let Some(mask) = &loaded.mask {
        for v in mask.as_raw() {
            hasher.update(v.to_le_bytes());
        }
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fingerprint of the evaluated data: SHA-256 over (id, input hash) of every image, in id order.
pub fn dataset_fingerprint(rows: &[Row]) -> String {
    use sha2::Digest;
    let unique: std::collections::BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.input_sha256.as_str()))
        .collect();
    let mut hasher = sha2::Sha256::new();
    for (id, hash) in unique {
        hasher.update(id.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}
