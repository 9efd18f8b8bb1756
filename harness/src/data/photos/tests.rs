//! Checks of the real-photo source (`cargo test -p harness --lib photos::`).

use std::collections::{BTreeMap, BTreeSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::data::{
    difference_gray, ground_truth, native_ground_truth, DataConfig, Dataset, GroundTruthPolicy,
    SourceKind,
};

fn small() -> PhotoConfig {
    PhotoConfig {
        seed: 3,
        size: 96,
        crops_per_photo: 3,
    }
}

fn first_of(split: Split) -> &'static PhotoInfo {
    photos_of(split).unwrap()[0]
}

#[test]
fn no_photograph_is_in_two_splits() {
    let table = photos().unwrap();
    // One row per photograph, so one split per id and per file.
    let ids: BTreeSet<&str> = table.iter().map(|p| p.id.as_str()).collect();
    let files: BTreeSet<&str> = table.iter().map(|p| p.file.as_str()).collect();
    assert_eq!((ids.len(), files.len()), (table.len(), table.len()));
    // The same picture under two ids would be in two rows: no two crops have equal pixels.
    let mut by_pixels: BTreeMap<Vec<u8>, &str> = BTreeMap::new();
    for p in table {
        let pixels = load_crop(p).unwrap().into_raw();
        let digest = {
            use sha2::Digest;
            sha2::Sha256::digest(&pixels).to_vec()
        };
        if let Some(other) = by_pixels.insert(digest, &p.id) {
            panic!("{} and {other} are the same picture", p.id);
        }
    }
    // Sample catalogues of different splits share no photograph.
    let cfg = PhotoConfig::default();
    let per_split: Vec<BTreeSet<String>> = Split::ALL
        .iter()
        .map(|&s| {
            let keys = catalogue_interleaved(&cfg, s, &[]).unwrap();
            assert!(keys.iter().all(|k| k.split == s));
            keys.into_iter().map(|k| k.photo).collect()
        })
        .collect();
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(per_split[i].is_disjoint(&per_split[j]));
        }
    }
    let counts: Vec<usize> = per_split.iter().map(BTreeSet::len).collect();
    assert_eq!(counts, vec![94, 21, 21]);
    assert_eq!(counts.iter().sum::<usize>(), table.len());
}

#[test]
fn sources_table_covers_every_crop_file_and_every_crop_is_listed() {
    let listed: BTreeSet<&str> = photos().unwrap().iter().map(|p| p.file.as_str()).collect();
    let embedded: BTreeSet<&str> = crop_files().collect();
    assert_eq!(listed, embedded);
    assert_eq!(embedded.len(), 136);
    for p in photos().unwrap() {
        assert_eq!(p.file, format!("crops/{}.png", p.id));
        assert!(!p.license.is_empty() && !p.package.is_empty() && !p.version.is_empty());
        assert_eq!(load_crop(p).unwrap().dimensions(), (CROP_SIDE, CROP_SIDE));
    }
}

#[test]
fn crops_are_copied_never_resampled() {
    let cfg = small();
    for split in Split::ALL {
        let p = first_of(split);
        let stored = load_crop(p).unwrap();
        let offsets = crop_offsets(&cfg, &p.id, cfg.crops_per_photo);
        for crop in 0..cfg.crops_per_photo {
            let s = render(&cfg, &PhotoKey::real(split, &p.id, crop)).unwrap();
            assert_eq!(s.offset, offsets[crop as usize]);
            assert_eq!(s.fake.dimensions(), (cfg.size, cfg.size));
            for (x, y, px) in s.fake.enumerate_pixels() {
                assert_eq!(*px, *stored.get_pixel(x + s.offset.0, y + s.offset.1));
            }
            // A partial sample's source is the same crop.
            let f = render(
                &cfg,
                &PhotoKey::partial(split, &p.id, crop, "tconv", "paste"),
            )
            .unwrap();
            assert_eq!(f.real.as_ref(), Some(&s.fake));
            assert_eq!(f.offset, s.offset);
        }
    }
    // Offsets are distinct, and crop k does not depend on how many crops are cut.
    let p = &first_of(Split::Test).id;
    let five = crop_offsets(&cfg, p, 5);
    assert_eq!(five.iter().collect::<BTreeSet<_>>().len(), 5);
    assert_eq!(&five[..3], &crop_offsets(&cfg, p, 3)[..]);
    assert!(five
        .iter()
        .all(|o| o.0 <= CROP_SIDE - cfg.size && o.1 <= CROP_SIDE - cfg.size));
    // The full side has one crop only.
    let full = PhotoConfig {
        size: 320,
        crops_per_photo: 1,
        ..cfg
    };
    assert_eq!(crop_offsets(&full, p, 1), vec![(0, 0)]);
}

