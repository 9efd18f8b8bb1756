//! `constant`: the same value everywhere (lower bound).

use crate::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};

/// Predicts `value` at every pixel, whatever the image: the score any localizer must beat.
#[derive(Clone, Copy, Debug)]
pub struct Constant {
    value: f32,
}

impl Constant {
    /// Name in suites and reports.
    pub const NAME: &'static str = "constant";
    /// Default map value (maximal uncertainty).
    pub const DEFAULT_VALUE: f32 = 0.5;

    /// A constant localizer predicting `value`, which must be finite and in [0,1].
    pub fn new(value: f32) -> Result<Self, LocalizerError> {
        if !(0.0..=1.0).contains(&value) {
            return Err(LocalizerError::BadParameter {
                localizer: Self::NAME.to_string(),
                param: "value".to_string(),
                message: format!("must be a number in [0,1] (maps are probabilities), got {value}"),
            });
        }
        Ok(Self { value })
    }

    /// The predicted value, in [0,1].
    pub fn value(&self) -> f32 {
        self.value
    }
}

impl Default for Constant {
    fn default() -> Self {
        Self {
            value: Self::DEFAULT_VALUE,
        }
    }
}

impl Localizer for Constant {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn input_size(&self) -> InputSize {
        InputSize::Native
    }

    fn max_batch(&self) -> usize {
        64
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        Ok(batch
            .iter()
            .map(|input| {
                let (width, height) = input.image.dimensions();
                Prediction {
                    map: Map::from_pixel(width, height, image::Luma([self.value])),
                    score: None,
                }
            })
            .collect())
    }
}
