//! Charts of results (PNG and SVG) drawn with plotters (docs/design.md §7; paper Figures 1, 6 and 8).
//!
//! Every chart function returns a [`Rendered`] pair, a PNG and an SVG of the same drawing, as
//! bytes; the caller decides where to write them (atomically). Text uses the embedded DejaVu Sans
//! font, never system fonts, so the output is byte-identical for identical input on any machine.
//! Maps are coloured with matplotlib's viridis.
//!
//! - [`gamma_curves`]: γ against degradation level (Figure 8); [`level_curves`]: any value
//!   against level (the FPR on real images).
//! - [`grouped_bars`]: γ under disorganization per metric (Figure 6), or per-category bars.
//! - [`qualitative_panel`]: fake, ground truth, prediction, overlay (Figure 1).
//! - [`heatmap`]: cross-generator matrix (Table 3).
//! - [`loss_curves`]: training and validation loss against step.

mod axis;
mod bars;
mod canvas;
mod heatmap;
mod legend;
mod levels;
mod lines;
mod qualitative;
mod style;

pub use bars::{grouped_bars, BarGroup};
pub use heatmap::heatmap;
pub use levels::{gamma_curves, level_curves, LevelPanel, ValueAxis};
pub use lines::{loss_curves, LossCurve};
pub use qualitative::{qualitative_panel, QualitativeRow};

/// One chart rendered twice: as a PNG file and as a self-contained SVG document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// PNG file bytes (8-bit RGB).
    pub png: Vec<u8>,
    /// SVG document text (raster tiles, if any, embedded as base64 PNG).
    pub svg: String,
    /// What the chart left out of the input, one sentence each (e.g. non-finite values skipped).
    /// The same sentences are printed in small type on the chart itself.
    pub notes: Vec<String>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw (no panels, series, groups, rows or finite values).
    #[error("{chart}: nothing to draw: {what}")]
    Empty {
        /// The chart function that refused.
        chart: &'static str,
        /// What was missing and how to supply it.
        what: String,
    },
    /// The input is malformed (mismatched lengths, non-finite map values, bad range, ...).
    #[error("{chart}: invalid input: {what}")]
    Invalid {
        /// The chart function that refused.
        chart: &'static str,
        /// What is wrong and how to fix it.
        what: String,
    },
    /// The chart would exceed the largest canvas drawn ([`MAX_SIDE_PX`] pixels a side).
    #[error("{chart}: the chart would be {width}x{height} px, over the {max} px limit; split the input into several charts")]
    TooLarge {
        /// The chart function that refused.
        chart: &'static str,
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
        /// The limit in pixels.
        max: u32,
    },
    /// The drawing library failed (a bug, or the embedded font failed to load).
    #[error("drawing failed: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// The largest width or height of a chart, in pixels.
pub const MAX_SIDE_PX: u32 = 8192;

/// One point with its confidence interval (`lo ≤ y ≤ hi` expected, not required).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointCi {
    /// Position on the horizontal axis (e.g. the degradation level).
    pub x: f64,
    /// The value (e.g. γ in percent).
    pub y: f64,
    /// Lower bound of the confidence interval, same unit as `y`.
    pub lo: f64,
    /// Upper bound of the confidence interval, same unit as `y`.
    pub hi: f64,
}

/// A named line of points, e.g. one localizer's γ over the levels of one degradation.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label (the localizer's name); equal labels share one colour across panels.
    pub label: String,
    /// The points, in any order (drawn sorted by `x`).
    pub points: Vec<PointCi>,
}
