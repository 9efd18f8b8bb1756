//! `oracle`, `constant` and the registry (output validation: localizer-api/tests/validate.rs).

use image::{Luma, RgbImage};
use localizers::{
    available, build, validate_predictions, Constant, InputSize, Localizer, LocalizerError,
    LocalizerInput, Map, Oracle,
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

#[test]
fn registry_builds_the_bundled_stehouwer_at_its_input_size() {
    // The localizer itself is tested in models/tests/stehouwer_localizer.rs.
    let localizer = build("stehouwer", &JsonMap::new()).unwrap();
    assert_eq!(
        localizer.input_size(),
        InputSize::Fixed {
            width: 160,
            height: 160
        }
    );
    assert_eq!(localizer.max_batch(), 8);
    assert!(available().iter().any(|info| info.name == "stehouwer"));
}
