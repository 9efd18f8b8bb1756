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

fn per_image(c: &mut Criterion) {
    let (pred, gt) = (load("pred"), load("gt"));
    let (p, g) = (&pred, &gt);
    c.bench_function("ssim/224", |b| b.iter(|| ssim(black_box(p), black_box(g))));
    c.bench_function("coss/224", |b| b.iter(|| coss(black_box(p), black_box(g))));
    c.bench_function("psnr/224", |b| b.iter(|| psnr(black_box(p), black_box(g))));
    c.bench_function("pixel_auc/224", |b| {
        b.iter(|| pixel_auc(black_box(p), black_box(g), DEFAULT_GT_THRESHOLD))
    });
    c.bench_function("f1_iou/224", |b| {
        b.iter(|| {
            f1_iou(
                black_box(p),
                black_box(g),
                DEFAULT_TAU,
                DEFAULT_GT_THRESHOLD,
            )
        })
    });
    c.bench_function("map_fake_score/224", |b| {
        b.iter(|| map_fake_score(black_box(p)))
    });
    c.bench_function("segmentation_scores/224", |b| {
        b.iter(|| {
            segmentation_scores(
                black_box(p),
                black_box(g),
                DEFAULT_TAU,
                DEFAULT_GT_THRESHOLD,
            )
        })
    });
}

fn aggregation(c: &mut Criterion) {
    // 1000 images' worth of per-image values, 1000 resamples: a typical suite cell.
    let values: Vec<f64> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    let boot = Bootstrap::default();
    c.bench_function("bootstrap_summarize/1000x1000", |b| {
        b.iter(|| boot.summarize(black_box(&values)))
    });
}

criterion_group!(benches, per_image, aggregation);
criterion_main!(benches);
