//! One criterion group per metric on the 224×224 fixture pair `eval_224` (the default evaluation
//! size). `cargo bench -p metrics -- ssim` gives the number compared with scikit-image in
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

fn per_image(c: &mut Criterion) {
    let (pred, gt) = (load("pred"), load("gt"));
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
