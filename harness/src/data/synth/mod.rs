//! The embedded synthetic benchmark (docs/design.md §3, docs/synthetic.md).
//!
//! CelebA/FFHQ and GAN weights cannot ship, so the default data set is generated here,
//! deterministically, from the paper's own mechanism (§3.2: decoders upsample, and upsampling
//! leaves "fake texture"). Real portraits are procedural faces photographed by a camera model
//! without resampling traces; fakes edit a property at latent resolution and pass through a
//! generator's upsampling decoder. See `docs/synthetic.md`.
//!
//! Everything is a pure function of `(SynthConfig::seed, SampleKey)`: no global state, no
//! dependence on thread count or rendering order.

mod camera;
mod catalogue;
mod draw;
mod edits;
mod face;
mod fmath;
mod generators;
mod manipulate;
mod raster;
mod shapes;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use image::{GrayImage, RgbImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use catalogue::{catalogue, catalogue_interleaved, write_dataset};
// The generator pipeline shared with the real-photo source (`crate::data::photos`): one
// definition of each encoder, decoder, feathering and blend.
pub(crate) use generators::Decoder;
pub(crate) use manipulate::{blend, encode, feather};
pub(crate) use raster::{gaussian_kernel, Image3, Plane};

use crate::data::{seeds, Kind, Split};
pub use edits::PROPERTIES;
pub use generators::{generator, generators, GeneratorInfo};

/// Number of identities per split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitCounts {
    /// Training identities.
    pub train: u32,
    /// Validation identities.
    pub val: u32,
    /// Test identities.
    pub test: u32,
}

impl SplitCounts {
    /// The count of `split`.
    pub fn get(&self, split: Split) -> u32 {
        match split {
            Split::Train => self.train,
            Split::Val => self.val,
            Split::Test => self.test,
        }
    }
}

impl Default for SplitCounts {
    fn default() -> Self {
        Self {
            train: 2000,
            val: 200,
            test: 500,
        }
    }
}

/// Configuration of the synthetic data set.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SynthConfig {
    /// Master seed; every identity, edit and noise draw derives from it.
    pub seed: u64,
    /// Image side S in pixels (a multiple of 16, 64..=1024).
    pub size: u32,
    /// Identities per split.
    pub identities: SplitCounts,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            size: 224,
            identities: SplitCounts::default(),
        }
    }
}

impl SynthConfig {
    /// Checks the configuration; the error says which field to change.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !self.size.is_multiple_of(16) || !(64..=1024).contains(&self.size) {
            return Err(SynthError::InvalidConfig(format!(
                "size {} is not supported: use a multiple of 16 between 64 and 1024 (default 224), \
                 so that the latent resolutions S/4, S/8 and S/16 are whole",
                self.size
            )));
        }
        Ok(())
    }
}

/// Identifies one sample of the benchmark.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SampleKey {
    /// The split of the identity.
    pub split: Split,
    /// Identity index within the split.
    pub identity: u32,
    /// Real, partial or entire.
    pub kind: Kind,
    /// Generator name (`real` for real photos).
    pub generator: String,
    /// Property name (`none` for real photos, `entire` for full synthesis).
    pub property: String,
}

impl SampleKey {
    /// The real photo of an identity.
    pub fn real(split: Split, identity: u32) -> Self {
        Self {
            split,
            identity,
            kind: Kind::Real,
            generator: "real".into(),
            property: "none".into(),
        }
    }

    /// A partial manipulation of an identity's photo.
    pub fn partial(split: Split, identity: u32, generator: &str, property: &str) -> Self {
        Self {
            split,
            identity,
            kind: Kind::Partial,
            generator: generator.into(),
            property: property.into(),
        }
    }

    /// A full synthesis attached to an identity slot (the face itself is a random latent).
    pub fn entire(split: Split, identity: u32, generator: &str) -> Self {
        Self {
            split,
            identity,
            kind: Kind::Entire,
            generator: generator.into(),
            property: "entire".into(),
        }
    }

