//! The manipulation of docs/synthetic.md, step by step:
//! `Z = Down_f(X)`, `Z' = Edit_p(Z)` at latent resolution, `Y = Up_f(Z')` through the
//! generator's decoder, `X' = (1 − w)·X + w·Y` with `w = α + (1 − α)·softmask`, 8-bit rounding.

use image::RgbImage;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::camera::{expose, optical_image, Camera};
use super::draw::{region_mask, render_scene};
use super::edits;
use super::face::FaceParams;
use super::generators::{pool_switches, Decoder, GeneratorInfo};
use super::raster::{Image3, Plane};
use crate::data::{seeds, Split};

/// An identity's parameters and camera, from (seed, split, identity index) only.
pub(crate) fn identity(seed: u64, split: Split, identity: u32) -> (FaceParams, Camera) {
    let mut rng = ChaCha8Rng::seed_from_u64(seeds::mix(&[
        seed,
        seeds::fnv1a("identity"),
        seeds::fnv1a(split.as_str()),
        identity as u64,
    ]));
    let p = FaceParams::random(&mut rng);
    let cam = Camera::random(&mut rng);
    (p, cam)
}

/// The real photograph X of an identity at `size`×`size`.
pub(crate) fn real_photo(seed: u64, split: Split, id: u32, size: usize) -> (FaceParams, RgbImage) {
    let (p, cam) = identity(seed, split, id);
    let optical = optical_image(&p, &cam, size);
    let mut rng = ChaCha8Rng::seed_from_u64(seeds::mix(&[
        seed,
        seeds::fnv1a("sensor"),
        seeds::fnv1a(split.as_str()),
        id as u64,
    ]));
    (p, expose(&optical, &cam, &mut rng))
}

/// A fake image with the masks it was blended with (tests check the ground truth against them).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Manipulated {
    pub fake: RgbImage,
    /// Soft mask of the edited region at full resolution (w = α + (1 − α)·soft).
    pub soft: Plane,
    /// The binary edited region before dilation (full resolution).
    pub region: Plane,
}

/// Renders a scene at latent size `n` the way the encoder sees a photo: drawn at 2n, then
/// area-averaged ×2 (band-limited like `Down_f` of a 2S render).
fn latent_render(p: &FaceParams, n: usize) -> (Image3, Image3) {
    let fine = render_scene(p, 2 * n);
    let z = fine.area_down(2);
    (fine, z)
}

/// The encoder side shared by every generator: the pyramid X, X/2, …, X/f (area) and the
/// max-pooling switches of each level (used by the unpooling decoder). Shared with the
/// real-photo source (`crate::data::photos`).
pub(crate) fn encode(x: &Image3, f: usize) -> (Image3, Vec<Vec<u8>>) {
    let mut level = x.clone();
    let mut switches = Vec::new();
    let mut s = 1;
    while s < f {
        switches.push(pool_switches(&level));
        level = level.area_down(2);
        s *= 2;
    }
    // The decoder's first stage expands the coarsest level: reverse to decoding order.
    switches.reverse();
    (level, switches)
}

/// Applies partial property `property` with generator `g` to the real photo `real` of `p`.
pub(crate) fn partial(
    p: &FaceParams,
    real: &RgbImage,
    property: &str,
    g: &GeneratorInfo,
    rng: &mut ChaCha8Rng,
) -> Manipulated {
    let size = real.width() as usize;
    let f = g.factors[rng.random_range(0..g.factors.len())] as usize;
    let n = size / f;
    let x = Image3::from_rgb8(real);
    let (mut z, switches) = encode(&x, f);

    // Edit_p at latent resolution: add the rendered change of the scene (same pose and light),
    // so the rest of the latent keeps the photo's own content.
    let q = edits::apply(p, property, rng).expect("property validated by the caller");
    let (fine_p, lat_p) = latent_render(p, n);
    let (fine_q, lat_q) = latent_render(&q, n);
    for ((zp, a), b) in z.px.iter_mut().zip(&lat_p.px).zip(&lat_q.px) {
        for k in 0..3 {
            zp[k] += b[k] - a[k];
        }
    }
    let y = Decoder::new(g).decode(&z, switches.len(), &switches, rng);

    // The edited region: the property's facial region before and after the edit, plus every
    // latent pixel the edit changed; dilated and blurred at full resolution.
    let reg = edits::region_of(property).expect("property validated by the caller");
    let changed = Plane {
        w: 2 * n,
        h: 2 * n,
        v: fine_p
            .px
            .iter()
            .zip(&fine_q.px)
            .map(|(a, b)| {
                let d = (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0, f32::max);
                if d > 2.0 / 255.0 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect(),
    };
    let semantic = region_mask(p, reg, 2 * n).max(&region_mask(&q, reg, 2 * n));
    let union = changed.max(&semantic).repeat_up(f / 2);
    let region = Plane {
        w: size,
        h: size,
        v: union
            .v
            .iter()
            .map(|&v| if v > 0.25 { 1.0 } else { 0.0 })
            .collect(),
    };
    let soft = feather(&region, f);
    Manipulated {
        fake: blend(x, &y, &soft, g.alpha),
        soft,
        region,
    }
}

/// The soft mask of a binary edited region at full resolution (side S) for latent factor `f`:
/// dilated by `S/40 + f/2` pixels, then blurred by a finite-support tent of radius `S/56`.
/// Shared with the real-photo source (`crate::data::photos`).
pub(crate) fn feather(region: &Plane, f: usize) -> Plane {
    let size = region.w;
    region.dilate(size / 40 + f / 2).tent_blur(size / 56)
}

/// `X' = round((1 − w)·X + w·Y)` with `w = α + (1 − α)·soft`, rounded to 8 bits. Shared with
/// the real-photo source (`crate::data::photos`).
pub(crate) fn blend(x: Image3, y: &Image3, soft: &Plane, alpha: f32) -> RgbImage {
    let mut blended = x;
    for ((o, yv), m) in blended.px.iter_mut().zip(&y.px).zip(&soft.v) {
        let w = alpha + (1.0 - alpha) * m.clamp(0.0, 1.0);
        for k in 0..3 {
            o[k] = (1.0 - w) * o[k] + w * yv[k];
        }
    }
    blended.to_rgb8()
}

/// Full synthesis: a random latent portrait decoded by `g` (X' = Y, no real source).
pub(crate) fn entire(size: usize, g: &GeneratorInfo, rng: &mut ChaCha8Rng) -> RgbImage {
    let f = g.factors[rng.random_range(0..g.factors.len())] as usize;
    let n = size / f;
    let p = FaceParams::random(rng);
    let (_, z) = latent_render(&p, n);
    let stages = f.trailing_zeros() as usize;
    Decoder::new(g).decode(&z, stages, &[], rng).to_rgb8()
}
