//! The portrait renderer: paints a `FaceParams` scene into an `Image3` of any size with
//! anti-aliased shapes (painter's algorithm, back to front), and rasterises facial regions.
//!
//! Every shape is evaluated in face units through the pose, so the same scene can be drawn at
//! 2S for the camera and at latent resolution for the generators' edits.

use super::face::{FaceParams, HairLength};
use super::fmath as fm;
use super::raster::{Image3, Plane};
use super::shapes::{
    bbox_union, coverage, smooth_coverage, Band, Bbox, Capsule, Ellipse, Lens, RoundBox,
};

/// Facial regions that properties edit (paper Table 1 groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    /// Scalp and hair, wherever it falls.
    Hair,
    /// Eyes, brows and glasses.
    EyeBand,
    /// Mouth and its surroundings.
    Mouth,
    /// Upper lip, mouth and chin.
    LowerFace,
    /// Head, hair, ears and neck.
    Face,
}

/// A fast, stateless integer hash of a pixel index and a seed, mapped to [−1, 1].
#[inline]
fn hash_noise(i: u64, seed: u64) -> f32 {
    let mut z = i.wrapping_add(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    std::array::from_fn(|k| a[k] + (b[k] - a[k]) * t)
}

fn scale3(a: [f32; 3], s: f32) -> [f32; 3] {
    a.map(|v| v * s)
}

/// Derived feature positions (face units) shared by painting and region masks.
struct Layout {
    eye: [[f32; 2]; 2],
    eye_hw: [f32; 2],
    mouth: [f32; 2],
    mouth_hw: f32,
    nose_x: f32,
    nose_tip: f32,
}

impl Layout {
    fn new(p: &FaceParams) -> Self {
        let shift = p.yaw * 0.3;
        let eye = [[-p.eye_dx + shift, p.eye_y], [p.eye_dx + shift, p.eye_y]];
        // The eye turned away from the camera looks narrower.
        let eye_hw = [
            0.17 * p.eye_size * (1.0 + p.yaw * 0.8),
            0.17 * p.eye_size * (1.0 - p.yaw * 0.8),
        ];
        Self {
            eye,
            eye_hw,
            mouth: [shift, p.mouth_y],
            mouth_hw: p.mouth_w * (1.0 + 0.15 * p.smile),
            nose_x: p.yaw * 0.45,
            nose_tip: 0.22 + (p.nose_len - 0.36),
        }
    }
}

/// Half-width profile of the head: an ellipse whose lower half tapers towards the jaw.
fn head_field(p: &FaceParams, x: f32, y: f32) -> f32 {
    let (ry, a) = if y <= 0.0 {
        (1.3, 1.0)
    } else {
        let t = (y / p.head_h).min(1.0);
        (p.head_h, 1.0 - (1.0 - p.jaw) * t * (0.7 + 0.3 * t))
    };
    ((x / a).powi(2) + (y / ry).powi(2)).sqrt() - 1.0
}

/// Signed distance to the head outline (first order, from a numerical gradient).
fn head_sd(p: &FaceParams, x: f32, y: f32) -> f32 {
    let f = head_field(p, x, y);
    // Far from the outline only the sign matters (callers ramp over at most ~0.4 units).
    if f.abs() > 0.45 {
        return f;
    }
    let h = 1e-3;
    let gx = (head_field(p, x + h, y) - f) / h;
    let gy = (head_field(p, x, y + h) - f) / h;
    f / (gx * gx + gy * gy).sqrt().max(1e-3)
}

fn hair_outer(p: &FaceParams) -> Ellipse {
    Ellipse::new(0.0, -0.18, 1.1 * p.hair_volume, 1.27 * p.hair_volume)
}

fn face_window(p: &FaceParams) -> Ellipse {
    Ellipse::new(0.0, p.hairline + 1.45, 0.9, 1.45)
}

/// Coverage of the hair in front of the head (cap, sides, bangs).
fn front_hair(p: &FaceParams, x: f32, y: f32, pix: f32) -> f32 {
    let outer = coverage(hair_outer(p).sd(x, y), pix);
    if outer == 0.0 {
        return 0.0;
    }
    let window = coverage(face_window(p).sd(x, y), pix);
    let bottom = match p.hair_len {
        HairLength::Short => 0.02,
        HairLength::Medium | HairLength::Long => 0.95,
    };
    let cut = coverage(y - bottom, 0.08);
    if p.bald {
        // A fringe of short hair around the ears only.
        let sides = smooth_coverage(-0.4 - y, 0.15)
            * smooth_coverage(y + 0.02, 0.12)
            * smooth_coverage(0.9 - x.abs(), 0.1);
        let sd = head_sd(p, x, y);
        // A thin band hugging the skull just above the ears.
        let rim = smooth_coverage(-(sd + 0.1), 0.06) * smooth_coverage(sd - 0.05, 0.05);
        return outer * (1.0 - window) * sides * rim;
    }
    let mut c = outer * (1.0 - window) * cut;
    if p.bangs {
        let wave = 0.035 * fm::sin(x * 15.0 + p.strand_phase[0]);
        let fringe = coverage(y - (p.eye_y - 0.27 + wave), pix) * coverage(x.abs() - 0.92, pix);
        c = c.max(outer * fringe);
    }
    c
}

/// Coverage of the hair mass behind the head and shoulders.
fn back_hair(p: &FaceParams, x: f32, y: f32, pix: f32) -> f32 {
    if p.bald {
        return 0.0;
    }
    let bottom = match p.hair_len {
        HairLength::Short => return 0.0,
        HairLength::Medium => 1.05,
        HairLength::Long => 2.4,
    };
    let hw = 1.2 * p.hair_volume;
    let b = RoundBox {
        cx: 0.0,
        cy: (bottom - 0.3) / 2.0,
        hw,
        hh: (bottom + 0.3) / 2.0,
        r: 0.35,
    };
    coverage(b.sd(x, y), pix).max(coverage(hair_outer(p).sd(x, y), pix))
}

fn back_hair_bbox(p: &FaceParams) -> Bbox {
    bbox_union(
        hair_outer(p).bbox(),
        [-1.3 * p.hair_volume, -0.4, 1.3 * p.hair_volume, 2.5],
    )
}

/// Hair strands radiating from the crown at the parting, band-limited to the pixel size.
fn strands(p: &FaceParams, x: f32, y: f32, pix: f32) -> f32 {
    let (dx, dy) = (x - p.part_x * 0.5, y + 1.3);
    let r = (dx * dx + dy * dy).sqrt().max(1e-3);
    let th = fm::atan2(dx, dy) + 0.04 * fm::sin(5.0 * r + p.strand_phase[3]);
    let mut s = 0.0;
    for (k, (n, a)) in [(31.0, 0.35), (67.0, 0.3), (113.0, 0.22), (181.0, 0.18)]
        .iter()
        .enumerate()
    {
        // Fade components whose wavelength falls below ~3 pixels (no aliasing at low res).
        let wavelength = std::f32::consts::TAU * r / n;
        let lod = ((wavelength / pix - 3.0) / 3.0).clamp(0.0, 1.0);
        s += a * lod * fm::sin(n * th + p.strand_phase[k]);
    }
    s
}

/// Lambert shading of an ellipsoidal head normal under the scene light.
fn head_light(p: &FaceParams, x: f32, y: f32) -> f32 {
    let nx = (x / 1.05).clamp(-1.0, 1.0);
    let ny = ((y + 0.1) / 1.6).clamp(-1.0, 1.0);
    let nz = (1.0 - nx * nx - ny * ny).max(0.0).sqrt();
    let d = (nx * p.light[0] + ny * p.light[1] + nz * p.light[2]).max(0.0);
    (0.62 + p.light_k * d) / (0.62 + p.light_k * 0.8)
}

/// Paints layers into an image through the pose transform.
struct Painter<'a> {
    img: &'a mut Image3,
    p: &'a FaceParams,
    /// Face units per pixel.
    pix: f32,
    cos: f32,
    sin: f32,
}