#[test]
fn samples_are_deterministic_and_independent_of_order_and_threads() {
    let cfg = small();
    let keys: Vec<PhotoKey> = catalogue_interleaved(&cfg, Split::Val, &[])
        .unwrap()
        .into_iter()
        .take(jobs(&[]).len() + 3)
        .collect();
    let render_all = |threads: usize, reverse: bool| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut order: Vec<&PhotoKey> = keys.iter().collect();
        if reverse {
            order.reverse();
        }
        let mut out: Vec<(String, Vec<u8>)> = pool.install(|| {
            use rayon::prelude::*;
            order
                .par_iter()
                .map(|k| (k.id(), render(&cfg, k).unwrap().fake.into_raw()))
                .collect()
        });
        out.sort();
        out
    };
    let a = render_all(1, false);
    assert_eq!(a, render_all(2, true));
    // Another seed gives other fakes (and other crops).
    let other = PhotoConfig {
        seed: 4,
        ..cfg.clone()
    };
    let k = &keys[1];
    assert_ne!(
        render(&cfg, k).unwrap().fake,
        render(&other, k).unwrap().fake
    );
}

#[test]
fn ids_are_stable_and_readable() {
    let p = "p002_lomiri_dragonfly";
    assert_eq!(
        PhotoKey::real(Split::Test, p, 1).id(),
        "photo-test-p002_lomiri_dragonfly-c1"
    );
    assert_eq!(
        PhotoKey::partial(Split::Test, p, 0, "bilinear_recon", "color").id(),
        "photo-test-p002_lomiri_dragonfly-c0-bilinear_recon-color"
    );
    assert_eq!(
        PhotoKey::entire(Split::Test, p, 0, "full_tconv").id(),
        "photo-test-p002_lomiri_dragonfly-c0-full_tconv-entire"
    );
    // Unique over a split's catalogue.
    let keys = catalogue_interleaved(&PhotoConfig::default(), Split::Test, &[]).unwrap();
    let ids: BTreeSet<String> = keys.iter().map(PhotoKey::id).collect();
    assert_eq!(ids.len(), keys.len());
    assert_eq!(keys.len(), 21 * 2 * jobs(&[]).len());
}

#[test]
fn catalogue_prefixes_cover_every_job_with_distinct_photographs() {
    let cfg = PhotoConfig::default();
    let keys = catalogue_interleaved(&cfg, Split::Test, &[]).unwrap();
    let k = jobs(&[]).len();
    assert_eq!(k, 1 + 8 * EDITS.len() + 3);
    let mut per_job: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for key in &keys[..21 * k] {
        per_job
            .entry((key.generator.clone(), key.property.clone()))
            .or_default()
            .push(&key.photo);
    }
    assert_eq!(per_job.len(), k);
    for photos in per_job.values() {
        assert_eq!(photos.iter().collect::<BTreeSet<_>>().len(), 21);
    }
}

#[test]
fn ground_truth_is_eq2_of_real_and_fake() {
    let cfg = small();
    let data = DataConfig {
        source: SourceKind::Photos,
        manifest: None,
        manifest_path: None,
        split: Split::Test,
        generators: vec!["tconv".into(), "style".into(), "full_nearest".into()],
        properties: vec![],
        fakes_per_category: 1,
        reals: 2,
        synth_seed: 0,
        synth_size: 224,
        photos: Some(cfg.clone()),
    };
    let dataset = Dataset::open(&data).unwrap();
    assert_eq!(dataset.images.len(), 2 + 2 * EDITS.len() + 1);
    for image in &dataset.images {
        let loaded = dataset.load(image).unwrap();
        let gt = native_ground_truth(
            &image.id,
            image.kind,
            &loaded,
            &loaded.fake,
            None,
            GroundTruthPolicy::Degraded,
        )
        .unwrap();
        match image.kind {
            Kind::Real => assert!(gt.as_raw().iter().all(|&v| v == 0.0)),
            Kind::Entire => assert!(gt.as_raw().iter().all(|&v| v == 1.0)),
            Kind::Partial => {
                let real = loaded.real.as_ref().unwrap();
                assert_eq!(gt, ground_truth(real, &loaded.fake).unwrap());
                let mean = gt.as_raw().iter().sum::<f32>() / gt.as_raw().len() as f32;
                assert!(mean > 0.0, "{}: no difference", image.id);
            }
        }
    }
}

