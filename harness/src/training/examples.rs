//! Training and validation examples: images rendered or read, ground truth derived (docs/design.md §2),
//! resized to the network's input and map sizes, and packed into tensors.

use localizers::models::candle_core::{self, Device, Tensor};
use metrics::Map;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::config::Augment;
use crate::data::{
    self, native_ground_truth, seeds, Dataset, DatasetError, GroundTruthPolicy, ImageRef, Kind,
};

/// One image ready for the network.
pub struct Example {
    /// Normalised `3×S×S` input, channel-major.
    pub input: Vec<f32>,
    /// Ground truth at the map size.
    pub target: Map,
    /// 1 for partial and full manipulations, 0 for real images.
    pub label: u8,
}

/// What an example is resized and normalised to.
#[derive(Clone, Copy, Debug)]
pub struct Shapes {
    /// Network input side, pixels.
    pub input: u32,
    /// Map (width, height) the network produces for that input.
    pub map: (u32, u32),
    /// Per-channel mean and std of the input normalisation.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Augment {
    /// The degradation (if any) of the image whose augmentation stream is seeded by `seed`:
    /// applied with `probability`, one op drawn uniformly, its level uniformly in its range
    /// (blur: odd kernels only; jpeg: whole qualities).
    pub fn draw(&self, seed: u64) -> Option<degradations::Degradation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if self.ops.is_empty() || rng.random::<f64>() >= self.probability {
            return None;
        }
        let op = &self.ops[rng.random_range(0..self.ops.len())];
        let (lo, hi) = (op.min.unwrap_or(0.0), op.max.unwrap_or(0.0));
        let level = match op.op.as_str() {
            "blur" => {
                let (first, last) = ((lo as i64) | 1, hi as i64);
                let odd_kernels = ((last - first) / 2 + 1).max(1);
                (first + 2 * rng.random_range(0..odd_kernels)) as f64
            }
            "jpeg" => rng.random_range(lo.round() as i64..=hi.round() as i64) as f64,
            _ if hi > lo => rng.random_range(lo..=hi),
            _ => lo,
        };
        // The range was checked when the config was read.
        op.at(level).ok()
    }
}

/// Loads one image: the fake as the network sees it (degraded when `augment` draws a
/// degradation from the stream seeded by `augment_seed`) and its clean ground truth (tiles
/// follow `disorganize`).
pub fn load_example(
    dataset: &Dataset,
    image: &ImageRef,
    shapes: &Shapes,
    augment: Option<(&Augment, u64)>,
) -> Result<Example, DatasetError> {
    let loaded = dataset.load(image)?;
    let degradation = augment.and_then(|(a, seed)| Some((a.draw(seed)?, seed)));
    let (pixels, tiles) = match degradation {
        None => (None, None),
        Some((d, seed)) => {
            let out = d
                .apply(&loaded.fake, seed)
                .map_err(|e| DatasetError::GroundTruth(format!("{}: {d}: {e}", image.id)))?;
            (Some(out.image), out.tiles)
        }
    };
    let presented = pixels.as_ref().unwrap_or(&loaded.fake);
    let gt = native_ground_truth(
        &image.id,
        image.kind,
        &loaded,
        presented,
        tiles.as_ref(),
        GroundTruthPolicy::Clean,
    )
    .map_err(DatasetError::GroundTruth)?;
    let s = shapes.input;
    let rgb = data::resize_rgb(presented, s, s);
    Ok(Example {
        input: localizers::models::preprocess::normalize(&rgb, shapes.mean, shapes.std),
        // Area filter: the mean ground truth of each map cell (PIL's antialiased bilinear,
        // which Stehouwer et al. used for 19×19, averages similarly).
        target: data::resize_map_area(&gt, shapes.map.0, shapes.map.1),
        label: image.is_fake() as u8,
    })
}

/// One image to load: its dataset, the image, and its augmentation seed (ignored without
/// augmentation).
pub type Job<'a> = (&'a Dataset, &'a ImageRef, u64);

/// Loads `jobs` in parallel, in order.
pub fn load_all(
    jobs: &[Job],
    shapes: &Shapes,
    augment: Option<&Augment>,
) -> Result<Vec<Example>, DatasetError> {
    jobs.par_iter()
        .map(|&(dataset, image, seed)| {
            load_example(dataset, image, shapes, augment.map(|a| (a, seed)))
        })
        .collect()
}

