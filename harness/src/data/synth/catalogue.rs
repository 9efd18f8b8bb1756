//! The catalogue of samples and the export of a data set with a manifest (docs/data.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{generators, manipulate, render, SampleKey, SynthConfig, SynthError, PROPERTIES};
use crate::data::{Kind, Split};

/// The per-identity jobs in catalogue order: the real photo, every partial generator × property,
/// every full-synthesis generator.
fn jobs() -> Vec<(Kind, &'static str, &'static str)> {
    let mut j = vec![(Kind::Real, "real", "none")];
    for g in generators().iter().filter(|g| !g.entire) {
        j.extend(PROPERTIES.iter().map(|p| (Kind::Partial, g.name, *p)));
    }
    j.extend(
        generators()
            .iter()
            .filter(|g| g.entire)
            .map(|g| (Kind::Entire, g.name, "entire")),
    );
    j
}

fn key(split: Split, identity: u32, job: (Kind, &str, &str)) -> SampleKey {
    SampleKey {
        split,
        identity,
        kind: job.0,
        generator: job.1.to_string(),
        property: job.2.to_string(),
    }
}

/// Every sample of a split in a stable, identity-major order: per identity one real photo, one
/// fake per (partial generator × property), and one per full-synthesis generator. The first N
/// samples of any (generator, property) therefore come from N distinct identities.
pub fn catalogue(cfg: &SynthConfig, split: Split) -> impl Iterator<Item = SampleKey> {
    let jobs = jobs();
    (0..cfg.identities.get(split))
        .flat_map(move |i| jobs.clone().into_iter().map(move |j| key(split, i, j)))
}

/// The same samples as [`catalogue`] in an interleaved order whose every prefix covers all
/// (generator, property) jobs round-robin over many identities: sample t is job `t mod K` of
/// identity `(t div K + t mod K) mod I` (K jobs per identity, I identities). Each
/// (identity, job) pair appears exactly once, and the first N samples of a job come from N
/// distinct identities.
pub fn catalogue_interleaved(cfg: &SynthConfig, split: Split) -> impl Iterator<Item = SampleKey> {
    let jobs = jobs();
    let k = jobs.len() as u64;
    let n = cfg.identities.get(split) as u64;
    (0..n * k).map(move |t| {
        let (round, job) = (t / k, (t % k) as usize);
        key(split, ((round + job as u64) % n) as u32, jobs[job])
    })
}

/// Manifest path of an identity's real photo, relative to the manifest.
fn real_path(split: Split, identity: u32) -> String {
    format!("{split}/real/{split}-{identity:06}.png")
}

fn fake_path(key: &SampleKey) -> String {
    format!("{}/fake/{}.png", key.split, key.id())
}

/// The ground truth of a fake, named like it so `harness score` pairs the two directories.
fn gt_path(key: &SampleKey) -> String {
    format!("{}/gt/{}.png", key.split, key.id())
}

/// Writes a PNG atomically (encoded in memory, then `fsutil::write_atomic`).
fn save_png<P>(img: &image::ImageBuffer<P, Vec<u8>>, path: &Path) -> Result<(), SynthError>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|source| SynthError::Image {
        path: path.into(),
        source,
    })?;
    crate::util::write_atomic(path, &bytes).map_err(|source| SynthError::Io {
        path: path.into(),
        source,
    })
}

/// Writes PNGs and a `manifest.csv` (docs/data.md) (`id,split,generator,property,kind,fake,real,mask`,
/// paths relative to the manifest) under `dir`, and returns the manifest's path.
///
/// Per split, the samples are the first `count` of [`catalogue_interleaved`] (all when `None`),
/// so a small export still covers every generator and property. Real photos are written once
/// per identity under `<split>/real/`, fakes under `<split>/fake/`; `fake` is always the image a
/// localizer sees, `real` is empty for real and entire samples, `mask` is always empty (the
/// harness derives ground truth from the pair). Each fake's ground truth is written beside it
/// as `<split>/gt/<id>.png` (8-bit `Gray(|X − X'|)` of eq. 2, all 255 for full syntheses), for
/// `harness score`. Rendering runs in parallel; output does not depend on the thread count.
pub fn write_dataset(
    cfg: &SynthConfig,
    dir: &Path,
    splits: &[Split],
    count: Option<usize>,
) -> Result<PathBuf, SynthError> {
    cfg.validate()?;
    let mut csv = crate::data::header_line();
    for &split in splits {
        let keys: Vec<SampleKey> = catalogue_interleaved(cfg, split)
            .take(count.unwrap_or(usize::MAX))
            .collect();
        for sub in ["real", "fake", "gt"] {
            let d = dir.join(split.as_str()).join(sub);
            std::fs::create_dir_all(&d).map_err(|source| SynthError::Io { path: d, source })?;
        }
        let sources: BTreeSet<u32> = keys
            .iter()
            .filter(|k| k.kind != Kind::Entire)
            .map(|k| k.identity)
            .collect();
        sources.into_par_iter().try_for_each(|i| {
            let (_, photo) = manipulate::real_photo(cfg.seed, split, i, cfg.size as usize);
            save_png(&photo, &dir.join(real_path(split, i)))
        })?;
        keys.par_iter()
            .filter(|k| k.kind != Kind::Real)
            .try_for_each(|k| {
                let s = render(cfg, k)?;
                save_png(&s.fake, &dir.join(fake_path(k)))?;
                let gt = crate::data::export_gray(s.real.as_ref(), &s.fake)
                    .map_err(|e| SynthError::InvalidConfig(e.to_string()))?;
                save_png(&gt, &dir.join(gt_path(k)))
            })?;
        for k in &keys {
            crate::data::push_row(
                &mut csv,
                (&k.id(), k.split, &k.generator, &k.property, k.kind),
                &fake_path(k),
                &real_path(split, k.identity),
            );
        }
    }
    let manifest = dir.join("manifest.csv");
    let tmp = dir.join("manifest.csv.tmp");
    std::fs::write(&tmp, csv).map_err(|source| SynthError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &manifest).map_err(|source| SynthError::Io {
        path: manifest.clone(),
        source,
    })?;
    Ok(manifest)
}
