//! DeepLabv3 training and the `deeplabv3` localizer on the smallest preset: a few seeded Adam
//! steps reduce an L1 loss deterministically; saved weights reload into the localizer.

use crate::localizer_common::{images, localize};
use image::RgbImage;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput};
use models::candle_core::{Device, Tensor};
use models::optim::{Adam, AdamParams};
use models::{new_seeded, new_trainable, DeepLabV3Config, DeepLabV3Localizer, Weights};

/// Four 3×32×32 images (inputs ~N(0,1)-ish) and targets: a bright square is "fake".
fn batch() -> (Tensor, Tensor) {
    let (n, s) = (4, 32);
    let mut x = vec![0f32; n * 3 * s * s];
    let mut t = vec![0f32; n * s * s];
    for b in 0..n {
        let (y0, x0) = (4 + 5 * b, 20 - 4 * b);
        for y in 0..s {
            for xx in 0..s {
                let inside = (y0..y0 + 10).contains(&y) && (x0..x0 + 10).contains(&xx);
                t[(b * s + y) * s + xx] = inside as u8 as f32;
                for c in 0..3 {
                    let texture = ((y * 7 + xx * 3 + c * 5 + b) % 11) as f32 / 11.0 - 0.5;
                    x[((b * 3 + c) * s + y) * s + xx] = texture + if inside { 1.5 } else { 0.0 };
                }
            }
        }
    }
    (
        Tensor::from_vec(x, (n, 3, s, s), &Device::Cpu).unwrap(),
        Tensor::from_vec(t, (n, 1, s, s), &Device::Cpu).unwrap(),
    )
}

/// An inference network from seeded weights computes what the trainable one does, without
/// recording an autograd graph (which would keep every activation alive with the output).
#[test]
fn seeded_inference_network_records_no_graph() {
    let config = DeepLabV3Config::preset("resnet10_os16_w8").unwrap();
    let (x, _) = batch();
    let (trainable, _varmap) = new_trainable(config, 3, &Device::Cpu).unwrap();
    let frozen = new_seeded(config, 3, &Device::Cpu).unwrap();
    let tracked = trainable.forward_t(&x, false).unwrap().out;
    let untracked = frozen.forward_t(&x, false).unwrap().out;
    let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(values(&tracked), values(&untracked));
    assert!(!tracked.sorted_nodes().is_empty());
    assert!(untracked.sorted_nodes().is_empty());
}

/// L1 losses of `steps` Adam steps (plus the final one) on [`batch`], from seed `seed`.
fn train(seed: u64, steps: usize) -> Vec<f32> {
    let mut config = DeepLabV3Config::resnet10_os16_w8();
    config.aux = true;
    config.fake_classifier = true;
    let (model, varmap) = new_trainable(config, seed, &Device::Cpu).unwrap();
    let params = AdamParams {
        lr: 1e-2,
        weight_decay: 1e-4,
        ..AdamParams::default()
    };
    let mut adam = Adam::new(varmap.all_vars(), params).unwrap();
    let (x, target) = batch();
    let labels = Tensor::new(&[[1f32], [1.], [1.], [1.]], &Device::Cpu).unwrap();
    let mut losses = Vec::new();
    for step in 0..=steps {
        let out = model.forward_t(&x, true).unwrap();
        let l1 = (out.fake_map().unwrap() - &target)
            .unwrap()
            .abs()
            .unwrap()
            .mean_all()
            .unwrap();
        losses.push(l1.to_scalar::<f32>().unwrap());
        if step == steps {
            break;
        }
        // FakeLocator trains map and classifier together; the aux head as torchvision (0.5).
        let aux = (models::candle_nn::ops::sigmoid(out.aux.as_ref().unwrap()).unwrap() - &target)
            .unwrap()
            .abs()
            .unwrap()
            .mean_all()
            .unwrap();
        let score = out.fake_score().unwrap().unwrap();
        let bce = models::candle_nn::loss::binary_cross_entropy_with_logit(
            out.fake_logit.as_ref().unwrap(),
            &labels,
        )
        .unwrap();
        assert!(score
            .to_vec2::<f32>()
            .unwrap()
            .iter()
            .all(|s| (0.0..=1.0).contains(&s[0])));
        let loss = (l1 + (aux * 0.5).unwrap() + bce).unwrap();
        adam.backward_step(&loss).unwrap();
    }
    losses
}

