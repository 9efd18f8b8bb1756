//! The catalogue of photo samples and their export with a manifest (docs/data.md) and ground truth.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{photos_of, real_crop, render, PhotoConfig, PhotoError, PhotoKey, EDITS, RESAMPLERS};
use crate::data::synth::generators;
use crate::data::{Kind, Split};

/// The jobs of one crop in catalogue order: the real crop, every partial generator × edit,
/// every full-synthesis generator (`entire`), then × edit each opt-in resampler generator
/// named in `selected` (in [`RESAMPLERS`] order; other names are ignored). Without resamplers
/// the catalogue is the one of earlier versions, so existing suites select the same samples.
pub fn jobs(selected: &[String]) -> Vec<(Kind, &'static str, &'static str)> {
    let mut j = vec![(Kind::Real, "real", "none")];
    for g in generators().iter().filter(|g| !g.entire) {
        j.extend(EDITS.iter().map(|p| (Kind::Partial, g.name, *p)));
    }
    j.extend(
        generators()
            .iter()
            .filter(|g| g.entire)
            .map(|g| (Kind::Entire, g.name, "entire")),
    );
    for r in RESAMPLERS
        .iter()
        .filter(|r| selected.iter().any(|s| s == r.name))
    {
        j.extend(EDITS.iter().map(|p| (Kind::Partial, r.name, *p)));
    }
    j
}

/// Every sample of a split in an interleaved order whose every prefix covers all jobs
/// round-robin: the I = photos × crops_per_photo crops are ordered crop-major (crop 0 of every
/// photo, then crop 1, …), and sample t is job `t mod K` of crop `(t div K + t mod K) mod I`
/// (K jobs per crop), as `synth::catalogue_interleaved`. The first N samples of a job come
/// from N distinct crops, and from distinct photographs while N ≤ the split's photos.
/// `selected` opts resampler generators in ([`jobs`]).
pub fn catalogue_interleaved(
    cfg: &PhotoConfig,
    split: Split,
    selected: &[String],
) -> Result<Vec<PhotoKey>, PhotoError> {
    cfg.validate()?;
    let photos = photos_of(split)?;
    let jobs = jobs(selected);
    let (k, p) = (jobs.len(), photos.len());
    let n = p * cfg.crops_per_photo as usize;
    Ok((0..n * k)
        .map(|t| {
            let (round, job) = (t / k, t % k);
            let crop = (round + job) % n;
            let (photo, index) = (&photos[crop % p].id, (crop / p) as u32);
            let (kind, generator, property) = jobs[job];
            PhotoKey {
                split,
                photo: photo.clone(),
                crop: index,
                kind,
                generator: generator.into(),
                property: property.into(),
            }
        })
        .collect())
}

fn real_path(key: &PhotoKey) -> String {
    format!("{}/real/{}.png", key.split, key.crop_id())
}

fn fake_path(key: &PhotoKey) -> String {
    format!("{}/fake/{}.png", key.split, key.id())
}

fn gt_path(key: &PhotoKey) -> String {
    format!("{}/gt/{}.png", key.split, key.id())
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> PhotoError {
    PhotoError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes PNGs, ground-truth maps and a `manifest.csv` (docs/data.md) under `dir`, like
/// `synth::write_dataset`, and returns the manifest's path.
///
/// Per split, the samples are the first `count` of [`catalogue_interleaved`] (all when
/// `None`), with the resampler generators named in `selected`. Real crops go to `<split>/real/<crop id>.png` (once per crop), fakes to
/// `<split>/fake/<id>.png` and their eq. 2 ground truth (8-bit gray; all 255 for `entire`) to
/// `<split>/gt/<id>.png`, named like the fake so `harness score --pred P --gt <split>/gt` pairs
/// them with `harness predict --out P <split>/fake/*.png`. The manifest's `mask` column stays
/// empty: the harness derives ground truth from the pair itself.
pub fn write_dataset(
    cfg: &PhotoConfig,
    dir: &Path,
    splits: &[Split],
    count: Option<usize>,
    selected: &[String],
) -> Result<PathBuf, PhotoError> {
    cfg.validate()?;
    let mut csv = crate::data::header_line();
    for &split in splits {
        let keys: Vec<PhotoKey> = catalogue_interleaved(cfg, split, selected)?
            .into_iter()
            .take(count.unwrap_or(usize::MAX))
            .collect();
        let mut crops: Vec<PhotoKey> = keys
            .iter()
            .filter(|k| k.kind != Kind::Entire)
            .map(|k| PhotoKey::real(split, &k.photo, k.crop))
            .collect();
        crops.sort_by(|a, b| (&a.photo, a.crop).cmp(&(&b.photo, b.crop)));
        crops.dedup();
        crops.par_iter().try_for_each(|k| {
            let path = dir.join(real_path(k));
            let (crop, _) = real_crop(cfg, k)?;
            crate::data::save_rgb_png(&path, &crop).map_err(|e| write_error(&path, e))
        })?;
        keys.par_iter()
            .filter(|k| k.kind != Kind::Real)
            .try_for_each(|k| {
                let s = render(cfg, k)?;
                let path = dir.join(fake_path(k));
                crate::data::save_rgb_png(&path, &s.fake).map_err(|e| write_error(&path, e))?;
                let gt = crate::data::export_gray(s.real.as_ref(), &s.fake)
                    .map_err(|e| PhotoError::Table(e.to_string()))?;
                let path = dir.join(gt_path(k));
                crate::data::save_gray_png(&path, &gt).map_err(|e| write_error(&path, e))
            })?;
        for k in &keys {
            crate::data::push_row(
                &mut csv,
                (&k.id(), k.split, &k.generator, &k.property, k.kind),
                &fake_path(k),
                &real_path(k),
            );
        }
    }
    let manifest = dir.join("manifest.csv");
    crate::util::write_atomic(&manifest, csv.as_bytes()).map_err(|e| write_error(&manifest, e))?;
    Ok(manifest)
}