impl<'a> Painter<'a> {
    fn new(img: &'a mut Image3, p: &'a FaceParams) -> Self {
        let pix = 1.0 / (img.w as f32 * p.scale);
        let (sin, cos) = p.roll.sin_cos();
        Self {
            img,
            p,
            pix,
            cos,
            sin,
        }
    }

    fn to_face(&self, px: f32, py: f32) -> (f32, f32) {
        let n = self.img.w as f32;
        let du = px / n - self.p.centre[0];
        let dv = py / n - self.p.centre[1];
        (
            (du * self.cos + dv * self.sin) / self.p.scale,
            (-du * self.sin + dv * self.cos) / self.p.scale,
        )
    }

    fn pixel_range(&self, bb: Bbox) -> (usize, usize, usize, usize) {
        let n = self.img.w as f32;
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (fx, fy) in [
            (bb[0], bb[1]),
            (bb[2], bb[1]),
            (bb[0], bb[3]),
            (bb[2], bb[3]),
        ] {
            let u = (fx * self.cos - fy * self.sin) * self.p.scale + self.p.centre[0];
            let v = (fx * self.sin + fy * self.cos) * self.p.scale + self.p.centre[1];
            x0 = x0.min(u * n);
            x1 = x1.max(u * n);
            y0 = y0.min(v * n);
            y1 = y1.max(v * n);
        }
        let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
        (
            clampi(x0 - 2.0, self.img.w),
            clampi(y0 - 2.0, self.img.h),
            clampi(x1 + 3.0, self.img.w),
            clampi(y1 + 3.0, self.img.h),
        )
    }

