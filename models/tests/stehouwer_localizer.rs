//! The `stehouwer` localizer (sigmoid attention map upsampled to the input, softmax fake score)
//! and the `stehouwer` kind of `build_trainable`.

use crate::localizer_common::{images, localize};
use crate::stehouwer_common::flat;
use image::RgbImage;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput};
use models::candle_core::{Device, Tensor};
use models::ops::resize_bilinear;
use models::{
    build_trainable, ModelSpec, StehouwerLocalizer, Weights, Xception, XceptionConfig,
    STEHOUWER_MEAN, STEHOUWER_STD,
};

/// The images as the network sees them: RGB in [0, 1], normalised with mean 0.5, std 0.5.
fn normalised(images: &[RgbImage]) -> Tensor {
    let planes: Vec<Tensor> = images
        .iter()
        .map(|img| {
            let (w, h) = img.dimensions();
            let values: Vec<f32> = (0..3)
                .flat_map(|c| {
                    img.pixels()
                        .map(move |p| (p[c] as f32 / 255.0 - STEHOUWER_MEAN[c]) / STEHOUWER_STD[c])
                })
                .collect();
            Tensor::from_vec(values, (3, h as usize, w as usize), &Device::Cpu).unwrap()
        })
        .collect();
    Tensor::stack(&planes, 0).unwrap()
}

#[test]
fn defaults_to_the_bundled_checkpoint_of_the_cpu_preset_at_its_input_size() {
    use models::{checkpoint_metadata, BUNDLED_STEHOUWER};
    let recorded = checkpoint_metadata(BUNDLED_STEHOUWER).unwrap();
    assert_eq!(recorded["harness.kind"], "stehouwer");
    assert_eq!(recorded["harness.preset"], "xception_w8");
    let localizer = StehouwerLocalizer::build_from_params(&serde_json::Map::new()).unwrap();
    assert_eq!(
        localizer.input_size(),
        InputSize::Fixed {
            width: 160,
            height: 160
        }
    );
    assert_eq!(localizer.max_batch(), 8);
}

#[test]
fn maps_are_the_upsampled_sigmoid_map_and_scores_the_fake_softmax() {
    let size = 64;
    let params = serde_json::json!({"weights": "none", "seed": 4, "size": size, "batch": 2});
    let mut localizer = StehouwerLocalizer::build_from_params(params.as_object().unwrap()).unwrap();
    let imgs = images(2, size);
    let predictions = localize(&mut localizer, &imgs);
    assert_eq!(predictions.len(), 2);

    // The same network, run directly: map 4×4 at 64 px, upsampled bilinearly.
    let (model, _) =
        Xception::new_trainable(XceptionConfig::xception_w8(), 4, &Device::Cpu).unwrap();
    let out = model.forward_t(&normalised(&imgs), false).unwrap();
    let map = out.map().unwrap().unwrap();
    assert_eq!(map.dims(), &[2, 1, 4, 4]);
    let maps = flat(&resize_bilinear(&map, 64, 64).unwrap());
    let softmax = flat(&out.fake_probability().unwrap());
    let logits = flat(&out.logits);
    for (n, p) in predictions.iter().enumerate() {
        assert_eq!(p.map.dimensions(), (size, size));
        assert!(p.map.pixels().all(|v| v[0] > 0.0 && v[0] < 1.0));
        let plane = (size * size) as usize;
        let diff = p
            .map
            .as_raw()
            .iter()
            .zip(&maps[n * plane..(n + 1) * plane])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-6, "image {n}: map differs by {diff}");
        let score = p.score.expect("stehouwer always scores");
        let expected = 1.0 / (1.0 + (logits[2 * n] - logits[2 * n + 1]).exp());
        assert!((score - expected).abs() < 1e-6 && (score - softmax[n]).abs() < 1e-6);
    }
    assert_ne!(
        predictions[0].map, predictions[1].map,
        "maps depend on the image"
    );
}

#[test]
fn saved_weights_load_and_reproduce_the_trained_network() {
    let spec = ModelSpec {
        kind: "stehouwer".into(),
        preset: "xception_w8".into(),
        classifier: true,
    };
    let (net, varmap) = build_trainable(&spec, 11, &Device::Cpu).unwrap();
    assert_eq!(net.normalization(), ([0.5; 3], [0.5; 3]));
    let imgs = images(1, 48);
    let x = normalised(&imgs);
    let train = net.forward_train(&x, false).unwrap();
    assert_eq!(train.map_logits.dims(), &[1, 1, 3, 3]);
    let class_logits = train.class_logits.expect("2-way classifier");
    assert_eq!(class_logits.dims(), &[1, 2]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dffd.safetensors");
    varmap.save(&path).unwrap();
    let mut loaded =
        StehouwerLocalizer::new("xception_w8", Weights::File(path), Device::Cpu, 48, 1).unwrap();
    let p = &localize(&mut loaded, &imgs)[0];
    let logits = flat(&class_logits);
    let expected = 1.0 / (1.0 + (logits[0] - logits[1]).exp());
    assert!((p.score.unwrap() - expected).abs() < 1e-6);
    let map = flat(
        &resize_bilinear(
            &models::candle_nn::ops::sigmoid(&train.map_logits).unwrap(),
            48,
            48,
        )
        .unwrap(),
    );
    assert_eq!(p.map.as_raw().as_slice(), map.as_slice());
}

#[test]
fn build_trainable_checks_preset_and_classifier() {
    let spec = |preset: &str, classifier| ModelSpec {
        kind: "stehouwer".into(),
        preset: preset.into(),
        classifier,
    };
    let message = |s: ModelSpec| {
        build_trainable(&s, 0, &Device::Cpu)
            .err()
            .expect("an error")
            .to_string()
    };
    let m = message(spec("xception_w8", false));
    assert!(m.contains("classifier: true"), "{m}");
    let m = message(spec("xception_w4", true));
    assert!(m.contains("available: xception, xception_w8"), "{m}");
}

#[test]
fn bad_parameters_and_images_are_errors() {
    let build = |v: serde_json::Value| {
        StehouwerLocalizer::build_from_params(v.as_object().unwrap()).unwrap_err()
    };
    let message = |e: LocalizerError| e.to_string();
    assert!(message(build(
        serde_json::json!({"weights": "none", "preset": "xceptoin"})
    ))
    .contains("did you mean 'xception'"));
    assert!(message(build(serde_json::json!({"size": 6}))).contains("at least 7 pixels"));
    assert!(message(build(serde_json::json!({"batch": 0}))).contains("at least 1"));
    assert!(
        message(build(serde_json::json!({"weights": "/nonexistent.pth"})))
            .contains("does not exist")
    );
    assert!(message(build(serde_json::json!({"device": "tpu"}))).contains("use cpu, cuda"));
    // Weights of the full network do not fit the small preset.
    let (_, varmap) =
        Xception::new_trainable(XceptionConfig::xception_w8(), 0, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w8.safetensors");
    varmap.save(&path).unwrap();
    let err =
        StehouwerLocalizer::new("xception", Weights::File(path), Device::Cpu, 299, 1).unwrap_err();
    assert!(
        err.to_string().contains("does not fit preset 'xception'"),
        "{err}"
    );

    let params = serde_json::json!({"weights": "none", "size": 32});
    let mut localizer = StehouwerLocalizer::build_from_params(params.as_object().unwrap()).unwrap();
    let image = RgbImage::new(40, 32);
    let err = localizer
        .localize(&[LocalizerInput {
            id: "wide",
            image: &image,
            ground_truth: None,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("expected 32×32"), "{err}");
    assert!(err.to_string().contains("'wide'"), "{err}");
}
