//! Signed-distance shapes (negative inside, in face units) and anti-aliased coverage.
//!
//! Distances are first-order approximations near the boundary, which is all anti-aliasing needs:
//! coverage ramps linearly over one pixel (or over a chosen softness for shading).

/// Coverage in [0, 1] of a shape with signed distance `sd`, ramped over `soft` (face units).
#[inline]
pub(crate) fn coverage(sd: f32, soft: f32) -> f32 {
    (0.5 - sd / soft).clamp(0.0, 1.0)
}

/// Smooth coverage (smoothstep over `soft` centred on the boundary), for shading blobs.
#[inline]
pub(crate) fn smooth_coverage(sd: f32, soft: f32) -> f32 {
    let t = (0.5 - sd / soft).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// An axis-aligned box in face coordinates: (x0, y0, x1, y1).
pub(crate) type Bbox = [f32; 4];

/// A rotated ellipse.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ellipse {
    pub cx: f32,
    pub cy: f32,
    pub rx: f32,
    pub ry: f32,
    /// Rotation in radians (clockwise in image coordinates, y down).
    pub rot: f32,
}

impl Ellipse {
    /// An axis-aligned ellipse.
    pub fn new(cx: f32, cy: f32, rx: f32, ry: f32) -> Self {
        Self {
            cx,
            cy,
            rx,
            ry,
            rot: 0.0,
        }
    }

    /// Approximate signed distance: (r − 1) / |∇r| with r the normalised radius.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (s, c) = self.rot.sin_cos();
        let u = (dx * c + dy * s) / self.rx;
        let v = (-dx * s + dy * c) / self.ry;
        let r = (u * u + v * v).sqrt();
        if r < 1e-6 {
            return -self.rx.min(self.ry);
        }
        let g = ((u / self.rx).powi(2) + (v / self.ry).powi(2)).sqrt() / r;
        (r - 1.0) / g
    }

    /// A bounding box (conservative for rotated ellipses).
    pub fn bbox(&self) -> Bbox {
        let m = self.rx.max(self.ry);
        [self.cx - m, self.cy - m, self.cx + m, self.cy + m]
    }
}

/// A horizontal curved stroke: centre line `y = cy + bend·s² + tilt·s` for `s = (x − cx)/hw`
/// in [−1, 1], half-thickness `t·(1 − taper·s²)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Band {
    pub cx: f32,
    pub cy: f32,
    pub hw: f32,
    pub bend: f32,
    pub tilt: f32,
    pub t: f32,
    pub taper: f32,
}

impl Band {
    /// Approximate signed distance.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        let s = (x - self.cx) / self.hw;
        let sc = s.clamp(-1.0, 1.0);
        let c = self.cy + self.bend * sc * sc + self.tilt * sc;
        let slope = (2.0 * self.bend * sc + self.tilt) / self.hw;
        let th = self.t * (1.0 - self.taper * sc * sc);
        let across = ((y - c).abs() - th) / (1.0 + slope * slope).sqrt();
        across.max((s.abs() - 1.0) * self.hw)
    }

    /// A bounding box.
    pub fn bbox(&self) -> Bbox {
        let e = self.bend.abs() + self.tilt.abs() + self.t;
        [
            self.cx - self.hw,
            self.cy - e,
            self.cx + self.hw,
            self.cy + e,
        ]
    }
}

/// A lens (eye opening, lip): between `cy + bend·s² − up·(1 − s²)` and
/// `cy + bend·s² + down·(1 − s²)` for `s = (x − cx)/hw`; pointed at both ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lens {
    pub cx: f32,
    pub cy: f32,
    pub hw: f32,
    pub bend: f32,
    pub up: f32,
    pub down: f32,
}

impl Lens {
    /// Approximate signed distance.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        let s = (x - self.cx) / self.hw;
        let q = 1.0 - s * s;
        let mid = self.cy + self.bend * s * s;
        let top = mid - self.up * q;
        let bot = mid + self.down * q;
        // Slopes of the two contours bound the distance scaling.
        let ds = 2.0 * s / self.hw;
        let st = (self.bend + self.up).abs() * ds;
        let sb = (self.bend - self.down).abs() * ds;
        let dt = (top - y) / (1.0 + st * st).sqrt();
        let db = (y - bot) / (1.0 + sb * sb).sqrt();
        dt.max(db)
    }

    /// A bounding box.
    pub fn bbox(&self) -> Bbox {
        let e = self.bend.abs() + self.up.max(self.down);
        [
            self.cx - self.hw,
            self.cy - e,
            self.cx + self.hw,
            self.cy + e,
        ]
    }
}

