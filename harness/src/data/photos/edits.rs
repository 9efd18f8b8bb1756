//! The photo source's edits ("properties"): a seeded soft region of 1–3 ellipses and five
//! modest changes applied at latent resolution, in the spirit of a GAN attribute edit. The
//! face edits of the synthetic benchmark need its scene description; a photograph has none, so
//! these act on the encoded latent itself.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::data::synth::{gaussian_kernel, Image3, Plane};

/// The partial edits, in catalogue order (`entire` is separate: whole-image re-synthesis).
pub const EDITS: &[&str] = &["brightness", "color", "contrast", "smooth", "paste"];

/// Fraction of the image the edited region covers (before feathering).
pub(crate) const COVERAGE: std::ops::Range<f32> = 0.08..0.35;

/// A uniform value in `[-1, 1]` mapped to an aspect ratio in `[1/2, 2]`, symmetric in log
/// scale without calling `exp` (so the region's pixels do not depend on the platform's libm).
fn aspect(t: f32) -> f32 {
    if t >= 0.0 {
        1.0 + t
    } else {
        1.0 / (1.0 - t)
    }
}

/// A random unit vector (rejection from the unit disk: no trigonometry).
fn direction(rng: &mut ChaCha8Rng) -> (f32, f32) {
    loop {
        let (u, v) = (
            rng.random_range(-1.0f32..1.0),
            rng.random_range(-1.0f32..1.0),
        );
        let r2 = u * u + v * v;
        if r2 > 0.01 && r2 <= 1.0 {
            let r = r2.sqrt();
            return (u / r, v / r);
        }
    }
}

/// The binary edited region of a `size`×`size` image: the union of 1–3 rotated ellipses
/// covering [`COVERAGE`] of the image (redrawn until it does, at most 100 times).
pub(crate) fn region(size: usize, rng: &mut ChaCha8Rng) -> Plane {
    let s = size as f32;
    let mut best = Plane::filled(size, size, 0.0);
    for _ in 0..100 {
        let count = rng.random_range(1..=3usize);
        let target = rng.random_range(COVERAGE);
        let mut plane = Plane::filled(size, size, 0.0);
        for _ in 0..count {
            let area = target / count as f32 * rng.random_range(0.7f32..1.3) * s * s;
            let a = aspect(rng.random_range(-1.0f32..1.0));
            let rx = (area * a / std::f32::consts::PI).sqrt();
            let ry = (area / (a * std::f32::consts::PI)).sqrt();
            let (cx, cy) = (
                rng.random_range(0.15f32..0.85) * s,
                rng.random_range(0.15f32..0.85) * s,
            );
            let (c, sn) = direction(rng);
            for y in 0..size {
                for x in 0..size {
                    let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                    let (u, v) = ((dx * c + dy * sn) / rx, (dy * c - dx * sn) / ry);
                    if u * u + v * v <= 1.0 {
                        plane.v[y * size + x] = 1.0;
                    }
                }
            }
        }
        let cover = plane.v.iter().sum::<f32>() / (size * size) as f32;
        if COVERAGE.contains(&cover) {
            return plane;
        }
        best = plane;
    }
    best
}

