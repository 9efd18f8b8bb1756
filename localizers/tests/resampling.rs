//! The resampling-trace detector on synthetic partial manipulations (see common/synth.rs).

use crate::common::synth::{self, Upsampler, ALL_UPSAMPLERS};
use localizers::{validate_predictions, Localizer, LocalizerInput, Resampling};

const SIZE: usize = 192;
const FINE_NOISE: f32 = 2.5;

fn region_mask() -> Vec<f32> {
    synth::soft_rectangle(SIZE, 100.0, 90.0, 40.0, 35.0)
}

fn run(image: &image::RgbImage) -> localizers::Prediction {
    let input = LocalizerInput {
        id: "synthetic",
        image,
        ground_truth: None,
    };
    let mut detector = Resampling::default();
    let predictions = detector.localize(&[input]).unwrap();
    validate_predictions("resampling", &[input], &predictions).unwrap();
    predictions.into_iter().next().unwrap()
}

/// (mean inside, mean outside, pixel AUC) of the map against `mask > 0.5`.
fn separation(map: &[f32], mask: &[f32]) -> (f64, f64, f64) {
    let labels: Vec<bool> = mask.iter().map(|&m| m > 0.5).collect();
    let mean = |inside: bool| {
        let v: Vec<f64> = map
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == inside)
            .map(|(&m, _)| m as f64)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    (mean(true), mean(false), synth::roc_auc(map, &labels))
}

#[test]
fn finds_regions_regenerated_by_each_upsampler() {
    let mask = region_mask();
    for upsampler in ALL_UPSAMPLERS {
        let image = synth::manipulated(7, SIZE, FINE_NOISE, upsampler, &mask);
        let prediction = run(&image);
        let (inside, outside, auc) = separation(prediction.map.as_raw(), &mask);
        eprintln!("{upsampler:?}: inside {inside:.3}, outside {outside:.3}, AUC {auc:.3}");
        assert!(auc > 0.8, "{upsampler:?}: pixel AUC {auc:.3}");
        assert!(
            inside > outside + 0.02 && inside > 1.5 * outside,
            "{upsampler:?}: {inside:.3} vs {outside:.3}"
        );
    }
}

#[test]
fn clean_photo_gives_a_low_map_and_score() {
    for seed in [1, 2, 3] {
        let real = synth::photo(seed, SIZE, FINE_NOISE);
        let image = synth::blend(&real, None, &[]);
        let prediction = run(&image);
        let map = prediction.map.as_raw();
        let mean = map.iter().sum::<f32>() / map.len() as f32;
        let max = map.iter().copied().fold(0.0, f32::max);
        let score = prediction.score.unwrap();
        assert!(
            mean < 0.05 && max < 0.5 && score < 0.2,
            "seed {seed}: mean {mean}, max {max}, score {score}"
        );
    }
}

#[test]
fn score_separates_fake_from_real() {
    let mask = region_mask();
    let image = synth::manipulated(11, SIZE, FINE_NOISE, Upsampler::TransposedConv, &mask);
    let fake = run(&image).score.unwrap();
    let real = run(&synth::blend(
        &synth::photo(11, SIZE, FINE_NOISE),
        None,
        &[],
    ))
    .score
    .unwrap();
    assert!(fake > 0.5 && real < 0.2, "fake {fake}, real {real}");
}

