//! Data: manifests, image conversion, ground truth and resizing (SPEC §2).

mod ground_truth;
mod image_io;
mod manifest;
mod resize;

use std::path::PathBuf;

pub use ground_truth::{
    constant_map, difference_gray, gray_to_map, ground_truth, map_to_gray, pil_luma,
};
pub use image_io::{load_map, load_rgb, save_gray_png, save_rgb_png, to_rgb8};
pub use manifest::{Manifest, ManifestEntry, COLUMNS};
pub use resize::{resize_map_area, resize_map_bilinear, resize_rgb};

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
