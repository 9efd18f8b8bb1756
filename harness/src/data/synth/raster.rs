//! Float raster buffers and the resampling/filtering primitives the benchmark is built from.
//!
//! Colour images are `Image3` (interleaved RGB, values in [0, 1], 1.0 = 8-bit 255); masks and
//! texture fields are `Plane` (one f32 per pixel). Borders are clamped (edge replication).

use image::RgbImage;

/// An RGB float image, row-major, values nominally in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Image3 {
    pub w: usize,
    pub h: usize,
    pub px: Vec<[f32; 3]>,
}

/// A single-channel float image, row-major.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plane {
    pub w: usize,
    pub h: usize,
    pub v: Vec<f32>,
}

impl Image3 {
    /// A `w`×`h` image filled with `c`.
    pub fn filled(w: usize, h: usize, c: [f32; 3]) -> Self {
        Self {
            w,
            h,
            px: vec![c; w * h],
        }
    }

    /// Converts an 8-bit image to floats in [0, 1].
    pub fn from_rgb8(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let px = img
            .pixels()
            .map(|p| {
                [
                    p[0] as f32 / 255.0,
                    p[1] as f32 / 255.0,
                    p[2] as f32 / 255.0,
                ]
            })
            .collect();
        Self { w, h, px }
    }

    /// Rounds to 8 bits (round half away from zero after clamping to [0, 255]).
    pub fn to_rgb8(&self) -> RgbImage {
        let mut out = RgbImage::new(self.w as u32, self.h as u32);
        for (o, p) in out.pixels_mut().zip(&self.px) {
            for k in 0..3 {
                o[k] = (p[k] * 255.0).clamp(0.0, 255.0).round() as u8;
            }
        }
        out
    }

    /// The pixel at (x, y) with coordinates clamped into the image.
    #[inline]
    pub fn at(&self, x: isize, y: isize) -> [f32; 3] {
        let xc = x.clamp(0, self.w as isize - 1) as usize;
        let yc = y.clamp(0, self.h as isize - 1) as usize;
        self.px[yc * self.w + xc]
    }

    /// Splits into three planes (R, G, B).
    pub fn planes(&self) -> [Plane; 3] {
        std::array::from_fn(|k| Plane {
            w: self.w,
            h: self.h,
            v: self.px.iter().map(|p| p[k]).collect(),
        })
    }

    /// Joins three equally sized planes.
    pub fn from_planes(p: &[Plane; 3]) -> Self {
        let px = (0..p[0].v.len())
            .map(|i| [p[0].v[i], p[1].v[i], p[2].v[i]])
            .collect();
        Self {
            w: p[0].w,
            h: p[0].h,
            px,
        }
    }

    /// Area (box) downsampling by an integer factor; `w` and `h` must be multiples of `f`.
    pub fn area_down(&self, f: usize) -> Self {
        let planes = self.planes();
        Self::from_planes(&planes.map(|p| p.area_down(f)))
    }

    /// BT.601 luma (the same weights PIL uses), as a plane.
    pub fn luma(&self) -> Plane {
        Plane {
            w: self.w,
            h: self.h,
            v: self
                .px
                .iter()
                .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
                .collect(),
        }
    }
}

impl Plane {
    /// A `w`×`h` plane filled with `c`.
    pub fn filled(w: usize, h: usize, c: f32) -> Self {
        Self {
            w,
            h,
            v: vec![c; w * h],
        }
    }

    /// The value at (x, y) with coordinates clamped into the plane.
    #[inline]
    pub fn at(&self, x: isize, y: isize) -> f32 {
        let xc = x.clamp(0, self.w as isize - 1) as usize;
        let yc = y.clamp(0, self.h as isize - 1) as usize;
        self.v[yc * self.w + xc]
    }

