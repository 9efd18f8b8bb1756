//! Scoring one prediction: the row of metrics a work unit leaves in `per_image.jsonl`.

use localizers::Prediction;
use metrics::Map;

use crate::config::{Condition, Suite};
use crate::data::{self, ImageRef};
use crate::results::Row;

/// Metrics of one (validated) prediction against the ground truth at the evaluation size; also
/// returns the prediction resized to the evaluation size, the map that was scored.
pub fn score_prediction(
    suite: &Suite,
    localizer: &str,
    condition: &Condition,
    image: &ImageRef,
    prediction: &Prediction,
    ground_truth: &Map,
) -> (Row, Map) {
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
    (row, map)
}

pub fn failed_row(localizer: &str, condition: &Condition, image: &ImageRef, error: String) -> Row {
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
