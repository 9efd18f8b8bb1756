//! The error type shared by every metric, and the input checks that produce it.

use crate::Map;

/// Why a metric could not be computed. Every message says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    /// The predicted map and the ground truth differ in size.
    #[error(
        "map size mismatch: pred is {pred_width}x{pred_height} but gt is {gt_width}x{gt_height}; \
         resize the prediction to the evaluation size before scoring"
    )]
    SizeMismatch {
        /// Width of the predicted map, pixels.
        pred_width: u32,
        /// Height of the predicted map, pixels.
        pred_height: u32,
        /// Width of the ground-truth map, pixels.
        gt_width: u32,
        /// Height of the ground-truth map, pixels.
        gt_height: u32,
    },
    /// A map holds NaN or ±Inf.
    #[error(
        "{which} map has a non-finite value ({value}) at pixel (x={x}, y={y}); \
         maps must hold finite values in [0, 1]: fix the localizer output"
    )]
    NonFinite {
        /// Which map: `"pred"` or `"gt"`.
        which: &'static str,
        /// Column of the offending pixel.
        x: u32,
        /// Row of the offending pixel.
        y: u32,
        /// The offending value.
        value: f32,
    },
    /// A map is smaller than the metric's window.
    #[error(
        "{metric} needs maps of at least {min}x{min} pixels but got {width}x{height}; \
         evaluate at a larger size (the default evaluation size is 224x224)"
    )]
    TooSmall {
        /// The metric that refused the map, e.g. `"SSIM"`.
        metric: &'static str,
        /// Width of the map, pixels.
        width: u32,
        /// Height of the map, pixels.
        height: u32,
        /// Smallest accepted side, pixels.
        min: u32,
    },
    /// A map or a list of per-image values is empty.
    #[error(
        "nothing to score: the map or the list of values is empty; \
         supply a map of at least 1x1 pixels or at least one value per list"
    )]
    Empty,
    /// Two lists that must be paired element by element differ in length.
    #[error(
        "{left} has {left_len} values but {right} has {right_len}; \
         they are paired per image and must have the same length"
    )]
    LengthMismatch {
        /// Name of the first list.
        left: &'static str,
        /// Length of the first list.
        left_len: usize,
        /// Name of the second list.
        right: &'static str,
        /// Length of the second list.
        right_len: usize,
    },
    /// A list of per-image values holds NaN or ±Inf.
    #[error(
        "{which}[{index}] is not finite ({value}); every per-image value must be finite: \
         check the metric or localizer that produced it"
    )]
    NonFiniteValue {
        /// Name of the list, e.g. `"scores"`.
        which: &'static str,
        /// Index of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter is outside its valid range.
    #[error("invalid {name} = {value}: {expected}")]
    InvalidParameter {
        /// Parameter name, e.g. `"confidence"`.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A statistic is undefined on the full data (e.g. a ratio over a zero mean, an AUC over one
    /// class).
    #[error("{what} is undefined on these values: {why}")]
    Undefined {
        /// The statistic, e.g. `"ratio"`.
        what: &'static str,
        /// Why it is undefined and what to do about it.
        why: &'static str,
    },
}

/// Checks that `pred` and `gt` have the same, non-zero size and hold only finite values.
pub(crate) fn check_pair(pred: &Map, gt: &Map) -> Result<(), MetricError> {
    if pred.dimensions() != gt.dimensions() {
        return Err(MetricError::SizeMismatch {
            pred_width: pred.width(),
            pred_height: pred.height(),
            gt_width: gt.width(),
            gt_height: gt.height(),
        });
    }
    if pred.is_empty() {
        return Err(MetricError::Empty);
    }
    check_finite_map(pred, "pred")?;
    check_finite_map(gt, "gt")
}

/// Reports the first non-finite pixel of `map`, in row-major order.
pub(crate) fn check_finite_map(map: &Map, which: &'static str) -> Result<(), MetricError> {
    // A branch-free scan vectorises; the position is only searched for on failure.
    if map.as_raw().iter().fold(true, |ok, v| ok & v.is_finite()) {
        return Ok(());
    }
    match map.as_raw().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let w = map.width() as usize;
            Err(MetricError::NonFinite {
                which,
                x: (i % w) as u32,
                y: (i / w) as u32,
                value: map.as_raw()[i],
            })
        }
    }
}

/// Checks that a per-image list is non-empty and finite.
pub(crate) fn check_values(values: &[f64], which: &'static str) -> Result<(), MetricError> {
    if values.is_empty() {
        return Err(MetricError::Empty);
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(MetricError::NonFiniteValue {
            which,
            index,
            value: values[index],
        }),
    }
}

/// Checks that two paired lists have the same length.
pub(crate) fn check_same_len(
    left: &'static str,
    left_len: usize,
    right: &'static str,
    right_len: usize,
) -> Result<(), MetricError> {
    if left_len == right_len {
        Ok(())
    } else {
        Err(MetricError::LengthMismatch {
            left,
            left_len,
            right,
            right_len,
        })
    }
}

/// Checks that a threshold is a finite number (thresholds outside [0, 1] are legal but unusual).
pub(crate) fn check_threshold(name: &'static str, value: f64) -> Result<(), MetricError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(MetricError::InvalidParameter {
            name,
            value,
            expected: "a finite threshold, usually in [0, 1]",
        })
    }
}
