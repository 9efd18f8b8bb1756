//! The images a suite evaluates: selected from the synthetic benchmark, the real-photo source
//! or a manifest, and loaded one at a time (streaming: only a batch is ever in memory).

use std::collections::BTreeMap;

use serde::Serialize;

use std::path::PathBuf;

use crate::data::photos::{self, PhotoConfig, PhotoKey};
use crate::data::synth::{self, SampleKey, SynthConfig};
use crate::data::{self, DataError, Kind, LoadedImage, Manifest, ManifestEntry, Split};

/// Where images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The embedded synthetic benchmark.
    #[default]
    Synth,
    /// A CSV manifest of real data.
    Manifest,
    /// The embedded real photographs, manipulated by the benchmark's generators.
    Photos,
}

/// Resolved `data:` section.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DataConfig {
    pub source: SourceKind,
    /// Manifest path, as given (relative to the suite file).
    pub manifest: Option<String>,
    #[serde(skip)]
    pub manifest_path: Option<PathBuf>,
    pub split: Split,
    /// Empty = all.
    pub generators: Vec<String>,
    /// Empty = all.
    pub properties: Vec<String>,
    pub fakes_per_category: u32,
    pub reals: u32,
    pub synth_seed: u64,
    pub synth_size: u32,
    /// `source: photos` only (absent from the record otherwise, so other suites keep their
    /// configuration hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<PhotoConfig>,
}

/// One selected image.
#[derive(Clone, Debug)]
pub struct ImageRef {
    pub id: String,
    pub kind: Kind,
    pub generator: String,
    pub property: String,
    origin: Origin,
}

#[derive(Clone, Debug)]
enum Origin {
    Synth(SampleKey),
    Manifest(ManifestEntry),
    Photo(PhotoKey),
}

impl ImageRef {
    /// `generator/property`, the category segmentation metrics are broken down by.
    pub fn category(&self) -> String {
        format!("{}/{}", self.generator, self.property)
    }
    /// True for partial and entire manipulations.
    pub fn is_fake(&self) -> bool {
        self.kind != Kind::Real
    }
}

/// Summary of the selection, recorded in `results.json`.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetSummary {
    pub source: SourceKind,
    pub images: usize,
    pub fakes: usize,
    pub reals: usize,
    /// Fake images per `generator/property` category.
    pub categories: BTreeMap<String, usize>,
}

/// The selected images of a suite.
pub struct Dataset {
    pub images: Vec<ImageRef>,
    synth: SynthConfig,
    /// Real photos of recently rendered identities, which their fakes start from.
    real_photos: synth::PhotoCache,
    photos: PhotoConfig,
    source: SourceKind,
}

/// Errors opening or reading the data.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("synthetic benchmark: {0}")]
    Synth(String),
    #[error("photo source: {0}")]
    Photos(String),
    #[error("{0}")]
    Selection(String),
    /// A manifest row whose files fail to decode during the run (a truncated file, say).
    #[error("manifest line {line}: {source}")]
    ManifestRow {
        line: usize,
        #[source]
        source: DataError,
    },
    /// The ground truth of an image cannot be derived (a runtime error, not a configuration one).
    #[error("ground truth: {0}")]
    GroundTruth(String),
}

