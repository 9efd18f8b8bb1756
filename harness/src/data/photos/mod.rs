//! The real-photo source (docs/photos.md): 136 camera photographs (`photos/`, embedded in the
//! binary) cut into crops at seeded integer offsets, and manipulated by the synthetic
//! benchmark's own generators (docs/synthetic.md).
//!
//! A fake is `encode → edit at latent resolution → decode → blend`, with the benchmark's
//! encoder, decoders, feathering and blend (`crate::data::synth`: one definition of each
//! generator, shared with the procedural faces); only the edits are the photo source's own
//! ([`EDITS`]: brightness, color, contrast, smooth, paste in a soft region of 1–3 ellipses).
//! Ground truth is never written here: the harness derives it from (X, X') with eq. 2.
//!
//! Everything is a pure function of `(PhotoConfig, PhotoKey)`: no dependence on thread count or
//! order.

mod catalogue;
mod edits;
mod resample;
mod table;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use image::RgbImage;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use catalogue::{catalogue_interleaved, jobs, write_dataset};
pub use edits::EDITS;
pub use resample::{resampler, Resampler, RESAMPLERS};
pub use table::{crop_files, load_crop, photo, photos, photos_of, PhotoInfo, CROP_SIDE};

use crate::data::synth::{self, blend, encode, feather, Decoder, GeneratorInfo, Image3, Plane};
use crate::data::{seeds, Kind, Split};

/// Default crops per photograph.
pub const DEFAULT_CROPS_PER_PHOTO: u32 = 2;

/// Configuration of the photo source (`data: {source: photos, photo_seed, photo_size,
/// crops_per_photo}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhotoConfig {
    /// Seeds the crop offsets and every manipulation.
    pub seed: u64,
    /// Crop side S (a multiple of 8, 64..=320): crops are cut, never resampled.
    pub size: u32,
    /// Crops per photograph (each an "identity" of the catalogue).
    pub crops_per_photo: u32,
}

impl Default for PhotoConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            size: 224,
            crops_per_photo: DEFAULT_CROPS_PER_PHOTO,
        }
    }
}

impl PhotoConfig {
    /// Checks the configuration; the error says which field to change.
    pub fn validate(&self) -> Result<(), PhotoError> {
        if let Some(problem) = size_problem(self.size) {
            return Err(PhotoError::InvalidConfig(problem));
        }
        if let Some(problem) = crops_problem(self.crops_per_photo, self.size) {
            return Err(PhotoError::InvalidConfig(problem));
        }
        Ok(())
    }
}

/// Why `size` cannot be a crop side, if it cannot (used for config errors at their line).
pub fn size_problem(size: u32) -> Option<String> {
    if size > CROP_SIDE {
        Some(format!(
            "photo_size {size} is larger than the stored {CROP_SIDE}×{CROP_SIDE} photographs; use at most {CROP_SIDE} (crops are cut at integer offsets, never resampled)"
        ))
    } else if size < 64 || !size.is_multiple_of(8) {
        Some(format!(
            "photo_size {size} is not supported: use a multiple of 8 between 64 and {CROP_SIDE} (default 224), so that the latent resolutions S/4 and S/8 are whole"
        ))
    } else {
        None
    }
}

/// Why `crops` crops per photo cannot be cut at side `size`, if they cannot.
pub fn crops_problem(crops: u32, size: u32) -> Option<String> {
    let positions = (CROP_SIDE - size.min(CROP_SIDE) + 1) as u64;
    if crops == 0 {
        Some("crops_per_photo must be at least 1".into())
    } else if crops > 64 {
        Some(format!(
            "crops_per_photo {crops} is too many: use at most 64"
        ))
    } else if crops as u64 > positions * positions {
        Some(format!(
            "crops_per_photo {crops} exceeds the {} distinct {size}×{size} crops of a {CROP_SIDE}×{CROP_SIDE} photograph",
            positions * positions
        ))
    } else {
        None
    }
}

