//! One criterion group per metric on the 224×224 fixture pair `eval_224` (the default evaluation
//! size), and for the metrics whose cost depends on the values, on a smooth network-like map
//! (`224_smooth`) and on the oracle's map, the ground truth itself (`224_oracle`).
//! `cargo bench -p metrics -- ssim` gives the number compared with scikit-image in
//! docs/benchmarks.md (tests/fixtures/metrics/bench_skimage.py times the same maps).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use metrics::{
    coss, f1_iou, map_fake_score, pixel_auc, psnr, segmentation_scores, ssim, Bootstrap, Map,
    DEFAULT_GT_THRESHOLD, DEFAULT_TAU,
};

fn load(which: &str) -> Map {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../tests/fixtures/metrics/maps/eval_224_{which}.f32"
    ));
    let bytes = std::fs::read(&path).expect("fixture maps are committed");
    let values = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Map::from_raw(224, 224, values).expect("eval_224 is 224x224")
}

/// One criterion group named after the metric, with one benchmark per map size.
fn group<R>(c: &mut Criterion, metric: &str, size: &str, mut f: impl FnMut() -> R) {
    let mut g = c.benchmark_group(metric);
    g.bench_function(size, |b| b.iter(&mut f));
    g.finish();
}

/// A map like a network's output against the fixture's ground truth: smooth, almost every
/// value distinct (the fixture's maps are quantized to 1/255, 256 values). The pixel AUC's cost
/// depends on that: sorting, or counting in buckets, many distinct values against few.
fn network_like() -> Map {
    let values = (0..224 * 224)
        .map(|i| {
            let (x, y) = ((i % 224) as f32, (i / 224) as f32);
            let blob = (-((x - 150.0).powi(2) + (y - 110.0).powi(2)) / (2.0 * 30f32.powi(2))).exp();
            let texture = 0.8 * (x / 7.0).sin() * (y / 5.0).cos();
            1.0 / (1.0 + (-(9.0 * blob - 4.5 + texture)).exp())
        })
        .collect();
    Map::from_raw(224, 224, values).expect("224x224")
}

fn per_image(c: &mut Criterion) {
    let (pred, gt) = (load("pred"), load("gt"));
    let smooth = network_like();
    let (thr, s) = (DEFAULT_GT_THRESHOLD, &smooth);
    let gr = &gt;
    group(c, "pixel_auc", "224_smooth", || {
        pixel_auc(black_box(s), black_box(gr), thr)
    });
    group(c, "map_fake_score", "224_smooth", || {
        map_fake_score(black_box(s))
    });
    group(c, "segmentation_scores", "224_smooth", || {
        segmentation_scores(black_box(s), black_box(gr), DEFAULT_TAU, thr)
    });
    // The oracle's map is its ground truth: SSIM and the pixel AUC are settled without a filter
    // or a sort.
    group(c, "segmentation_scores", "224_oracle", || {
        segmentation_scores(black_box(gr), black_box(gr), DEFAULT_TAU, thr)
    });
    let (p, g) = (&pred, &gt);
    let (tau, thr) = (DEFAULT_TAU, DEFAULT_GT_THRESHOLD);
    group(c, "ssim", "224", || ssim(black_box(p), black_box(g)));
    group(c, "coss", "224", || coss(black_box(p), black_box(g)));
    group(c, "psnr", "224", || psnr(black_box(p), black_box(g)));
    group(c, "pixel_auc", "224", || {
        pixel_auc(black_box(p), black_box(g), thr)
    });
    group(c, "f1_iou", "224", || {
        f1_iou(black_box(p), black_box(g), tau, thr)
    });
    group(c, "map_fake_score", "224", || map_fake_score(black_box(p)));
    group(c, "segmentation_scores", "224", || {
        segmentation_scores(black_box(p), black_box(g), tau, thr)
    });
}

fn aggregation(c: &mut Criterion) {
    // 1000 images' worth of per-image values, 1000 resamples: a typical suite cell.
    let values: Vec<f64> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    let boot = Bootstrap::default();
    group(c, "bootstrap_summarize", "1000x1000", || {
        boot.summarize(black_box(&values))
    });
}

criterion_group!(benches, per_image, aggregation);
criterion_main!(benches);
