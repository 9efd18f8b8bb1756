//! Per-image metrics for real-numbered fake-region maps (SPEC §4) and their aggregation.

/// A real-numbered map in [0,1], row-major, one value per pixel (1 = manipulated).
pub type Map = image::ImageBuffer<image::Luma<f32>, Vec<f32>>;