/// Input `N×3×S×S`, target `N×1×h×w` and labels of a batch.
pub fn stack(
    examples: &[&Example],
    shapes: &Shapes,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor, Vec<u8>)> {
    let n = examples.len();
    let s = shapes.input as usize;
    let (w, h) = (shapes.map.0 as usize, shapes.map.1 as usize);
    let input: Vec<f32> = examples
        .iter()
        .flat_map(|e| e.input.iter().copied())
        .collect();
    let target: Vec<f32> = examples
        .iter()
        .flat_map(|e| e.target.as_raw().iter().copied())
        .collect();
    Ok((
        Tensor::from_vec(input, (n, 3, s, s), device)?,
        Tensor::from_vec(target, (n, 1, h, w), device)?,
        examples.iter().map(|e| e.label).collect(),
    ))
}

/// One source's training pool, split by kind.
struct Pool<'a> {
    dataset: &'a Dataset,
    fakes: Vec<&'a ImageRef>,
    reals: Vec<&'a ImageRef>,
    /// The fakes again, split into partial manipulations and full syntheses, for
    /// `entire_fraction`.
    partial: Vec<&'a ImageRef>,
    entire: Vec<&'a ImageRef>,
}

impl<'a> Pool<'a> {
    fn new(dataset: &'a Dataset) -> Pool<'a> {
        let (fakes, reals): (Vec<_>, Vec<_>) = dataset.images.iter().partition(|i| i.is_fake());
        let (entire, partial) = fakes.iter().partition(|i| i.kind == Kind::Entire);
        Pool {
            dataset,
            fakes,
            reals,
            partial,
            entire,
        }
    }
}

/// The training pools of the sources, sampled per step from a seeded stream.
pub struct Sampler<'a> {
    pools: Vec<Pool<'a>>,
    /// Share of batch images drawn from each source (sums to 1).
    shares: Vec<f64>,
    real_fraction: f64,
    entire_fraction: Option<f64>,
    seed: u64,
}

