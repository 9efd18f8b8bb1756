//! Output validation ([`validate_predictions`]): a correct batch passes; each broken contract is
//! named with the localizer, the image and, for a bad map, the first offending pixel.

use image::{Luma, RgbImage};
use localizer_api::{validate_predictions, LocalizerError, LocalizerInput, Map, Prediction};

fn prediction(w: u32, h: u32, value: f32, score: Option<f32>) -> Prediction {
    Prediction {
        map: Map::from_pixel(w, h, Luma([value])),
        score,
    }
}

#[test]
fn validation_accepts_a_correct_batch() {
    let image = RgbImage::new(4, 3);
    let batch = [LocalizerInput {
        id: "a",
        image: &image,
        ground_truth: None,
    }; 2];
    let predictions = [
        prediction(4, 3, 0.0, None),
        prediction(4, 3, 1.0, Some(1.0)),
    ];
    validate_predictions("m", &batch, &predictions).unwrap();
}

#[test]
fn validation_names_the_specific_problem() {
    let image = RgbImage::new(4, 3);
    let batch = [
        LocalizerInput {
            id: "first",
            image: &image,
            ground_truth: None,
        },
        LocalizerInput {
            id: "second",
            image: &image,
            ground_truth: None,
        },
    ];
    let good = || prediction(4, 3, 0.5, Some(0.5));
    let check = |predictions: Vec<Prediction>, wanted: &[&str]| {
        let e = validate_predictions("mynet", &batch, &predictions).unwrap_err();
        assert!(matches!(e, LocalizerError::InvalidOutput { .. }));
        let msg = e.to_string();
        for w in wanted.iter().chain(&["'mynet'"]) {
            assert!(msg.contains(w), "{msg:?} lacks {w:?}");
        }
    };
    check(
        vec![good()],
        &["'second'", "returned 1 predictions for a batch of 2"],
    );
    check(
        vec![good(), good(), good()],
        &["returned 3 predictions for a batch of 2"],
    );
    check(
        vec![good(), prediction(3, 4, 0.5, None)],
        &["'second'", "map is 3×4", "input image is 4×3"],
    );

    let mut nan = good();
    nan.map.put_pixel(2, 1, Luma([f32::NAN]));
    check(
        vec![nan, good()],
        &["'first'", "NaN", "(x=2, y=1)", "not finite"],
    );
    let mut high = good();
    high.map.put_pixel(3, 2, Luma([1.5]));
    high.map.put_pixel(0, 0, Luma([-0.25]));
    check(
        vec![good(), high],
        &["'second'", "-0.25", "(x=0, y=0)", "outside [0,1]"],
    );
    let mut inf = good();
    inf.map.put_pixel(1, 0, Luma([f32::INFINITY]));
    check(vec![inf, good()], &["inf", "(x=1, y=0)", "not finite"]);

    check(
        vec![good(), prediction(4, 3, 0.5, Some(f32::NAN))],
        &["'second'", "score NaN", "not finite"],
    );
    check(
        vec![prediction(4, 3, 0.5, Some(1.01)), good()],
        &["'first'", "score 1.01", "outside [0,1]"],
    );
}

/// Maps of many chunks: a bad pixel anywhere, including the last chunk's last pixel, is found
/// and named; a map of valid values up to both ends of [0,1] passes.
#[test]
fn validation_checks_every_pixel_of_a_large_map() {
    let image = RgbImage::new(100, 70);
    let batch = [LocalizerInput {
        id: "big",
        image: &image,
        ground_truth: None,
    }];
    let mut edges = prediction(100, 70, 1.0, None);
    edges.map.put_pixel(50, 40, Luma([0.0]));
    validate_predictions("m", &batch, &[edges]).unwrap();
    for (x, y, v) in [(99, 69, f32::NAN), (37, 12, 1.0001), (0, 11, -1e-30)] {
        let mut bad = prediction(100, 70, 0.5, None);
        bad.map.put_pixel(x, y, Luma([v]));
        let msg = validate_predictions("m", &batch, &[bad])
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&format!("(x={x}, y={y})")), "{msg}");
    }
}
