//! DeepLabv3 against torchvision 0.28: identical state-dict names and shapes, and the same
//! eval-mode output when every tensor is filled from the formula in make_fixtures.py.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::deeplab_common::{fixture_dir, formula_input, formula_tensor, read_f32};
use models::candle_core::{DType, Device, Tensor};
use models::candle_nn::VarBuilder;
use models::{checkpoint, parameter_count, state_dict_shapes, DeepLabV3, DeepLabV3Config};

/// torchvision's key → shape map, without the integer `num_batches_tracked` buffers.
fn torchvision_keys(depth: u32) -> BTreeMap<String, Vec<usize>> {
    let path = fixture_dir().join(format!("keys_resnet{depth}.json"));
    let keys: BTreeMap<String, Vec<usize>> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    keys.into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .collect()
}

#[test]
fn state_dict_names_and_shapes_equal_torchvision() {
    for (depth, config, params) in [
        (50, DeepLabV3Config::resnet50(), 41_993_794),
        (101, DeepLabV3Config::resnet101(), 60_985_922),
    ] {
        let ours = state_dict_shapes(config).unwrap();
        let theirs = torchvision_keys(depth);
        let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
        let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "R{depth}: missing {missing:?}, extra {extra:?}"
        );
        assert_eq!(ours, theirs, "R{depth}: shapes differ");
        // torchvision's sum(p.numel() for p in model.parameters()) with num_classes=1, aux.
        assert_eq!(parameter_count(config).unwrap(), params, "R{depth}");
        // Without the aux head: torchvision's count less its aux_classifier parameters.
        let aux_params: usize = theirs
            .iter()
            .filter(|(k, _)| k.starts_with("aux_classifier.") && !k.contains("running_"))
            .map(|(_, dims)| dims.iter().product::<usize>())
            .sum();
        let no_aux = DeepLabV3Config {
            aux: false,
            ..config
        };
        assert_eq!(
            parameter_count(no_aux).unwrap(),
            params - aux_params,
            "R{depth}"
        );
    }
}

#[test]
fn fake_classifier_adds_two_documented_tensors() {
    let mut config = DeepLabV3Config::resnet50();
    config.fake_classifier = true;
    let shapes = state_dict_shapes(config).unwrap();
    assert_eq!(shapes["fake_classifier.weight"], vec![1, 2048]);
    assert_eq!(shapes["fake_classifier.bias"], vec![1]);
    assert_eq!(shapes.len(), torchvision_keys(50).len() + 2);
}

fn check_forward(depth: u32, config: DeepLabV3Config) {
    let tensors: HashMap<String, Tensor> = state_dict_shapes(config)
        .unwrap()
        .into_iter()
        .map(|(name, dims)| {
            let t = formula_tensor(&name, &dims);
            (name, t)
        })
        .collect();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let model = DeepLabV3::new(config, 0, vb).unwrap();
    let start = Instant::now();
    let output = model.forward_t(&formula_input(1, 64, 64), false).unwrap();
    eprintln!("R{depth} eval forward 1×3×64×64: {:?}", start.elapsed());
    let aux = output.aux.expect("aux head built");
    for (name, ours) in [("out", output.out), ("aux", aux)] {
        assert_eq!(ours.dims(), &[1, 1, 64, 64]);
        let ours: Vec<f32> = ours.flatten_all().unwrap().to_vec1().unwrap();
        let theirs = read_f32(&format!("forward_resnet{depth}_{name}.f32"));
        let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let diff = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("R{depth} {name}: max |Δ| {diff:.2e} (max |torch| {scale:.2})");
        assert!(
            diff <= 1e-4 * scale,
            "R{depth} {name}: max |Δ| {diff} > 1e-4·{scale}"
        );
    }
}

#[test]
fn resnet50_forward_equals_torchvision() {
    check_forward(50, DeepLabV3Config::resnet50());
}

#[test]
fn resnet101_forward_equals_torchvision() {
    check_forward(101, DeepLabV3Config::resnet101());
}

