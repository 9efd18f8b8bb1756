//! `torchscript` (feature `torch`): the traced local-variance module of
//! tests/fixtures/plugins/make_torchscript.py gives PyTorch's own output and the documented
//! formula. Run with scripts/ci_torch.sh (installs libtorch 2.13 from PyPI).

use crate::common::*;
use localizer_api::InputSize;
use plugin_host::build;
use plugin_host::read_npy_map;
use serde_json::json;

fn fixture(name: &str) -> std::path::PathBuf {
    workspace_root()
        .join("tests/fixtures/plugins/torchscript")
        .join(name)
}

#[test]
fn traced_module_reproduces_pytorch_and_the_formula() {
    let images: Vec<_> = (0..2)
        .map(|i| {
            image::open(fixture(&format!("input_{i}.png")))
                .unwrap()
                .to_rgb8()
        })
        .collect();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let mut localizer = build(
        "torchscript",
        &object(json!({"path": fixture("variance.pt"), "input_size": [24, 20], "device": "cpu"})),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(localizer.name(), "variance");
    assert_eq!(
        localizer.input_size(),
        InputSize::Fixed {
            width: 24,
            height: 20
        }
    );
    assert_eq!(localizer.max_batch(), 8);
    let predictions = localizer.localize(&inputs(&images, &["a", "b"])).unwrap();
    for (i, (image, prediction)) in images.iter().zip(&predictions).enumerate() {
        let pytorch =
            read_npy_map(&std::fs::read(fixture(&format!("expected_{i}.npy"))).unwrap()).unwrap();
        assert!(
            max_abs_diff(&prediction.map, &pytorch) < 1e-6,
            "image {i} vs PyTorch"
        );
        // float32 one-pass variance in the module vs the f64 two-pass definition.
        assert!(max_abs_diff(&prediction.map, &variance_reference(image, 2, 2000.0)) < 1e-4);
        let score = expected["scores"][i].as_f64().unwrap();
        assert!((f64::from(prediction.score.unwrap()) - score).abs() < 1e-6);
    }
}

#[test]
fn native_size_runs_one_image_at_a_time_and_bad_input_is_refused() {
    let localizer = build(
        "torchscript",
        &object(json!({"path": fixture("variance.pt")})),
    )
    .unwrap();
    assert_eq!(
        (localizer.input_size(), localizer.max_batch()),
        (InputSize::Native, 1)
    );
    let err = build(
        "torchscript",
        &object(json!({"path": fixture("variance.pt"), "device": "tpu"})),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("unknown device 'tpu'"), "{err}");
    let err = build(
        "torchscript",
        &object(json!({"path": fixture("expected.json")})),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("cannot load") && err.contains("as TorchScript"),
        "{err}"
    );
}