    /// Stable, unique, filename-safe id, e.g. `test-000123-tconv-bald`.
    pub fn id(&self) -> String {
        format!(
            "{}-{:06}-{}-{}",
            self.split, self.identity, self.generator, self.property
        )
    }
}

/// A rendered sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Which sample this is.
    pub key: SampleKey,
    /// The source photo X of a partial manipulation; `None` for real and entire samples.
    pub real: Option<RgbImage>,
    /// The image a localizer sees: X' for fakes, the photo itself for real samples.
    pub fake: RgbImage,
}

/// Errors of the synthetic benchmark.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A name (generator, property, split, kind) that does not exist.
    #[error("unknown {what} `{name}`; valid values: {valid}")]
    UnknownName {
        /// What was named.
        what: &'static str,
        /// The name given.
        name: String,
        /// The valid names, comma separated.
        valid: String,
    },
    /// A key whose parts do not fit together.
    #[error("invalid sample key `{id}`: {reason}")]
    InvalidKey {
        /// The key's id.
        id: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// An identity index beyond the split's count.
    #[error("identity {identity} does not exist in split `{split}`, which has {count} identities (indices 0..{count}); raise `identities.{split}` or use a smaller index")]
    IdentityOutOfRange {
        /// The split.
        split: Split,
        /// The index asked for.
        identity: u32,
        /// The split's identity count.
        count: u32,
    },
    /// A configuration that cannot be rendered.
    #[error("invalid synthetic configuration: {0}")]
    InvalidConfig(String),
    /// A file-system error while writing a data set.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A PNG encoding error.
    #[error("cannot encode `{path}` as PNG: {source}")]
    Image {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
}

fn names(list: impl Iterator<Item = &'static str>) -> String {
    list.collect::<Vec<_>>().join(", ")
}

/// Checks that `key` names an existing sample of `cfg`.
fn check_key(cfg: &SynthConfig, key: &SampleKey) -> Result<(), SynthError> {
    cfg.validate()?;
    let count = cfg.identities.get(key.split);
    if key.identity >= count {
        return Err(SynthError::IdentityOutOfRange {
            split: key.split,
            identity: key.identity,
            count,
        });
    }
    let invalid = |reason: String| {
        Err(SynthError::InvalidKey {
            id: key.id(),
            reason,
        })
    };
    match key.kind {
        Kind::Real => {
            if key.generator != "real" || key.property != "none" {
                return invalid("a real sample has generator `real` and property `none`".into());
            }
        }
        Kind::Partial | Kind::Entire => {
            let entire = key.kind == Kind::Entire;
            let Some(g) = generator(&key.generator) else {
                return Err(SynthError::UnknownName {
                    what: "generator",
                    name: key.generator.clone(),
                    valid: names(
                        generators()
                            .iter()
                            .filter(|g| g.entire == entire)
                            .map(|g| g.name),
                    ),
                });
            };
            if g.entire != entire {
                let want = if entire {
                    "partial (use kind `partial`)"
                } else {
                    "full-synthesis (use kind `entire`, property `entire`)"
                };
                return invalid(format!("generator `{}` is a {want} generator", g.name));
            }
            if entire && key.property != "entire" {
                return invalid("a full-synthesis sample has property `entire`".into());
            }
            if !entire && !PROPERTIES.contains(&key.property.as_str()) {
                return Err(SynthError::UnknownName {
                    what: "property",
                    name: key.property.clone(),
                    valid: names(PROPERTIES.iter().copied()),
                });
            }
        }
    }
    Ok(())
}

/// The RNG of one sample's random choices (latent factor, edit draws, decoder noise).
fn sample_rng(cfg: &SynthConfig, key: &SampleKey) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seeds::mix(&[
        cfg.seed,
        seeds::fnv1a("sample"),
        seeds::fnv1a(key.split.as_str()),
        key.identity as u64,
        seeds::fnv1a(&key.generator),
        seeds::fnv1a(&key.property),
    ]))
}

