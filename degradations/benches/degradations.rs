//! One criterion group per degradation, on a 224×224 RGB image (the models' input size).
//!
//! `cargo bench -p degradations --bench degradations`; the PIL/cv2 counterparts are timed by
//! `degradations/benches/reference.py` (numbers in docs/degradations.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use degradations::{blur, disorganize, jpeg, lowres, noise, ResizeFilter};
use image::RgbImage;

const SIDE: u32 = 224;

/// A deterministic image with gradients, edges and texture, so JPEG and resizing do real work.
fn test_image() -> RgbImage {
    RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let texture = ((x * 7919 + y * 104_729) % 61) as u8;
        image::Rgb([
            x as u8,
            y as u8,
            if (x / 16 + y / 16) % 2 == 0 {
                40 + texture
            } else {
                200 - texture
            },
        ])
    })
}

fn bench_jpeg(c: &mut Criterion) {
    let img = test_image();
    let mut group = c.benchmark_group("jpeg");
    for quality in [30u8, 75, 95] {
        group.bench_with_input(BenchmarkId::new("224x224", quality), &quality, |b, &q| {
            b.iter(|| jpeg(black_box(&img), q).unwrap())
        });
    }
    group.finish();
}

fn bench_blur(c: &mut Criterion) {
    let img = test_image();
    let mut group = c.benchmark_group("blur");
    for kernel in [3u32, 9, 15, 31] {
        group.bench_with_input(BenchmarkId::new("224x224", kernel), &kernel, |b, &k| {
            b.iter(|| blur(black_box(&img), k).unwrap())
        });
    }
    group.finish();
}

fn bench_noise(c: &mut Criterion) {
    let img = test_image();
    let mut group = c.benchmark_group("noise");
    group.bench_function(BenchmarkId::new("224x224", 25), |b| {
        b.iter(|| noise(black_box(&img), 25.0, 7).unwrap())
    });
    group.finish();
}

fn bench_lowres(c: &mut Criterion) {
    let img = test_image();
    let mut group = c.benchmark_group("lowres");
    for ratio in [2.0f64, 4.0, 8.0] {
        group.bench_with_input(BenchmarkId::new("224x224", ratio), &ratio, |b, &r| {
            b.iter(|| {
                lowres(
                    black_box(&img),
                    r,
                    ResizeFilter::Bilinear,
                    ResizeFilter::Bilinear,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

fn bench_disorganize(c: &mut Criterion) {
    let img = test_image();
    let mut group = c.benchmark_group("disorganize");
    group.bench_function("224x224", |b| {
        b.iter(|| disorganize(black_box(&img), 7).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_jpeg,
    bench_blur,
    bench_noise,
    bench_lowres,
    bench_disorganize
);
criterion_main!(benches);
