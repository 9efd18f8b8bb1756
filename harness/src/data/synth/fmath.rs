//! Small, portable float approximations for the per-pixel paths of the renderer: faster than
//! libm and made only of IEEE basic operations, so they round identically on every platform.

use std::f32::consts::{FRAC_PI_2, PI, TAU};

/// sin(x): absolute error below 4e-6 for |x| ≤ 20; beyond, the f32 range reduction adds about
/// ulp(x) (6e-5 at |x| = 1000), harmless for textures.
#[inline]
pub(crate) fn sin(x: f32) -> f32 {
    // Reduce to [−π, π], then to [−π/2, π/2] by sin(π − x) = sin(x).
    let mut r = x - TAU * (x / TAU).round();
    if r > FRAC_PI_2 {
        r = PI - r;
    } else if r < -FRAC_PI_2 {
        r = -PI - r;
    }
    let r2 = r * r;
    // Taylor series to x⁹ (remainder ≤ (π/2)¹¹/11! ≈ 3.6e-6).
    r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 / 362_880.0))))
}

/// cos(x), via sin(x + π/2).
#[inline]
pub(crate) fn cos(x: f32) -> f32 {
    sin(x + FRAC_PI_2)
}

/// atan2(y, x) in (−π, π], absolute error below 2e-5.
#[inline]
pub(crate) fn atan2(y: f32, x: f32) -> f32 {
    let (ax, ay) = (x.abs(), y.abs());
    if ax == 0.0 && ay == 0.0 {
        return 0.0;
    }
    let (z, swap) = if ay > ax {
        (ax / ay, true)
    } else {
        (ay / ax, false)
    };
    let z2 = z * z;
    // Minimax polynomial for atan on [0, 1].
    let mut a = z
        * (0.999_866
            + z2 * (-0.330_299_5 + z2 * (0.180_141 + z2 * (-0.085_133 + 0.020_835_1 * z2))));
    if swap {
        a = FRAC_PI_2 - a;
    }
    if x < 0.0 {
        a = PI - a;
    }
    if y < 0.0 {
        -a
    } else {
        a
    }
}

/// A smooth bump close to exp(−t²): (1 − t²/4)⁴ for |t| < 2, else 0.
#[inline]
pub(crate) fn bump(t: f32) -> f32 {
    let q = (1.0 - t * t / 4.0).max(0.0);
    (q * q) * (q * q)
}

#[cfg(test)]
mod tests {
    #[test]
    fn approximations_match_libm() {
        for i in -20_000..20_000 {
            let x = i as f32 * 0.001;
            assert!((super::sin(x) - x.sin()).abs() < 4e-6, "sin({x})");
            assert!((super::cos(x) - x.cos()).abs() < 4e-6, "cos({x})");
            let far = i as f32 * 0.0501;
            assert!((super::sin(far) - far.sin()).abs() < 2e-4, "sin({far})");
            let (y, z) = ((i as f32 * 0.7).sin(), (i as f32 * 1.3).cos());
            assert!(
                (super::atan2(y, z) - y.atan2(z)).abs() < 2e-5,
                "atan2({y}, {z})"
            );
        }
        assert!((super::bump(0.0) - 1.0).abs() < 1e-6 && super::bump(2.5) == 0.0);
    }
}
