//! `saved_maps`: predictions computed elsewhere and saved as one file per image.

use crate::npy::read_npy_map;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use std::path::{Path, PathBuf};

/// File format of a saved map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapFormat {
    /// 8-bit (value / 255) or 16-bit (value / 65535) grayscale PNG.
    Png,
    /// 2-D float32 or float64 NPY, values in [0,1].
    Npy,
}

impl MapFormat {
    /// The format for a file extension (`"png"` or `"npy"`, case-insensitive, with or without dot).
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "png" => Some(Self::Png),
            "npy" => Some(Self::Npy),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Npy => "npy",
        }
    }
}

/// Reads the prediction for image `X` from `DIR/X.png` or `DIR/X.npy` (no image-level score).
#[derive(Clone, Debug)]
pub struct SavedMaps {
    dir: PathBuf,
    format: Option<MapFormat>,
}

impl SavedMaps {
    /// Name in suites and reports.
    pub const NAME: &'static str = "saved_maps";

    /// Maps in `dir`, in `format` (`None`: whichever of `.png` / `.npy` exists per image).
    /// Errors when `dir` is not a directory.
    pub fn new(dir: &Path, format: Option<MapFormat>) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!(
                "'{}' is not a directory; give the folder holding <image id>.png or .npy",
                dir.display()
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            format,
        })
    }

    /// The map saved for image `id`, as found on disk (any size; values checked to lie in [0,1]).
    pub fn read(&self, id: &str) -> Result<Map, String> {
        let path = self.path_of(id)?;
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        let map = match MapFormat::from_extension(
            path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        ) {
            Some(MapFormat::Npy) => read_npy_map(&bytes),
            _ => read_png_map(&bytes),
        }
        .map_err(|e| format!("'{}': {e}", path.display()))?;
        if let Some((i, v)) = map
            .as_raw()
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            let (x, y) = (i % map.width() as usize, i / map.width() as usize);
            return Err(format!(
                "'{}': value {v} at pixel (x={x}, y={y}) is not in [0,1]; save probabilities, not logits or 0–255 values",
                path.display()
            ));
        }
        Ok(map)
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, String> {
        let with = |f: MapFormat| self.dir.join(format!("{id}.{}", f.extension()));
        if let Some(format) = self.format {
            let path = with(format);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "no saved map for image '{id}': '{}' does not exist",
                    path.display()
                ))
            };
        }
        let (png, npy) = (with(MapFormat::Png), with(MapFormat::Npy));
        match (png.is_file(), npy.is_file()) {
            (true, false) => Ok(png),
            (false, true) => Ok(npy),
            (true, true) => Err(format!(
                "both '{}' and '{}' exist; set `extension` to say which to use",
                png.display(),
                npy.display()
            )),
            (false, false) => Err(format!(
                "no saved map for image '{id}': neither '{}' nor '{}' exists",
                png.display(),
                npy.display()
            )),
        }
    }
}

/// Decodes an 8- or 16-bit grayscale PNG into [0,1].
fn read_png_map(bytes: &[u8]) -> Result<Map, String> {
    let decoded = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| format!("not a readable PNG: {e}"))?;
    let (w, h) = (decoded.width(), decoded.height());
    let values: Vec<f32> = match decoded {
        image::DynamicImage::ImageLuma8(g) => g
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect(),
        image::DynamicImage::ImageLuma16(g) => g
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 65535.0)
            .collect(),
        other => {
            return Err(format!(
                "PNG is {:?}; save maps as 8- or 16-bit grayscale without alpha",
                other.color()
            ))
        }
    };
    Ok(Map::from_raw(w, h, values).expect("width × height values"))
}

impl Localizer for SavedMaps {
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
        batch
            .iter()
            .map(|input| {
                let failed = |message| LocalizerError::Failed {
                    localizer: Self::NAME.to_string(),
                    image: input.id.to_string(),
                    message,
                };
                let map = self.read(input.id).map_err(failed)?;
                if map.dimensions() != input.image.dimensions() {
                    let ((mw, mh), (iw, ih)) = (map.dimensions(), input.image.dimensions());
                    return Err(failed(format!(
                        "saved map for '{}' is {mw}×{mh} but the image is {iw}×{ih}; save maps at the image's native size",
                        input.id
                    )));
                }
                Ok(Prediction { map, score: None })
            })
            .collect()
    }
}
