//! Helpers for the plugin tests: building the example plugins, test images, and the
//! local-variance formula of docs/plugins.md computed directly (the independent reference).
#![allow(dead_code)] // Each test module uses a different subset.

use image::{Rgb, RgbImage};
use localizer_api::{LocalizerInput, Map};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map as JsonMap, Value};
use std::path::{Path, PathBuf};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Path of the example plugin `crate_name` (e.g. "variance-plugin"). The example plugins are
/// dev-dependencies of this crate, so cargo builds their `.so` with the tests, into `deps/`
/// beside the test binary.
pub fn plugin_library(crate_name: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let library = deps.join(plugin_host::library_file_name(crate_name));
    assert!(library.is_file(), "{} was not built", library.display());
    library
}

/// A JSON object from a `serde_json::json!` value.
pub fn object(value: Value) -> JsonMap<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Seeded RGB noise whose amplitude grows from left to right, so a local-variance map spans
/// [0,1] at scale 2000 instead of saturating.
pub fn test_image(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    RgbImage::from_fn(width, height, |x, _| {
        let amplitude = 255.0 * (x + 1) as f32 / width as f32;
        let mut channel = || (rng.random::<f32>() * amplitude) as u8;
        Rgb([channel(), channel(), channel()])
    })
}

/// Inputs for `images`, with ids "img0", "img1", ... (or the given ids).
pub fn inputs<'a>(images: &'a [RgbImage], ids: &'a [&'a str]) -> Vec<LocalizerInput<'a>> {
    images
        .iter()
        .zip(ids)
        .map(|(image, id)| LocalizerInput {
            id,
            image,
            ground_truth: None,
        })
        .collect()
}

/// docs/plugins.md's local variance, straight from the definition: two-pass population variance
/// of the luma over each clipped window, divided by `scale`, clipped at 1.
pub fn variance_reference(image: &RgbImage, radius: i64, scale: f64) -> Map {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let luma = |x: i64, y: i64| {
        let Rgb([r, g, b]) = *image.get_pixel(x as u32, y as u32);
        0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)
    };
    Map::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (i64::from(x), i64::from(y));
        let window: Vec<f64> = (y - radius..=y + radius)
            .flat_map(|v| (x - radius..=x + radius).map(move |u| (u, v)))
            .filter(|&(u, v)| (0..w).contains(&u) && (0..h).contains(&v))
            .map(|(u, v)| luma(u, v))
            .collect();
        let mean = window.iter().sum::<f64>() / window.len() as f64;
        let var = window.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / window.len() as f64;
        image::Luma([(var / scale).min(1.0) as f32])
    })
}

/// Largest absolute difference between two maps of the same size.
pub fn max_abs_diff(a: &Map, b: &Map) -> f32 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Mean of a map, in f64.
pub fn mean(map: &Map) -> f64 {
    map.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / map.len() as f64
}

/// True once process `pid` no longer runs: it does not exist, or it is a zombie (dead, waiting
/// for its new parent to reap it).
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name, which may itself contain ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Waits up to `timeout` for [`process_gone`]; true if it happened.
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while !process_gone(pid) {
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}