/// An axis-aligned rounded rectangle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoundBox {
    pub cx: f32,
    pub cy: f32,
    pub hw: f32,
    pub hh: f32,
    pub r: f32,
}

impl RoundBox {
    /// Exact signed distance.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        let qx = (x - self.cx).abs() - (self.hw - self.r);
        let qy = (y - self.cy).abs() - (self.hh - self.r);
        let out = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        out + qx.max(qy).min(0.0) - self.r
    }

    /// A bounding box.
    pub fn bbox(&self) -> Bbox {
        [
            self.cx - self.hw,
            self.cy - self.hh,
            self.cx + self.hw,
            self.cy + self.hh,
        ]
    }
}

/// A segment of half-thickness `r` (a capsule).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capsule {
    pub a: [f32; 2],
    pub b: [f32; 2],
    pub r: f32,
}

impl Capsule {
    /// Exact signed distance.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        let (px, py) = (x - self.a[0], y - self.a[1]);
        let (bx, by) = (self.b[0] - self.a[0], self.b[1] - self.a[1]);
        let h = ((px * bx + py * by) / (bx * bx + by * by)).clamp(0.0, 1.0);
        ((px - bx * h).powi(2) + (py - by * h).powi(2)).sqrt() - self.r
    }

    /// A bounding box.
    pub fn bbox(&self) -> Bbox {
        [
            self.a[0].min(self.b[0]) - self.r,
            self.a[1].min(self.b[1]) - self.r,
            self.a[0].max(self.b[0]) + self.r,
            self.a[1].max(self.b[1]) + self.r,
        ]
    }
}

/// The union of two bounding boxes.
pub(crate) fn bbox_union(a: Bbox, b: Bbox) -> Bbox {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_distance_is_exact_on_axes() {
        let e = Ellipse::new(0.0, 0.0, 2.0, 1.0);
        assert!((e.sd(3.0, 0.0) - 1.0).abs() < 1e-5);
        assert!((e.sd(0.0, 1.5) - 0.5).abs() < 1e-5);
        assert!(e.sd(0.0, 0.0) < 0.0);
    }

    #[test]
    fn shapes_are_inside_at_their_centre_and_outside_far_away() {
        let l = Lens {
            cx: 0.0,
            cy: 0.0,
            hw: 1.0,
            bend: 0.1,
            up: 0.2,
            down: 0.1,
        };
        let b = Band {
            cx: 0.0,
            cy: 0.0,
            hw: 1.0,
            bend: 0.1,
            tilt: 0.0,
            t: 0.05,
            taper: 0.5,
        };
        let r = RoundBox {
            cx: 0.0,
            cy: 0.0,
            hw: 1.0,
            hh: 0.5,
            r: 0.1,
        };
        let c = Capsule {
            a: [0.0, 0.0],
            b: [1.0, 0.0],
            r: 0.1,
        };
        for sd in [
            l.sd(0.0, 0.0),
            b.sd(0.0, 0.0),
            r.sd(0.0, 0.0),
            c.sd(0.5, 0.0),
        ] {
            assert!(sd < 0.0);
        }
        for sd in [
            l.sd(0.0, 1.0),
            b.sd(2.0, 0.0),
            r.sd(0.0, 0.7),
            c.sd(0.5, 0.3),
        ] {
            assert!(sd > 0.0);
        }
        assert!((r.sd(1.5, 0.0) - 0.5).abs() < 1e-6);
        assert!((c.sd(0.5, 0.3) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn coverage_ramps_over_one_softness() {
        assert_eq!(coverage(-1.0, 0.1), 1.0);
        assert_eq!(coverage(1.0, 0.1), 0.0);
        assert!((coverage(0.0, 0.1) - 0.5).abs() < 1e-6);
    }
}
