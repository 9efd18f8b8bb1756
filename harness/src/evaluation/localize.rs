//! Building a suite's localizers and running one batch through one of them.

use image::RgbImage;
use localizers::{Localizer, LocalizerInput, Prediction};
use metrics::Map;
use rayon::prelude::*;

use super::prepare::{localizer_view, Prepared};
use super::score::{failed_row, score_prediction};
use crate::config::{Condition, Suite};
use crate::data::{self, ImageRef};
use crate::error::RunError;
use crate::results::timing::{Phase, Stopwatch};
use crate::results::Row;

/// Builds the suite's localizers.
pub fn build_localizers(suite: &Suite) -> Result<Vec<Box<dyn Localizer>>, RunError> {
    suite
        .localizers
        .iter()
        .map(|c| {
            localizers::build(&c.kind, &c.build_params(suite.dir()))
                .map_err(|e| RunError::Other(format!("localizer '{}': {e}", c.name)))
        })
        .collect()
}

/// Runs one batch of images of one condition through one localizer: a row per image and, for
/// each valid prediction, the map at the evaluation size. `clock` takes the time of each step.
pub fn localize_batch(
    suite: &Suite,
    name: &str,
    localizer: &mut dyn Localizer,
    condition: &Condition,
    images: &[&ImageRef],
    prepared: &[&Prepared],
    clock: &Stopwatch,
) -> Vec<(Row, Option<Map>)> {
    let size = suite.evaluation.size;
    let input_size = localizer.input_size();
    let needs_ground_truth = localizer.needs_ground_truth();
    let (views, gts): (Vec<RgbImage>, Vec<Option<Map>>) = clock.wall(Phase::Prepare, || {
        prepared
            .par_iter()
            .map(|p| {
                clock.item(Phase::Prepare, || {
                    let view = localizer_view(&p.image, input_size, size);
                    let gt = needs_ground_truth.then(|| {
                        data::resize_map_area(&p.ground_truth, view.width(), view.height())
                    });
                    (view, gt)
                })
            })
            .unzip()
    });
    clock.count_images(name, images.len());
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
        let results = clock.time(Phase::Localize, || {
            localize_each(name, localizer, &inputs, clock)
        });
        let scored: Vec<_> = clock.wall(Phase::Score, || {
            (start..end)
                .into_par_iter()
                .zip(results)
                .map(|(i, result)| {
                    clock.item(Phase::Score, || match result {
                        Ok(prediction) => {
                            let (row, map) = score_prediction(
                                suite,
                                name,
                                condition,
                                images[i],
                                &prediction,
                                &prepared[i].ground_truth,
                            );
                            (row, Some(map))
                        }
                        Err(error) => (failed_row(name, condition, images[i], error), None),
                    })
                })
                .collect()
        });
        rows.extend(scored);
    }
    rows
}

/// One validated prediction or error per input. A failed batch is retried image by image: the
/// `Localizer` trait can only fail a batch as a whole, and one bad image (a corrupt saved map, an
/// input that crashes a plugin) must not fail the others or lend them its error. Every
/// `localize` call counts in the localizer's time, retries included: they are its cost too.
fn localize_each(
    name: &str,
    localizer: &mut dyn Localizer,
    inputs: &[LocalizerInput],
    clock: &Stopwatch,
) -> Vec<Result<Prediction, String>> {
    let mut attempt = |batch: &[LocalizerInput]| {
        let result = clock.localize(name, || localizer.localize(batch));
        result.and_then(|predictions| {
            localizers::validate_predictions(name, batch, &predictions).map(|()| predictions)
        })
    };
    match attempt(inputs) {
        Ok(predictions) => predictions.into_iter().map(Ok).collect(),
        Err(e) if inputs.len() == 1 => vec![Err(e.to_string())],
        Err(_) => inputs
            .iter()
            .map(|input| {
                attempt(std::slice::from_ref(input))
                    .map(|mut predictions| predictions.remove(0))
                    .map_err(|e| e.to_string())
            })
            .collect(),
    }
}