/// Identifies one sample of the photo source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhotoKey {
    /// The split of the photograph.
    pub split: Split,
    /// The photograph's id (`SOURCES.csv`).
    pub photo: String,
    /// Crop index, `0..crops_per_photo`.
    pub crop: u32,
    /// Real, partial or entire.
    pub kind: Kind,
    /// Generator name (`real` for real crops).
    pub generator: String,
    /// Edit name (`none` for real crops, `entire` for whole-image re-synthesis).
    pub property: String,
}

impl PhotoKey {
    /// The unmanipulated crop.
    pub fn real(split: Split, photo: &str, crop: u32) -> Self {
        Self::new(split, photo, crop, Kind::Real, "real", "none")
    }

    /// Edit `property` of the crop through partial generator `generator`.
    pub fn partial(split: Split, photo: &str, crop: u32, generator: &str, property: &str) -> Self {
        Self::new(split, photo, crop, Kind::Partial, generator, property)
    }

    /// The crop re-synthesised as a whole by full-synthesis generator `generator`.
    pub fn entire(split: Split, photo: &str, crop: u32, generator: &str) -> Self {
        Self::new(split, photo, crop, Kind::Entire, generator, "entire")
    }

    fn new(split: Split, photo: &str, crop: u32, kind: Kind, gen: &str, prop: &str) -> Self {
        Self {
            split,
            photo: photo.into(),
            crop,
            kind,
            generator: gen.into(),
            property: prop.into(),
        }
    }

    /// The id of the crop itself: `photo-<split>-<photo id>-c<k>`.
    pub fn crop_id(&self) -> String {
        format!("photo-{}-{}-c{}", self.split, self.photo, self.crop)
    }

    /// Stable, unique, filename-safe id: the crop id for real samples, else
    /// `<crop id>-<generator>-<property>`, e.g. `photo-test-p002_lomiri_dragonfly-c1-tconv-paste`.
    pub fn id(&self) -> String {
        match self.kind {
            Kind::Real => self.crop_id(),
            _ => format!("{}-{}-{}", self.crop_id(), self.generator, self.property),
        }
    }
}

/// A rendered sample.
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoSample {
    /// Which sample this is.
    pub key: PhotoKey,
    /// Top-left corner of the crop in the stored 320×320 photograph.
    pub offset: (u32, u32),
    /// The source crop X of a partial manipulation; `None` for real and entire samples.
    pub real: Option<RgbImage>,
    /// The image a localizer sees: X' for fakes, the crop itself for real samples.
    pub fake: RgbImage,
}

/// Errors of the photo source.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// A name (photo, generator, edit) that does not exist.
    #[error("unknown {what} `{name}`; valid values: {valid}")]
    UnknownName {
        what: &'static str,
        name: String,
        valid: String,
    },
    /// A key whose parts do not fit together.
    #[error("invalid photo sample `{id}`: {reason}")]
    InvalidKey { id: String, reason: String },
    /// A configuration that cannot be rendered.
    #[error("invalid photo configuration: {0}")]
    InvalidConfig(String),
    /// The embedded table or a crop is broken (a build problem).
    #[error("embedded photographs: {0}")]
    Table(String),
    /// A file-system or encoding error while exporting.
    #[error("cannot write `{}`: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

fn names(list: impl Iterator<Item = &'static str>) -> String {
    list.collect::<Vec<_>>().join(", ")
}

