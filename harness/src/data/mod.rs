//! Data: what a suite evaluates and how each image and its ground truth are made.
//!
//! [`sample`] names splits and kinds; [`seeds`] derives every seed; [`image_io`] and
//! [`resize`] read and resample images; [`ground_truth`] is paper eq. 2 and the native ground
//! truth of every kind of sample; [`manifest`] reads real data sets; [`synth`] renders the
//! embedded synthetic benchmark; [`photos`] manipulates the embedded real photographs with the
//! benchmark's generators; [`selection`] picks a suite's images from any of them and loads
//! them one at a time. See docs/data.md, docs/synthetic.md and docs/photos.md.

mod ground_truth;
mod image_io;
mod manifest;
pub mod photos;
mod resize;
pub mod sample;
pub mod seeds;
mod selection;
pub mod synth;

use std::path::PathBuf;

pub use ground_truth::{
    constant_map, difference_gray, export_gray, gray_to_map, ground_truth, map_to_gray,
    native_ground_truth, pil_luma, GroundTruthPolicy,
};
pub use image_io::{
    image_dimensions, load_map, load_rgb, save_gray_png, save_rgb_jpeg, save_rgb_png, to_rgb8,
    MAX_BATCH_PIXELS, MAX_IMAGE_PIXELS,
};
pub use manifest::{header_line, push_row, Manifest, ManifestEntry, COLUMNS};
pub use resize::{resize_map_area, resize_map_bilinear, resize_rgb};
pub use sample::{Kind, LoadedImage, Split, UnknownName};
pub use selection::{DataConfig, Dataset, DatasetError, DatasetSummary, ImageRef, SourceKind};

/// Problems with input data; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: file not found", path.display())]
    Missing { path: PathBuf },
    #[error("{}: cannot read image: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: unsupported image: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("{}: cannot write: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("{what} differ in size: {}×{} vs {}×{}", a.0, a.1, b.0, b.1)]
    SizeMismatch {
        what: String,
        a: (u32, u32),
        b: (u32, u32),
    },
    #[error("{}: the manifest is broken, nothing was run:\n  {}", path.display(), problems.join("\n  "))]
    Manifest {
        path: PathBuf,
        problems: Vec<String>,
    },
}
