//! Properties every degradation must keep, on random images and parameters.

use degradations::{noise, Degradation, ResizeFilter};
use image::{GrayImage, Luma, Rgb, RgbImage};
use proptest::prelude::*;

/// Random RGB images from `min` to 40 pixels per side.
fn images(min: u32) -> impl Strategy<Value = RgbImage> {
    (min..=40u32, min..=40u32).prop_flat_map(|(w, h)| {
        proptest::collection::vec(any::<u8>(), (w * h * 3) as usize)
            .prop_map(move |samples| RgbImage::from_raw(w, h, samples).unwrap())
    })
}

fn filters() -> impl Strategy<Value = ResizeFilter> {
    proptest::sample::select(ResizeFilter::ALL.to_vec())
}

/// Every valid degradation, blur kernels kept small enough for fast tests.
fn degradations(max_kernel: u32) -> impl Strategy<Value = Degradation> {
    prop_oneof![
        (1u8..=100).prop_map(|quality| Degradation::Jpeg { quality }),
        (0..=max_kernel / 2).prop_map(|half| Degradation::Blur {
            kernel: 2 * half + 1
        }),
        (0.0..2000.0f64).prop_map(|variance| Degradation::Noise { variance }),
        (1.0..20.0f64, filters(), filters()).prop_map(|(ratio, down, up)| Degradation::LowRes {
            ratio,
            down,
            up
        }),
        Just(Degradation::Disorganize),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn noise_zero_is_the_identity(img in images(1), seed in any::<u64>()) {
        prop_assert_eq!(noise(&img, 0.0, seed).unwrap(), img);
    }

    #[test]
    fn same_seed_same_bytes_and_size_kept(d in degradations(31), img in images(2), seed in any::<u64>()) {
        let first = d.apply(&img, seed).unwrap();
        let second = d.apply(&img, seed).unwrap();
        prop_assert_eq!(first.image.as_raw(), second.image.as_raw());
        prop_assert_eq!(&first.tiles, &second.tiles);
        prop_assert_eq!(first.image.dimensions(), img.dimensions());
        prop_assert_eq!(first.tiles.is_some(), d == Degradation::Disorganize);
    }

    #[test]
    fn deterministic_degradations_ignore_the_seed(d in degradations(31), img in images(1), a in any::<u64>(), b in any::<u64>()) {
        prop_assume!(matches!(d, Degradation::Jpeg { .. } | Degradation::Blur { .. } | Degradation::LowRes { .. }));
        prop_assert_eq!(d.apply(&img, a).unwrap(), d.apply(&img, b).unwrap());
    }

    #[test]
    fn disorganize_permutes_tiles_and_the_ground_truth_follows(w in 2u32..60, h in 2u32..60, seed in any::<u64>()) {
        // Every pixel names its own coordinates, so moved pixels can be traced.
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 0]));
        let ground_truth = GrayImage::from_fn(w, h, |x, y| Luma([((x * 31 + y * 17) % 256) as u8]));
        let out = Degradation::Disorganize.apply(&img, seed).unwrap();
        let tiles = out.tiles.unwrap();
        let order = tiles.order();
        let mut sorted = order;
        sorted.sort_unstable();
        prop_assert_eq!(sorted, [0, 1, 2, 3]);
        prop_assert_ne!(order, [0, 1, 2, 3]);

        let (tw, th) = (w / 2, h / 2);
        let moved_truth = tiles.try_apply(&ground_truth).unwrap();
        for (x, y, px) in out.image.enumerate_pixels() {
            let (sx, sy) = (u32::from(px[0]), u32::from(px[1]));
            // The ground truth moved exactly like the image.
            prop_assert_eq!(moved_truth.get_pixel(x, y), ground_truth.get_pixel(sx, sy));
            if x < 2 * tw && y < 2 * th {
                // Inside the tiles: the pixel comes from the same offset in tile order[d].
                let d = (y / th) * 2 + x / tw;
                let src = u32::from(order[d as usize]);
                prop_assert_eq!((sx, sy), ((src % 2) * tw + x % tw, (src / 2) * th + y % th));
            } else {
                // The leftover last column/row of odd sides stays in place.
                prop_assert_eq!((sx, sy), (x, y));
            }
        }
    }

    #[test]
    fn text_round_trips(d in degradations(999)) {
        let text = d.to_string();
        prop_assert_eq!(text.parse::<Degradation>(), Ok(d.clone()), "{}", text);
        let json = serde_json::to_string(&d).unwrap();
        prop_assert_eq!(serde_json::from_str::<Degradation>(&json).unwrap(), d);
    }

    #[test]
    fn name_and_level_match_the_text(d in degradations(999)) {
        let text = d.to_string();
        prop_assert!(text.starts_with(d.name()));
        match d.level() {
            Some(level) => {
                let written: f64 = text.split(':').nth(1).unwrap().parse().unwrap();
                prop_assert_eq!(written, level);
            }
            None => prop_assert_eq!(text, "disorganize"),
        }
    }
}