#[test]
fn selective_generators_change_only_the_soft_region() {
    let cfg = PhotoConfig {
        size: 128,
        ..small()
    };
    let p = first_of(Split::Train);
    let (real, _) = real_crop(&cfg, &PhotoKey::real(Split::Train, &p.id, 0)).unwrap();
    for (i, edit) in EDITS.iter().enumerate() {
        for gen in ["tconv", "unpool", "tconv_recon"] {
            let g = synth::generator(gen).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
            let m = partial(&real, edit, g, &mut rng);
            let gt = difference_gray(&real, &m.fake).unwrap();
            let (mut inside, mut n_in, mut outside_nonzero, mut n_out) = (0u64, 0u64, 0u64, 0u64);
            for (v, (s, r)) in gt.as_raw().iter().zip(m.soft.v.iter().zip(&m.region.v)) {
                if *s == 0.0 {
                    n_out += 1;
                    outside_nonzero += (*v > 0) as u64;
                    if g.alpha == 0.0 {
                        assert_eq!(*v, 0, "{gen}/{edit}: changed outside the soft mask");
                    }
                } else if *r == 1.0 {
                    n_in += 1;
                    inside += *v as u64;
                }
            }
            let cover = m.region.v.iter().sum::<f32>() / (128 * 128) as f32;
            assert!(cover >= 0.08, "{gen}/{edit}: region {cover}");
            assert!(
                n_in > 0 && inside as f64 / n_in as f64 > 2.0,
                "{gen}/{edit}"
            );
            if g.alpha > 0.0 {
                // Whole-image reconstruction: most pixels outside the edit change too.
                assert!(outside_nonzero * 2 > n_out, "{gen}/{edit}");
            }
        }
    }
}

#[test]
fn every_edit_leaves_a_visible_difference_in_its_region() {
    // Mean eq. 2 ground truth inside the edited region above 3 gray levels for every edit, on a
    // validation photograph through a selective bilinear decoder.
    let cfg = PhotoConfig {
        size: 128,
        ..small()
    };
    let p = first_of(Split::Val);
    let (real, _) = real_crop(&cfg, &PhotoKey::real(Split::Val, &p.id, 0)).unwrap();
    let g = synth::generator("bilinear").unwrap();
    for edit in EDITS {
        let mut a = ChaCha8Rng::seed_from_u64(9);
        let with = partial(&real, edit, g, &mut a);
        let gt_with = difference_gray(&real, &with.fake).unwrap();
        let mean = |img: &image::GrayImage, mask: &Plane| {
            let (s, n) = img
                .as_raw()
                .iter()
                .zip(&mask.v)
                .filter(|(_, m)| **m == 1.0)
                .fold((0u64, 0u64), |(s, n), (v, _)| (s + *v as u64, n + 1));
            s as f64 / n.max(1) as f64
        };
        assert!(
            mean(&gt_with, &with.region) > 3.0,
            "{edit}: {}",
            mean(&gt_with, &with.region)
        );
    }
}

#[test]
fn errors_name_the_valid_values() {
    let cfg = small();
    let p = &first_of(Split::Test).id;
    let msg = |k: PhotoKey| render(&cfg, &k).unwrap_err().to_string();
    assert!(
        msg(PhotoKey::partial(Split::Test, p, 0, "tconv", "bald")).contains("brightness, color")
    );
    assert!(
        msg(PhotoKey::partial(Split::Test, p, 0, "full_tconv", "color")).contains("tconv, nearest")
    );
    assert!(msg(PhotoKey::entire(Split::Test, p, 0, "tconv")).contains("full_nearest"));
    assert!(msg(PhotoKey::real(Split::Train, p, 0)).contains("belongs to split `test`"));
    assert!(msg(PhotoKey::real(Split::Test, p, 3)).contains("crops_per_photo is 3"));
    assert!(msg(PhotoKey::real(Split::Test, "nope", 0)).contains("unknown photo"));
    for (size, crops) in [(384, 1), (100, 1), (320, 2), (224, 0)] {
        let bad = PhotoConfig {
            size,
            crops_per_photo: crops,
            ..cfg.clone()
        };
        assert!(bad.validate().is_err(), "{size} {crops}");
    }
}