/// What makes a fake of the photo source: one of the benchmark's generators (a decoder), or
/// an opt-in resampler generator ([`RESAMPLERS`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum PhotoGenerator {
    Decoder(&'static GeneratorInfo),
    Resampler(&'static Resampler),
}

/// Checks that `key` names an existing sample of `cfg`; returns the photo and generator.
fn check_key(
    cfg: &PhotoConfig,
    key: &PhotoKey,
) -> Result<(&'static PhotoInfo, Option<PhotoGenerator>), PhotoError> {
    cfg.validate()?;
    let invalid = |reason: String| PhotoError::InvalidKey {
        id: key.id(),
        reason,
    };
    let info = photo(&key.photo)?.ok_or_else(|| PhotoError::UnknownName {
        what: "photo",
        name: key.photo.clone(),
        valid: format!(
            "the {} ids of photos/SOURCES.csv",
            photos().map_or(0, |p| p.len())
        ),
    })?;
    if info.split != key.split {
        return Err(invalid(format!(
            "photo `{}` belongs to split `{}`",
            info.id, info.split
        )));
    }
    if key.crop >= cfg.crops_per_photo {
        return Err(invalid(format!(
            "crop {} does not exist: crops_per_photo is {}",
            key.crop, cfg.crops_per_photo
        )));
    }
    if key.kind == Kind::Real {
        if key.generator != "real" || key.property != "none" {
            return Err(invalid(
                "a real sample has generator `real` and property `none`".into(),
            ));
        }
        return Ok((info, None));
    }
    let entire = key.kind == Kind::Entire;
    let g = match (resampler(&key.generator), entire) {
        (Some(r), false) => PhotoGenerator::Resampler(r),
        _ => synth::generator(&key.generator)
            .filter(|g| g.entire == entire)
            .map(PhotoGenerator::Decoder)
            .ok_or_else(|| PhotoError::UnknownName {
                what: if entire {
                    "full-synthesis generator"
                } else {
                    "partial generator"
                },
                name: key.generator.clone(),
                valid: if entire {
                    names(full_generators())
                } else {
                    names(partial_generators())
                },
            })?,
    };
    if entire && key.property != "entire" {
        return Err(invalid(
            "a whole-image re-synthesis has property `entire`".into(),
        ));
    }
    if !entire && !EDITS.contains(&key.property.as_str()) {
        return Err(PhotoError::UnknownName {
            what: "photo edit",
            name: key.property.clone(),
            valid: names(EDITS.iter().copied()),
        });
    }
    Ok((info, Some(g)))
}

/// Names of the partial generators of the photo source: the benchmark's, then the opt-in
/// resamplers.
pub fn partial_generators() -> impl Iterator<Item = &'static str> {
    synth::generators()
        .iter()
        .filter(|g| !g.entire)
        .map(|g| g.name)
        .chain(RESAMPLERS.iter().map(|r| r.name))
}

/// Names of the full-synthesis generators (property `entire`).
pub fn full_generators() -> impl Iterator<Item = &'static str> {
    synth::generators()
        .iter()
        .filter(|g| g.entire)
        .map(|g| g.name)
}

/// Top-left corners of the first `count` crops of `photo`, drawn from `(cfg.seed, photo)` in
/// order (crop k does not depend on `count`), distinct whenever the photograph has room.
pub fn crop_offsets(cfg: &PhotoConfig, photo: &str, count: u32) -> Vec<(u32, u32)> {
    let span = CROP_SIDE - cfg.size.min(CROP_SIDE);
    let mut rng = ChaCha8Rng::seed_from_u64(seeds::mix(&[
        cfg.seed,
        seeds::fnv1a("photo-crop"),
        seeds::fnv1a(photo),
        cfg.size as u64,
    ]));
    let mut offsets: Vec<(u32, u32)> = Vec::new();
    for _ in 0..count {
        let mut o = (0, 0);
        for _ in 0..64 {
            o = (rng.random_range(0..=span), rng.random_range(0..=span));
            if !offsets.contains(&o) {
                break;
            }
        }
        offsets.push(o);
    }
    offsets
}

/// The RNG of one sample's random choices (latent factor, region, edit, decoder texture).
fn sample_rng(cfg: &PhotoConfig, key: &PhotoKey) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seeds::mix(&[
        cfg.seed,
        seeds::fnv1a("photo-sample"),
        seeds::fnv1a(key.split.as_str()),
        seeds::fnv1a(&key.photo),
        key.crop as u64,
        seeds::fnv1a(&key.generator),
        seeds::fnv1a(&key.property),
    ]))
}

/// The real crop X of `key` (`cfg.size`² pixels copied from the stored photograph at the
/// crop's offset) and that offset.
pub fn real_crop(cfg: &PhotoConfig, key: &PhotoKey) -> Result<(RgbImage, (u32, u32)), PhotoError> {
    let (info, _) = check_key(cfg, &PhotoKey::real(key.split, &key.photo, key.crop))?;
    let stored = load_crop(info)?;
    let offset = crop_offsets(cfg, &info.id, key.crop + 1)[key.crop as usize];
    let crop =
        image::imageops::crop_imm(&stored, offset.0, offset.1, cfg.size, cfg.size).to_image();
    Ok((crop, offset))
}

