//! `saved_maps`: maps written by numpy and Pillow (tests/fixtures/plugins/make_saved_maps.py)
//! read back exactly; bad files refused with the path and the fix.

use crate::common::*;
use image::RgbImage;
use localizer_api::{InputSize, Localizer, LocalizerError, Map};
use plugin_host::build;
use plugin_host::read_npy_map;
use serde_json::{json, Value};

/// The fixture's formula, v(x, y) = ((7x + 13y) mod 101) / 100, on the fixture's 12×9 grid.
fn formula() -> Map {
    Map::from_fn(12, 9, |x, y| {
        image::Luma([((7 * x + 13 * y) % 101) as f32 / 100.0])
    })
}

fn fixture_dir() -> std::path::PathBuf {
    workspace_root().join("tests/fixtures/plugins/saved_maps")
}

fn saved(extra: Value) -> Box<dyn Localizer> {
    let mut params = object(json!({"dir": fixture_dir()}));
    params.extend(object(extra));
    build("saved_maps", &params).unwrap_or_else(|e| panic!("{e}"))
}

fn read(localizer: &mut dyn Localizer, id: &str) -> Result<Map, LocalizerError> {
    let image = RgbImage::new(12, 9);
    let images = [image];
    Ok(localizer.localize(&inputs(&images, &[id]))?.remove(0).map)
}

#[test]
fn reads_every_saved_form_exactly() {
    let mut localizer = saved(json!({}));
    assert_eq!(localizer.input_size(), InputSize::Native);
    let expected = formula();
    for (id, tolerance) in [
        ("img_f32", 0.0),
        ("img_f64_fortran", 0.0),
        ("img_big_endian", 0.0),
        ("img_v2", 0.0),
        // Quantised by the writer: round(v · 255) / 255 and round(v · 65535) / 65535.
        ("img_png8", 0.5 / 255.0 + 1e-6),
        ("img_png16", 0.5 / 65535.0 + 1e-6),
    ] {
        let map = read(localizer.as_mut(), id).unwrap_or_else(|e| panic!("{id}: {e}"));
        let diff = max_abs_diff(&map, &expected);
        assert!(diff <= tolerance, "{id}: {diff}");
    }
    // Quantisation really happened (the PNG path is not reading some other file).
    let png8 = read(localizer.as_mut(), "img_png8").unwrap();
    assert!(max_abs_diff(&png8, &expected) > 1e-4);
}

#[test]
fn missing_ambiguous_and_mismatched_maps_are_errors_naming_the_file() {
    let mut localizer = saved(json!({}));
    let err = read(localizer.as_mut(), "nope").unwrap_err().to_string();
    assert!(
        err.contains("no saved map for image 'nope'")
            && err.contains("nope.png")
            && err.contains("nope.npy"),
        "{err}"
    );
    let err = read(localizer.as_mut(), "img_both")
        .unwrap_err()
        .to_string();
    assert!(err.contains("set `extension`"), "{err}");
    let mut npy_only = saved(json!({"extension": "npy"}));
    assert_eq!(read(npy_only.as_mut(), "img_both").unwrap(), formula());
    let err = read(npy_only.as_mut(), "img_png8").unwrap_err().to_string();
    assert!(err.contains("img_png8.npy' does not exist"), "{err}");

    let wrong_size = [RgbImage::new(9, 12)];
    let err = localizer
        .localize(&inputs(&wrong_size, &["img_f32"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is 12×9 but the image is 9×12"), "{err}");

    for (id, expected) in [
        ("bad_range", "value 1.5 at pixel (x=5, y=2) is not in [0,1]"),
        ("bad_3d", "shape [9, 12, 1]; a map must be 2-D"),
        ("bad_int", "dtype '<i8' is not supported"),
        ("bad_rgb", "save maps as 8- or 16-bit grayscale"),
    ] {
        let err = read(localizer.as_mut(), id).unwrap_err().to_string();
        assert!(err.contains(expected) && err.contains(id), "{id}: {err}");
    }
}

#[test]
fn bad_parameters_are_refused() {
    let err = build("saved_maps", &object(json!({"dir": "no/such/dir"})))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("bad parameter 'dir'") && err.contains("is not a directory"),
        "{err}"
    );
    let err = build(
        "saved_maps",
        &object(json!({"dir": fixture_dir(), "extension": "jpg"})),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("unknown extension 'jpg'"), "{err}");
}

#[test]
fn npy_reader_rejects_truncated_and_foreign_files() {
    let good = std::fs::read(fixture_dir().join("img_f32.npy")).unwrap();
    assert!(read_npy_map(&good[..good.len() - 4])
        .unwrap_err()
        .contains("truncated or corrupt"));
    assert!(read_npy_map(b"PK\x03\x04 zip")
        .unwrap_err()
        .contains("not an NPY file"));
    assert!(read_npy_map(&good[..20]).is_err());
}

/// Writes `values` (row-major, `height` rows) as a float32 NPY file, as `numpy.save` does.
fn write_npy(path: &std::path::Path, width: usize, height: usize, values: &[f32]) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({height}, {width}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// One NaN map among valid ones: the batch's error is that image's, naming its file (the
/// harness then retries the batch image by image, so only that image fails).
#[test]
fn a_nan_map_is_an_error_of_its_own_image_naming_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (5, 4);
    for id in ["a", "b", "c"] {
        write_npy(&dir.path().join(format!("{id}.npy")), w, h, &[0.25; 20]);
    }
    let mut nan = [0.5f32; 20];
    nan[7] = f32::NAN;
    write_npy(&dir.path().join("bad.npy"), w, h, &nan);
    let mut localizer = build("saved_maps", &object(json!({"dir": dir.path()}))).unwrap();
    let images = vec![RgbImage::new(w as u32, h as u32); 4];
    let err = localizer
        .localize(&inputs(&images, &["a", "bad", "b", "c"]))
        .unwrap_err();
    let LocalizerError::Failed { image, message, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(image, "bad");
    assert!(
        message.contains("bad.npy': value NaN at pixel (x=2, y=1) is not in [0,1]"),
        "{message}"
    );
    for id in ["a", "b", "c"] {
        let map = localizer
            .localize(&inputs(&images[..1], &[id]))
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
            .map;
        assert!(map.as_raw().iter().all(|&v| v == 0.25));
    }
}
