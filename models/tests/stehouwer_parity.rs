//! Xception + DFFD attention map against a PyTorch implementation (tests/fixtures/stehouwer):
//! identical state-dict names, shapes and parameter counts, and the same eval- and
//! training-mode outputs and gradients when every tensor is filled from the shared formula.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::stehouwer_common::{
    fixture, flat, floats, formula_input, formula_model, formula_tensors, relative_error,
};
use models::candle_core::{DType, Device, Tensor, Var};
use models::candle_nn::{loss, ops, VarBuilder, VarMap};
use models::optim::{Adam, AdamParams};
use models::{Xception, XceptionConfig};

#[test]
fn state_dict_names_shapes_and_parameter_counts_equal_pytorch() {
    let reference = fixture("keys_xception.json");
    let theirs: BTreeMap<String, Vec<usize>> =
        serde_json::from_value(reference["keys"].clone()).unwrap();
    let ours = Xception::state_dict_shapes(XceptionConfig::xception()).unwrap();
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(ours, theirs);
    // The Cadene/Stehouwer names the checkpoints use, spelled out.
    for (key, dims) in [
        ("block1.rep.0.conv1.weight", vec![64, 1, 3, 3]),
        ("block1.rep.0.pointwise.weight", vec![128, 64, 1, 1]),
        ("block1.rep.4.running_var", vec![128]),
        ("block1.skip.weight", vec![128, 64, 1, 1]),
        ("block2.rep.5.bias", vec![256]),
        ("block7.rep.8.weight", vec![728]),
        ("block12.rep.1.conv1.weight", vec![728, 1, 3, 3]),
        ("block12.rep.4.pointwise.weight", vec![1024, 728, 1, 1]),
        ("map.conv1.weight", vec![728, 1, 3, 3]),
        ("map.pointwise.weight", vec![1, 728, 1, 1]),
        ("conv4.pointwise.weight", vec![2048, 1536, 1, 1]),
        ("last_linear.weight", vec![2, 2048]),
    ] {
        assert_eq!(ours.get(key), Some(&dims), "{key}");
    }
    let dffd = Xception::parameter_count(XceptionConfig::xception()).unwrap();
    assert_eq!(dffd as u64, reference["parameters_dffd"].as_u64().unwrap());
    assert_eq!(dffd, 20_818_330);
    let imagenet = XceptionConfig {
        map_after: None,
        num_classes: 1000,
        ..XceptionConfig::xception()
    };
    let plain = Xception::parameter_count(imagenet).unwrap();
    assert_eq!(
        plain as u64,
        reference["parameters_imagenet"].as_u64().unwrap()
    );
    assert_eq!(plain, 22_855_952, "Keras/Cadene Xception");
}

#[test]
fn map_size_follows_the_input() {
    assert_eq!(XceptionConfig::feature_size(299), Some(19));
    assert_eq!(XceptionConfig::feature_size(160), Some(10));
    assert_eq!(XceptionConfig::feature_size(96), Some(6));
    assert_eq!(XceptionConfig::feature_size(7), Some(1));
    assert_eq!(XceptionConfig::feature_size(6), None);
    // The real network at 299: an N×1×19×19 map and N×2 logits.
    let config = XceptionConfig::xception_w8();
    let (model, _) = Xception::new_trainable(config, 3, &Device::Cpu).unwrap();
    let out = model.forward_t(&formula_input(1, 299, 299), false).unwrap();
    assert_eq!(out.map_logits.unwrap().dims(), &[1, 1, 19, 19]);
    assert_eq!(out.logits.dims(), &[1, 2]);
    let err = model.forward_t(&formula_input(1, 6, 6), false).unwrap_err();
    assert!(err.to_string().contains("≥ 7 pixels"), "{err}");
}

fn check_eval(name: &str, config: XceptionConfig) {
    let reference = fixture(&format!("eval_{name}.json"));
    let size = reference["input"][2].as_u64().unwrap() as usize;
    let model = formula_model(config);
    let start = Instant::now();
    let out = model
        .forward_t(&formula_input(2, size, size), false)
        .unwrap();
    eprintln!(
        "{name} eval forward 2×3×{size}×{size}: {:?}",
        start.elapsed()
    );
    let map_logits = out.map_logits.unwrap();
    let shape: Vec<usize> = serde_json::from_value(reference["map_shape"].clone()).unwrap();
    assert_eq!(map_logits.dims(), shape.as_slice());
    for (what, ours, theirs) in [
        (
            "map logits",
            flat(&map_logits),
            floats(&reference["map_logits"]),
        ),
        ("logits", flat(&out.logits), floats(&reference["logits"])),
    ] {
        let err = relative_error(&ours, &theirs);
        eprintln!("{name} {what}: relative error {err:.2e}");
        assert!(err < 1e-4, "{name} {what}: relative error {err}");
    }
}

#[test]
fn full_xception_eval_equals_pytorch() {
    check_eval("xception", XceptionConfig::xception());
}

#[test]
fn xception_w8_eval_equals_pytorch() {
    check_eval("xception_w8", XceptionConfig::xception_w8());
}

