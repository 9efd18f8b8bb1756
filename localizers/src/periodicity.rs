//! Local strength of the periodic trace that ×2 (and ×4) upsampling leaves in image derivatives.
//!
//! Gallagher (CRV 2005) showed that interpolation makes the variance of the second derivative
//! periodic with the upsampling period. For the half-pixel-aligned upsamplers of GAN decoders
//! (PIL/PyTorch interpolation, stride-2 transposed convolution) the two phases of a ×2 grid are
//! mirror images, so an even derivative is equally strong on both and the trace shows in the odd
//! derivatives instead (nearest ×2 makes every other first difference exactly 0; bilinear ×2
//! every other third difference). We therefore take the first, second and third differences
//! along rows and columns and measure, in a sliding window, how much of their magnitude is
//! modulated at period 2 (Nyquist) or period 4 — a local DFT-bin test in the spirit of
//! Popescu and Farid (IEEE TSP 2005), whose p-map spectra peak at the same frequencies.

use crate::window_sum::Window;

/// Settings of the statistic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Periodicity {
    /// Side of the analysis window, pixels.
    pub window: usize,
    /// Magnitude floor added to the window energy (gray levels, 0–255 scale), so that nearly
    /// flat areas (a few quantisation steps) cannot look periodic.
    pub epsilon: f32,
}

/// Derivative axis.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    X,
    Y,
}

/// Highest derivative order used (see the module comment for why 1 to 3).
const MAX_ORDER: usize = 3;

/// Test frequencies; "own" is along the derivative's axis, "cross" along the other one.
#[derive(Clone, Copy)]
enum Frequency {
    /// Period 2 along the derivative axis: a ×2 grid (Gallagher's peak).
    OwnHalf,
    /// Period 2 across it: e.g. transposed-convolution checkerboards, whose row phases differ in gain.
    CrossHalf,
    /// Period 4 along the derivative axis: a direct ×4 interpolation grid.
    OwnQuarter,
}

const FREQUENCIES: [Frequency; 3] = [
    Frequency::OwnHalf,
    Frequency::CrossHalf,
    Frequency::OwnQuarter,
];

impl Periodicity {
    /// Periodicity strength `Z` per pixel (row-major, `width × height`, dimensionless).
    ///
    /// For each derivative magnitude `s` and test frequency, in the window around the pixel,
    /// `z² = |Σ s·e^{-iωp}|² / (Σ s² + n·ε²)`: the squared DFT bin relative to the energy, so
    /// `z²` has mean ≈ 1 when `s` has no periodicity, whatever the window size or contrast, and
    /// grows with the window for a real trace. Row and column derivatives of the same order and
    /// frequency are pooled (`(z_x² + z_y²)/2`, separable upsamplers leave both), and `Z` is the
    /// largest pooled value's square root over the 3 orders × 3 frequencies.
    pub(crate) fn strength(&self, luma: &[f32], width: usize, height: usize) -> Vec<f32> {
        let window = Window::new(self.window);
        let eps_energy: Vec<f32> = window
            .counts(width, height)
            .iter()
            .map(|n| n * self.epsilon * self.epsilon)
            .collect();
        let mut best = vec![0.0f32; width * height];
        let mut scratch = vec![0.0f32; width * height];
        for order in 1..=MAX_ORDER {
            let mut pooled: [Vec<f32>; FREQUENCIES.len()] =
                std::array::from_fn(|_| vec![0.0; width * height]);
            for axis in [Axis::X, Axis::Y] {
                let s = derivative_magnitude(luma, width, height, axis, order);
                for (v, sv) in scratch.iter_mut().zip(&s) {
                    *v = sv * sv;
                }
                let mut energy = window.sums(&scratch, width, height);
                for (e, floor) in energy.iter_mut().zip(&eps_energy) {
                    *e += floor;
                }
                for (frequency, pooled) in FREQUENCIES.iter().zip(pooled.iter_mut()) {
                    let bin2 = bin_power(&s, &mut scratch, width, height, axis, *frequency, window);
                    for ((p, b), e) in pooled.iter_mut().zip(&bin2).zip(&energy) {
                        *p += 0.5 * b / e;
                    }
                }
            }
            for pooled in &pooled {
                for (b, p) in best.iter_mut().zip(pooled) {
                    *b = b.max(*p);
                }
            }
        }
        best.iter_mut().for_each(|b| *b = b.sqrt());
        best
    }
}

