//! The depthwise-convolution custom op against candle's grouped `conv2d` (values and both
//! gradients) and against central finite differences in f64.

use std::time::Instant;

use crate::deeplab_common::{gradient_check, max_abs_diff, test_values, to_f64};
use models::candle_core::{DType, Device, Result, Tensor, Var};
use models::depthwise::{depthwise_conv2d, Depthwise};

fn tensor(dims: &[usize], seed: u64) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_vec(test_values(n, seed), dims, &Device::Cpu).unwrap()
}

/// Σ r ⊙ f(x, w) with a fixed random `r`, so every output element has its own gradient.
fn weighted_sum(out: &Tensor, seed: u64) -> Result<Tensor> {
    let r = tensor(out.dims(), seed).to_dtype(out.dtype())?;
    (out * r)?.sum_all()
}

/// (input dims, kernel side, geometry) covering Xception's case and the general ones. (Strided
/// cases whose window does not end on the last column are checked by finite differences only:
/// candle's grouped conv2d backward fails on them with a shape mismatch.)
const CASES: [([usize; 4], usize, Depthwise); 5] = [
    ([2, 5, 9, 7], 3, Depthwise::XCEPTION),
    (
        [1, 3, 8, 8],
        3,
        Depthwise {
            stride: 2,
            padding: 1,
        },
    ),
    (
        [2, 2, 7, 9],
        3,
        Depthwise {
            stride: 2,
            padding: 0,
        },
    ),
    (
        [1, 4, 6, 5],
        5,
        Depthwise {
            stride: 1,
            padding: 2,
        },
    ),
    (
        [1, 2, 4, 7],
        1,
        Depthwise {
            stride: 3,
            padding: 0,
        },
    ),
];