    /// Multiplies the pixels of `bb` (face units) by `factor(x, y)` (shadows and creases).
    fn multiply(&mut self, bb: Bbox, mut factor: impl FnMut(f32, f32) -> f32) {
        let (x0, y0, x1, y1) = self.pixel_range(bb);
        for py in y0..y1 {
            for px in x0..x1 {
                let (x, y) = self.to_face(px as f32 + 0.5, py as f32 + 0.5);
                let f = factor(x, y);
                if f != 1.0 {
                    let d = &mut self.img.px[py * self.img.w + px];
                    *d = d.map(|v| v * f);
                }
            }
        }
    }

    /// Blends `colour(x, y, index)` with coverage `alpha(x, y)` over the pixels of `bb`; the
    /// colour is only evaluated where the coverage is non-zero.
    fn fill(
        &mut self,
        bb: Bbox,
        mut alpha: impl FnMut(f32, f32) -> f32,
        mut colour: impl FnMut(f32, f32, usize) -> [f32; 3],
    ) {
        self.layer(bb, |x, y, i| {
            let a = alpha(x, y);
            if a > 0.0 {
                (colour(x, y, i), a)
            } else {
                ([0.0; 3], 0.0)
            }
        });
    }

    /// Blends `shade(x, y, index) = (colour, alpha)` over the pixels of `bb` (face units).
    fn layer(&mut self, bb: Bbox, mut shade: impl FnMut(f32, f32, usize) -> ([f32; 3], f32)) {
        let (x0, y0, x1, y1) = self.pixel_range(bb);
        for py in y0..y1 {
            for px in x0..x1 {
                let (x, y) = self.to_face(px as f32 + 0.5, py as f32 + 0.5);
                let i = py * self.img.w + px;
                let (c, a) = shade(x, y, i);
                if a > 0.0 {
                    let d = &mut self.img.px[i];
                    for k in 0..3 {
                        d[k] += (c[k] - d[k]) * a;
                    }
                }
            }
        }
    }
}