#[test]
fn export_writes_manifest_images_and_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small();
    let count = jobs(&[]).len() + 2;
    let manifest = write_dataset(&cfg, dir.path(), &[Split::Test], Some(count), &[]).unwrap();
    let text = std::fs::read_to_string(&manifest).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "id,split,generator,property,kind,fake,real,mask");
    assert_eq!(rows.len(), 1 + count);
    let keys = catalogue_interleaved(&cfg, Split::Test, &[]).unwrap();
    for (row, key) in rows[1..].iter().zip(&keys) {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols[0], key.id());
        assert_eq!(cols[7], "");
        let s = render(&cfg, key).unwrap();
        let fake = image::open(dir.path().join(cols[5])).unwrap().to_rgb8();
        assert_eq!(fake, s.fake);
        let gt_file = dir.path().join(format!("test/gt/{}.png", key.id()));
        match key.kind {
            Kind::Real => assert!(!gt_file.exists()),
            Kind::Partial => {
                let real = image::open(dir.path().join(cols[6])).unwrap().to_rgb8();
                assert_eq!(Some(&real), s.real.as_ref());
                let gt = image::open(&gt_file).unwrap().to_luma8();
                assert_eq!(gt, difference_gray(&real, &fake).unwrap());
            }
            Kind::Entire => {
                let gt = image::open(&gt_file).unwrap().to_luma8();
                assert!(gt.as_raw().iter().all(|&v| v == 255));
            }
        }
    }
}

#[test]
fn resampler_generators_are_opt_in_and_edit_only_their_region() {
    let cfg = small();
    // Not in the default catalogue; named ones join it after the default jobs, × every edit.
    let default = jobs(&[]);
    assert!(default.iter().all(|(_, g, _)| resampler(g).is_none()));
    let chosen = vec!["resize_lanczos3".to_string(), "resize_nearest".to_string()];
    let with = jobs(&chosen);
    assert_eq!(&with[..default.len()], &default[..]);
    let extra: Vec<&str> = with[default.len()..].iter().map(|j| j.1).collect();
    assert_eq!(extra.len(), 2 * EDITS.len());
    // RESAMPLERS order, not the order they were named in.
    assert_eq!(extra[0], "resize_nearest");
    assert_eq!(extra[EDITS.len()], "resize_lanczos3");

    let p = &first_of(Split::Train).id;
    for r in RESAMPLERS.iter() {
        for edit in EDITS {
            let key = PhotoKey::partial(Split::Train, p, 0, r.name, edit);
            let s = render(&cfg, &key).unwrap();
            assert_eq!(
                s,
                render(&cfg, &key).unwrap(),
                "{} is deterministic",
                key.id()
            );
            let real = s.real.as_ref().unwrap();
            let mut rng = sample_rng(&cfg, &key);
            let m = resample::partial(real, edit, r, &mut rng);
            assert_eq!(m.fake, s.fake);
            // Outside the soft mask the photograph is untouched; inside, something changed.
            let mut changed_inside = 0;
            for (i, (a, b)) in real.pixels().zip(s.fake.pixels()).enumerate() {
                if m.soft.v[i] == 0.0 {
                    assert_eq!(a, b, "{} pixel {i} outside the region", key.id());
                } else if a != b {
                    changed_inside += 1;
                }
            }
            assert!(changed_inside > 0, "{} changed nothing", key.id());
        }
    }
    // Resamplers are partial generators only.
    let entire = PhotoKey::entire(Split::Train, p, 0, "resize_bilinear");
    assert!(render(&cfg, &entire).is_err());
}

#[test]
fn a_suite_opts_resamplers_in_by_naming_them() {
    let mut cfg = DataConfig {
        source: SourceKind::Photos,
        manifest: None,
        manifest_path: None,
        split: Split::Val,
        generators: vec!["resize_keys".into(), "tconv".into()],
        properties: vec![],
        fakes_per_category: 2,
        reals: 0,
        synth_seed: 0,
        synth_size: 224,
        photos: Some(small()),
    };
    let ds = Dataset::open(&cfg).unwrap();
    let per = ds.summary().categories;
    assert_eq!(per.len(), 2 * EDITS.len());
    assert!(per.keys().any(|c| c == "resize_keys/smooth"));
    assert!(per.values().all(|&n| n == 2));
    // Without naming them, a suite selects what it selected before.
    cfg.generators = vec!["tconv".into()];
    assert!(Dataset::open(&cfg)
        .unwrap()
        .images
        .iter()
        .all(|i| resampler(&i.generator).is_none()));
}