impl Dataset {
    /// Selects the suite's images: up to `fakes_per_category` fakes of each selected
    /// (generator, property), from distinct identities first, and `reals` real images.
    pub fn open(cfg: &DataConfig) -> Result<Dataset, DatasetError> {
        let synth_cfg = SynthConfig {
            seed: cfg.synth_seed,
            size: cfg.synth_size,
            ..SynthConfig::default()
        };
        let candidates: Vec<ImageRef> = match cfg.source {
            // Interleaved, so every category draws from many identities.
            SourceKind::Synth => synth::catalogue_interleaved(&synth_cfg, cfg.split)
                .map(|key| ImageRef {
                    id: key.id(),
                    kind: key.kind,
                    generator: key.generator.clone(),
                    property: key.property.clone(),
                    origin: Origin::Synth(key),
                })
                .collect(),
            SourceKind::Photos => {
                let photo_cfg = cfg.photos.clone().unwrap_or_default();
                photos::catalogue_interleaved(&photo_cfg, cfg.split, &cfg.generators)
                    .map_err(|e| DatasetError::Photos(e.to_string()))?
                    .into_iter()
                    .map(|key| ImageRef {
                        id: key.id(),
                        kind: key.kind,
                        generator: key.generator.clone(),
                        property: key.property.clone(),
                        origin: Origin::Photo(key),
                    })
                    .collect()
            }
            SourceKind::Manifest => {
                let path = cfg
                    .manifest_path
                    .as_ref()
                    .expect("validated with the suite");
                let manifest = Manifest::load(path)?;
                check_filters(cfg, &manifest)?;
                manifest
                    .entries
                    .into_iter()
                    .filter(|e| e.split == cfg.split)
                    .map(|e| ImageRef {
                        id: e.id.clone(),
                        kind: e.kind,
                        generator: e.generator.clone(),
                        property: e.property.clone(),
                        origin: Origin::Manifest(e),
                    })
                    .collect()
            }
        };
        let images = select(cfg, candidates);
        if !images.iter().any(ImageRef::is_fake) {
            return Err(DatasetError::Selection(format!(
                "no fake image of split '{}' matches the suite's generators/properties",
                cfg.split
            )));
        }
        Ok(Dataset {
            images,
            synth: synth_cfg,
            real_photos: synth::PhotoCache::default(),
            photos: cfg.photos.clone().unwrap_or_default(),
            source: cfg.source,
        })
    }

    /// Checks, before anything is decoded, that no batch of `batch` images can hold more than
    /// [`data::MAX_BATCH_PIXELS`] pixels of manifest files (fake, real and mask together),
    /// whatever the order or shard layout: the `batch` largest images together must fit.
    /// Embedded sources are small by construction.
    pub fn check_batch_pixels(&self, batch: usize) -> Result<(), DatasetError> {
        let pixels = |image: &ImageRef| match &image.origin {
            Origin::Manifest(e) => {
                let files = 1 + u64::from(e.real.is_some()) + u64::from(e.mask.is_some());
                u64::from(e.size.0) * u64::from(e.size.1) * files
            }
            _ => 0,
        };
        let mut largest: Vec<&ImageRef> = self.images.iter().collect();
        largest.sort_by_key(|i| std::cmp::Reverse(pixels(i)));
        largest.truncate(batch.max(1));
        let total: u64 = largest.iter().map(|i| pixels(i)).sum();
        if total <= data::MAX_BATCH_PIXELS {
            return Ok(());
        }
        let line = match &largest[0].origin {
            Origin::Manifest(e) => format!(
                ", line {} of the manifest, {}×{}",
                e.line, e.size.0, e.size.1
            ),
            _ => String::new(),
        };
        Err(DatasetError::Selection(format!(
            "a batch of {} images can hold {:.0} Mpx of image files, over the budget of {:.0} Mpx per batch; lower evaluation.batch or downscale the images (the largest is `{}`{line})",
            largest.len(),
            total as f64 / 1e6,
            data::MAX_BATCH_PIXELS as f64 / 1e6,
            largest[0].id,
        )))
    }

    /// Loads (or renders) one image.
    pub fn load(&self, image: &ImageRef) -> Result<LoadedImage, DatasetError> {
        match &image.origin {
            Origin::Synth(key) => {
                let sample = synth::render_with(&self.synth, key, &self.real_photos)
                    .map_err(|e| DatasetError::Synth(e.to_string()))?;
                Ok(LoadedImage {
                    fake: sample.fake,
                    real: sample.real,
                    mask: None,
                })
            }
            Origin::Photo(key) => {
                let sample = photos::render(&self.photos, key)
                    .map_err(|e| DatasetError::Photos(e.to_string()))?;
                Ok(LoadedImage {
                    fake: sample.fake,
                    real: sample.real,
                    mask: None,
                })
            }
            Origin::Manifest(entry) => {
                Self::load_row(entry).map_err(|e| DatasetError::ManifestRow {
                    line: entry.line,
                    source: e,
                })
            }
        }
    }

