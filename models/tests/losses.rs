//! Training losses against NumPy references (tests/fixtures/losses/make_fixtures.py) and their
//! gradients against central finite differences.

use models::candle_core::{DType, Device, Tensor, Var};
use models::losses::{classifier_loss, fake_probability, MapLoss, MAP_LOSSES};

fn fixture() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/losses/losses.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("losses.json exists")).unwrap()
}

fn floats(json: &serde_json::Value, key: &str) -> Vec<f64> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array '{key}'"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn tensor(json: &serde_json::Value, key: &str, shape: &[usize]) -> Tensor {
    Tensor::from_vec(floats(json, key), shape, &Device::Cpu).unwrap()
}

fn map_inputs(json: &serde_json::Value) -> (Tensor, Tensor) {
    let shape: Vec<usize> = json["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    (
        tensor(json, "logits", &shape),
        tensor(json, "target", &shape),
    )
}

#[test]
fn map_losses_equal_numpy() {
    let json = fixture();
    let (logits, target) = map_inputs(&json);
    for name in MAP_LOSSES {
        let loss: MapLoss = name.parse().unwrap();
        let got = loss
            .compute(&logits, &target)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let want = json[name].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{name}: {got} vs numpy {want}");
    }
}

#[test]
fn map_loss_gradients_match_finite_differences() {
    let json = fixture();
    let (logits, target) = map_inputs(&json);
    let values = logits.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    for name in MAP_LOSSES {
        let loss: MapLoss = name.parse().unwrap();
        let var = Var::from_tensor(&logits).unwrap();
        let grads = loss
            .compute(var.as_tensor(), &target)
            .unwrap()
            .backward()
            .unwrap();
        let grad = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let eval = |v: Vec<f64>| {
            let t = Tensor::from_vec(v, logits.shape(), &Device::Cpu).unwrap();
            loss.compute(&t, &target)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        for i in (0..values.len()).step_by(7) {
            let h = 1e-6;
            let mut plus = values.clone();
            plus[i] += h;
            let mut minus = values.clone();
            minus[i] -= h;
            let numeric = (eval(plus) - eval(minus)) / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-7,
                "{name}[{i}]: backward {} vs finite differences {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn classifier_losses_equal_numpy() {
    let json = fixture();
    let labels: Vec<u8> = json["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    let one = tensor(&json, "class_logits_1", &[4, 1]);
    let two = tensor(&json, "class_logits_2", &[4, 2]);
    let bce = classifier_loss(&one, &labels)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let ce = classifier_loss(&two, &labels)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(
        (bce - json["classifier_bce"].as_f64().unwrap()).abs() < 1e-12,
        "bce {bce}"
    );
    assert!(
        (ce - json["classifier_ce"].as_f64().unwrap()).abs() < 1e-12,
        "ce {ce}"
    );
    // Probabilities: sigmoid of one logit, softmax's fake column of two.
    let p1 = fake_probability(&one).unwrap().to_vec1::<f64>().unwrap();
    let p2 = fake_probability(&two).unwrap().to_vec1::<f64>().unwrap();
    let l1 = floats(&json, "class_logits_1");
    let l2 = floats(&json, "class_logits_2");
    for i in 0..4 {
        assert!((p1[i] - 1.0 / (1.0 + (-l1[i]).exp())).abs() < 1e-12);
        assert!((p2[i] - 1.0 / (1.0 + (l2[2 * i] - l2[2 * i + 1]).exp())).abs() < 1e-12);
    }
}

#[test]
fn bad_shapes_and_names_are_errors() {
    let a = Tensor::zeros((2, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::zeros((2, 1, 4, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(MapLoss::L1
        .compute(&a, &b)
        .unwrap_err()
        .to_string()
        .contains("shape"));
    let err = "l3".parse::<MapLoss>().unwrap_err();
    assert!(
        err.contains("available: l1, l2, dice, focal, bce, cosine"),
        "{err}"
    );
    let logits = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(classifier_loss(&logits, &[0, 1]).is_err());
    assert!(classifier_loss(&logits.narrow(1, 0, 1).unwrap(), &[0]).is_err());
}

#[test]
fn cosine_loss_ignores_all_zero_ground_truth() {
    let logits = Tensor::new(&[[[[0.5f64, -1.0], [2.0, 0.0]]]], &Device::Cpu).unwrap();
    let zero = logits.zeros_like().unwrap();
    let loss = |t: &Tensor| {
        MapLoss::Cosine
            .compute(&logits, t)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    // A batch of reals only: no shape to match, no loss.
    assert_eq!(loss(&zero), 0.0);
    // A ground truth proportional to the prediction: cosine 1, whatever its scale.
    let p = sigmoid(&logits);
    assert!(loss(&(p * 0.1).unwrap()).abs() < 1e-12);
}

fn sigmoid(x: &Tensor) -> Tensor {
    (x.neg().unwrap().exp().unwrap() + 1.0)
        .unwrap()
        .recip()
        .unwrap()
}