/// One training-mode forward and backward of DFFD's loss, L1(sigmoid(map), target) +
/// cross-entropy, against PyTorch: outputs, loss, gradients and BN running statistics.
#[test]
fn xception_w8_training_step_equals_pytorch() {
    let reference = fixture("train_xception_w8.json");
    let config = XceptionConfig::xception_w8();
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().unwrap();
        for (name, t) in formula_tensors(config) {
            data.insert(name, Var::from_tensor(&t).unwrap());
        }
    }
    let model = Xception::new(
        config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let out = model.forward_t(&formula_input(2, 64, 64), true).unwrap();
    let map_logits = out.map_logits.unwrap();
    let target = Tensor::from_vec(
        floats(&reference["target"]),
        map_logits.shape(),
        &Device::Cpu,
    )
    .unwrap();
    let labels = Tensor::new(&[1u32, 0], &Device::Cpu).unwrap();
    let l1 = (ops::sigmoid(&map_logits).unwrap() - target)
        .unwrap()
        .abs()
        .unwrap()
        .mean_all()
        .unwrap();
    let total = (l1 + loss::cross_entropy(&out.logits, &labels).unwrap()).unwrap();
    let loss_value = total.to_scalar::<f32>().unwrap();
    let loss_ref = reference["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss_value - loss_ref).abs() < 1e-5,
        "loss {loss_value} vs {loss_ref}"
    );
    for (what, ours, tol) in [
        ("map_logits", &map_logits, 1e-4),
        ("logits", &out.logits, 1e-4),
    ] {
        let err = relative_error(&flat(ours), &floats(&reference[what]));
        assert!(err < tol, "{what}: relative error {err}");
    }
    let grads = total.backward().unwrap();
    let data = varmap.data().lock().unwrap();
    for (name, theirs) in reference["grads"].as_object().unwrap() {
        let grad = grads
            .get(data[name].as_tensor())
            .expect("parameter has a gradient");
        let err = relative_error(&flat(grad), &floats(theirs));
        eprintln!("grad {name}: relative error {err:.2e}");
        assert!(err < 1e-3, "grad {name}: relative error {err}");
    }
    for stat in ["running_mean", "running_var"] {
        let ours = flat(data[&format!("bn1.{stat}")].as_tensor());
        let err = relative_error(&ours, &floats(&reference[&format!("bn1_{stat}")]));
        assert!(err < 1e-5, "bn1.{stat}: relative error {err}");
    }
}

#[test]
fn seeded_initialisation_is_deterministic_and_follows_the_scheme() {
    let config = XceptionConfig::xception_w8();
    let values = |seed| {
        let (_, varmap) = Xception::new_trainable(config, seed, &Device::Cpu).unwrap();
        let data = varmap.data().lock().unwrap();
        [
            "conv1.weight",
            "block4.rep.1.conv1.weight",
            "last_linear.weight",
            "bn1.weight",
        ]
        .map(|k| flat(data[k].as_tensor()))
    };
    let (a, b, c) = (values(5), values(5), values(6));
    assert_eq!(a, b);
    assert_ne!(a[0], c[0]);
    // Kaiming-normal fan_out for convolutions: std √(2 / (out·k·k)).
    let std = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
    let expected = (2.0f32 / (91.0 * 9.0)).sqrt();
    assert!(
        (std(&a[1]) / expected - 1.0).abs() < 0.15,
        "{} vs {expected}",
        std(&a[1])
    );
    // last_linear: U(±1/√256); BN weight 1.
    assert!(a[2].iter().all(|v| v.abs() <= 1.0 / 16.0));
    assert!(a[3].iter().all(|&v| v == 1.0));
}

/// Timing of one training step (forward with batch statistics, backward, Adam) at batch 8 and
/// an eval forward at batch 1, at each preset's input size (run with `--ignored --nocapture`;
/// docs/models.md).
#[test]
#[ignore = "timing only"]
fn training_step_timing() {
    for (name, config, steps) in [
        ("xception_w8", XceptionConfig::xception_w8(), 3),
        ("xception", XceptionConfig::xception(), 1),
    ] {
        let (model, varmap) = Xception::new_trainable(config, 0, &Device::Cpu).unwrap();
        let size = config.input_size;
        let x = formula_input(1, size, size);
        let start = Instant::now();
        model.forward_t(&x, false).unwrap();
        eprintln!(
            "{name} eval forward 1×3×{size}×{size}: {:?}",
            start.elapsed()
        );
        let x8 = formula_input(8, size, size);
        let mut adam = Adam::new(varmap.all_vars(), AdamParams::default()).unwrap();
        for step in 0..steps {
            let start = Instant::now();
            let out = model.forward_t(&x8, true).unwrap();
            let loss = (ops::sigmoid(&out.map_logits.unwrap())
                .unwrap()
                .mean_all()
                .unwrap()
                + out.logits.mean_all().unwrap())
            .unwrap();
            adam.backward_step(&loss).unwrap();
            eprintln!(
                "{name} training step 8×3×{size}×{size}, step {step}: {:?}",
                start.elapsed()
            );
        }
        eprintln!(
            "{name}: {} parameters",
            Xception::parameter_count(config).unwrap()
        );
    }
}
