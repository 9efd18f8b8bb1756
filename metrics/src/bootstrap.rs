//! Aggregation over images: means with a seeded percentile
//! bootstrap confidence interval, paired differences, and the robustness ratio γ.
//!
//! Resampling: one ChaCha8 stream seeded with [`Bootstrap::seed`]; each of the
//! [`Bootstrap::resamples`] resamples draws n image indices uniformly with replacement, in order,
//! from that stream. Everything is sequential, so a summary depends only on the values and the
//! seed, never on threads. Two lists compared with each other (paired difference, γ) use the same
//! indices for both, which is what makes the comparison paired.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{check_same_len, check_values, MetricError};

/// A mean with its spread and confidence interval.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of images.
    pub n: usize,
    /// The statistic on all images (for [`Bootstrap::summarize`], the mean).
    pub mean: f64,
    /// Standard deviation (ddof = 1; 0 when n = 1). For [`Bootstrap::summarize`] and
    /// [`Bootstrap::paired_difference`] it is the spread of the per-image values; for
    /// [`Bootstrap::ratio`] and [`Bootstrap::statistic`], which have no per-image values, it is
    /// the spread of the bootstrap replicates (the bootstrap standard error).
    pub std: f64,
    /// Lower end of the percentile bootstrap CI.
    pub ci_low: f64,
    /// Upper end of the percentile bootstrap CI.
    pub ci_high: f64,
}

/// Settings of the percentile bootstrap.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Bootstrap {
    /// Number of resamples (≥ 1; default 1000).
    pub resamples: usize,
    /// Confidence level of the interval, in (0, 1) (default 0.95).
    pub confidence: f64,
    /// Seed of the ChaCha8 stream that draws the resampled indices (default 0).
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            resamples: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

impl Bootstrap {
    /// Mean of `values`, their sample standard deviation and the bootstrap CI of the mean.
    ///
    /// Errors: empty input, a non-finite value, or invalid settings.
    pub fn summarize(&self, values: &[f64]) -> Result<Summary, MetricError> {
        check_values(values, "values")?;
        self.check()?;
        let mean = mean(values);
        let replicates = self.replicates(values.len(), |idx| {
            Some(idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64)
        });
        self.finish(values.len(), mean, sample_std(values, mean), replicates)
    }

    /// Mean of the per-image differences `a[i] − b[i]` (e.g. two localizers on the same images),
    /// with a paired bootstrap CI: each resample draws the same images for `a` and `b`.
    ///
    /// Errors: empty or differently sized inputs, a non-finite value, or invalid settings.
    pub fn paired_difference(&self, a: &[f64], b: &[f64]) -> Result<Summary, MetricError> {
        check_same_len("a", a.len(), "b", b.len())?;
        check_values(a, "a")?;
        check_values(b, "b")?;
        // Resampling the differences with one index set is exactly paired resampling of a and b.
        let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        self.summarize(&differences)
    }

    /// The robustness ratio γ = `scale · mean(num) / mean(den)` (`scale` = 100 for a
    /// percentage, `num` = a degraded level, `den` = clean, on the same images), with a paired
    /// bootstrap CI. Resamples whose `den` sums to zero are skipped.
    ///
    /// Errors: empty or differently sized inputs, a non-finite value or scale, mean(den) = 0, or
    /// invalid settings.
    pub fn ratio(&self, num: &[f64], den: &[f64], scale: f64) -> Result<Summary, MetricError> {
        check_same_len("num", num.len(), "den", den.len())?;
        check_values(num, "num")?;
        check_values(den, "den")?;
        if !scale.is_finite() {
            return Err(MetricError::InvalidParameter {
                name: "scale",
                value: scale,
                expected: "a finite factor, e.g. 100 for γ in percent",
            });
        }
        if den.iter().sum::<f64>() == 0.0 {
            return Err(MetricError::Undefined {
                what: "ratio γ",
                why: "the mean of the reference (den) values is 0; γ needs a non-zero clean mean",
            });
        }
        self.statistic(num.len(), |idx| {
            let (s_num, s_den) = idx
                .iter()
                .fold((0.0, 0.0), |(n, d), &i| (n + num[i], d + den[i]));
            // The 1/n factors of both means cancel. Dividing before scaling makes γ of identical
            // lists exactly `scale`.
            (s_den != 0.0).then(|| scale * (s_num / s_den))
        })
    }