    /// Decodes a manifest row's files (only headers were read before the run).
    fn load_row(entry: &ManifestEntry) -> Result<LoadedImage, DataError> {
        let fake = data::load_rgb(&entry.fake)?;
        let real = entry.real.as_deref().map(data::load_rgb).transpose()?;
        let mask = entry.mask.as_deref().map(data::load_map).transpose()?;
        if let Some(real) = &real {
            if real.dimensions() != fake.dimensions() {
                return Err(DataError::SizeMismatch {
                    what: format!(
                        "real {} and fake {}",
                        entry.real.as_ref().unwrap().display(),
                        entry.fake.display()
                    ),
                    a: real.dimensions(),
                    b: fake.dimensions(),
                });
            }
        }
        Ok(LoadedImage { fake, real, mask })
    }

    /// SHA-256 over the selected images' ids, kinds and categories (and, for a manifest, the
    /// sizes of their files), in selection order: what the shards of one run must agree on.
    /// Cheap on purpose (nothing is rendered or decoded); the dataset fingerprint of a merged
    /// run still hashes every pixel.
    pub fn selection_fingerprint(&self) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        for image in &self.images {
            hasher.update(image.id.as_bytes());
            hasher.update(b"\0");
            hasher.update(image.kind.as_str().as_bytes());
            hasher.update(b"\0");
            hasher.update(image.category().as_bytes());
            if let Origin::Manifest(entry) = &image.origin {
                for path in std::iter::once(&entry.fake)
                    .chain(&entry.real)
                    .chain(&entry.mask)
                {
                    hasher.update(size(path).to_le_bytes());
                }
            }
            hasher.update(b"\n");
        }
        data::seeds::hex(&hasher.finalize())
    }

    /// Counts for `results.json`.
    pub fn summary(&self) -> DatasetSummary {
        let mut categories = BTreeMap::new();
        for image in self.images.iter().filter(|i| i.is_fake()) {
            *categories.entry(image.category()).or_insert(0) += 1;
        }
        let fakes = categories.values().sum();
        DatasetSummary {
            source: self.source,
            images: self.images.len(),
            fakes,
            reals: self.images.len() - fakes,
            categories,
        }
    }
}

fn wanted(filter: &[String], value: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == value)
}

fn select(cfg: &DataConfig, candidates: Vec<ImageRef>) -> Vec<ImageRef> {
    let mut per_category: BTreeMap<String, u32> = BTreeMap::new();
    let mut reals = 0;
    candidates
        .into_iter()
        .filter(|image| {
            if image.kind == Kind::Real {
                reals += 1;
                return reals <= cfg.reals;
            }
            if !wanted(&cfg.generators, &image.generator)
                || !wanted(&cfg.properties, &image.property)
            {
                return false;
            }
            let n = per_category.entry(image.category()).or_insert(0);
            *n += 1;
            *n <= cfg.fakes_per_category
        })
        .collect()
}

fn check_filters(cfg: &DataConfig, manifest: &Manifest) -> Result<(), DatasetError> {
    for (what, filter, present) in [
        (
            "generator",
            &cfg.generators,
            manifest
                .entries
                .iter()
                .map(|e| e.generator.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "property",
            &cfg.properties,
            manifest
                .entries
                .iter()
                .map(|e| e.property.as_str())
                .collect(),
        ),
    ] {
        for name in filter {
            if !present.contains(&name.as_str()) {
                let mut names: Vec<&str> = present.clone();
                names.sort();
                names.dedup();
                return Err(DatasetError::Selection(format!(
                    "{}: the suite asks for {what} '{name}'{} but the manifest has only: {}",
                    manifest.path.display(),
                    suggest::did_you_mean(name, names.iter().copied()),
                    names.join(", ")
                )));
            }
        }
    }
    Ok(())
}