/// Renders one sample, deterministically from `(cfg, key)` only.
pub fn render(cfg: &PhotoConfig, key: &PhotoKey) -> Result<PhotoSample, PhotoError> {
    let (_, g) = check_key(cfg, key)?;
    let (crop, offset) = real_crop(cfg, key)?;
    let mut rng = sample_rng(cfg, key);
    let (real, fake) = match (key.kind, g) {
        (Kind::Partial, Some(PhotoGenerator::Decoder(g))) => {
            let m = partial(&crop, &key.property, g, &mut rng);
            (Some(crop), m.fake)
        }
        (Kind::Partial, Some(PhotoGenerator::Resampler(r))) => {
            let m = resample::partial(&crop, &key.property, r, &mut rng);
            (Some(crop), m.fake)
        }
        (Kind::Entire, Some(PhotoGenerator::Decoder(g))) => (None, entire(&crop, g, &mut rng)),
        _ => (None, crop),
    };
    Ok(PhotoSample {
        key: key.clone(),
        offset,
        real,
        fake,
    })
}

/// A fake with the masks it was blended with (tests check the ground truth against them).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Manipulated {
    pub fake: RgbImage,
    /// Soft mask at full resolution (w = α + (1 − α)·soft).
    pub soft: Plane,
    /// The binary edited region (ellipses ∪ every pixel the latent edit reached).
    pub region: Plane,
}

/// Edit `edit` of the crop `real` through partial generator `g`: the face pipeline of
/// `synth::manipulate::partial` with the photo's region and edit in place of the scene's.
pub(crate) fn partial(
    real: &RgbImage,
    edit: &str,
    g: &GeneratorInfo,
    rng: &mut ChaCha8Rng,
) -> Manipulated {
    let size = real.width() as usize;
    let f = g.factors[rng.random_range(0..g.factors.len())] as usize;
    let x = Image3::from_rgb8(real);
    let (mut z, switches) = encode(&x, f);
    // The edit's weight at latent resolution: the ellipses' coverage of each latent pixel,
    // feathered by a small tent so the edit has no hard edge.
    let ellipses = edits::region(size, rng);
    let weight = ellipses.area_down(f).tent_blur(1);
    edits::apply(edit, &mut z, &weight, rng).expect("edit validated by the caller");
    let y = Decoder::new(g).decode(&z, switches.len(), &switches, rng);
    // The edited region: the ellipses and every pixel whose latent pixel the edit reached,
    // dilated and blurred like the face regions.
    let region = edited_region(&ellipses, &weight.repeat_up(f));
    let soft = feather(&region, f);
    Manipulated {
        fake: blend(x, &y, &soft, g.alpha),
        soft,
        region,
    }
}

/// The binary edited region: the ellipses and every pixel where the edit's weight, brought
/// back to full resolution (`reached`), is not zero.
pub(crate) fn edited_region(ellipses: &Plane, reached: &Plane) -> Plane {
    Plane {
        w: ellipses.w,
        h: ellipses.h,
        v: ellipses
            .v
            .iter()
            .zip(&reached.v)
            .map(|(&e, &r)| if e > 0.0 || r > 0.0 { 1.0 } else { 0.0 })
            .collect(),
    }
}

/// Whole-image re-synthesis: the crop encoded and decoded by full-synthesis generator `g`
/// (X' = Y, w = 1 everywhere; ground truth all ones).
pub(crate) fn entire(real: &RgbImage, g: &GeneratorInfo, rng: &mut ChaCha8Rng) -> RgbImage {
    let f = g.factors[rng.random_range(0..g.factors.len())] as usize;
    let (z, switches) = encode(&Image3::from_rgb8(real), f);
    Decoder::new(g)
        .decode(&z, switches.len(), &switches, rng)
        .to_rgb8()
}