/// `|Σ s·e^{-iωp}|²` over the window around every pixel, for the test frequency ω.
fn bin_power(
    s: &[f32],
    scratch: &mut [f32],
    width: usize,
    height: usize,
    axis: Axis,
    frequency: Frequency,
    window: Window,
) -> Vec<f32> {
    // The coordinate that carries the modulation.
    let along_x = match frequency {
        Frequency::OwnHalf | Frequency::OwnQuarter => axis == Axis::X,
        Frequency::CrossHalf => axis == Axis::Y,
    };
    // Row by row, without a division per pixel: this loop runs 24 times per image.
    let mut modulated = |pattern: &[f32]| -> Vec<f32> {
        let mask = pattern.len() - 1; // periods are powers of two
        let rows = scratch.chunks_exact_mut(width).zip(s.chunks_exact(width));
        for (y, (m_row, s_row)) in rows.enumerate() {
            if along_x {
                for (x, (m, sv)) in m_row.iter_mut().zip(s_row).enumerate() {
                    *m = sv * pattern[x & mask];
                }
            } else {
                let weight = pattern[y & mask];
                for (m, sv) in m_row.iter_mut().zip(s_row) {
                    *m = sv * weight;
                }
            }
        }
        window.sums(scratch, width, height)
    };
    // e^{-iωp} at ω = π is (−1)^p (real); at ω = π/2 it cycles through 1, −i, −1, i.
    match frequency {
        Frequency::OwnHalf | Frequency::CrossHalf => {
            let mut re = modulated(&[1.0, -1.0]);
            re.iter_mut().for_each(|r| *r *= *r);
            re
        }
        Frequency::OwnQuarter => {
            let re = modulated(&[1.0, 0.0, -1.0, 0.0]);
            let im = modulated(&[0.0, 1.0, 0.0, -1.0]);
            re.iter().zip(&im).map(|(r, i)| r * r + i * i).collect()
        }
    }
}

/// Binomial coefficients with alternating signs: the finite-difference stencils of order 1–3.
const STENCILS: [&[f32]; MAX_ORDER] = [&[-1.0, 1.0], &[1.0, -2.0, 1.0], &[-1.0, 3.0, -3.0, 1.0]];

/// `|Δ^order luma|` along `axis`, stored at the stencil's pixel `p` covering `p−1 ..= p+order−1`
/// (`p ..= p+1` for order 1); 0 where the stencil does not fit inside the image.
fn derivative_magnitude(
    luma: &[f32],
    width: usize,
    height: usize,
    axis: Axis,
    order: usize,
) -> Vec<f32> {
    let stencil = STENCILS[order - 1];
    // The stencil of pixel p starts at p + offset; p is valid while it stays inside the axis.
    let offset = usize::from(order > 1);
    let valid = |len: usize| offset..(len + offset + 1).saturating_sub(stencil.len());
    let mut out = vec![0.0f32; width * height];
    match axis {
        Axis::X => {
            for (row, out_row) in luma.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                for p in valid(width) {
                    let taps = &row[p - offset..p - offset + stencil.len()];
                    out_row[p] = dot(stencil, taps.iter().copied()).abs();
                }
            }
        }
        Axis::Y => {
            for p in valid(height) {
                let first = (p - offset) * width;
                for x in 0..width {
                    let taps = (0..stencil.len()).map(|k| luma[first + k * width + x]);
                    out[p * width + x] = dot(stencil, taps).abs();
                }
            }
        }
    }
    out
}

/// `Σ cₖ·vₖ`, summed in stencil order (so rows and columns round identically).
fn dot(stencil: &[f32], values: impl Iterator<Item = f32>) -> f32 {
    stencil.iter().zip(values).map(|(c, v)| c * v).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_hand_values_and_skip_borders() {
        // Row 0: 0 1 4 9 16 (squares): Δ¹ = 1 3 5 7, Δ² = 2, Δ³ = 0.
        let luma: Vec<f32> = (0..5).map(|x| (x * x) as f32).collect();
        assert_eq!(
            derivative_magnitude(&luma, 5, 1, Axis::X, 1),
            [1.0, 3.0, 5.0, 7.0, 0.0]
        );
        assert_eq!(
            derivative_magnitude(&luma, 5, 1, Axis::X, 2),
            [0.0, 2.0, 2.0, 2.0, 0.0]
        );
        assert_eq!(
            derivative_magnitude(&luma, 5, 1, Axis::X, 3),
            [0.0, 0.0, 0.0, 0.0, 0.0]
        );
        // Same column-wise.
        assert_eq!(
            derivative_magnitude(&luma, 1, 5, Axis::Y, 1),
            [1.0, 3.0, 5.0, 7.0, 0.0]
        );
        let cubes: Vec<f32> = (0..5).map(|x| (x * x * x) as f32).collect();
        assert_eq!(
            derivative_magnitude(&cubes, 5, 1, Axis::X, 3),
            [0.0, 6.0, 6.0, 0.0, 0.0]
        );
    }

    #[test]
    fn nearest_doubled_rows_are_strongly_periodic() {
        // Columns duplicated in pairs (nearest ×2 horizontally) on pseudo-random content.
        let (w, h) = (48, 48);
        let base: Vec<f32> = (0..w * h)
            .map(|i| ((i * 7919 % 251) as f32) * 0.5)
            .collect();
        let doubled: Vec<f32> = (0..w * h).map(|i| base[i - i % 2]).collect();
        let p = Periodicity {
            window: 24,
            epsilon: 0.5,
        };
        let z_fake = p.strength(&doubled, w, h);
        let z_real = p.strength(&base, w, h);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean(&z_fake) > 4.0, "fake {}", mean(&z_fake));
        assert!(mean(&z_real) < 2.0, "real {}", mean(&z_real));
    }
}