/// Renders the scene of `p` as a `size`×`size` image (sRGB floats, before the camera).
pub(crate) fn render_scene(p: &FaceParams, size: usize) -> Image3 {
    let mut img = Image3::filled(size, size, [0.0; 3]);
    background(p, &mut img);
    let lay = Layout::new(p);
    let mut pt = Painter::new(&mut img, p);
    let pix = pt.pix;
    // Pore-scale grain fades out at low resolution, where it would average away anyway.
    let grain = 0.035 * (size as f32 / 448.0).min(1.0);
    let tex_seed = p.texture_seed;
    let wr = p.wrinkles();
    let skin_base = {
        let g = (p.skin[0] + p.skin[1] + p.skin[2]) / 3.0;
        scale3(mix(p.skin, [g; 3], 0.18 * wr), 1.0 - 0.05 * wr)
    };
    let skin_at = |x: f32, y: f32, i: usize| -> [f32; 3] {
        let blotch = 0.025 * fm::sin(3.1 * x + 1.7 * y + p.strand_phase[1]) * fm::cos(2.3 * y);
        let n = grain * hash_noise(i as u64, tex_seed);
        scale3(skin_base, head_light(p, x, y) * (1.0 + blotch + n))
    };
    let hair = p.hair_rgb();
    let hair_at = |x: f32, y: f32, dark: f32| -> [f32; 3] {
        let s = strands(p, x, y, pix);
        let r = ((x - p.part_x * 0.5).powi(2) + (y + 1.3).powi(2)).sqrt();
        let sheen = 0.12 * fm::bump((r - 0.75) / 0.12);
        let l = head_light(p, x * 0.9, y) * dark;
        hair.map(|c| (c * (0.82 + 0.28 * s) * l + sheen * (0.3 + c)).max(0.0))
    };

    // Back hair, clothes, neck, ears.
    pt.fill(
        back_hair_bbox(p),
        |x, y| back_hair(p, x, y, pix),
        |x, y, _| hair_at(x, y, 0.72),
    );
    let neck = RoundBox {
        cx: 0.0,
        cy: p.head_h + 0.45,
        hw: if p.male { 0.55 } else { 0.47 },
        hh: 0.95,
        r: 0.2,
    };
    pt.fill(
        neck.bbox(),
        |x, y| coverage(neck.sd(x, y), pix),
        |x, y, i| {
            let shadow = 0.7 + 0.2 * ((y - p.head_h * 0.75) / 0.7).clamp(0.0, 1.0);
            scale3(skin_at(x, y, i), shadow)
        },
    );
    let clothes = Ellipse::new(0.0, p.head_h + 1.5, 2.4, 1.15);
    let neckline = Ellipse::new(0.0, p.head_h + 0.35, 0.45, 0.42);
    pt.fill(
        clothes.bbox(),
        |x, y| coverage(clothes.sd(x, y), pix) * (1.0 - coverage(neckline.sd(x, y), pix)),
        |x, y, _| {
            let fold = 1.0 + 0.06 * fm::sin(2.5 * x + 1.3 * y + p.strand_phase[2]);
            scale3(p.clothes, fold * head_light(p, x * 0.5, 0.3))
        },
    );
    // Long hair hides the ears.
    if p.hair_len != HairLength::Long || p.bald {
        for sgn in [-1.0f32, 1.0] {
            let ear = Ellipse::new(sgn * 0.97, p.eye_y + 0.12, 0.13, 0.24);
            let inner = Ellipse::new(sgn * 0.99, p.eye_y + 0.12, 0.06, 0.14);
            pt.layer(ear.bbox(), |x, y, i| {
                let dark = 0.9 - 0.12 * smooth_coverage(inner.sd(x, y), 0.08);
                (scale3(skin_at(x, y, i), dark), coverage(ear.sd(x, y), pix))
            });
        }
    }

    // Head with cheeks, wrinkles and facial hair.
    let head_bb = [-1.05, -1.35, 1.05, p.head_h + 0.05];
    let blush = if p.male { 0.05 } else { 0.12 };
    let cheeks = [
        Ellipse::new(lay.eye[0][0] - 0.05, 0.28, 0.22, 0.15),
        Ellipse::new(lay.eye[1][0] + 0.05, 0.28, 0.22, 0.15),
    ];
    pt.layer(head_bb, |x, y, i| {
        let a = coverage(head_sd(p, x, y), pix);
        if a == 0.0 {
            return ([0.0; 3], 0.0);
        }
        let mut c = skin_at(x, y, i);
        let b =
            smooth_coverage(cheeks[0].sd(x, y), 0.2).max(smooth_coverage(cheeks[1].sd(x, y), 0.2));
        c = mix(c, [0.85, 0.4, 0.4], b * blush);
        // Jaw shadow towards the outline.
        let rim = smooth_coverage(-head_sd(p, x, y) - 0.12, 0.25);
        (scale3(c, 1.0 - 0.1 * (1.0 - rim)), a)
    });
    if wr > 0.0 {
        let mut lines: Vec<Band> = (0..3)
            .map(|k| Band {
                cx: 0.0,
                cy: -0.62 - 0.1 * k as f32,
                hw: 0.42,
                bend: 0.03,
                tilt: 0.0,
                t: 0.007,
                taper: 0.5,
            })
            .collect();
        for (s, e) in [-1.0f32, 1.0].iter().zip(lay.eye) {
            for k in 0..2 {
                lines.push(Band {
                    cx: e[0] + s * 0.22,
                    cy: e[1] - 0.02 + 0.05 * k as f32,
                    hw: 0.06,
                    bend: 0.0,
                    tilt: 0.015 * (k as f32 - 0.5) * 2.0,
                    t: 0.005,
                    taper: 0.6,
                });
            }
        }
        for l in lines {
            pt.multiply(l.bbox(), |x, y| {
                1.0 - 0.12 * wr * smooth_coverage(l.sd(x, y), 2.0 * pix)
            });
        }
    }
    if p.smile > 0.0 || wr > 0.0 {
        let k = (0.6 * p.smile + 0.5 * wr).min(1.0);
        for s in [-1.0f32, 1.0] {
            let fold = Capsule {
                a: [lay.nose_x + s * 0.17, lay.nose_tip - 0.02],
                b: [lay.mouth[0] + s * (lay.mouth_hw + 0.06), p.mouth_y + 0.04],
                r: 0.012,
            };
            pt.multiply(fold.bbox(), |x, y| {
                1.0 - 0.1 * k * smooth_coverage(fold.sd(x, y), 0.04)
            });
        }
    }
    let hair_dark = hair.map(|c| c * 0.8);
    if p.stubble > 0.0 || p.beard {
        let hole = Ellipse::new(lay.mouth[0], p.mouth_y + 0.01, lay.mouth_hw + 0.03, 0.09);
        let top = p.mouth_y - 0.1;
        pt.layer([-1.05, top - 0.75, 1.05, p.head_h + 0.05], |x, y, i| {
            let inside = coverage(head_sd(p, x, y), pix);
            // The beard line rises towards the sideburns.
            let lower = smooth_coverage(top - 0.62 * x * x - y, 0.08);
            let region = inside * lower;
            if region == 0.0 {
                return ([0.0; 3], 0.0);
            }
            let stubble = 0.35 * p.stubble * (0.6 + 0.4 * hash_noise(i as u64, tex_seed ^ 0xBEA2D));
            let beard = if p.beard {
                0.92 * (1.0 - coverage(hole.sd(x, y), 0.03))
            } else {
                0.0
            };
            let curl = 0.8 + 0.25 * fm::sin(120.0 * x + 9.0 * fm::sin(7.0 * y));
            (scale3(hair_dark, curl), region * stubble.max(beard))
        });
    }

    // Eyes and brows.
    let liner = if p.male { 0.011 } else { 0.016 };
    for (side, (e, hw)) in lay.eye.iter().zip(lay.eye_hw).enumerate() {
        let sgn = if side == 0 { -1.0 } else { 1.0 };
        let up = 0.072 * p.eye_size * (1.0 - 0.2 * p.smile);
        let down = 0.05 * p.eye_size;
        let open = Lens {
            cx: e[0],
            cy: e[1],
            hw,
            bend: 0.0,
            up,
            down,
        };
        let socket = Ellipse::new(e[0], e[1] - 0.02, hw * 1.35, 0.13);
        pt.multiply(socket.bbox(), |x, y| {
            1.0 - 0.08 * smooth_coverage(socket.sd(x, y), 0.12)
        });
        if wr > 0.0 {
            let bag = Band {
                cx: e[0],
                cy: e[1] + down + 0.05,
                hw: hw * 0.8,
                bend: -0.03,
                tilt: 0.0,
                t: 0.01,
                taper: 0.5,
            };
            pt.multiply(bag.bbox(), |x, y| {
                1.0 - 0.1 * wr * smooth_coverage(bag.sd(x, y), 0.03)
            });
        }
        let iris = Ellipse::new(
            e[0] + p.yaw * 0.05,
            e[1] + 0.004,
            0.07 * p.eye_size,
            0.07 * p.eye_size,
        );
        let pupil = Ellipse::new(iris.cx, iris.cy, 0.031 * p.eye_size, 0.031 * p.eye_size);
        let glint = Ellipse::new(iris.cx - 0.018, iris.cy - 0.02, 0.011, 0.011);
        let light = head_light(p, e[0], e[1]);
        pt.layer(open.bbox(), |x, y, _| {
            let a = coverage(open.sd(x, y), pix);
            if a == 0.0 {
                return ([0.0; 3], 0.0);
            }
            let lid_shadow = 1.0 - 0.25 * smooth_coverage(y - (e[1] - up * 0.2), 0.06);
            let mut c = scale3([0.93, 0.9, 0.87], light * (1.0 - 0.15 * (1.0 - lid_shadow)));
            let ri = coverage(iris.sd(x, y), pix);
            let ring = 1.0 - 0.45 * smooth_coverage(-iris.sd(x, y) - 0.012, 0.02);
            c = mix(c, scale3(p.iris, light * (1.0 - ring + 0.6)), ri);
            c = mix(c, [0.03, 0.02, 0.02], coverage(pupil.sd(x, y), pix));
            c = mix(c, [0.98, 0.98, 0.98], 0.9 * coverage(glint.sd(x, y), pix));
            (c, a)
        });
        let lid = Band {
            cx: e[0],
            cy: e[1] - up,
            hw: hw * 1.02,
            bend: up,
            tilt: 0.0,
            t: liner,
            taper: 0.7,
        };
        pt.layer(lid.bbox(), |x, y, _| {
            ([0.08, 0.05, 0.05], 0.9 * coverage(lid.sd(x, y), pix))
        });
        let low = Band {
            cx: e[0],
            cy: e[1] + down,
            hw: hw * 0.9,
            bend: -down,
            tilt: 0.0,
            t: 0.005,
            taper: 0.7,
        };
        pt.multiply(low.bbox(), |x, y| 1.0 - 0.15 * coverage(low.sd(x, y), pix));
        let brow = Band {
            cx: e[0] + sgn * 0.02,
            cy: e[1] - 0.21 - p.brow_arch,
            hw: 0.2,
            bend: p.brow_arch,
            tilt: sgn * 0.015,
            t: p.brow_t,
            taper: 0.6,
        };
        let brow_colour = mix(hair, p.skin, 0.25).map(|v| v * 0.7);
        pt.layer(brow.bbox(), |x, y, _| {
            let s = 0.85 + 0.15 * fm::sin(90.0 * x + 40.0 * y);
            (scale3(brow_colour, s), 0.9 * coverage(brow.sd(x, y), pix))
        });
    }

    // Nose.
    let nx = lay.nose_x;
    let tip = lay.nose_tip;
    let shadow_side = if p.light[0] > 0.0 { -1.0 } else { 1.0 };
    let ridge = Capsule {
        a: [nx + shadow_side * 0.09, p.eye_y + 0.12],
        b: [nx + shadow_side * 0.11, tip - 0.03],
        r: 0.025,
    };
    pt.multiply(
        bbox_union(ridge.bbox(), [nx - 0.2, tip - 0.1, nx + 0.2, tip + 0.12]),
        |x, y| {
            let sh = 0.12 * smooth_coverage(ridge.sd(x, y), 0.07);
            let under = 0.1
                * smooth_coverage(
                    Ellipse::new(nx, tip + 0.06, 0.13 * p.nose_w, 0.035).sd(x, y),
                    0.05,
                );
            let nostril = [-1.0f32, 1.0]
                .iter()
                .map(|s| {
                    coverage(
                        Ellipse::new(
                            nx + s * 0.07 * p.nose_w,
                            tip + 0.04,
                            0.034 * p.nose_w,
                            0.018,
                        )
                        .sd(x, y),
                        pix * 1.5,
                    )
                })
                .fold(0.0f32, f32::max);
            let hi = 0.06
                * smooth_coverage(
                    Ellipse::new(nx - shadow_side * 0.02, tip - 0.02, 0.04, 0.04).sd(x, y),
                    0.05,
                );
            (1.0 - sh - under + hi) * (1.0 - 0.55 * nostril)
        },
    );

    // Mouth.
    let (mx, my) = (lay.mouth[0], lay.mouth[1]);
    let mhw = lay.mouth_hw;
    let lift = 0.055 * p.smile;
    let open = 0.045 * p.smile;
    let upper = Lens {
        cx: mx,
        cy: my,
        hw: mhw,
        bend: -lift,
        up: 0.05 * p.lip_t,
        down: 0.0,
    };
    let gap = Lens {
        cx: mx,
        cy: my,
        hw: mhw * 0.96,
        bend: -lift,
        up: 0.0,
        down: open,
    };
    let lower = Lens {
        cx: mx,
        cy: my,
        hw: mhw * 0.92,
        bend: -lift,
        up: -open,
        down: open + 0.068 * p.lip_t,
    };
    let line = Band {
        cx: mx,
        cy: my,
        hw: mhw,
        bend: -lift,
        tilt: 0.0,
        t: 0.007,
        taper: 0.3,
    };
    let lip_at = |x: f32, y: f32| scale3(p.lip, head_light(p, x, y));
    pt.layer(upper.bbox(), |x, y, _| {
        (scale3(lip_at(x, y), 0.92), coverage(upper.sd(x, y), pix))
    });
    pt.layer(lower.bbox(), |x, y, _| {
        let gloss = 1.0
            + 0.12
                * smooth_coverage(
                    Ellipse::new(mx, my + open + 0.025, mhw * 0.4, 0.015).sd(x, y),
                    0.03,
                );
        (scale3(lip_at(x, y), gloss), coverage(lower.sd(x, y), pix))
    });
    if open > 0.0 {
        pt.layer(gap.bbox(), |x, y, _| {
            let teeth_line = my - lift * ((x - mx) / mhw).powi(2) + open * 0.55;
            let teeth = coverage(y - teeth_line, pix * 1.5);
            let inner = mix(
                [0.25, 0.08, 0.08],
                scale3([0.92, 0.89, 0.82], head_light(p, x, y)),
                teeth,
            );
            (inner, coverage(gap.sd(x, y), pix))
        });
    } else {
        pt.multiply(line.bbox(), |x, y| {
            1.0 - 0.45 * coverage(line.sd(x, y), pix)
        });
    }
    if p.mustache {
        let m = Band {
            cx: mx,
            cy: my - 0.075,
            hw: mhw + 0.04,
            bend: 0.05,
            tilt: 0.0,
            t: 0.038,
            taper: 0.5,
        };
        pt.layer(m.bbox(), |x, y, _| {
            let s = 0.8 + 0.25 * fm::sin(140.0 * x + 10.0 * y);
            (scale3(hair_dark, s), 0.95 * coverage(m.sd(x, y), pix))
        });
    }

    // Front hair.
    let outer_bb = bbox_union(hair_outer(p).bbox(), [-1.3, -1.6, 1.3, 1.0]);
    pt.fill(
        outer_bb,
        |x, y| front_hair(p, x, y, pix),
        |x, y, _| hair_at(x, y, 1.0),
    );

    // Glasses.
    if p.glasses {
        let r = if p.glasses_round { 0.14 } else { 0.05 };
        let rims: Vec<RoundBox> = lay
            .eye
            .iter()
            .map(|e| RoundBox {
                cx: e[0],
                cy: e[1] + 0.01,
                hw: 0.235,
                hh: 0.155,
                r,
            })
            .collect();
        let t = 0.018;
        let bridge = Capsule {
            a: [rims[0].cx + rims[0].hw, lay.eye[0][1] - 0.02],
            b: [rims[1].cx - rims[1].hw, lay.eye[1][1] - 0.02],
            r: t * 0.8,
        };
        let temples = [
            Capsule {
                a: [rims[0].cx - rims[0].hw, lay.eye[0][1] - 0.04],
                b: [-1.02, lay.eye[0][1] - 0.02],
                r: t * 0.8,
            },
            Capsule {
                a: [rims[1].cx + rims[1].hw, lay.eye[1][1] - 0.04],
                b: [1.02, lay.eye[1][1] - 0.02],
                r: t * 0.8,
            },
        ];
        let bb = [-1.05, p.eye_y - 0.2, 1.05, p.eye_y + 0.2];
        pt.layer(bb, |x, y, _| {
            let mut frame = coverage(bridge.sd(x, y), pix);
            let mut lens = 0.0f32;
            for (rim, tpl) in rims.iter().zip(&temples) {
                let sd = rim.sd(x, y);
                frame = frame
                    .max(coverage(sd.abs() - t, pix))
                    .max(coverage(tpl.sd(x, y), pix));
                lens = lens.max(coverage(sd, pix));
            }
            let streak = smooth_coverage(fm::sin((x + y * 0.8) * 7.0 + 1.0).abs() - 0.1, 0.3);
            let glass = mix([0.75, 0.82, 0.9], [1.0; 3], streak);
            let c = mix(glass, p.glasses_colour, frame);
            (c, frame.max(lens * (0.1 + 0.12 * streak)))
        });
    }

    // Exposure and white balance.
    for px in &mut img.px {
        for (v, g) in px.iter_mut().zip(p.gain) {
            *v = (*v * g).clamp(0.0, 1.0);
        }
    }
    img
}