#[test]
fn deterministic_bounded_and_native_size_on_odd_shapes() {
    let photo = synth::photo(5, 64, FINE_NOISE);
    let big = synth::blend(&photo, None, &[]);
    for (w, h) in [(37u32, 23u32), (1, 1), (3, 50), (64, 64)] {
        let image = image::imageops::crop_imm(&big, 0, 0, w, h).to_image();
        let first = run(&image);
        let second = run(&image);
        assert_eq!(first.map.dimensions(), (w, h));
        assert_eq!(
            first.map.as_raw(),
            second.map.as_raw(),
            "{w}×{h} not deterministic"
        );
        assert_eq!(first.score, second.score);
        assert!(first.map.as_raw().iter().all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn empty_image_is_an_error_not_a_panic() {
    let image = image::RgbImage::new(0, 5);
    let input = LocalizerInput {
        id: "empty",
        image: &image,
        ground_truth: None,
    };
    let e = Resampling::default()
        .localize(&[input])
        .unwrap_err()
        .to_string();
    assert!(e.contains("'empty'") && e.contains("image is empty"), "{e}");
}

/// Prints the sensitivity table of docs/localizers.md:
/// `cargo test -p localizers --release --test integration resampling::sensitivity_table --
/// --ignored --nocapture`.
#[test]
#[ignore = "measurement, prints a table"]
fn sensitivity_table() {
    let mask = region_mask();
    for fine_noise in [1.0, 2.5, 5.0] {
        for upsampler in ALL_UPSAMPLERS
            .into_iter()
            .chain([Upsampler::BilinearTwice, Upsampler::BicubicTwice])
        {
            let mut row = Vec::new();
            for seed in 100..103 {
                let prediction = run(&synth::manipulated(
                    seed, SIZE, fine_noise, upsampler, &mask,
                ));
                row.push(separation(prediction.map.as_raw(), &mask));
            }
            let n = row.len() as f64;
            let avg = |f: fn(&(f64, f64, f64)) -> f64| row.iter().map(f).sum::<f64>() / n;
            println!(
                "noise {fine_noise}: {upsampler:?}: inside {:.3} outside {:.3} AUC {:.3}",
                avg(|r| r.0),
                avg(|r| r.1),
                avg(|r| r.2)
            );
        }
    }
}

/// Maps and scores computed independently in float64 by
/// tests/fixtures/localizers/resampling_reference.py (brute-force window sums).
#[test]
fn matches_the_python_reference() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/localizers");
    let cases: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("resampling_reference.json")).unwrap(),
    )
    .unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let image = image::open(dir.join(case["image"].as_str().unwrap()))
            .unwrap()
            .to_rgb8();
        let params = case["params"].as_object().unwrap();
        let mut detector = localizers::build("resampling", params).unwrap();
        let input = LocalizerInput {
            id: name,
            image: &image,
            ground_truth: None,
        };
        let prediction = detector.localize(&[input]).unwrap().remove(0);
        let expected: Vec<f64> = case["map"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(
            prediction.map.dimensions(),
            (
                case["width"].as_u64().unwrap() as u32,
                case["height"].as_u64().unwrap() as u32
            )
        );
        let worst = prediction
            .map
            .as_raw()
            .iter()
            .zip(&expected)
            .map(|(&got, want)| (got as f64 - want).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "{name}: largest map difference {worst}");
        let score = prediction.score.unwrap() as f64;
        assert!(
            (score - case["score"].as_f64().unwrap()).abs() < 1e-4,
            "{name}: score {score}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Any image and any accepted parameters give a valid, native-size prediction.
    #[test]
    fn any_image_gives_a_valid_prediction(
        w in 1u32..40, h in 1u32..40, seed in 0u64..1000,
        window in 4usize..40, smoothing in 1usize..20,
    ) {
        let image = image::RgbImage::from_fn(w, h, |x, y| {
            let v = (x as u64 * 31 + y as u64 * 17 + seed * 7919) % 256;
            image::Rgb([v as u8, (v * 3 % 256) as u8, (255 - v) as u8])
        });
        let params = serde_json::json!({"window": window, "smoothing": smoothing});
        let mut detector = localizers::build("resampling", params.as_object().unwrap()).unwrap();
        let input = LocalizerInput { id: "prop", image: &image, ground_truth: None };
        let predictions = detector.localize(&[input]).unwrap();
        proptest::prop_assert!(validate_predictions("resampling", &[input], &predictions).is_ok());
    }
}
