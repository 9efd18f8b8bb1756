//! Training and validation examples: images rendered or read, ground truth derived (docs/design.md §2),
//! resized to the network's input and map sizes, and packed into tensors.

use localizers::models::candle_core::{self, Device, Tensor};
use metrics::Map;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

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

/// Loads one image: the fake as the network sees it and its clean ground truth.
pub fn load_example(
    dataset: &Dataset,
    image: &ImageRef,
    shapes: &Shapes,
) -> Result<Example, DatasetError> {
    let loaded = dataset.load(image)?;
    let gt = native_ground_truth(
        &image.id,
        image.kind,
        &loaded,
        &loaded.fake,
        None,
        GroundTruthPolicy::Clean,
    )
    .map_err(DatasetError::GroundTruth)?;
    let s = shapes.input;
    let rgb = data::resize_rgb(&loaded.fake, s, s);
    Ok(Example {
        input: localizers::models::preprocess::normalize(&rgb, shapes.mean, shapes.std),
        // Area filter: the mean ground truth of each map cell (PIL's antialiased bilinear,
        // which Stehouwer et al. used for 19×19, averages similarly).
        target: data::resize_map_area(&gt, shapes.map.0, shapes.map.1),
        label: image.is_fake() as u8,
    })
}

/// Loads `images` in parallel, in order.
pub fn load_all(
    dataset: &Dataset,
    images: &[&ImageRef],
    shapes: &Shapes,
) -> Result<Vec<Example>, DatasetError> {
    images
        .par_iter()
        .map(|image| load_example(dataset, image, shapes))
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

/// The training pool split into fakes and reals, sampled per step from a seeded stream.
pub struct Sampler<'a> {
    fakes: Vec<&'a ImageRef>,
    reals: Vec<&'a ImageRef>,
    /// The fakes again, split into partial manipulations and full syntheses, for
    /// `entire_fraction`.
    partial: Vec<&'a ImageRef>,
    entire: Vec<&'a ImageRef>,
    real_fraction: f64,
    entire_fraction: Option<f64>,
    seed: u64,
}

impl<'a> Sampler<'a> {
    /// Splits `dataset`'s images; `real_fraction` of each batch is real on average and, when
    /// given, `entire_fraction` of its fakes are full syntheses (else fakes are drawn
    /// uniformly, so each kind comes as often as it is in the pool).
    pub fn new(
        dataset: &'a Dataset,
        real_fraction: f64,
        entire_fraction: Option<f64>,
        seed: u64,
    ) -> Sampler<'a> {
        let (fakes, reals): (Vec<_>, Vec<_>) = dataset.images.iter().partition(|i| i.is_fake());
        let (entire, partial) = fakes.iter().partition(|i| i.kind == Kind::Entire);
        Sampler {
            fakes,
            reals,
            partial,
            entire,
            real_fraction,
            entire_fraction,
            seed,
        }
    }

    /// Counts of (fake, real) images in the pool.
    pub fn counts(&self) -> (usize, usize) {
        (self.fakes.len(), self.reals.len())
    }

    /// Counts of (partial, entire) fakes in the pool.
    pub fn fake_counts(&self) -> (usize, usize) {
        (self.partial.len(), self.entire.len())
    }

    /// The images of training step `step`: a function of (seed, step) only, so a resumed run
    /// sees the same batches as an uninterrupted one.
    pub fn batch(&self, step: usize, size: usize) -> Vec<&'a ImageRef> {
        let mut rng = ChaCha8Rng::seed_from_u64(seeds::from_labels(
            self.seed,
            &["train-batch", &step.to_string()],
        ));
        (0..size)
            .map(|_| {
                let real = !self.reals.is_empty()
                    && (self.fakes.is_empty() || rng.random::<f64>() < self.real_fraction);
                let pool = match self.entire_fraction {
                    _ if real => &self.reals,
                    // Both kinds present (checked before training): draw the kind first.
                    Some(f) if !self.entire.is_empty() && !self.partial.is_empty() => {
                        if rng.random::<f64>() < f {
                            &self.entire
                        } else {
                            &self.partial
                        }
                    }
                    _ => &self.fakes,
                };
                pool[rng.random_range(0..pool.len())]
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
            .filter(|i| i.is_fake())
            .collect();
        fakes.iter().filter(|i| i.kind == Kind::Entire).count() as f64 / fakes.len() as f64
    }

    #[test]
    fn entire_fraction_sets_the_share_of_full_syntheses() {
        let data = pool();
        let uniform = Sampler::new(&data, 0.25, None, 3);
        let (partial, entire) = uniform.fake_counts();
        // tconv has 10 properties, full_tconv one: 1 category in 11.
        assert_eq!((partial, entire), (1000, 100));
        let share = entire_share(&uniform);
        assert!((share - 1.0 / 11.0).abs() < 0.03, "uniform: {share}");
        let share = entire_share(&Sampler::new(&data, 0.25, Some(0.5), 3));
        assert!((share - 0.5).abs() < 0.05, "entire_fraction 0.5: {share}");
        // The same seed and step give the same batch.
        let again = Sampler::new(&data, 0.25, Some(0.5), 3);
        let ids = |s: &Sampler| {
            s.batch(7, 8)
                .iter()
                .map(|i| i.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&again), ids(&Sampler::new(&data, 0.25, Some(0.5), 3)));
    }
}