    /// Area (box) downsampling by an integer factor `f` (dimensions must be multiples of `f`).
    pub fn area_down(&self, f: usize) -> Self {
        let (w, h) = (self.w / f, self.h / f);
        let norm = 1.0 / (f * f) as f32;
        let mut v = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for dy in 0..f {
                    let row = &self.v[(y * f + dy) * self.w + x * f..][..f];
                    s += row.iter().sum::<f32>();
                }
                v[y * w + x] = s * norm;
            }
        }
        Self { w, h, v }
    }

    /// Nearest-neighbour enlargement by an integer factor (used for masks only).
    pub fn repeat_up(&self, f: usize) -> Self {
        let (w, h) = (self.w * f, self.h * f);
        let v = (0..w * h)
            .map(|i| self.v[(i / w / f) * self.w + (i % w) / f])
            .collect();
        Self { w, h, v }
    }

    /// Separable convolution with a symmetric odd-length kernel (clamped borders).
    pub fn convolve_sep(&self, k: &[f32]) -> Self {
        let r = (k.len() / 2) as isize;
        let mut tmp = vec![0.0; self.v.len()];
        for y in 0..self.h {
            for x in 0..self.w {
                let mut s = 0.0;
                for (i, &kv) in k.iter().enumerate() {
                    s += kv * self.at(x as isize + i as isize - r, y as isize);
                }
                tmp[y * self.w + x] = s;
            }
        }
        let t = Plane {
            w: self.w,
            h: self.h,
            v: tmp,
        };
        let mut v = vec![0.0; self.v.len()];
        for y in 0..self.h {
            for x in 0..self.w {
                let mut s = 0.0;
                for (i, &kv) in k.iter().enumerate() {
                    s += kv * t.at(x as isize, y as isize + i as isize - r);
                }
                v[y * self.w + x] = s;
            }
        }
        Plane {
            w: self.w,
            h: self.h,
            v,
        }
    }

    /// Separable box mean of radius `r` with clamped borders, by running sums (O(1) per pixel).
    fn box_mean(&self, r: usize) -> Self {
        let r = r as isize;
        let norm = 1.0 / (2 * r + 1) as f32;
        // One pass along `lines` lines of length `n` (element stride `step`, line stride `ls`).
        let pass = |src: &[f32], n: usize, step: usize, lines: usize, ls: usize| {
            let mut out = vec![0.0f32; src.len()];
            for l in 0..lines {
                let base = l * ls;
                let at = |i: isize| src[base + i.clamp(0, n as isize - 1) as usize * step];
                let mut sum: f32 = (-r..=r).map(at).sum();
                for i in 0..n as isize {
                    out[base + i as usize * step] = sum * norm;
                    sum += at(i + r + 1) - at(i - r);
                }
            }
            out
        };
        let h = pass(&self.v, self.w, 1, self.h, self.w);
        let v = pass(&h, self.h, self.w, self.w, 1);
        Plane {
            w: self.w,
            h: self.h,
            v,
        }
    }

    /// Square binary dilation of radius `r` of a 0/1 mask (1 wherever a 1 lies within r).
    pub fn dilate(&self, r: usize) -> Self {
        let b = self.box_mean(r);
        // Any covered pixel contributes 1/(2r+1)², far above the running sums' rounding.
        let eps = 0.5 / ((2 * r + 1) * (2 * r + 1)) as f32;
        let v =
            b.v.iter()
                .map(|&m| if m > eps { 1.0 } else { 0.0 })
                .collect();
        Plane {
            w: self.w,
            h: self.h,
            v,
        }
    }

    /// Box blur of radius `r` applied twice (a finite-support tent, so a blurred mask is
    /// exactly zero farther than 2r from its support).
    pub fn tent_blur(&self, r: usize) -> Self {
        let mut b = self.box_mean(r).box_mean(r);
        // Running sums leave ~1e-7 residues where the exact result is 0 or 1.
        b.v.iter_mut()
            .for_each(|m| *m = if *m < 1e-5 { 0.0 } else { m.min(1.0) });
        b
    }

    /// Element-wise maximum of two equally sized planes.
    pub fn max(&self, o: &Plane) -> Self {
        let v = self.v.iter().zip(&o.v).map(|(a, b)| a.max(*b)).collect();
        Plane {
            w: self.w,
            h: self.h,
            v,
        }
    }
}

/// A normalised sampled Gaussian of standard deviation `sigma` (pixels), radius ⌈3σ⌉.
pub(crate) fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as isize;
    let mut k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_down_averages_blocks() {
        let p = Plane {
            w: 4,
            h: 2,
            v: vec![0., 2., 4., 8., 2., 4., 0., 0.],
        };
        assert_eq!(p.area_down(2).v, vec![2.0, 3.0]);
    }

    #[test]
    fn tent_blur_has_finite_support_and_keeps_mass() {
        let mut p = Plane::filled(21, 21, 0.0);
        p.v[10 * 21 + 10] = 1.0;
        let b = p.tent_blur(2);
        assert!((b.v.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(b.at(10, 5), 0.0);
        assert!(b.at(10, 6) > 0.0);
    }

    #[test]
    fn dilate_grows_a_point_to_a_square() {
        let mut p = Plane::filled(9, 9, 0.0);
        p.v[4 * 9 + 4] = 1.0;
        let d = p.dilate(2);
        assert_eq!(d.v.iter().filter(|v| **v == 1.0).count(), 25);
    }
}