    /// Any statistic of `n` images, given as a function of a list of image indices (e.g. image
    /// ACC or AUC over resampled images). `mean` is `stat(0..n)`; a resample where `stat` returns
    /// `None` or a non-finite value (e.g. an AUC on a resample with one class) is skipped.
    ///
    /// Errors: n = 0, `stat` undefined on all images or on every resample, or invalid settings.
    pub fn statistic(
        &self,
        n: usize,
        stat: impl Fn(&[usize]) -> Option<f64>,
    ) -> Result<Summary, MetricError> {
        if n == 0 {
            return Err(MetricError::Empty);
        }
        self.check()?;
        let all: Vec<usize> = (0..n).collect();
        let mean = stat(&all)
            .filter(|v| v.is_finite())
            .ok_or(MetricError::Undefined {
                what: "statistic",
                why: "it returned no finite value on the full image set",
            })?;
        let replicates = self.replicates(n, stat);
        let std = sample_std(&replicates, mean_or(&replicates, mean));
        self.finish(n, mean, std, replicates)
    }

    /// Checks the settings.
    fn check(&self) -> Result<(), MetricError> {
        if self.resamples == 0 {
            return Err(MetricError::InvalidParameter {
                name: "resamples",
                value: 0.0,
                expected: "at least 1 (1000 is the default)",
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(MetricError::InvalidParameter {
                name: "confidence",
                value: self.confidence,
                expected: "a level strictly between 0 and 1, e.g. 0.95",
            });
        }
        Ok(())
    }

    /// The finite values of `stat` over the resamples (empty when n = 1: there is nothing to
    /// resample, every resample is the full set).
    fn replicates(&self, n: usize, stat: impl Fn(&[usize]) -> Option<f64>) -> Vec<f64> {
        if n == 1 {
            return Vec::new();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut idx = vec![0usize; n];
        let mut out = Vec::with_capacity(self.resamples);
        for _ in 0..self.resamples {
            for i in idx.iter_mut() {
                *i = rng.random_range(0..n);
            }
            if let Some(v) = stat(&idx).filter(|v| v.is_finite()) {
                out.push(v);
            }
        }
        out
    }

    /// Assembles the summary with the percentile interval of `replicates`.
    fn finish(
        &self,
        n: usize,
        mean: f64,
        std: f64,
        mut replicates: Vec<f64>,
    ) -> Result<Summary, MetricError> {
        if n == 1 {
            return Ok(Summary {
                n,
                mean,
                std: 0.0,
                ci_low: mean,
                ci_high: mean,
            });
        }
        if replicates.is_empty() {
            return Err(MetricError::Undefined {
                what: "bootstrap CI",
                why: "the statistic was undefined on every resample; use more images",
            });
        }
        let tail = (1.0 - self.confidence) / 2.0;
        Ok(Summary {
            n,
            mean,
            std,
            ci_low: percentile(&mut replicates, tail),
            ci_high: percentile(&mut replicates, 1.0 - tail),
        })
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn mean_or(values: &[f64], fallback: f64) -> f64 {
    if values.is_empty() {
        fallback
    } else {
        mean(values)
    }
}

/// Sample standard deviation around `mean` (ddof = 1); 0 for fewer than two values.
fn sample_std(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

/// The `q`-quantile of `values` with linear interpolation (numpy's default method). Reorders
/// `values`: it selects the two order statistics it needs instead of sorting them all (each
/// of rq4's 70 000 aggregates takes two quantiles of 1000 replicates).
fn percentile(values: &mut [f64], q: f64) -> f64 {
    let h = (values.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let (_, &mut low, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let high = above.iter().copied().min_by(f64::total_cmp).unwrap_or(low);
    low + (h - lo as f64) * (high - low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // np.percentile([1, 2, 4, 8, 16], [2.5, 50, 97.5]) = [1.1, 4.0, 15.2]
        // Given unsorted, and twice on one buffer as `finish` does.
        let mut v = [8.0, 1.0, 16.0, 4.0, 2.0];
        assert!((percentile(&mut v, 0.025) - 1.1).abs() < 1e-12);
        assert_eq!(percentile(&mut v, 0.5), 4.0);
        assert!((percentile(&mut v, 0.975) - 15.2).abs() < 1e-12);
        assert_eq!(percentile(&mut v, 1.0), 16.0);
        assert_eq!(percentile(&mut v, 0.0), 1.0);
    }

    /// Selecting the two order statistics gives the bits that sorting everything gave.
    #[test]
    fn percentile_equals_the_sorted_quantile() {
        let values: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1001) as f64 / 7.0 - 50.0)
            .collect();
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        for q in [0.0, 0.025, 0.3, 0.5, 0.975, 1.0] {
            let h = (sorted.len() - 1) as f64 * q;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(sorted.len() - 1);
            let want = sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]);
            assert_eq!(
                percentile(&mut values.clone(), q).to_bits(),
                want.to_bits(),
                "{q}"
            );
        }
    }

    #[test]
    fn std_is_sample_std() {
        // np.std([1, 2, 3, 4], ddof=1)
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((sample_std(&v, 2.5) - 1.2909944487358056).abs() < 1e-15);
        assert_eq!(sample_std(&[3.0], 3.0), 0.0);
    }
}
