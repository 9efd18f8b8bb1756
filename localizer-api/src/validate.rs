//! Checking a localizer's output against its contract before anything is scored.

use crate::{LocalizerError, LocalizerInput, Prediction};

/// Checks that `predictions` answer `batch`: one per input, in order; each map the input image's
/// size with every value finite and in [0,1]; the score, if any, finite and in [0,1].
///
/// The error ([`LocalizerError::InvalidOutput`]) names `localizer`, the image id and, for a bad
/// map, the first offending pixel in row-major order.
pub fn validate_predictions(
    localizer: &str,
    batch: &[LocalizerInput<'_>],
    predictions: &[Prediction],
) -> Result<(), LocalizerError> {
    let invalid = |image: &str, message: String| LocalizerError::InvalidOutput {
        localizer: localizer.to_string(),
        image: image.to_string(),
        message,
    };
    if predictions.len() != batch.len() {
        // Name the first image left without a prediction, or the last one answered twice over.
        let image = batch
            .get(predictions.len())
            .or(batch.last())
            .map_or("<empty batch>", |input| input.id);
        return Err(invalid(
            image,
            format!(
                "returned {} predictions for a batch of {} images; return exactly one per input, in order",
                predictions.len(),
                batch.len()
            ),
        ));
    }
    for (input, prediction) in batch.iter().zip(predictions) {
        let (mw, mh) = prediction.map.dimensions();
        let (iw, ih) = input.image.dimensions();
        if (mw, mh) != (iw, ih) {
            return Err(invalid(
                input.id,
                format!("map is {mw}×{mh} but the input image is {iw}×{ih}; return a map the size of the input"),
            ));
        }
        // Each chunk is checked without an early exit per value, which vectorises (2× faster
        // on 224×224 maps): this runs on every map, on the thread that waits for the batch.
        // Only a bad map is searched for its first offending pixel.
        let values = prediction.map.as_raw();
        let valid = |v: &f32| (0.0..=1.0).contains(v);
        let bad = if values
            .chunks(1024)
            .all(|chunk| chunk.iter().fold(true, |ok, v| ok & valid(v)))
        {
            None
        } else {
            values.iter().enumerate().find(|(_, v)| !valid(v))
        };
        if let Some((i, v)) = bad {
            let (x, y) = (i % mw as usize, i / mw as usize);
            let what = if v.is_finite() {
                "outside [0,1]"
            } else {
                "not finite"
            };
            return Err(invalid(
                input.id,
                format!("map value {v} at pixel (x={x}, y={y}) is {what}; maps must be finite and in [0,1]"),
            ));
        }
        if let Some(score) = prediction.score {
            if !(0.0..=1.0).contains(&score) {
                let what = if score.is_finite() {
                    "outside [0,1]"
                } else {
                    "not finite"
                };
                return Err(invalid(
                    input.id,
                    format!("image score {score} is {what}; scores must be probabilities in [0,1]"),
                ));
            }
        }
    }
    Ok(())
}