/// Smooth background: a two-colour gradient, low-frequency waves and a vignette.
fn background(p: &FaceParams, img: &mut Image3) {
    let n = img.w as f32;
    let (s, c) = p.bg_angle.sin_cos();
    let coord = |i: usize| (i as f32 + 0.5) / n;
    // sin(a·u + b·v + φ) = sin(a·u)·cos(b·v + φ) + cos(a·u)·sin(b·v + φ): per-column and
    // per-row tables instead of a sine per pixel.
    let tau = std::f32::consts::TAU;
    let table = |len: usize, f: &dyn Fn(&[f32; 4], f32) -> f32| -> Vec<[(f32, f32); 4]> {
        (0..len)
            .map(|i| {
                p.bg_waves.map(|w| {
                    let a = f(&w, coord(i));
                    (fm::sin(a), fm::cos(a))
                })
            })
            .collect()
    };
    let cols = table(img.w, &|w, u| tau * w[0] * u);
    let rows = table(img.h, &|w, v| tau * w[1] * v + w[2]);
    let w = img.w;
    for (y, (line, row)) in img.px.chunks_mut(w).zip(&rows).enumerate() {
        let v = coord(y);
        for (x, (px, col)) in line.iter_mut().zip(&cols).enumerate() {
            let u = coord(x);
            let t = ((u - 0.5) * c + (v - 0.5) * s + 0.5).clamp(0.0, 1.0);
            let mut wave = 0.0;
            for ((wv, (sa, ca)), (sb, cb)) in p.bg_waves.iter().zip(col).zip(row) {
                wave += wv[3] * (sa * cb + ca * sb);
            }
            let vig = 1.0 - 0.3 * ((u - 0.5).powi(2) + (v - 0.5).powi(2));
            *px = mix(p.bg0, p.bg1, t).map(|k| (k + wave) * vig);
        }
    }
}