#[test]
fn adam_steps_reduce_l1_loss_deterministically() {
    let losses = train(7, 6);
    eprintln!("L1 losses: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()));
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(last < 0.8 * first, "L1 went from {first} to {last}");
    assert_eq!(train(7, 2), losses[..3], "same seed, same losses");
    assert_ne!(
        train(8, 0),
        losses[..1],
        "another seed, another initialisation"
    );
}

#[test]
fn training_at_batch_one_keeps_running_statistics_finite() {
    // The ASPP pooling branch then sees one value per channel (PyTorch raises there).
    let (model, varmap) =
        new_trainable(DeepLabV3Config::resnet10_os16_w8(), 1, &Device::Cpu).unwrap();
    let x = batch().0.narrow(0, 0, 1).unwrap();
    let out = model.forward_t(&x, true).unwrap();
    let loss = out.fake_map().unwrap().mean_all().unwrap();
    let mut adam = Adam::new(varmap.all_vars(), AdamParams::default()).unwrap();
    adam.backward_step(&loss).unwrap();
    let data = varmap.data().lock().unwrap();
    let pooled = data["classifier.0.convs.4.2.running_var"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(
        pooled.iter().all(|&v| v == 1.0),
        "skipped update keeps the initial 1"
    );
    let mut checked = 0;
    for (name, var) in data.iter() {
        if name.ends_with("running_var") || name.ends_with("running_mean") {
            let v = var.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "{name} not finite");
            checked += 1;
        }
    }
    assert!(checked > 20);
    // Other BatchNorms did update (their first running_var moved off 1).
    let first = data["backbone.bn1.running_var"]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(first.iter().any(|&v| v != 1.0));
}

#[test]
fn localizer_outputs_sigmoid_maps_and_reloads_saved_weights() {
    let params = serde_json::json!({"weights": "none", "preset": "resnet10_os16_w8", "seed": 3, "size": 48, "batch": 2});
    let mut seeded = DeepLabV3Localizer::build_from_params(params.as_object().unwrap()).unwrap();
    assert_eq!(
        seeded.input_size(),
        InputSize::Fixed {
            width: 48,
            height: 48
        }
    );
    assert_eq!(seeded.max_batch(), 2);
    let imgs = images(2, 48);
    let predictions = localize(&mut seeded, &imgs);
    assert_eq!(predictions.len(), 2);
    for p in &predictions {
        assert_eq!(p.map.dimensions(), (48, 48));
        assert!(p.map.pixels().all(|v| v[0] > 0.0 && v[0] < 1.0));
        assert!(
            p.score.is_none(),
            "no fake_classifier in a seeded localizer"
        );
    }
    assert_ne!(
        predictions[0].map, predictions[1].map,
        "maps depend on the image"
    );

    // Train-side weights with a fake classifier, saved as safetensors, load into the localizer.
    let mut config = DeepLabV3Config::resnet10_os16_w8();
    config.fake_classifier = true;
    let (model, varmap) = new_trainable(config, 3, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    varmap.save(&path).unwrap();
    let mut loaded =
        DeepLabV3Localizer::new("resnet10_os16_w8", Weights::File(path), Device::Cpu, 48, 2)
            .unwrap();
    let from_file = localize(&mut loaded, &imgs);
    // The localizer runs each image on its own on the CPU (models/src/localizer.rs).
    for (n, (img, p)) in imgs.iter().zip(&from_file).enumerate() {
        let values: Vec<f32> = (0..3)
            .flat_map(|c| {
                img.pixels().map(move |p| {
                    (p[c] as f32 / 255.0 - models::IMAGENET_MEAN[c]) / models::IMAGENET_STD[c]
                })
            })
            .collect();
        let x = Tensor::from_vec(values, (1, 3, 48, 48), &Device::Cpu).unwrap();
        let direct = model.forward_t(&x, false).unwrap();
        let map: Vec<f32> = direct
            .fake_map()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let score: Vec<f32> = direct
            .fake_score()
            .unwrap()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(p.map.as_raw().as_slice(), map.as_slice(), "image {n}");
        assert_eq!(p.score, Some(score[0]), "image {n}");
    }
}

#[test]
fn localizer_reports_bad_parameters() {
    let build = |v: serde_json::Value| {
        DeepLabV3Localizer::build_from_params(v.as_object().unwrap()).unwrap_err()
    };
    let message = |e: LocalizerError| e.to_string();
    assert!(message(build(
        serde_json::json!({"weights": "none", "preset": "resnet51"})
    ))
    .contains("did you mean 'resnet50'"));
    // The bundled checkpoint records its preset; another one is refused.
    assert!(message(build(serde_json::json!({"preset": "resnet50"})))
        .contains("differs from the checkpoint's preset"));
    assert!(message(build(serde_json::json!({"seed": 3}))).contains("weights: none"));
    assert!(
        message(build(serde_json::json!({"presets": "resnet50"}))).contains("unknown parameter")
    );
    assert!(message(build(
        serde_json::json!({"weights": "/nonexistent/w.safetensors"})
    ))
    .contains("does not exist"));
    assert!(
        message(build(serde_json::json!({"device": "tpu"}))).contains("use cpu, cuda or cuda:N")
    );
    assert!(message(build(
        serde_json::json!({"preset": "resnet10_os16_w8", "size": 8})
    ))
    .contains("at least 32"));
    // Weights of another preset do not fit.
    let (_, varmap) = new_trainable(DeepLabV3Config::resnet10_os16_w8(), 0, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.safetensors");
    varmap.save(&path).unwrap();
    let err = DeepLabV3Localizer::new("resnet18_os16", Weights::File(path), Device::Cpu, 64, 1)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not fit preset 'resnet18_os16'"),
        "{err}"
    );
}

#[test]
fn localizer_rejects_images_of_the_wrong_size() {
    let params = serde_json::json!({"weights": "none", "preset": "resnet10_os16_w8", "size": 32});
    let mut localizer = DeepLabV3Localizer::build_from_params(params.as_object().unwrap()).unwrap();
    let image = RgbImage::new(40, 32);
    let err = localizer
        .localize(&[LocalizerInput {
            id: "wide",
            image: &image,
            ground_truth: None,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("expected 32×32"), "{err}");
}

#[test]
fn default_weights_are_the_bundled_checkpoint_with_its_recorded_preset_and_size() {
    use models::{checkpoint_metadata, BUNDLED_DEEPLABV3};
    let recorded = checkpoint_metadata(BUNDLED_DEEPLABV3).unwrap();
    assert_eq!(recorded["harness.kind"], "deeplabv3");
    let size: u32 = recorded["harness.input_size"].parse().unwrap();
    let mut bundled = DeepLabV3Localizer::build_from_params(&serde_json::Map::new()).unwrap();
    assert_eq!(
        bundled.input_size(),
        InputSize::Fixed {
            width: size,
            height: size
        }
    );
    assert_eq!(
        bundled.model().config().backbone,
        DeepLabV3Config::preset(&recorded["harness.preset"])
            .unwrap()
            .backbone
    );
    let imgs = images(1, size);
    let prediction = &localize(&mut bundled, &imgs)[0];
    assert!(
        prediction.score.is_some(),
        "the bundled model has the image-level classifier"
    );
}