/// Applies edit `name` to the latent `z` with per-pixel weight `m` (same size, in [0, 1]):
/// `z ← z + m·(edit(z) − z)`. `None` for an unknown edit.
pub(crate) fn apply(name: &str, z: &mut Image3, m: &Plane, rng: &mut ChaCha8Rng) -> Option<()> {
    let sign = |rng: &mut ChaCha8Rng| if rng.random_bool(0.5) { 1.0f32 } else { -1.0 };
    let target: Image3 = match name {
        // A brightness shift of 12–30 levels, up or down.
        "brightness" => {
            let d = sign(rng) * rng.random_range(12.0f32..30.0) / 255.0;
            Image3 {
                px: z.px.iter().map(|p| p.map(|v| v + d)).collect(),
                ..z.clone()
            }
        }
        // A colour cast (white-balance shift): a chroma vector (zero mean over RGB) of norm
        // 14–30 levels in a random direction.
        "color" => {
            let mut d: [f32; 3] = std::array::from_fn(|_| rng.sample(StandardNormal));
            let mean = (d[0] + d[1] + d[2]) / 3.0;
            d.iter_mut().for_each(|v| *v -= mean);
            let norm = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-6);
            let len = rng.random_range(14.0f32..30.0) / 255.0;
            d.iter_mut().for_each(|v| *v *= len / norm);
            Image3 {
                px: z
                    .px
                    .iter()
                    .map(|p| [p[0] + d[0], p[1] + d[1], p[2] + d[2]])
                    .collect(),
                ..z.clone()
            }
        }
        // Contrast × 0.6–0.8 or × 1.25–1.6 around the region's mean colour.
        "contrast" => {
            let gain = if rng.random_bool(0.5) {
                rng.random_range(0.6f32..0.8)
            } else {
                rng.random_range(1.25f32..1.6)
            };
            let total: f32 = m.v.iter().sum::<f32>().max(1e-6);
            let mean: [f32; 3] = std::array::from_fn(|k| {
                z.px.iter().zip(&m.v).map(|(p, w)| p[k] * w).sum::<f32>() / total
            });
            Image3 {
                px: z
                    .px
                    .iter()
                    .map(|p| std::array::from_fn(|k| mean[k] + gain * (p[k] - mean[k])))
                    .collect(),
                ..z.clone()
            }
        }
        // A local Gaussian blur of σ 0.8–1.6 latent pixels.
        "smooth" => {
            let k = gaussian_kernel(rng.random_range(0.8f32..1.6));
            Image3::from_planes(&z.planes().map(|p| p.convolve_sep(&k)))
        }
        // Content moved from another place of the latent: a displacement of at least a quarter
        // of the side, chosen so the source of the whole region lies inside the image when it
        // can (else borders are replicated).
        "paste" => {
            let (dx, dy) = paste_offset(m, rng);
            Image3 {
                px: (0..z.h)
                    .flat_map(|y| (0..z.w).map(move |x| (x, y)))
                    .map(|(x, y)| z.at(x as isize + dx, y as isize + dy))
                    .collect(),
                ..z.clone()
            }
        }
        _ => return None,
    };
    for ((p, t), w) in z.px.iter_mut().zip(&target.px).zip(&m.v) {
        for k in 0..3 {
            p[k] += w * (t[k] - p[k]);
        }
    }
    Some(())
}

/// The source displacement of `paste` for the support of weight `m`.
fn paste_offset(m: &Plane, rng: &mut ChaCha8Rng) -> (isize, isize) {
    let (w, h) = (m.w as isize, m.h as isize);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, -1isize, -1isize);
    for y in 0..h {
        for x in 0..w {
            if m.v[(y * w + x) as usize] > 0.0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x1 < 0 {
        return (w / 2, 0);
    }
    let min_shift = w.min(h) / 4;
    let mut last = 0;
    for _ in 0..100 {
        let dx = rng.random_range(-x0 as i64..=(w - 1 - x1) as i64) as isize;
        let dy = rng.random_range(-y0 as i64..=(h - 1 - y1) as i64) as isize;
        if dx.abs().max(dy.abs()) >= min_shift {
            return (dx, dy);
        }
        last = dx;
    }
    // The region is too large to move wholly inside: shift it anyway, replicating borders.
    (if last < 0 { -min_shift } else { min_shift }, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn regions_cover_8_to_35_percent() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..40 {
            let r = region(64, &mut rng);
            let cover = r.v.iter().sum::<f32>() / (64 * 64) as f32;
            assert!(COVERAGE.contains(&cover), "coverage {cover}");
            assert!(r.v.iter().all(|&v| v == 0.0 || v == 1.0));
        }
    }

    #[test]
    fn every_edit_changes_the_weighted_pixels_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let n = 32;
        let mut z = Image3::filled(n, n, [0.4, 0.5, 0.6]);
        for (i, p) in z.px.iter_mut().enumerate() {
            let (x, y) = ((i % n) as f32, (i / n) as f32);
            *p = [
                0.3 + 0.01 * x,
                0.5 - 0.005 * y,
                0.2 + 0.01 * ((x + y) % 7.0),
            ];
        }
        let mut m = Plane::filled(n, n, 0.0);
        for y in 10..18 {
            for x in 8..20 {
                m.v[y * n + x] = 1.0;
            }
        }
        for edit in EDITS {
            let mut e = z.clone();
            apply(edit, &mut e, &m, &mut rng).unwrap();
            let mut inside = 0.0f32;
            for i in 0..n * n {
                let d: f32 = (0..3).map(|k| (e.px[i][k] - z.px[i][k]).abs()).sum();
                if m.v[i] == 0.0 {
                    assert_eq!(d, 0.0, "{edit} changed an unweighted pixel");
                } else {
                    inside += d;
                }
            }
            assert!(
                inside / 96.0 > 3.0 / 255.0,
                "{edit}: {}",
                inside / 96.0 * 255.0
            );
        }
        assert!(apply("bald", &mut z.clone(), &m, &mut rng).is_none());
    }
}
