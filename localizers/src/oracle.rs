//! `oracle`: returns the ground truth it is given (upper bound and harness self-check).

use crate::{InputSize, Localizer, LocalizerError, LocalizerInput, Prediction};

/// Returns the ground truth unchanged, so every metric reaches its best value.
///
/// The harness supplies the ground truth in [`LocalizerInput::ground_truth`] at the evaluation
/// size (the oracle asks for [`InputSize::Evaluation`]), so the map it returns is scored against
/// itself: COSS 1, PSNR at its cap, SSIM 1. A lower value exposes a bug in the harness. It has no
/// image-level score; the harness's map→score rule applies.
#[derive(Clone, Copy, Debug, Default)]
pub struct Oracle;

impl Oracle {
    /// Name in suites and reports.
    pub const NAME: &'static str = "oracle";
}

impl Localizer for Oracle {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn input_size(&self) -> InputSize {
        InputSize::Evaluation
    }

    fn max_batch(&self) -> usize {
        // Copying maps is cheap; large batches only save calls.
        64
    }

    fn needs_ground_truth(&self) -> bool {
        true
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        batch
            .iter()
            .map(|input| {
                let failed = |message: String| LocalizerError::Failed {
                    localizer: Self::NAME.to_string(),
                    image: input.id.to_string(),
                    message,
                };
                let gt = input.ground_truth.ok_or_else(|| {
                    failed(
                        "no ground truth supplied; the oracle only works when the harness passes \
                         the ground truth (it does for localizers whose needs_ground_truth() is true)"
                            .to_string(),
                    )
                })?;
                if gt.dimensions() != input.image.dimensions() {
                    let ((gw, gh), (iw, ih)) = (gt.dimensions(), input.image.dimensions());
                    return Err(failed(format!(
                        "ground truth is {gw}×{gh} but the image is {iw}×{ih}; both must be at the \
                         evaluation size"
                    )));
                }
                Ok(Prediction { map: gt.clone(), score: None })
            })
            .collect()
    }
}