#[test]
fn forward_and_gradients_equal_grouped_conv2d() {
    for (case, (dims, k, conv)) in CASES.into_iter().enumerate() {
        let c = dims[1];
        let x = Var::from_tensor(&tensor(&dims, 10 + case as u64)).unwrap();
        let w = Var::from_tensor(&tensor(&[c, 1, k, k], 20 + case as u64)).unwrap();
        let ours = depthwise_conv2d(x.as_tensor(), w.as_tensor(), conv).unwrap();
        let theirs = x
            .as_tensor()
            .conv2d(w.as_tensor(), conv.padding, conv.stride, 1, c)
            .unwrap();
        assert_eq!(ours.dims(), theirs.dims(), "case {case}");
        let diff = max_abs_diff(&to_f64(&ours), &to_f64(&theirs));
        assert!(diff < 1e-12, "case {case}: forward differs by {diff}");
        let g_ours = weighted_sum(&ours, 30).unwrap().backward().unwrap();
        let g_theirs = weighted_sum(&theirs, 30).unwrap().backward().unwrap();
        for (name, var) in [("input", &x), ("weight", &w)] {
            let a = to_f64(g_ours.get(var.as_tensor()).unwrap());
            let b = to_f64(g_theirs.get(var.as_tensor()).unwrap());
            let diff = max_abs_diff(&a, &b);
            assert!(
                diff < 1e-12,
                "case {case}: {name} gradient differs by {diff}"
            );
            assert!(
                b.iter().any(|v| v.abs() > 1e-3),
                "case {case}: trivial {name} gradient"
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let uneven = (
        [1, 2, 7, 10],
        3,
        Depthwise {
            stride: 2,
            padding: 0,
        },
    );
    for (case, (dims, k, conv)) in CASES.into_iter().chain([uneven]).enumerate() {
        let c = dims[1];
        let x = tensor(&dims, 40 + case as u64);
        let w = tensor(&[c, 1, k, k], 50 + case as u64);
        let loss_x = |x: &Tensor| weighted_sum(&depthwise_conv2d(x, &w, conv)?, 60);
        let n = x.elem_count();
        let samples: Vec<usize> = (0..12).map(|i| (i * 7919 + 3) % n).collect();
        let err = gradient_check(&x, loss_x, &samples);
        assert!(
            err < 1e-6,
            "case {case}: input gradient relative error {err}"
        );
        let loss_w = |w: &Tensor| weighted_sum(&depthwise_conv2d(&x, w, conv)?, 60);
        let n = w.elem_count();
        let samples: Vec<usize> = (0..n.min(12)).map(|i| (i * 13 + 1) % n).collect();
        let err = gradient_check(&w, loss_w, &samples);
        assert!(
            err < 1e-6,
            "case {case}: weight gradient relative error {err}"
        );
    }
}

#[test]
fn f32_matches_f64_and_strided_views_are_accepted() {
    let x = tensor(&[2, 6, 11, 11], 70);
    let w = tensor(&[6, 1, 3, 3], 71);
    let exact = depthwise_conv2d(&x, &w, Depthwise::XCEPTION).unwrap();
    let x32 = x.to_dtype(DType::F32).unwrap();
    let w32 = w.to_dtype(DType::F32).unwrap();
    let single = depthwise_conv2d(&x32, &w32, Depthwise::XCEPTION).unwrap();
    assert!(max_abs_diff(&to_f64(&single), &to_f64(&exact)) < 1e-5);
    // A transposed (non-contiguous) input is made contiguous, not misread.
    let xt = x.transpose(2, 3).unwrap();
    let ours = depthwise_conv2d(&xt, &w, Depthwise::XCEPTION).unwrap();
    let theirs = xt.contiguous().unwrap().conv2d(&w, 1, 1, 1, 6).unwrap();
    assert!(max_abs_diff(&to_f64(&ours), &to_f64(&theirs)) < 1e-12);
}

#[test]
fn bad_shapes_and_types_are_errors_that_say_what_to_do() {
    let x = tensor(&[1, 4, 5, 5], 80);
    let message = |r: Result<Tensor>| r.unwrap_err().to_string();
    let wrong_channels = tensor(&[3, 1, 3, 3], 81);
    let m = message(depthwise_conv2d(&x, &wrong_channels, Depthwise::XCEPTION));
    assert!(m.contains("does not fit an input of 4 channels"), "{m}");
    let not_depthwise = tensor(&[4, 2, 3, 3], 82);
    assert!(
        message(depthwise_conv2d(&x, &not_depthwise, Depthwise::XCEPTION)).contains("4×1×kh×kw")
    );
    let m = message(depthwise_conv2d(
        &x.flatten_from(2).unwrap(),
        &wrong_channels,
        Depthwise::XCEPTION,
    ));
    assert!(m.contains("4 dimensions"), "{m}");
    let big = tensor(&[4, 1, 9, 9], 83);
    let m = message(depthwise_conv2d(&x, &big, Depthwise::XCEPTION));
    assert!(m.contains("smaller than the 9-pixel kernel"), "{m}");
    let zero_stride = Depthwise {
        stride: 0,
        padding: 1,
    };
    assert!(message(depthwise_conv2d(
        &x,
        &tensor(&[4, 1, 3, 3], 84),
        zero_stride
    ))
    .contains("stride"));
    let w32 = tensor(&[4, 1, 3, 3], 85).to_dtype(DType::F32).unwrap();
    let m = message(depthwise_conv2d(&x, &w32, Depthwise::XCEPTION));
    assert!(m.contains("to_dtype"), "{m}");
}

/// Forward+backward time of the custom op against grouped conv2d on Xception's middle flow
/// (8×728×19×19, f32); run with `--ignored --nocapture` (docs/models.md).
#[test]
#[ignore = "timing only"]
fn depthwise_timing_middle_flow() {
    let x = Var::from_tensor(&tensor(&[8, 728, 19, 19], 90).to_dtype(DType::F32).unwrap()).unwrap();
    let w = Var::from_tensor(&tensor(&[728, 1, 3, 3], 91).to_dtype(DType::F32).unwrap()).unwrap();
    for (name, grouped) in [("custom op", false), ("conv2d groups=C", true)] {
        for run in 0..2 {
            let start = Instant::now();
            let out = if grouped {
                x.as_tensor().conv2d(w.as_tensor(), 1, 1, 1, 728).unwrap()
            } else {
                depthwise_conv2d(x.as_tensor(), w.as_tensor(), Depthwise::XCEPTION).unwrap()
            };
            out.sum_all().unwrap().backward().unwrap();
            eprintln!("{name}, run {run}: forward+backward {:?}", start.elapsed());
        }
    }
}