/// The tiny network of make_fixtures.py's `tiny_pth` (width 4, aux and fake classifier).
fn tiny_config() -> DeepLabV3Config {
    DeepLabV3Config {
        aux: true,
        fake_classifier: true,
        ..DeepLabV3Config::resnet10_os16_w8().with_width(4)
    }
}

#[test]
fn torch_saved_pth_loads_and_equals_formula_weights() {
    let config = tiny_config();
    let path = fixture_dir().join("tiny_w4.pth");
    let from_pth = DeepLabV3::new(config, 0, checkpoint(&path, &Device::Cpu).unwrap()).unwrap();
    let tensors: HashMap<String, Tensor> = state_dict_shapes(config)
        .unwrap()
        .into_iter()
        .map(|(name, dims)| {
            let t = formula_tensor(&name, &dims);
            (name, t)
        })
        .collect();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let from_formula = DeepLabV3::new(config, 0, vb).unwrap();
    let x = formula_input(1, 64, 64);
    let (a, b) = (
        from_pth.forward_t(&x, false).unwrap(),
        from_formula.forward_t(&x, false).unwrap(),
    );
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&a.out), flat(&b.out));
    assert_eq!(flat(a.aux.as_ref().unwrap()), flat(b.aux.as_ref().unwrap()));
    assert_eq!(
        flat(a.fake_logit.as_ref().unwrap()),
        flat(b.fake_logit.as_ref().unwrap())
    );
    // A checkpoint of another network is refused with the offending tensor's name.
    let wrong = DeepLabV3Config::resnet10_os16_w8();
    let err = DeepLabV3::new(wrong, 0, checkpoint(&path, &Device::Cpu).unwrap()).unwrap_err();
    assert!(err.to_string().contains("backbone.conv1.weight"), "{err}");
}

#[test]
fn checkpoint_rejects_missing_and_unknown_files() {
    let missing = checkpoint(std::path::Path::new("/nonexistent.pth"), &Device::Cpu);
    assert!(missing
        .err()
        .unwrap()
        .to_string()
        .contains("does not exist"));
    let json = fixture_dir().join("keys_resnet50.json");
    let unknown = checkpoint(&json, &Device::Cpu).err().unwrap();
    assert!(unknown.to_string().contains("unknown extension"));
}

/// Timings of the eval forward pass (batch 1) and a first training step (batch 2) at 224×224
/// (run with `--ignored --nocapture`; docs/models.md).
#[test]
#[ignore = "timing only"]
fn forward_and_training_step_timing_224() {
    let mut config = DeepLabV3Config::resnet50();
    config.aux = false;
    for (name, config) in [
        ("resnet50", config),
        ("resnet18_os16", DeepLabV3Config::resnet18_os16()),
        ("resnet10_os16_w8", DeepLabV3Config::resnet10_os16_w8()),
    ] {
        let (model, varmap) = models::new_trainable(config, 0, &Device::Cpu).unwrap();
        let x = formula_input(1, 224, 224);
        for run in 0..2 {
            let start = Instant::now();
            let out = model.forward_t(&x, false).unwrap();
            out.out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            eprintln!(
                "{name} eval forward 1×3×224×224, run {run}: {:?}",
                start.elapsed()
            );
        }
        // One training step at batch 2: forward (batch statistics), backward, Adam.
        let x2 = Tensor::cat(&[x.clone(), x.flip(&[3]).unwrap()], 0).unwrap();
        let mut adam =
            models::optim::Adam::new(varmap.all_vars(), models::optim::AdamParams::default())
                .unwrap();
        let start = Instant::now();
        let loss = model
            .forward_t(&x2, true)
            .unwrap()
            .fake_map()
            .unwrap()
            .mean_all()
            .unwrap();
        adam.backward_step(&loss).unwrap();
        eprintln!("{name} training step 2×3×224×224: {:?}", start.elapsed());
        eprintln!(
            "{name}: {} parameters (aux {}, fake classifier {})",
            parameter_count(config).unwrap(),
            config.aux,
            config.fake_classifier
        );
    }
}