impl<'a> Sampler<'a> {
    /// Splits each source's images; a batch image comes from source `i` with probability
    /// proportional to `weights[i]`, is real with probability `real_fraction` and, when given,
    /// `entire_fraction` of the fakes are full syntheses (else fakes are drawn uniformly, so
    /// each kind comes as often as it is in the pool).
    pub fn new(
        sources: &[(&'a Dataset, f64)],
        real_fraction: f64,
        entire_fraction: Option<f64>,
        seed: u64,
    ) -> Sampler<'a> {
        let total: f64 = sources.iter().map(|s| s.1).sum();
        Sampler {
            pools: sources.iter().map(|s| Pool::new(s.0)).collect(),
            shares: sources.iter().map(|s| s.1 / total).collect(),
            real_fraction,
            entire_fraction,
            seed,
        }
    }

    /// Counts of (fake, real) images in the pools.
    pub fn counts(&self) -> (usize, usize) {
        self.pools
            .iter()
            .fold((0, 0), |(f, r), p| (f + p.fakes.len(), r + p.reals.len()))
    }

    /// Counts of (partial, entire) fakes in the pools.
    pub fn fake_counts(&self) -> (usize, usize) {
        self.pools.iter().fold((0, 0), |(a, b), p| {
            (a + p.partial.len(), b + p.entire.len())
        })
    }

    /// Counts of (partial, entire, real) images per source, in order.
    pub fn pools(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.pools
            .iter()
            .map(|p| (p.partial.len(), p.entire.len(), p.reals.len()))
    }

    /// The images of training step `step` with their augmentation seeds: a function of
    /// (seed, step) only, so a resumed run sees the same batches as an uninterrupted one.
    pub fn batch(&self, step: usize, size: usize) -> Vec<Job<'a>> {
        let step_label = step.to_string();
        let mut rng =
            ChaCha8Rng::seed_from_u64(seeds::from_labels(self.seed, &["train-batch", &step_label]));
        (0..size)
            .map(|index| {
                // One source draws no number, so single-source batches are those of before
                // sources could be mixed.
                let pool = if self.pools.len() == 1 {
                    &self.pools[0]
                } else {
                    let u = rng.random::<f64>();
                    let mut acc = 0.0;
                    let chosen = self
                        .shares
                        .iter()
                        .position(|share| {
                            acc += share;
                            u < acc
                        })
                        .unwrap_or(self.pools.len() - 1);
                    &self.pools[chosen]
                };
                let real = !pool.reals.is_empty()
                    && (pool.fakes.is_empty() || rng.random::<f64>() < self.real_fraction);
                let images = match self.entire_fraction {
                    _ if real => &pool.reals,
                    // Both kinds present: draw the kind first.
                    Some(f) if !pool.entire.is_empty() && !pool.partial.is_empty() => {
                        if rng.random::<f64>() < f {
                            &pool.entire
                        } else {
                            &pool.partial
                        }
                    }
                    _ => &pool.fakes,
                };
                let image = images[rng.random_range(0..images.len())];
                let augment_seed =
                    seeds::from_labels(self.seed, &["augment", &step_label, &index.to_string()]);
                (pool.dataset, image, augment_seed)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;
    use crate::data::{DataConfig, SourceKind};

    fn pool() -> Dataset {
        Dataset::open(&DataConfig {
            source: SourceKind::Synth,
            manifest: None,
            manifest_path: None,
            split: Split::Train,
            generators: vec!["tconv".into(), "full_tconv".into()],
            properties: vec![],
            fakes_per_category: 100,
            reals: 100,
            synth_seed: 0,
            synth_size: 64,
            photos: None,
        })
        .unwrap()
    }

    /// Fraction of full syntheses among the fakes of 400 batches of 8.
    fn entire_share(sampler: &Sampler) -> f64 {
        let fakes: Vec<_> = (0..400)
            .flat_map(|step| sampler.batch(step, 8))
            .map(|job| job.1)
            .filter(|i| i.is_fake())
            .collect();
        fakes.iter().filter(|i| i.kind == Kind::Entire).count() as f64 / fakes.len() as f64
    }

    #[test]
    fn augmentation_draws_levels_within_their_ranges() {
        use crate::config::{Augment, AugmentOp};
        let op = |op: &str, min, max| AugmentOp {
            op: op.into(),
            min: Some(min),
            max: Some(max),
        };
        let augment = Augment {
            probability: 0.5,
            ops: vec![
                op("jpeg", 30.0, 95.0),
                op("blur", 3.0, 11.0),
                op("lowres", 1.5, 4.0),
            ],
        };
        let drawn: Vec<_> = (0..2000).map(|seed| augment.draw(seed)).collect();
        let degraded = drawn.iter().flatten().count();
        assert!(
            (900..1100).contains(&degraded),
            "{degraded} of 2000 degraded"
        );
        let mut kernels = std::collections::BTreeSet::new();
        for d in drawn.iter().flatten() {
            let level = d.level().unwrap();
            match d.name() {
                "jpeg" => assert!((30.0..=95.0).contains(&level) && level.fract() == 0.0),
                "blur" => {
                    kernels.insert(level as u32);
                }
                "lowres" => assert!((1.5..=4.0).contains(&level)),
                other => panic!("{other} was not configured"),
            }
        }
        assert_eq!(kernels.into_iter().collect::<Vec<_>>(), [3, 5, 7, 9, 11]);
        assert_eq!(augment.draw(7), augment.draw(7));
    }

    #[test]
    fn entire_fraction_sets_the_share_of_full_syntheses() {
        let data = pool();
        let uniform = Sampler::new(&[(&data, 1.0)], 0.25, None, 3);
        let (partial, entire) = uniform.fake_counts();
        // tconv has 10 properties, full_tconv one: 1 category in 11.
        assert_eq!((partial, entire), (1000, 100));
        let share = entire_share(&uniform);
        assert!((share - 1.0 / 11.0).abs() < 0.03, "uniform: {share}");
        let share = entire_share(&Sampler::new(&[(&data, 1.0)], 0.25, Some(0.5), 3));
        assert!((share - 0.5).abs() < 0.05, "entire_fraction 0.5: {share}");
        // The same seed and step give the same batch.
        let again = Sampler::new(&[(&data, 1.0)], 0.25, Some(0.5), 3);
        let ids = |s: &Sampler| {
            s.batch(7, 8)
                .iter()
                .map(|job| job.1.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&again),
            ids(&Sampler::new(&[(&data, 1.0)], 0.25, Some(0.5), 3))
        );
    }
}
