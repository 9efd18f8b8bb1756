//! Against the reference libraries: outputs of PIL and OpenCV committed by
//! tests/fixtures/degradations/make_fixtures.py (versions in VERSIONS.txt there).

use std::path::PathBuf;

use degradations::{blur, jpeg, jpeg_encode, lowres, ResizeFilter};
use image::RgbImage;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/degradations")
        .join(name)
}

fn fixture(name: &str) -> RgbImage {
    let path = fixture_path(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run make_fixtures.py", path.display()))
        .to_rgb8()
}

/// Number of differing samples and the largest absolute difference.
fn compare(ours: &RgbImage, reference: &RgbImage) -> (usize, u8) {
    assert_eq!(ours.dimensions(), reference.dimensions());
    ours.iter()
        .zip(reference.iter())
        .fold((0, 0), |(n, max), (&a, &b)| {
            let d = a.abs_diff(b);
            (n + usize::from(d != 0), max.max(d))
        })
}

#[test]
fn jpeg_pixels_identical_to_pil() {
    for name in ["a", "b"] {
        let input = fixture(&format!("input_{name}.png"));
        for quality in [1u8, 10, 20, 30, 50, 75, 90, 95, 100] {
            let expected = fixture(&format!("jpeg_{name}_q{quality}.png"));
            let (differing, max) = compare(&jpeg(&input, quality).unwrap(), &expected);
            assert_eq!((differing, max), (0, 0), "image {name}, quality {quality}");
        }
    }
}

#[test]
fn jpeg_bytes_identical_to_pil() {
    let input = fixture("input_b.png");
    for quality in [10u8, 50, 95] {
        let expected = std::fs::read(fixture_path(&format!("jpeg_b_q{quality}.jpg"))).unwrap();
        assert!(
            jpeg_encode(&input, quality).unwrap() == expected,
            "quality {quality}"
        );
    }
}

#[test]
fn blur_bit_identical_to_opencv_for_every_odd_kernel() {
    for name in ["a", "b"] {
        let input = fixture(&format!("input_{name}.png"));
        for kernel in (3..=31).step_by(2) {
            let expected = fixture(&format!("blur_{name}_k{kernel}.png"));
            let (differing, max) = compare(&blur(&input, kernel).unwrap(), &expected);
            assert_eq!((differing, max), (0, 0), "image {name}, kernel {kernel}");
        }
    }
}

#[test]
fn blur_bit_identical_when_the_image_is_smaller_than_the_kernel() {
    // 7x5 and 9x1 images: borders reflect repeatedly.
    for name in ["tiny", "row"] {
        let input = fixture(&format!("input_{name}.png"));
        for kernel in [3u32, 5, 7, 9, 31] {
            let expected = fixture(&format!("blur_{name}_k{kernel}.png"));
            let (differing, max) = compare(&blur(&input, kernel).unwrap(), &expected);
            assert_eq!((differing, max), (0, 0), "image {name}, kernel {kernel}");
        }
    }
}

#[test]
fn lowres_bilinear_within_two_levels_of_pil() {
    for name in ["a", "b"] {
        let input = fixture(&format!("input_{name}.png"));
        for ratio in [2u32, 3, 4, 8] {
            let expected = fixture(&format!("lowres_{name}_r{ratio}.png"));
            let ours = lowres(
                &input,
                f64::from(ratio),
                ResizeFilter::Bilinear,
                ResizeFilter::Bilinear,
            )
            .unwrap();
            let (_, max) = compare(&ours, &expected);
            assert!(max <= 2, "image {name}, ratio {ratio}: max |diff| {max}");
        }
    }
}