/// Renders one sample, deterministically from `(cfg.seed, key)` only.
///
/// Errors name the valid generators/properties when `key` does not exist.
pub fn render(cfg: &SynthConfig, key: &SampleKey) -> Result<Sample, SynthError> {
    render_with(cfg, key, &PhotoCache::default())
}

/// [`render`], taking the identity's real photo from `photos` when it holds it.
pub fn render_with(
    cfg: &SynthConfig,
    key: &SampleKey,
    photos: &PhotoCache,
) -> Result<Sample, SynthError> {
    check_key(cfg, key)?;
    let size = cfg.size as usize;
    let mut rng = sample_rng(cfg, key);
    let g = generator(&key.generator);
    let real_photo = || photos.real_photo(cfg.seed, key.split, key.identity, size);
    Ok(match key.kind {
        Kind::Real => {
            let (_, photo) = real_photo();
            Sample {
                key: key.clone(),
                real: None,
                fake: photo,
            }
        }
        Kind::Partial => {
            let (p, photo) = real_photo();
            let g = g.expect("checked");
            let m = manipulate::partial(&p, &photo, &key.property, g, &mut rng);
            Sample {
                key: key.clone(),
                real: Some(photo),
                fake: m.fake,
            }
        }
        Kind::Entire => {
            let g = g.expect("checked");
            Sample {
                key: key.clone(),
                real: None,
                fake: manipulate::entire(size, g, &mut rng),
            }
        }
    })
}

/// The real photos of the identities rendered last, shared with the fakes made from them.
///
/// An identity's real photo is the source of each of its partial fakes: RQ4's 360 real and
/// partial images come from 84 identities. The catalogue's interleaved order brings an identity
/// back about once per round of jobs, so the cache keeps up to [`PHOTO_CACHE_BYTES`] of photos,
/// least recently used out first. The photo is most of a sample's rendering time; the pixels are
/// the same whether rendered or cached.
#[derive(Default)]
pub struct PhotoCache {
    /// Most recently used last; a cell is filled by the first thread that needs it, the others
    /// wait for it.
    recent: Mutex<VecDeque<(PhotoKey, Arc<OnceLock<RealPhoto>>)>>,
}

/// (seed, split, identity, size) of a real photo.
type PhotoKey = (u64, Split, u32, usize);
type RealPhoto = (face::FaceParams, RgbImage);

/// Memory the cached photos may take: 440 photos at 224², 16 at 1024².
pub const PHOTO_CACHE_BYTES: usize = 64 << 20;

impl PhotoCache {
    fn real_photo(&self, seed: u64, split: Split, identity: u32, size: usize) -> RealPhoto {
        let key = (seed, split, identity, size);
        let capacity = (PHOTO_CACHE_BYTES / (3 * size * size)).max(1);
        let cell = {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            let entry = match recent.iter().position(|(k, _)| *k == key) {
                Some(i) => recent.remove(i).expect("found above"),
                None => (key, Arc::new(OnceLock::new())),
            };
            let cell = Arc::clone(&entry.1);
            recent.push_back(entry);
            while recent.len() > capacity {
                recent.pop_front();
            }
            cell
        };
        cell.get_or_init(|| manipulate::real_photo(seed, split, identity, size))
            .clone()
    }

    /// Photos held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.recent.lock().expect("not poisoned").len()
    }
}

/// `Gray(|X − X'|)` with PIL's integer luma (eq. 2 ground truth × 255), for previews such as
/// the contact sheet; the harness derives the evaluation ground truth itself.
pub fn difference_preview(real: &RgbImage, fake: &RgbImage) -> Result<GrayImage, SynthError> {
    crate::data::difference_gray(real, fake).map_err(|e| SynthError::InvalidConfig(e.to_string()))
}
