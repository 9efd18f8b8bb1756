//! Sums over square windows clipped at the image border (separable running sums, O(1) per pixel).

/// Square window of `size` pixels per side, centred like `scipy.ndimage.uniform_filter`: it
/// covers offsets `-(size/2) ..= size - 1 - size/2` on each axis, clipped to the image.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    before: usize,
    after: usize,
}

impl Window {
    /// A window of `size ≥ 1` pixels per side.
    pub(crate) fn new(size: usize) -> Self {
        debug_assert!(size >= 1);
        Self {
            before: size / 2,
            after: size - 1 - size / 2,
        }
    }

    /// The clipped index range `[lo, hi]` around `i` on an axis of length `len`.
    fn range(&self, i: usize, len: usize) -> (usize, usize) {
        (i.saturating_sub(self.before), (i + self.after).min(len - 1))
    }

    /// Number of pixels of the clipped window around every pixel, row-major.
    pub(crate) fn counts(&self, width: usize, height: usize) -> Vec<f32> {
        let along = |len: usize| -> Vec<usize> {
            (0..len)
                .map(|i| {
                    let (lo, hi) = self.range(i, len);
                    hi - lo + 1
                })
                .collect()
        };
        let (cx, cy) = (along(width), along(height));
        cy.iter()
            .flat_map(|&ny| cx.iter().map(move |&nx| (nx * ny) as f32))
            .collect()
    }

    /// Sum of `src` (row-major, `width × height`) over the clipped window around every pixel.
    pub(crate) fn sums(&self, src: &[f32], width: usize, height: usize) -> Vec<f32> {
        debug_assert_eq!(src.len(), width * height);
        let mut rows = vec![0.0f32; src.len()];
        // f64 prefix sums: exact enough that the result does not depend on the image width.
        let mut prefix = vec![0.0f64; width + 1];
        for y in 0..height {
            let row = &src[y * width..(y + 1) * width];
            for (x, &v) in row.iter().enumerate() {
                prefix[x + 1] = prefix[x] + f64::from(v);
            }
            for x in 0..width {
                let (lo, hi) = self.range(x, width);
                rows[y * width + x] = (prefix[hi + 1] - prefix[lo]) as f32;
            }
        }
        // Columns: a running f64 sum per column, slid down row by row (contiguous memory).
        let mut out = vec![0.0f32; src.len()];
        let mut running = vec![0.0f64; width];
        let row = |y: usize| &rows[y * width..(y + 1) * width];
        for y in 0..=self.after.min(height - 1) {
            running
                .iter_mut()
                .zip(row(y))
                .for_each(|(r, &v)| *r += f64::from(v));
        }
        for y in 0..height {
            for (o, r) in out[y * width..(y + 1) * width].iter_mut().zip(&running) {
                *o = *r as f32;
            }
            if y + 1 + self.after < height {
                running
                    .iter_mut()
                    .zip(row(y + 1 + self.after))
                    .for_each(|(r, &v)| *r += f64::from(v));
            }
            if y >= self.before {
                running
                    .iter_mut()
                    .zip(row(y - self.before))
                    .for_each(|(r, &v)| *r -= f64::from(v));
            }
        }
        out
    }

    /// Mean of `src` over the clipped window around every pixel.
    pub(crate) fn means(&self, src: &[f32], width: usize, height: usize) -> Vec<f32> {
        let mut sums = self.sums(src, width, height);
        for (s, n) in sums.iter_mut().zip(self.counts(width, height)) {
            *s /= n;
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct O(size²) sum, the definition the running sums must match.
    fn brute(src: &[f32], w: usize, h: usize, size: usize) -> Vec<f32> {
        let (b, a) = ((size / 2) as i64, (size - 1 - size / 2) as i64);
        let mut out = vec![0.0; w * h];
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let mut s = 0.0;
                for yy in (y - b).max(0)..=(y + a).min(h as i64 - 1) {
                    for xx in (x - b).max(0)..=(x + a).min(w as i64 - 1) {
                        s += src[(yy as usize) * w + xx as usize];
                    }
                }
                out[(y as usize) * w + x as usize] = s;
            }
        }
        out
    }

    #[test]
    fn matches_direct_sums_for_odd_even_and_oversized_windows() {
        let (w, h) = (13, 7);
        let src: Vec<f32> = (0..w * h).map(|i| ((i * 37 % 11) as f32) - 4.5).collect();
        for size in [1, 2, 3, 4, 5, 24] {
            let fast = Window::new(size).sums(&src, w, h);
            for (f, b) in fast.iter().zip(brute(&src, w, h, size)) {
                assert!((f - b).abs() < 1e-4, "size {size}: {f} vs {b}");
            }
            let ones = vec![1.0; w * h];
            assert_eq!(Window::new(size).counts(w, h), brute(&ones, w, h, size));
        }
    }
}
