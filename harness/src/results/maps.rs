//! The maps the report's qualitative panels show, captured while the suite runs (by
//! `evaluation::execute`): for a few fake
//! images spread over generators and properties ([`spread_examples`]), under the clean and
//! disorganized conditions,
//! the image as shown, its ground truth and every localizer's validated prediction, all at the
//! evaluation size. The report reads these files and never runs a localizer again, so a
//! localizer that fails leaves a gap in a panel instead of stopping the report; a resumed or
//! sharded run finds the files its earlier or sibling processes wrote.
//!
//! Layout under the run directory: `maps/index.json` (the chosen images and file stems),
//! `maps/<condition>/<image stem>/image.png` (8-bit RGB), `…/ground_truth.npy` and
//! `…/<localizer stem>.npy` (float32 NPY, the exact maps; `numpy.load` reads them).

use std::path::{Path, PathBuf};

use image::{ImageBuffer, RgbImage};
use metrics::Map;
use serde::{Deserialize, Serialize};

use crate::config::{Condition, Suite};
use crate::data::{self, seeds, Dataset, ImageRef, Kind};
use crate::error::RunError;

/// Directory of the captured maps inside a run directory.
pub const MAPS_DIR: &str = "maps";
const INDEX: &str = "index.json";

/// `maps/index.json`: what was chosen, in panel order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureIndex {
    /// Conditions captured (keys).
    pub conditions: Vec<String>,
    /// The chosen images, in panel order.
    pub images: Vec<CapturedImage>,
    /// Localizers in suite order, with the file stem of their maps.
    pub localizers: Vec<CapturedLocalizer>,
}

/// One chosen image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedImage {
    pub id: String,
    /// `generator/property`, the panel row's label.
    pub category: String,
    /// Directory name under `maps/<condition>/`.
    pub stem: String,
}

/// One localizer's file stem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedLocalizer {
    pub name: String,
    pub stem: String,
}

