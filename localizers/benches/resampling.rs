//! Time of the resampling detector on one 224×224 image (budget < 20 ms, optimised build;
//! docs/localizers.md "Speed"):
//! `cargo bench -p localizers --bench resampling`.

#[path = "../tests/common/synth.rs"]
mod synth;

use criterion::{criterion_group, criterion_main, Criterion};
use localizers::Resampling;
use std::hint::black_box;

fn resampling(c: &mut Criterion) {
    let size = 224;
    let mask = synth::soft_rectangle(size, 112.0, 100.0, 48.0, 40.0);
    let image = synth::manipulated(1, size, 2.5, synth::Upsampler::Bilinear, &mask);
    let detector = Resampling::default();
    let mut group = c.benchmark_group("resampling");
    group.bench_function("224x224", |b| {
        b.iter(|| detector.predict("bench", black_box(&image)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, resampling);
criterion_main!(benches);
