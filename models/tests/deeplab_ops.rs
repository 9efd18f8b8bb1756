//! The candle replacement ops (bilinear resize, padded max-pool, training BatchNorm, Adam with
//! coupled L2) against torch 2.13 references and finite-difference gradients.

use crate::deeplab_common::{floats, gradient_check, max_abs_diff, ops_json, test_values, to_f64};
use models::candle_core::{DType, Device, Tensor, Var};
use models::candle_nn::{ModuleT, VarBuilder, VarMap};
use models::ops::{
    bilinear_weights, max_pool2d, max_pool2d_composite, pointwise_conv, resize_bilinear, MaxPool,
};
use models::optim::{Adam, AdamParams};
use models::BatchNorm2d;

fn tensor(values: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

#[test]
fn bilinear_weights_rows_sum_to_one_and_identity_is_identity() {
    for (i, o) in [(7, 30), (9, 4), (1, 5), (28, 224)] {
        let m = bilinear_weights(i, o);
        for row in m.chunks(i) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
    let m = bilinear_weights(5, 5);
    for r in 0..5 {
        for c in 0..5 {
            assert_eq!(m[r * 5 + c], if r == c { 1.0 } else { 0.0 });
        }
    }
}

#[test]
fn resize_matches_torch_interpolate() {
    let json = ops_json();
    let x = tensor(floats(&json, "resize_input"), &[1, 2, 7, 9]);
    for (h, w) in [(30, 17), (3, 4)] {
        let y = resize_bilinear(&x, h, w).unwrap();
        assert_eq!(y.dims(), &[1, 2, h, w]);
        let diff = max_abs_diff(&to_f64(&y), &floats(&json, &format!("resize_{h}x{w}")));
        assert!(diff < 1e-12, "{h}×{w}: max |Δ| {diff}");
    }
}

#[test]
fn resize_gradient_matches_finite_differences() {
    let x = tensor(test_values(2 * 7 * 9, 1), &[1, 2, 7, 9]);
    let w = tensor(test_values(2 * 30 * 17, 2), &[1, 2, 30, 17]);
    let loss = |x: &Tensor| (resize_bilinear(x, 30, 17)? * &w)?.sum_all();
    let err = gradient_check(&x, loss, &[0, 5, 17, 40, 62, 63, 100, 125]);
    assert!(err < 1e-6, "relative gradient error {err}");
}

#[test]
fn max_pool_matches_torch_forward_and_gradient_with_ties() {
    let json = ops_json();
    let x = Var::from_tensor(&tensor(floats(&json, "pool_input"), &[2, 2, 9, 8])).unwrap();
    let y = max_pool2d(x.as_tensor(), MaxPool::RESNET_STEM).unwrap();
    let shape: Vec<usize> = floats(&json, "pool_out_shape")
        .iter()
        .map(|&v| v as usize)
        .collect();
    assert_eq!(y.dims(), shape.as_slice());
    assert_eq!(to_f64(&y), floats(&json, "pool_out"));
    let w = tensor(floats(&json, "pool_weight"), &shape);
    let grads = (y * w).unwrap().sum_all().unwrap().backward().unwrap();
    let grad = to_f64(grads.get(x.as_tensor()).unwrap());
    assert!(max_abs_diff(&grad, &floats(&json, "pool_grad")) < 1e-12);
    // The composite (non-CPU) path computes the same forward.
    let composite = max_pool2d_composite(x.as_tensor(), MaxPool::RESNET_STEM).unwrap();
    assert_eq!(to_f64(&composite), floats(&json, "pool_out"));
}

#[test]
fn max_pool_gradients_match_finite_differences() {
    // Distinct values, so the maximum is unique and the finite difference well defined.
    let x = tensor(test_values(2 * 11 * 10, 3), &[1, 2, 11, 10]);
    let w = tensor(test_values(2 * 6 * 5, 4), &[1, 2, 6, 5]);
    let samples = [0, 3, 21, 55, 77, 110, 150, 219];
    for pool in [
        MaxPool::RESNET_STEM,
        MaxPool {
            kernel: 2,
            stride: 2,
            padding: 0,
        },
    ] {
        let w = if pool.kernel == 2 {
            w.narrow(2, 0, 5).unwrap()
        } else {
            w.clone()
        };
        let custom = |x: &Tensor| (max_pool2d(x, pool)? * &w)?.sum_all();
        let composite = |x: &Tensor| (max_pool2d_composite(x, pool)? * &w)?.sum_all();
        for (name, err) in [
            ("custom", gradient_check(&x, custom, &samples)),
            ("composite", gradient_check(&x, composite, &samples)),
        ] {
            assert!(err < 1e-6, "{name} {pool:?}: relative gradient error {err}");
        }
    }
}

#[test]
fn pointwise_conv_equals_conv2d_and_has_correct_gradients() {
    let x = tensor(test_values(3 * 4 * 5 * 6, 7), &[3, 4, 5, 6]);
    let k = tensor(test_values(2 * 4, 8), &[2, 4, 1, 1]);
    let ours = to_f64(&pointwise_conv(&x, &k).unwrap());
    let candle = to_f64(&x.conv2d(&k, 0, 1, 1, 1).unwrap());
    assert!(max_abs_diff(&ours, &candle) < 1e-12);
    let w = tensor(test_values(3 * 2 * 5 * 6, 9), &[3, 2, 5, 6]);
    let wrt_x = |x: &Tensor| (pointwise_conv(x, &k)? * &w)?.sum_all();
    let wrt_k = |k: &Tensor| (pointwise_conv(&x, k)? * &w)?.sum_all();
    assert!(gradient_check(&x, wrt_x, &[0, 11, 59, 200, 359]) < 1e-6);
    assert!(gradient_check(&k, wrt_k, &[0, 3, 5, 7]) < 1e-6);
    assert!(pointwise_conv(&x, &tensor(vec![0.0; 6], &[2, 3, 1, 1])).is_err());
}

#[test]
fn max_pool_rejects_bad_windows() {
    let x = Tensor::zeros((1, 1, 2, 2), DType::F32, &Device::Cpu).unwrap();
    let too_small = max_pool2d(
        &x,
        MaxPool {
            kernel: 5,
            stride: 1,
            padding: 1,
        },
    );
    assert!(too_small
        .unwrap_err()
        .to_string()
        .contains("smaller than the window"));
    let bad_padding = max_pool2d(
        &x,
        MaxPool {
            kernel: 3,
            stride: 1,
            padding: 2,
        },
    );
    assert!(bad_padding.is_err());
}

fn batch_norm(varmap: &VarMap) -> BatchNorm2d {
    let vb = VarBuilder::from_varmap(varmap, DType::F64, &Device::Cpu);
    let bn = BatchNorm2d::new(3, vb.clone()).unwrap();
    let data = varmap.data().lock().unwrap();
    data["weight"]
        .set(&tensor(vec![1.0, 0.5, 2.0], &[3]))
        .unwrap();
    data["bias"]
        .set(&tensor(vec![0.0, 0.1, -0.2], &[3]))
        .unwrap();
    bn
}

#[test]
fn batch_norm_training_matches_torch_and_updates_running_stats() {
    let json = ops_json();
    let varmap = VarMap::new();
    let bn = batch_norm(&varmap);
    let x = tensor(floats(&json, "bn_input"), &[2, 3, 4, 5]);
    let y = bn.forward_t(&x, true).unwrap();
    let diff = max_abs_diff(&to_f64(&y), &floats(&json, "bn_out"));
    assert!(diff < 1e-12, "max |Δ| {diff}");
    let mean = to_f64(bn.running_mean());
    let var = to_f64(bn.running_var());
    assert!(max_abs_diff(&mean, &floats(&json, "bn_running_mean")) < 1e-12);
    assert!(max_abs_diff(&var, &floats(&json, "bn_running_var")) < 1e-12);
    // The running statistics are the VarMap's (so they are saved with the weights).
    let stored = to_f64(varmap.data().lock().unwrap()["running_var"].as_tensor());
    assert_eq!(stored, var);
}

#[test]
fn batch_norm_with_one_value_per_channel_keeps_running_var_finite() {
    let varmap = VarMap::new();
    let bn = batch_norm(&varmap);
    let x = tensor(vec![0.3, -1.0, 2.0], &[1, 3, 1, 1]);
    let y = bn.forward_t(&x, true).unwrap();
    // Centred to zero, so the output is the bias.
    assert_eq!(to_f64(&y), vec![0.0, 0.1, -0.2]);
    assert_eq!(to_f64(bn.running_var()), vec![1.0; 3]);
    let mean = to_f64(bn.running_mean());
    assert!(max_abs_diff(&mean, &[0.03, -0.1, 0.2]) < 1e-12);
}

#[test]
fn batch_norm_training_gradient_matches_finite_differences() {
    let varmap = VarMap::new();
    let bn = batch_norm(&varmap);
    let x = tensor(test_values(2 * 3 * 3 * 4, 5), &[2, 3, 3, 4]);
    let w = tensor(test_values(2 * 3 * 3 * 4, 6), &[2, 3, 3, 4]);
    let loss = |x: &Tensor| (bn.forward_t(x, true)? * &w)?.sum_all();
    let err = gradient_check(&x, loss, &[0, 7, 13, 30, 44, 71]);
    assert!(err < 1e-5, "relative gradient error {err}");
}

#[test]
fn adam_with_coupled_l2_follows_torch() {
    let json = ops_json();
    let p = Var::from_tensor(&tensor(floats(&json, "adam_start"), &[6])).unwrap();
    let t = tensor(floats(&json, "adam_target"), &[6]);
    let c = tensor(floats(&json, "adam_coef"), &[6]);
    let params = AdamParams {
        lr: 0.05,
        weight_decay: 0.1,
        ..AdamParams::default()
    };
    let mut adam = Adam::new(vec![p.clone()], params).unwrap();
    let steps = json["adam_steps"].as_array().unwrap();
    for (k, expected) in steps.iter().enumerate() {
        let x = p.as_tensor();
        let quadratic = ((x - &t).unwrap().sqr().unwrap() * &c)
            .unwrap()
            .sum_all()
            .unwrap();
        let loss = (quadratic + (x * 3.0).unwrap().sin().unwrap().sum_all().unwrap()).unwrap();
        adam.backward_step(&loss).unwrap();
        let expected: Vec<f64> = expected
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let diff = max_abs_diff(&to_f64(p.as_tensor()), &expected);
        assert!(diff < 1e-12, "step {}: max |Δ| {diff}", k + 1);
    }
}

#[test]
fn adam_rejects_bad_hyper_parameters() {
    let bad = AdamParams {
        beta1: 1.0,
        ..AdamParams::default()
    };
    assert!(Adam::new(vec![], bad).is_err());
}