/// A file name for `name`: itself when it is already a safe, short file name, else its safe
/// characters plus a hash of the whole name, so distinct names never share a file (`a/b` and
/// `a_b` differ).
pub fn file_stem(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if safe == name && !safe.is_empty() {
        return safe;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    format!("{safe}-{}", &seeds::hex(&digest)[..8])
}

/// Which of the fakes, given as `(generator, property, entire synthesis)` in dataset order, the
/// qualitative panels show: `n` of them, deterministically, spread over generators and
/// properties. The dataset lists a generator's properties together, so taking the first image
/// of each generator would show one property only; instead each pick prefers an unseen
/// generator *and* an unseen property, then an unseen category. One row goes to a fully
/// synthesised face when there are any and `n` ≥ 2: its ground truth is the whole image, a
/// different reading of a map. Partial manipulations come first, then the entire synthesis.
pub fn spread_examples(fakes: &[(&str, &str, bool)], n: usize) -> Vec<usize> {
    let has = |entire: bool| fakes.iter().any(|f| f.2 == entire);
    let partial_rows = if n >= 2 && has(true) && has(false) {
        n - 1
    } else {
        n
    };
    let mut chosen: Vec<usize> = Vec::new();
    pick_spread(fakes, &mut chosen, false, partial_rows);
    pick_spread(fakes, &mut chosen, true, n);
    // Too few partial categories: fill with more of them.
    pick_spread(fakes, &mut chosen, false, n);
    chosen
}

/// Adds fakes of one kind (entire synthesis or not) to `chosen` until it holds `budget`: first
/// those of a generator and a property not yet chosen, then those of a category not yet chosen.
fn pick_spread(fakes: &[(&str, &str, bool)], chosen: &mut Vec<usize>, entire: bool, budget: usize) {
    for pass in 0..2 {
        for (k, f) in fakes.iter().enumerate() {
            if f.2 != entire || chosen.len() >= budget || chosen.contains(&k) {
                continue;
            }
            let taken = |same: &dyn Fn(&(&str, &str, bool)) -> bool| {
                chosen.iter().any(|&c| same(&fakes[c]))
            };
            let fresh = if pass == 0 {
                !taken(&|c| c.0 == f.0) && !taken(&|c| c.1 == f.1)
            } else {
                !taken(&|c| c.0 == f.0 && c.1 == f.1)
            };
            if fresh {
                chosen.push(k);
            }
        }
    }
}

/// Captures for one run directory.
pub struct Capture {
    dir: PathBuf,
    index: CaptureIndex,
}

impl Capture {
    /// Chooses `report.qualitative` images spread over generators and properties
    /// ([`spread_examples`]) and writes the index.
    pub fn start(run_dir: &Path, suite: &Suite, dataset: &Dataset) -> Result<Capture, RunError> {
        let fakes: Vec<&ImageRef> = dataset.images.iter().filter(|i| i.is_fake()).collect();
        let keys: Vec<(&str, &str, bool)> = fakes
            .iter()
            .map(|i| {
                let entire = i.kind == Kind::Entire;
                (i.generator.as_str(), i.property.as_str(), entire)
            })
            .collect();
        let chosen: Vec<&ImageRef> = spread_examples(&keys, suite.qualitative)
            .into_iter()
            .map(|k| fakes[k])
            .collect();
        let index = CaptureIndex {
            conditions: suite
                .conditions
                .iter()
                .filter(|c| c.key == Condition::CLEAN || c.key == Condition::DISORGANIZE)
                .map(|c| c.key.clone())
                .collect(),
            images: chosen
                .iter()
                .map(|i| CapturedImage {
                    id: i.id.clone(),
                    category: i.category(),
                    stem: file_stem(&i.id),
                })
                .collect(),
            localizers: suite
                .localizers
                .iter()
                .map(|l| CapturedLocalizer {
                    name: l.name.clone(),
                    stem: file_stem(&l.name),
                })
                .collect(),
        };
        let dir = run_dir.join(MAPS_DIR);
        let path = dir.join(INDEX);
        let json = serde_json::to_vec_pretty(&index).expect("index serializes");
        crate::util::write_atomic(&path, &json).map_err(|source| RunError::Io { path, source })?;
        Ok(Capture { dir, index })
    }

    fn image_dir(&self, condition: &str, id: &str) -> Option<PathBuf> {
        if !self.index.conditions.iter().any(|c| c == condition) {
            return None;
        }
        let image = self.index.images.iter().find(|i| i.id == id)?;
        Some(self.dir.join(condition).join(&image.stem))
    }

    /// True when `id` under `condition` is captured.
    pub fn wants(&self, condition: &str, id: &str) -> bool {
        self.image_dir(condition, id).is_some()
    }

    /// Saves the image as presented (resized to the evaluation size) and its ground truth.
    pub fn save_inputs(
        &self,
        condition: &str,
        id: &str,
        image: &RgbImage,
        ground_truth: &Map,
        size: u32,
    ) -> Result<(), RunError> {
        let Some(dir) = self.image_dir(condition, id) else {
            return Ok(());
        };
        let shown = data::resize_rgb(image, size, size);
        write_png(&dir.join("image.png"), &shown)?;
        write_map(&dir.join("ground_truth.npy"), ground_truth)
    }

    /// Saves a localizer's validated prediction at the evaluation size.
    pub fn save_prediction(
        &self,
        condition: &str,
        id: &str,
        localizer: &str,
        map: &Map,
    ) -> Result<(), RunError> {
        let Some(dir) = self.image_dir(condition, id) else {
            return Ok(());
        };
        let stem = file_stem(localizer);
        write_map(&dir.join(format!("{stem}.npy")), map)
    }
}

/// Encodes a PNG in memory and writes it atomically, like every other artefact.
fn write_png<P>(path: &Path, img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Result<(), RunError>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| RunError::Other(format!("{}: {e}", path.display())))?;
    crate::util::write_atomic(path, &bytes).map_err(|source| RunError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A map as a float32 NPY file (C order, shape (height, width)), exact where a PNG would round.
fn write_map(path: &Path, map: &Map) -> Result<(), RunError> {
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        map.height(),
        map.width()
    );
    // NPY 1.0: magic, version, header length, header padded with spaces to a 64-byte boundary
    // and ended by a newline.
    let unpadded = 10 + header.len() + 1;
    let padding = unpadded.div_ceil(64) * 64 - unpadded;
    let mut bytes = Vec::with_capacity(unpadded + padding + 4 * map.as_raw().len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&((header.len() + padding + 1) as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', padding));
    bytes.push(b'\n');
    for v in map.as_raw() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    crate::util::write_atomic(path, &bytes).map_err(|source| RunError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_map(path: &Path) -> Option<Map> {
    localizers::plugin::read_npy_map(&std::fs::read(path).ok()?).ok()
}

/// Reads a run directory's capture index, if the run captured maps.
pub fn read_index(run_dir: &Path) -> Option<CaptureIndex> {
    let text = std::fs::read(run_dir.join(MAPS_DIR).join(INDEX)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The captured files of one image under one condition: (image, ground truth, prediction of
/// `localizer_stem`), where all three exist and decode.
pub fn read_captured(
    run_dir: &Path,
    condition: &str,
    image_stem: &str,
    localizer_stem: &str,
) -> Option<(RgbImage, Map, Map)> {
    let dir = run_dir.join(MAPS_DIR).join(condition).join(image_stem);
    let image = data::load_rgb(&dir.join("image.png")).ok()?;
    let gt = read_map(&dir.join("ground_truth.npy"))?;
    let pred = read_map(&dir.join(format!("{localizer_stem}.npy")))?;
    Some((image, gt, pred))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip_exactly_through_npy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npy");
        let map = Map::from_fn(5, 3, |x, y| image::Luma([x as f32 * 0.1 + y as f32 / 7.0]));
        write_map(&path, &map).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // The header (magic to newline) is a multiple of 64 bytes, as numpy writes it.
        assert_eq!((bytes.len() - 4 * 15) % 64, 0);
        assert_eq!(read_map(&path).unwrap(), map);
    }

    #[test]
    fn qualitative_rows_spread_over_generators_properties_and_full_synthesis() {
        // The synthetic benchmark's order: each generator's properties together, the fully
        // synthesised faces last.
        let mut fakes: Vec<(&str, &str, bool)> = Vec::new();
        for g in ["tconv", "nearest", "bilinear", "bicubic"] {
            for p in ["bald", "eyeglasses", "smile"] {
                fakes.push((g, p, false));
            }
        }
        fakes.extend([
            ("full_nearest", "entire", true),
            ("full_style", "entire", true),
        ]);
        let shown = |n| -> Vec<(&str, &str)> {
            spread_examples(&fakes, n)
                .into_iter()
                .map(|k| (fakes[k].0, fakes[k].1))
                .collect()
        };
        assert_eq!(
            shown(4),
            vec![
                ("tconv", "bald"),
                ("nearest", "eyeglasses"),
                ("bilinear", "smile"),
                ("full_nearest", "entire"),
            ]
        );
        assert_eq!(
            shown(3),
            vec![
                ("tconv", "bald"),
                ("nearest", "eyeglasses"),
                ("full_nearest", "entire")
            ]
        );
        assert_eq!(shown(1), vec![("tconv", "bald")]);
        // More rows than generator/property diagonals: new categories, then the second
        // entire synthesis only once partial categories are used up.
        let six = shown(6);
        assert_eq!(six.len(), 6);
        let properties: std::collections::BTreeSet<&str> = six.iter().map(|c| c.1).collect();
        assert_eq!(properties.len(), 4, "{six:?}");
        assert_eq!(six.iter().filter(|c| c.1 == "entire").count(), 1);
        assert_eq!(shown(20).len(), 14);
        // Only entire synthesis, or only partial manipulations: every row from what there is.
        let entire_only = [("full_a", "entire", true), ("full_b", "entire", true)];
        assert_eq!(spread_examples(&entire_only, 3), vec![0, 1]);
        assert_eq!(spread_examples(&fakes[..3], 2), vec![0, 1]);
        assert!(spread_examples(&[], 3).is_empty());
    }

    #[test]
    fn stems_are_unique_and_safe() {
        assert_eq!(file_stem("deeplabv3"), "deeplabv3");
        let (a, b) = (file_stem("a/b"), file_stem("a_b"));
        assert_ne!(a, b);
        assert!(a.starts_with("a_b-"));
        assert!(file_stem("").starts_with('-'));
        assert!(file_stem(&"x".repeat(300)).len() <= 69);
    }
}
