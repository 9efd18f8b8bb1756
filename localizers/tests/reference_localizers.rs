//! `oracle`, `constant`, the registry and output validation.

use image::{Luma, RgbImage};
use localizers::{
    available, build, validate_predictions, Constant, InputSize, Localizer, LocalizerError,
    LocalizerInput, Map, Oracle, Prediction,
};
use serde_json::{json, Map as JsonMap, Value};

fn params(v: Value) -> JsonMap<String, Value> {
    v.as_object().unwrap().clone()
}

/// A ground truth with distinct, 1/255-quantised values so an exact copy is the only match.
fn ground_truth(w: u32, h: u32) -> Map {
    Map::from_fn(w, h, |x, y| Luma([((x * 7 + y * 13) % 256) as f32 / 255.0]))
}

#[test]
fn oracle_returns_the_ground_truth_exactly() {
    let image = RgbImage::new(9, 5);
    let gt = ground_truth(9, 5);
    let mut oracle = build("oracle", &JsonMap::new()).unwrap();
    assert!(oracle.needs_ground_truth());
    assert_eq!(oracle.input_size(), InputSize::Evaluation);
    let batch = [
        LocalizerInput {
            id: "a",
            image: &image,
            ground_truth: Some(&gt),
        },
        LocalizerInput {
            id: "b",
            image: &image,
            ground_truth: Some(&gt),
        },
    ];
    let out = oracle.localize(&batch).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].map, gt);
    assert_eq!(out[1].map, gt);
    assert_eq!(out[0].score, None);
    validate_predictions(oracle.name(), &batch, &out).unwrap();
}

#[test]
fn oracle_without_or_with_misfit_ground_truth_is_an_error() {
    let image = RgbImage::new(9, 5);
    let e = Oracle
        .localize(&[LocalizerInput {
            id: "img7",
            image: &image,
            ground_truth: None,
        }])
        .unwrap_err();
    assert!(matches!(e, LocalizerError::Failed { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("'oracle'") && msg.contains("'img7'") && msg.contains("no ground truth"),
        "{msg}"
    );

    let gt = ground_truth(5, 9);
    let msg = Oracle
        .localize(&[LocalizerInput {
            id: "img8",
            image: &image,
            ground_truth: Some(&gt),
        }])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("'img8'") && msg.contains("5×9") && msg.contains("9×5"),
        "{msg}"
    );
}

#[test]
fn constant_fills_the_native_size_with_its_value() {
    let image = RgbImage::new(6, 4);
    for (given, expected) in [
        (json!({}), 0.5f32),
        (json!({"value": 0.25}), 0.25),
        (json!({"value": 1}), 1.0),
    ] {
        let mut c = build("constant", &params(given)).unwrap();
        assert_eq!(c.input_size(), InputSize::Native);
        let input = LocalizerInput {
            id: "x",
            image: &image,
            ground_truth: None,
        };
        let out = c.localize(&[input]).unwrap();
        assert_eq!(out[0].map.dimensions(), (6, 4));
        assert!(out[0].map.as_raw().iter().all(|&v| v == expected));
        assert_eq!(out[0].score, None);
    }
}

#[test]
fn constant_rejects_values_outside_the_unit_interval() {
    for bad in [-0.1f32, 1.5, f32::NAN, f32::INFINITY] {
        let msg = Constant::new(bad).unwrap_err().to_string();
        assert!(
            msg.contains("bad parameter 'value'") && msg.contains("[0,1]"),
            "{msg}"
        );
    }
    let msg = build("constant", &params(json!({"value": 2.0})))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("'constant'") && msg.contains("got 2"), "{msg}");
    let msg = build("constant", &params(json!({"value": "half"})))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("expected a number, got \"half\""), "{msg}");
}

#[test]
fn unknown_kind_suggests_the_closest_and_lists_all() {
    let e = build("oracel", &JsonMap::new()).err().unwrap();
    assert!(matches!(e, LocalizerError::Unknown { .. }));
    assert_eq!(
        e.to_string(),
        "unknown localizer 'oracel'; did you mean 'oracle'?; available: oracle, constant, \
         resampling, plugin, subprocess, torchscript, saved_maps, deeplabv3, stehouwer"
    );
    let msg = build("watermark_checker", &JsonMap::new())
        .err()
        .unwrap()
        .to_string();
    assert!(
        !msg.contains("did you mean") && msg.contains("available: oracle, constant, resampling"),
        "{msg}"
    );
}

#[test]
fn unknown_or_ill_typed_parameter_names_the_allowed_ones() {
    let e = build("constant", &params(json!({"valeu": 0.3})))
        .err()
        .unwrap();
    assert!(matches!(e, LocalizerError::BadParameter { .. }));
    assert_eq!(
        e.to_string(),
        "localizer 'constant': bad parameter 'valeu': unknown parameter; did you mean 'value'?; allowed: value"
    );
    let msg = build("oracle", &params(json!({"value": 0.3})))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("allowed: none"), "{msg}");
    let msg = build("resampling", &params(json!({"windw": 16})))
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("did you mean 'window'?") && msg.contains("score_quantile"),
        "{msg}"
    );
    let msg = build("resampling", &params(json!({"window": 16.5})))
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("'window'") && msg.contains("non-negative integer"),
        "{msg}"
    );
    let msg = build("resampling", &params(json!({"window": 2})))
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("'window'") && msg.contains("at least 4"),
        "{msg}"
    );
    assert!(build(
        "resampling",
        &params(json!({"window": 16, "score_quantile": 0.99}))
    )
    .is_ok());
}

#[test]
fn available_lists_every_buildable_kind() {
    let names: Vec<&str> = available().iter().map(|i| i.name).collect();
    assert_eq!(
        names,
        [
            "oracle",
            "constant",
            "resampling",
            "plugin",
            "subprocess",
            "torchscript",
            "saved_maps",
            "deeplabv3",
            "stehouwer"
        ]
    );
    // The plugin kinds need a path, command or directory (registry tests check the error).
    for info in available()
        .into_iter()
        .filter(|i| !i.params.contains("required"))
    {
        let localizer = build(info.name, &JsonMap::new()).unwrap();
        assert_eq!(localizer.name(), info.name);
        assert!(!info.description.is_empty());
    }
}

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