/// Rasterises a facial region of `p` as coverage in [0, 1] at `size`×`size`.
pub(crate) fn region_mask(p: &FaceParams, region: Region, size: usize) -> Plane {
    let mut img = Image3::filled(size, size, [0.0; 3]);
    let lay = Layout::new(p);
    let mut pt = Painter::new(&mut img, p);
    let pix = pt.pix;
    let white = [1.0f32; 3];
    match region {
        Region::Hair => {
            // Hair behind the head is only visible outside it.
            pt.layer(back_hair_bbox(p), |x, y, _| {
                let behind = back_hair(p, x, y, pix) * (1.0 - coverage(head_sd(p, x, y), pix));
                (white, front_hair(p, x, y, pix).max(behind))
            });
        }
        Region::EyeBand => {
            let band = Ellipse::new(lay.nose_x * 0.6, p.eye_y - 0.05, 0.95, 0.3);
            pt.layer(band.bbox(), |x, y, _| (white, coverage(band.sd(x, y), pix)));
        }
        Region::Mouth => {
            let m = Ellipse::new(lay.mouth[0], p.mouth_y, lay.mouth_hw + 0.16, 0.2);
            pt.layer(m.bbox(), |x, y, _| (white, coverage(m.sd(x, y), pix)));
        }
        Region::LowerFace => {
            let m = Ellipse::new(lay.mouth[0], p.mouth_y, lay.mouth_hw + 0.25, 0.3);
            pt.layer(m.bbox(), |x, y, _| (white, coverage(m.sd(x, y), pix)));
        }
        Region::Face => {
            let neck = RoundBox {
                cx: 0.0,
                cy: p.head_h + 0.2,
                hw: 0.55,
                hh: 0.5,
                r: 0.2,
            };
            pt.layer(back_hair_bbox(p), |x, y, _| {
                let head = coverage(head_sd(p, x, y), pix);
                let ears = coverage(Ellipse::new(0.0, p.eye_y + 0.12, 1.12, 0.26).sd(x, y), pix);
                let hair = front_hair(p, x, y, pix).max(back_hair(p, x, y, pix));
                (
                    white,
                    head.max(ears).max(hair).max(coverage(neck.sd(x, y), pix)),
                )
            });
        }
    }
    Plane {
        w: size,
        h: size,
        v: img.px.iter().map(|c| c[0]).collect(),
    }
}
