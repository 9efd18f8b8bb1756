//! Evaluation: every (localizer, condition, image) work unit of a suite, streamed batch by
//! batch: [`prepare`] the inputs, [`localize_batch`] through a localizer, [`score_prediction`].
//!
//! Determinism: each degraded image is seeded from (suite seed, image id, condition) only, and
//! rows are sorted before aggregation, so results do not depend on the thread count, the
//! batch order or on resuming.

mod localize;
mod prepare;
mod score;
mod shard;

use std::collections::HashSet;

use rayon::prelude::*;

pub use localize::{build_localizers, localize_batch};
pub use prepare::{localizer_view, prepare, Prepared};
use score::failed_row;
pub use score::score_prediction;
pub use shard::{Shard, MAX_SHARDS};

use crate::config::{Condition, Suite};
use crate::data::{seeds, Dataset, ImageRef, LoadedImage};
use crate::error::RunError;
use crate::results::maps::Capture;
use crate::results::timing::{Phase, Stopwatch};
use crate::results::{done_keys, Row, RowLog};
use crate::util::Progress;

/// Options of [`execute`].
pub struct ExecuteOptions {
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Only this shard's images (all when None).
    pub shard: Option<Shard>,
}

/// Computes every missing work unit of the suite, appending rows to `log` and saving the
/// qualitative panels' maps through `capture`; returns all rows (old and new). `clock` takes
/// the time of each phase and localizer.
pub fn execute(
    suite: &Suite,
    dataset: &Dataset,
    log: &mut RowLog,
    existing: Vec<Row>,
    capture: &Capture,
    options: &ExecuteOptions,
    clock: &Stopwatch,
) -> Result<Vec<Row>, RunError> {
    let mut localizers = clock.time(Phase::Setup, || build_localizers(suite))?;
    for (config, localizer) in suite.localizers.iter().zip(&localizers) {
        // A chunk of the suite's batch is split into the localizer's own batches.
        let batch = suite
            .evaluation
            .batch
            .max(1)
            .min(localizer.max_batch().max(1));
        // Plugins run their own threads (or processes): the harness cannot count them.
        let plugin = [
            localizers::plugin::build::PLUGIN.name,
            localizers::plugin::build::SUBPROCESS.name,
        ]
        .contains(&config.kind.as_str());
        let threads = (!plugin).then(rayon::current_num_threads);
        clock.describe(&config.name, batch, threads);
    }
    let done: HashSet<(String, String, String)> = done_keys(&existing);
    let mut all_rows = existing;
    let images: Vec<&ImageRef> = match options.shard {
        None => dataset.images.iter().collect(),
        Some(shard) => {
            let mine = shard.select(&dataset.images);
            dataset
                .images
                .iter()
                .filter(|i| mine.contains(i.id.as_str()))
                .collect()
        }
    };
    let total = (images.len() * suite.conditions.len()) as u64;
    let bar = Progress::new(
        total,
        options.progress,
        "{elapsed_precise} [{bar:40}] {pos}/{len} image-conditions, ETA {eta} {msg}",
        &match options.shard {
            None => format!("run {}", suite.name),
            Some(shard) => format!("run {} shard {shard}", suite.name),
        },
        "image-conditions",
    );
    let mut failed = 0usize;
    let batch = suite.evaluation.batch.max(1);
    for chunk in images.chunks(batch) {
        let pending = |cond: &Condition, image: &ImageRef| {
            suite
                .localizers
                .iter()
                .any(|l| !done.contains(&(l.name.clone(), cond.key.clone(), image.id.clone())))
        };
        let pending_images: Vec<&ImageRef> = chunk
            .iter()
            .copied()
            .filter(|img| suite.conditions.iter().any(|c| pending(c, img)))
            .collect();
        let loads: Vec<Result<(LoadedImage, String), String>> = clock.wall(Phase::Load, || {
            pending_images
                .par_iter()
                .map(|img| {
                    clock.item(Phase::Load, || {
                        let loaded = dataset.load(img).map_err(|e| e.to_string())?;
                        let hash = input_hash(&loaded);
                        Ok((loaded, hash))
                    })
                })
                .collect()
        });
        // An image that cannot be read (a truncated file) fails its own units, with the reason;
        // the batch's other images go on.
        let mut unreadable_rows = Vec::new();
        let (mut needed, mut loaded, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
        for (img, load) in pending_images.iter().zip(loads) {
            match load {
                Ok((image, hash)) => {
                    needed.push(*img);
                    loaded.push(image);
                    hashes.push(hash);
                }
                Err(e) => {
                    for condition in suite.conditions.iter().filter(|c| pending(c, img)) {
                        for config in &suite.localizers {
                            if !done.contains(&(
                                config.name.clone(),
                                condition.key.clone(),
                                img.id.clone(),
                            )) {
                                unreadable_rows.push(failed_row(
                                    &config.name,
                                    condition,
                                    img,
                                    e.clone(),
                                ));
                            }
                        }
                    }
                }
            }
        }
        if !unreadable_rows.is_empty() {
            record(
                log,
                clock,
                &bar,
                &mut failed,
                &mut all_rows,
                unreadable_rows,
            )?;
            bar.inc((pending_images.len() - needed.len()) as u64 * suite.conditions.len() as u64);
        }
        for condition in &suite.conditions {
            let todo: Vec<usize> = (0..needed.len())
                .filter(|&i| pending(condition, needed[i]))
                .collect();
            let prepared: Vec<Result<Prepared, String>> = clock.wall(Phase::Prepare, || {
                todo.par_iter()
                    .map(|&i| {
                        clock.item(Phase::Prepare, || {
                            prepare(suite, needed[i], &loaded[i], condition)
                        })
                    })
                    .collect()
            });
            for (&i, prep) in todo.iter().zip(&prepared) {
                if let (Ok(p), true) = (prep, capture.wants(&condition.key, &needed[i].id)) {
                    clock.time(Phase::Write, || {
                        capture.save_inputs(
                            &condition.key,
                            &needed[i].id,
                            &p.image,
                            &p.ground_truth,
                            suite.evaluation.size,
                        )
                    })?;
                }
            }
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
                        // The image cannot be prepared under this condition (say, its ground
                        // truth cannot be derived): its units fail, the others go on.
                        Err(e) => {
                            new_rows.push(failed_row(&config.name, condition, needed[i], e.clone()))
                        }
                    }
                }
                if images.is_empty() {
                    continue;
                }
                let results = localize_batch(
                    suite,
                    &config.name,
                    localizer.as_mut(),
                    condition,
                    &images,
                    &preps,
                    clock,
                );
                for (mut row, map) in results {
                    let i = needed
                        .iter()
                        .position(|img| img.id == row.id)
                        .expect("row of a needed image");
                    row.input_sha256 = hashes[i].clone();
                    if let Some(map) = map.filter(|_| capture.wants(&condition.key, &row.id)) {
                        clock.time(Phase::Write, || {
                            capture.save_prediction(&condition.key, &row.id, &config.name, &map)
                        })?;
                    }
                    new_rows.push(row);
                }
            }
            record(log, clock, &bar, &mut failed, &mut all_rows, new_rows)?;
            bar.inc(needed.len() as u64);
        }
        let skipped = chunk.len() - needed.len();
        bar.inc((skipped * suite.conditions.len()) as u64);
    }
    bar.finish();
    Ok(all_rows)
}

/// Appends new rows to the log (so an interrupted run keeps them), counts their failures in the
/// progress message and adds them to the run's rows.
fn record(
    log: &mut RowLog,
    clock: &Stopwatch,
    bar: &Progress,
    failed: &mut usize,
    all_rows: &mut Vec<Row>,
    rows: Vec<Row>,
) -> Result<(), RunError> {
    clock
        .time(Phase::Write, || log.append(&rows))
        .map_err(|source| RunError::Io {
            path: log.path().to_path_buf(),
            source,
        })?;
    let newly_failed = rows.iter().filter(|r| r.error.is_some()).count();
    if newly_failed > 0 {
        *failed += newly_failed;
        bar.set_message(format!("{failed} work units failed"));
    }
    all_rows.extend(rows);
    Ok(())
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
    seeds::hex(&hasher.finalize())
}
