//! On the CPU the candle localizers run each image of a batch on its own, in parallel
//! (`localize_with`): an image's map and score must be the same bits whatever the thread count
//! and whatever images share its batch.

use crate::localizer_common::{images, localize};
use image::RgbImage;
use localizer_api::{InputSize, Localizer, Prediction};
use models::{DeepLabV3Localizer, StehouwerLocalizer};

/// The localizer's predictions for `images` in one batch, on a pool of `threads` threads.
fn localize_on(
    threads: usize,
    localizer: &mut dyn Localizer,
    images: &[RgbImage],
) -> Vec<Prediction> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| localize(localizer, images))
}

fn assert_same_bits(a: &[Prediction], b: &[Prediction], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        let bits = |p: &Prediction| {
            p.map
                .as_raw()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert!(bits(a) == bits(b), "{what}: image {i}'s map differs");
        assert_eq!(
            a.score.map(f32::to_bits),
            b.score.map(f32::to_bits),
            "{what}: image {i}"
        );
    }
}

#[test]
fn bundled_localizers_give_the_same_bits_on_any_thread_count_and_in_any_batch() {
    let empty = serde_json::Map::new();
    let mut deeplab = DeepLabV3Localizer::build_from_params(&empty).unwrap();
    let mut stehouwer = StehouwerLocalizer::build_from_params(&empty).unwrap();
    for (name, localizer) in [
        ("deeplabv3", &mut deeplab as &mut dyn Localizer),
        ("stehouwer", &mut stehouwer as &mut dyn Localizer),
    ] {
        let side = match localizer.input_size() {
            InputSize::Fixed { width, .. } => width,
            _ => 224,
        };
        let batch = images(5, side);
        let whole = localize_on(1, localizer, &batch);
        let split = localize_on(3, localizer, &batch);
        assert_same_bits(&whole, &split, name);
        // Each image alone gives the same bits as within the batch.
        for (i, image) in batch.iter().enumerate() {
            let alone = localize_on(1, localizer, std::slice::from_ref(image));
            assert_same_bits(&whole[i..=i], &alone, name);
        }
    }
}
