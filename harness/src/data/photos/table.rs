//! The embedded photographs: `photos/SOURCES.csv` and `photos/crops/*.png`, compiled into the
//! binary by `harness/build.rs` and parsed at run time (once).

use std::sync::OnceLock;

use image::RgbImage;

use super::PhotoError;
use crate::data::Split;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/photos_embedded.rs"));
}

/// Side of every stored crop (`photos/crops/*.png` are 320×320).
pub const CROP_SIDE: u32 = 320;

/// One row of `photos/SOURCES.csv`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct PhotoInfo {
    /// `p<NNN>_<package>_<name>`: `[a-z0-9_]`, the photo's name in sample ids.
    pub id: String,
    /// The split the whole photograph belongs to.
    pub split: Split,
    /// The crop's path relative to `photos/` (`crops/<id>.png`).
    pub file: String,
    /// Debian package and exact version the original came from.
    pub package: String,
    pub version: String,
    /// The original file inside the package.
    pub source_file: String,
    /// License of the original (and of the crop, a modified version of it).
    pub license: String,
    pub attribution: String,
}

/// The parsed table, in file order.
pub fn photos() -> Result<&'static [PhotoInfo], PhotoError> {
    static TABLE: OnceLock<Result<Vec<PhotoInfo>, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse_sources(embedded::SOURCES_CSV))
        .as_deref()
        .map_err(|e| PhotoError::Table(e.clone()))
}

/// The photos of one split, in file order.
pub fn photos_of(split: Split) -> Result<Vec<&'static PhotoInfo>, PhotoError> {
    Ok(photos()?.iter().filter(|p| p.split == split).collect())
}

/// Looks a photo up by id.
pub fn photo(id: &str) -> Result<Option<&'static PhotoInfo>, PhotoError> {
    Ok(photos()?.iter().find(|p| p.id == id))
}

/// Parses `SOURCES.csv` (RFC 4180) and checks what every later step relies on: the header,
/// unique ids and files, ids of `[a-z0-9_]`, known splits, and a stored crop for every row.
fn parse_sources(text: &str) -> Result<Vec<PhotoInfo>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("SOURCES.csv header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let expected = [
        "id",
        "split",
        "file",
        "package",
        "version",
        "source_file",
        "license",
        "attribution",
    ];
    if header != expected {
        return Err(format!(
            "SOURCES.csv header is `{}`, expected `{}`",
            header.join(","),
            expected.join(",")
        ));
    }
    let mut rows: Vec<PhotoInfo> = Vec::new();
    for (i, row) in reader.deserialize::<PhotoInfo>().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("SOURCES.csv line {line}: {e}"))?;
        if row.id.is_empty()
            || !row
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "SOURCES.csv line {line}: id '{}' is not [a-z0-9_]+",
                row.id
            ));
        }
        if let Some(first) = rows
            .iter()
            .position(|r| r.id == row.id || r.file == row.file)
        {
            return Err(format!(
                "SOURCES.csv line {line}: photo '{}' ({}) repeats line {}",
                row.id,
                row.file,
                first + 2
            ));
        }
        if crop_bytes(&row.file).is_none() {
            return Err(format!(
                "SOURCES.csv line {line}: {} is not among the embedded crops",
                row.file
            ));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The PNG bytes of an embedded crop, by its path relative to `photos/`.
fn crop_bytes(file: &str) -> Option<&'static [u8]> {
    embedded::CROPS
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, bytes)| *bytes)
}

/// Paths (relative to `photos/`) of every embedded crop file, sorted.
pub fn crop_files() -> impl Iterator<Item = &'static str> {
    embedded::CROPS.iter().map(|(name, _)| *name)
}

/// Decodes the stored 320×320 crop of `photo` (8-bit RGB).
pub fn load_crop(photo: &PhotoInfo) -> Result<RgbImage, PhotoError> {
    let bytes = crop_bytes(&photo.file)
        .ok_or_else(|| PhotoError::Table(format!("{} is not embedded", photo.file)))?;
    let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| PhotoError::Table(format!("{}: {e}", photo.file)))?;
    let path = std::path::Path::new("photos").join(&photo.file);
    let rgb = crate::data::to_rgb8(image, &path).map_err(|e| PhotoError::Table(e.to_string()))?;
    if rgb.dimensions() != (CROP_SIDE, CROP_SIDE) {
        return Err(PhotoError::Table(format!(
            "{} is {}×{}, expected {CROP_SIDE}×{CROP_SIDE}",
            photo.file,
            rgb.width(),
            rgb.height()
        )));
    }
    Ok(rgb)
}
