//! Tie-aware ROC AUC: pixel AUC of a map against the binarised ground truth, and
//! image-level AUC of fake scores.
//!
//! Maps saved as images and ground truths are multiples of 1/255, so ties are common. The AUC
//! is the Mann–Whitney statistic with mid-ranks: P(score of a positive > score of a
//! negative) + ½·P(tie), which equals the trapezoidal area under the ROC curve whose
//! thresholds are the distinct scores, i.e. `sklearn.metrics.roc_auc_score`.

use crate::error::{check_pair, check_same_len, check_threshold, check_values, MetricError};
use crate::pair::is_positive;
use crate::Map;

/// Tie-aware AUC of `keys`, each a score's ordered bits ([`ordered_bits_f32`],
/// [`ordered_bits_f64`]) times 2 plus 1 for a positive; `None` when only one class is present.
///
/// Sorts `keys` in place: plain integers sort faster than (score, label) pairs compared by
/// `total_cmp` (criterion `pixel_auc` at 224×224: 557 → 395 µs).
fn tie_aware_auc<K: Copy + Ord + Into<u128>>(keys: &mut [K]) -> Option<f64> {
    keys.sort_unstable();
    tie_aware_auc_sorted(keys)
}

/// [`tie_aware_auc`] of keys already sorted. The numerator is kept as an exact integer count of
/// doubled pair wins, so the only rounding is the final division, and the result does not
/// depend on how the keys were sorted or counted.
fn tie_aware_auc_sorted<K: Copy + Into<u128>>(keys: &[K]) -> Option<f64> {
    let (wins, negatives) = doubled_wins(keys);
    auc_from_counts(wins, keys.len() as u64 - negatives, negatives)
}

/// Doubled pair wins among sorted `keys` (2 for a positive above a negative, 1 for a tie), and
/// the number of negatives.
fn doubled_wins<K: Copy + Into<u128>>(keys: &[K]) -> (u128, u64) {
    let score = |k: &K| (*k).into() >> 1;
    let mut counts = (0u128, 0u64);
    for group in keys.chunk_by(|a, b| score(a) == score(b)) {
        let pos = group.iter().filter(|k| (**k).into() & 1 == 1).count() as u64;
        add_tied_group(&mut counts, pos, group.len() as u64 - pos);
    }
    counts
}

/// Adds a group of `pos` positives and `neg` negatives with equal scores, above every pixel
/// counted so far, to `(doubled wins, negatives)`: each positive beats every lower negative
/// (2 half-wins) and ties with the group's (1).
fn add_tied_group((doubled_wins, negatives_below): &mut (u128, u64), pos: u64, neg: u64) {
    *doubled_wins += u128::from(pos) * u128::from(2 * *negatives_below + neg);
    *negatives_below += neg;
}

/// The AUC from its exact counts; `None` when a class is empty.
fn auc_from_counts(doubled_wins: u128, positives: u64, negatives: u64) -> Option<f64> {
    if positives == 0 || negatives == 0 {
        return None;
    }
    Some(doubled_wins as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// Score bits dropped to get a pixel's bucket in [`pixel_auc_bucketed`]: 8192 buckets over
/// [0, 2), 64 per octave, whose two counters per bucket (64 KB) stay in the L2 cache.
const BUCKET_SHIFT: u32 = 17;

/// Pixel AUC of the `keys` of a map in [0, 2) (score bits times 2, plus 1 for a positive): the
/// same exact pair count as sorting every pixel, counted in buckets of nearby scores.
///
/// Why: the bits of a non-negative float below 2 follow its order, so a bucket (the high bits)
/// orders every pair across buckets, and counting them needs no sort. Only pairs inside a
/// bucket need the exact order, and only buckets holding both classes have such pairs. At the
/// default `gt_threshold` (0.1) those held a median 33 % (deeplabv3) to 49 % (stehouwer) of the
/// pixels of rq4's maps, none of the oracle's.
fn pixel_auc_bucketed(mut keys: Vec<u32>) -> Option<f64> {
    let bucket = |key: u32| (key >> (BUCKET_SHIFT + 1)) as usize;
    let mut counts = vec![[0u32; 2]; 1 << (30 - BUCKET_SHIFT)];
    for &k in &keys {
        counts[bucket(k)][(k & 1) as usize] += 1;
    }
    // Across buckets: each positive beats every negative of the buckets below.
    let (mut negatives, mut wins) = (0u64, 0u128);
    for &[neg, pos] in &counts {
        wins += u128::from(pos) * u128::from(2 * negatives);
        negatives += u64::from(neg);
    }
    let positives = keys.len() as u64 - negatives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Inside buckets of both classes. Keys sort by bucket first (its bits are the key's high
    // bits), so each bucket's keys come out together.
    let mixed: Vec<bool> = counts.iter().map(|&[n, p]| n > 0 && p > 0).collect();
    let in_mixed: usize = counts
        .iter()
        .zip(&mixed)
        .filter(|(_, &m)| m)
        .map(|(&[n, p], _)| (n + p) as usize)
        .sum();
    if in_mixed < keys.len() {
        // Without a branch per key (whether a bucket is mixed is unpredictable): each key is
        // written, and kept by advancing past it only if its bucket is mixed.
        let mut kept = 0;
        for i in 0..keys.len() {
            let k = keys[i];
            keys[kept] = k;
            kept += usize::from(mixed[bucket(k)]);
        }
        keys.truncate(kept);
    }
    sort_pixel_keys(&mut keys);
    for one_bucket in keys.chunk_by(|a, b| bucket(*a) == bucket(*b)) {
        wins += doubled_wins(one_bucket).0;
    }
    auc_from_counts(wins, positives, negatives)
}

/// Sorts pixel keys: a radix sort (`radsort`) when a spread sample of them holds almost only
/// distinct scores, else the standard sort.
///
/// Why two: on a network's smooth map (≈ 44 000 distinct values in 224×224) the radix sort
/// takes half the time of `sort_unstable` (rq4's maps, all pixels: 0.55–0.8 ms against
/// 1.0–1.4 ms). On maps of few values (multiples of 1/255, a ground truth) it is 3× slower:
/// pattern-defeating quicksort handles runs of equal keys in near-linear time. Quantized maps
/// have at most 256 distinct values, far below the threshold; the choice never changes the AUC.
fn sort_pixel_keys(keys: &mut [u32]) {
    /// Sampled keys; spread over the map, not its first rows (often a uniform background).
    const SAMPLE: usize = 512;
    // Below this size the standard sort is fast enough that sampling does not pay.
    if keys.len() < 16 * SAMPLE {
        keys.sort_unstable();
        return;
    }
    if almost_all_distinct(keys, SAMPLE) {
        radsort::sort(keys);
    } else {
        keys.sort_unstable();
    }
}

/// Whether at least 15/16 of `sample` scores spread evenly over `keys` are distinct (≥ 480 of
/// 512, where a map of 256 values gives at most 256).
fn almost_all_distinct(keys: &[u32], sample: usize) -> bool {
    let step = keys.len() / sample;
    let mut scores: Vec<u32> = (0..sample).map(|i| keys[i * step] >> 1).collect();
    scores.sort_unstable();
    let distinct = 1 + scores.windows(2).filter(|w| w[0] != w[1]).count();
    distinct * 16 >= sample * 15
}

/// Bits of a finite float whose unsigned order is the float's order, with −0 and +0 equal (they
/// must tie): positives get the sign bit set, negatives have every bit flipped.
macro_rules! ordered_bits {
    ($name:ident, $float:ty, $bits:ty) => {
        pub(crate) fn $name(x: $float) -> $bits {
            let bits = (x + 0.0).to_bits();
            let sign = 1 << (<$bits>::BITS - 1);
            if bits & sign == 0 {
                bits | sign
            } else {
                !bits
            }
        }
    };
}
ordered_bits!(ordered_bits_f32, f32, u32);
ordered_bits!(ordered_bits_f64, f64, u64);

/// The float whose [`ordered_bits_f32`] are `bits` (+0 for the key shared by ±0).
pub(crate) fn f32_from_ordered_bits(bits: u32) -> f32 {
    if bits & (1 << 31) != 0 {
        f32::from_bits(bits & !(1 << 31))
    } else {
        f32::from_bits(!bits)
    }
}

/// Pixel AUC: tie-aware ROC AUC of the `pred` values as scores for the pixels labelled
/// `gt > gt_threshold`. `None` when the binarised GT has a single class (all or no pixel
/// manipulated), where the AUC is undefined.
///
/// Errors: size mismatch, empty maps, a non-finite pixel, or a non-finite threshold.
pub fn pixel_auc(pred: &Map, gt: &Map, gt_threshold: f32) -> Result<Option<f64>, MetricError> {
    check_threshold("gt_threshold", f64::from(gt_threshold))?;
    check_pair(pred, gt)?;
    Ok(pixel_auc_checked(pred, gt, gt_threshold))
}

/// [`pixel_auc`] on maps already checked for equal size and finite values.
pub(crate) fn pixel_auc_checked(pred: &Map, gt: &Map, gt_threshold: f32) -> Option<f64> {
    let (pred, gt) = (pred.as_raw(), gt.as_raw());
    let label = |g: f32| is_positive(g, gt_threshold);
    let ranges = ClassRanges::new(pred, gt, gt_threshold);
    if let Some(doubled_wins) = ranges.doubled_wins_without_sort() {
        return auc_from_counts(doubled_wins, ranges.positives, ranges.negatives);
    }
    // Every map the harness scores lies in [0, 1]; u32 counters hold any map that fits memory.
    let (lowest, highest) = ranges.overall();
    if pred.len() <= u32::MAX as usize && lowest >= 0.0 && highest < 2.0 {
        // `+ 0.0` makes −0 tie with +0.
        let keys = pred
            .iter()
            .zip(gt)
            .map(|(&p, &g)| (p + 0.0).to_bits() << 1 | u32::from(label(g)))
            .collect();
        return pixel_auc_bucketed(keys);
    }
    let mut keys: Vec<u64> = pred
        .iter()
        .zip(gt)
        .map(|(&p, &g)| u64::from(ordered_bits_f32(p)) << 1 | u64::from(label(g)))
        .collect();
    tie_aware_auc(&mut keys)
}

/// The lowest and highest score of each class of a pixel map, gathered in one pass.
struct ClassRanges {
    positives: u64,
    negatives: u64,
    positive: (f32, f32),
    negative: (f32, f32),
}

/// Independent counts, minima and maxima per lane, so the pass over the pixels vectorises.
#[derive(Clone, Copy)]
struct RangeLanes {
    positives: [u32; RangeLanes::N],
    pos_lo: [f32; RangeLanes::N],
    pos_hi: [f32; RangeLanes::N],
    neg_lo: [f32; RangeLanes::N],
    neg_hi: [f32; RangeLanes::N],
}

impl RangeLanes {
    const N: usize = 8;

    /// Adds `pred`, `gt` (lengths a multiple of [`RangeLanes::N`]) lane by lane. A value
    /// outside its class is replaced by infinities, which move no range. Why it is written
    /// so: with selects, u32 counts, the threshold by value and the state in locals the loop
    /// vectorises; with u64 counts or NaN placeholders it ran 2.5× slower, with the label as a
    /// closure 5–7× slower.
    fn add(&mut self, pred: &[f32], gt: &[f32], gt_threshold: f32) {
        const N: usize = RangeLanes::N;
        let mut lanes = *self;
        let (inf, neg_inf) = (f32::INFINITY, f32::NEG_INFINITY);
        for (ps, gs) in pred.chunks_exact(N).zip(gt.chunks_exact(N)) {
            for l in 0..N {
                let (p, positive) = (ps[l], is_positive(gs[l], gt_threshold));
                lanes.positives[l] += u32::from(positive);
                let pl = if positive { p } else { inf };
                let ph = if positive { p } else { neg_inf };
                let nl = if positive { inf } else { p };
                let nh = if positive { neg_inf } else { p };
                let r = &mut lanes;
                r.pos_lo[l] = if pl < r.pos_lo[l] { pl } else { r.pos_lo[l] };
                r.pos_hi[l] = if ph > r.pos_hi[l] { ph } else { r.pos_hi[l] };
                r.neg_lo[l] = if nl < r.neg_lo[l] { nl } else { r.neg_lo[l] };
                r.neg_hi[l] = if nh > r.neg_hi[l] { nh } else { r.neg_hi[l] };
            }
        }
        *self = lanes;
    }
}

impl ClassRanges {
    fn new(pred: &[f32], gt: &[f32], gt_threshold: f32) -> Self {
        const N: usize = RangeLanes::N;
        let mut lanes = RangeLanes {
            positives: [0; N],
            pos_lo: [f32::INFINITY; N],
            pos_hi: [f32::NEG_INFINITY; N],
            neg_lo: [f32::INFINITY; N],
            neg_hi: [f32::NEG_INFINITY; N],
        };
        // The last few pixels are padded with NaN, which no comparison counts or moves.
        let pad = |rest: &[f32]| -> [f32; N] {
            std::array::from_fn(|l| rest.get(l).copied().unwrap_or(f32::NAN))
        };
        let mut positives = 0u64;
        // Chunks of 2^31 pixels keep each lane's u32 count exact.
        for (p_chunk, g_chunk) in pred.chunks(1 << 31).zip(gt.chunks(1 << 31)) {
            lanes.positives = [0; N];
            let bulk = p_chunk.len() / N * N;
            lanes.add(&p_chunk[..bulk], &g_chunk[..bulk], gt_threshold);
            let (p_rest, g_rest) = (pad(&p_chunk[bulk..]), pad(&g_chunk[bulk..]));
            lanes.add(&p_rest, &g_rest, gt_threshold);
            positives += lanes.positives.iter().map(|&c| u64::from(c)).sum::<u64>();
        }
        let lowest = |lanes: [f32; N]| lanes.into_iter().fold(f32::INFINITY, f32::min);
        let highest = |lanes: [f32; N]| lanes.into_iter().fold(f32::NEG_INFINITY, f32::max);
        ClassRanges {
            positives,
            negatives: pred.len() as u64 - positives,
            positive: (lowest(lanes.pos_lo), highest(lanes.pos_hi)),
            negative: (lowest(lanes.neg_lo), highest(lanes.neg_hi)),
        }
    }

    /// The lowest and the highest score of either class.
    fn overall(&self) -> (f32, f32) {
        (
            self.positive.0.min(self.negative.0),
            self.positive.1.max(self.negative.1),
        )
    }

    /// The doubled pair wins when the ranges alone settle them, without a sort: scores that
    /// separate the classes order every pair (the oracle, whose map is the ground truth), and
    /// a map of one value (a constant baseline, a localizer that sees nothing) ties every pair.
    /// Comparisons take −0 and +0 as equal, as the sort's keys do.
    fn doubled_wins_without_sort(&self) -> Option<u128> {
        let pairs = u128::from(self.positives) * u128::from(self.negatives);
        let ((pos_lo, pos_hi), (neg_lo, neg_hi)) = (self.positive, self.negative);
        if pairs == 0 || pos_hi < neg_lo {
            Some(0)
        } else if neg_hi < pos_lo {
            Some(2 * pairs)
        } else if pos_lo == pos_hi && neg_lo == neg_hi && pos_lo == neg_lo {
            Some(pairs)
        } else {
            None
        }
    }
}

/// Image-level tie-aware ROC AUC of fake `scores` against the labels `is_fake`; equals
/// `sklearn.metrics.roc_auc_score(is_fake, scores)`. `None` when all images have the same label.
///
/// Errors: empty or differently sized inputs, or a non-finite score (naming its index).
pub fn roc_auc(scores: &[f64], is_fake: &[bool]) -> Result<Option<f64>, MetricError> {
    check_same_len("scores", scores.len(), "is_fake", is_fake.len())?;
    check_values(scores, "scores")?;
    let mut keys: Vec<u128> = scores
        .iter()
        .zip(is_fake)
        .map(|(&s, &fake)| u128::from(ordered_bits_f64(s)) << 1 | u128::from(fake))
        .collect();
    Ok(tie_aware_auc(&mut keys))
}

/// Image-level AUC of many resamples of one image set, as the bootstrap draws them: equal to
/// [`roc_auc`] of the resampled scores and labels, bit for bit.
///
/// Why: a resample repeats some images and leaves others out but never changes their order, so
/// the images are sorted once and each resample only counts how often it drew each image,
/// O(n) instead of a sort per resample. The pair-win count is the same exact integer.
pub struct ResampledAuc {
    /// Image indices in the order of their scores.
    order: Vec<usize>,
    /// `last_of_group[k]`: the score of `order[k]` differs from that of `order[k + 1]`.
    last_of_group: Vec<bool>,
    is_fake: Vec<bool>,
}

impl ResampledAuc {
    /// Errors: empty or differently sized inputs, or a non-finite score (naming its index).
    pub fn new(scores: &[f64], is_fake: &[bool]) -> Result<ResampledAuc, MetricError> {
        check_same_len("scores", scores.len(), "is_fake", is_fake.len())?;
        check_values(scores, "scores")?;
        let keys: Vec<u64> = scores.iter().map(|&s| ordered_bits_f64(s)).collect();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_unstable_by_key(|&i| keys[i]);
        let last_of_group = (0..order.len())
            .map(|k| {
                order
                    .get(k + 1)
                    .is_none_or(|&next| keys[next] != keys[order[k]])
            })
            .collect();
        Ok(ResampledAuc {
            order,
            last_of_group,
            is_fake: is_fake.to_vec(),
        })
    }

    /// The AUC of the images `idx` (indices into the scores, repeats allowed); `None` when they
    /// hold one class only.
    pub fn auc(&self, idx: &[usize]) -> Option<f64> {
        let mut draws = vec![0u64; self.order.len()];
        for &i in idx {
            draws[i] += 1;
        }
        let (mut pos, mut neg) = (0u64, 0u64);
        let mut counts = (0u128, 0u64);
        for (&i, &last) in self.order.iter().zip(&self.last_of_group) {
            if self.is_fake[i] {
                pos += draws[i];
            } else {
                neg += draws[i];
            }
            if last {
                add_tied_group(&mut counts, pos, neg);
                (pos, neg) = (0, 0);
            }
        }
        let (wins, negatives) = counts;
        auc_from_counts(wins, idx.len() as u64 - negatives, negatives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_ties_give_one_half() {
        let auc = roc_auc(&[0.3; 6], &[true, false, true, false, false, true]).unwrap();
        assert_eq!(auc, Some(0.5));
    }

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &labels).unwrap(), Some(1.0));
        assert_eq!(roc_auc(&[0.4, 0.3, 0.2, 0.1], &labels).unwrap(), Some(0.0));
    }

    #[test]
    fn hand_counted_ties() {
        // Positives {0.5, 0.5, 0.9}, negatives {0.1, 0.5}: wins 1+1+2 = 4, ties 2 → (4 + 1)/6.
        let auc = roc_auc(
            &[0.5, 0.1, 0.5, 0.9, 0.5],
            &[true, false, true, true, false],
        )
        .unwrap();
        assert_eq!(auc, Some(5.0 / 6.0));
    }

    #[test]
    fn ordered_bits_follow_the_floats_order() {
        let floats = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-30,
            -0.0,
            0.0,
            1e-30,
            0.25,
            7.0,
            f32::INFINITY,
        ];
        for pair in floats.windows(2) {
            let (a, b) = (ordered_bits_f32(pair[0]), ordered_bits_f32(pair[1]));
            let expected = pair[0].partial_cmp(&pair[1]).unwrap();
            assert_eq!(a.cmp(&b), expected, "{pair:?}");
            let (a, b) = (
                ordered_bits_f64(pair[0].into()),
                ordered_bits_f64(pair[1].into()),
            );
            assert_eq!(a.cmp(&b), expected, "{pair:?} as f64");
        }
    }

    #[test]
    fn ordered_bits_round_trip() {
        for x in [
            f32::NEG_INFINITY,
            -3.5,
            -1e-40,
            0.0,
            1e-40,
            0.25,
            1.0,
            f32::MAX,
        ] {
            assert_eq!(
                f32_from_ordered_bits(ordered_bits_f32(x)).to_bits(),
                x.to_bits()
            );
        }
        assert_eq!(f32_from_ordered_bits(ordered_bits_f32(-0.0)).to_bits(), 0);
    }

    #[test]
    fn signed_zeros_tie() {
        let auc = roc_auc(&[-0.0, 0.0], &[true, false]).unwrap();
        assert_eq!(auc, Some(0.5));
    }

    /// A smooth 224×224 map like a network's (almost every value distinct), its quantized
    /// copy (multiples of 1/255) and a ground truth with a blob.
    fn smooth_quantized_and_gt() -> (Map, Map, Map) {
        let n = 224;
        let smooth: Vec<f32> = (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f32 / n as f32, (i / n) as f32 / n as f32);
                1.0 / (1.0 + (-(6.0 * (x * 3.1).sin() + 5.0 * (y * 2.3).cos() - 4.0)).exp())
            })
            .collect();
        let quantized = smooth.iter().map(|v| (v * 255.0).round() / 255.0).collect();
        let gt = (0..n * n)
            .map(|i| {
                let (x, y) = ((i % n) as f32 - 80.0, (i / n) as f32 - 120.0);
                f32::from(x * x + y * y < 50.0 * 50.0)
            })
            .collect();
        let map = |v| Map::from_raw(n as u32, n as u32, v).unwrap();
        (map(smooth), map(quantized), map(gt))
    }

    fn keys_of(map: &Map) -> Vec<u32> {
        map.as_raw().iter().map(|v| v.to_bits() << 1).collect()
    }

    #[test]
    fn radix_sort_only_for_maps_of_distinct_values() {
        let (smooth, quantized, gt) = smooth_quantized_and_gt();
        assert!(almost_all_distinct(&keys_of(&smooth), 512));
        assert!(!almost_all_distinct(&keys_of(&quantized), 512));
        assert!(!almost_all_distinct(&keys_of(&gt), 512));
        for map in [&smooth, &quantized, &gt] {
            let mut sorted = keys_of(map);
            sort_pixel_keys(&mut sorted);
            let mut reference = keys_of(map);
            reference.sort_unstable();
            assert_eq!(sorted, reference);
        }
    }

    /// Shifting a map below 0 or scaling it by 4 keeps its order exactly, but takes the u64
    /// keys with sign handling and one sort instead of the buckets of maps in [0, 2).
    #[test]
    fn pixel_auc_is_the_same_on_both_key_widths() {
        use rand::{RngExt, SeedableRng};
        let (smooth, quantized, gt) = smooth_quantized_and_gt();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Uniform noise puts both classes in almost every bucket; a near-constant map puts
        // every pixel in one bucket; a map of tiny values uses the low buckets.
        let mut noise = |scale: f32, offset: f32| {
            let values = (0..224 * 224)
                .map(|_| offset + scale * rng.random::<f32>())
                .collect();
            Map::from_raw(224, 224, values).unwrap()
        };
        let (uniform, flat, tiny) = (noise(1.0, 0.0), noise(1e-6, 0.5), noise(1e-30, 0.0));
        let constant = Map::from_raw(224, 224, vec![0.25; 224 * 224]).unwrap();
        for map in [&smooth, &quantized, &uniform, &flat, &tiny, &constant] {
            let shifted = Map::from_raw(224, 224, map.as_raw().iter().map(|v| v - 1.0).collect());
            let scaled = Map::from_raw(224, 224, map.as_raw().iter().map(|v| v * 4.0).collect());
            let auc = pixel_auc_checked(map, &gt, 0.5).unwrap();
            assert!(
                auc > 0.0 && auc < 1.0 || std::ptr::eq(map, &constant),
                "{auc}"
            );
            // The general path of image-level AUC: every score in one sort.
            let scores: Vec<f64> = map.as_raw().iter().map(|&v| f64::from(v)).collect();
            let labels: Vec<bool> = gt.as_raw().iter().map(|&g| g > 0.5).collect();
            assert_eq!(roc_auc(&scores, &labels).unwrap(), Some(auc));
            assert_eq!(pixel_auc_checked(&scaled.unwrap(), &gt, 0.5), Some(auc));
            // Shifting by −1 rounds some values together (fewer mantissa bits near −1), so it is
            // checked on the quantized map only, whose values stay distinct.
            if std::ptr::eq(map, &quantized) {
                assert_eq!(pixel_auc_checked(&shifted.unwrap(), &gt, 0.5), Some(auc));
            }
        }
    }

    /// Maps settled by their class ranges (separating, inverted, constant, one class, ±0)
    /// give the AUC of the full sort; overlapping maps still go to the sort.
    #[test]
    fn maps_settled_without_a_sort_agree_with_the_sort() {
        let (smooth, _, gt) = smooth_quantized_and_gt();
        let of = |f: &dyn Fn(f32) -> f32| {
            Map::from_raw(224, 224, gt.as_raw().iter().map(|&g| f(g)).collect()).unwrap()
        };
        let oracle = gt.clone();
        let inverted = of(&|g| 1.0 - g);
        // Separated with ties inside each class, and across ±0 at the boundary.
        let steps = of(&|g| if g > 0.5 { 0.75 } else { 0.25 });
        let zeros = of(&|g| if g > 0.5 { 0.0 } else { -0.0 });
        let constant = of(&|_| 0.5);
        let one_class = Map::from_raw(224, 224, vec![0.0; 224 * 224]).unwrap();
        for (name, map, settled) in [
            ("oracle", &oracle, true),
            ("inverted", &inverted, true),
            ("steps", &steps, true),
            ("zeros", &zeros, true),
            ("constant", &constant, true),
            ("smooth", &smooth, false),
        ] {
            let ranges = ClassRanges::new(map.as_raw(), gt.as_raw(), 0.5);
            assert_eq!(
                ranges.doubled_wins_without_sort().is_some(),
                settled,
                "{name}"
            );
            let scores: Vec<f64> = map.as_raw().iter().map(|&v| f64::from(v)).collect();
            let labels: Vec<bool> = gt.as_raw().iter().map(|&g| g > 0.5).collect();
            assert_eq!(
                pixel_auc_checked(map, &gt, 0.5),
                roc_auc(&scores, &labels).unwrap(),
                "{name}"
            );
        }
        assert_eq!(pixel_auc_checked(&oracle, &gt, 0.5), Some(1.0));
        assert_eq!(pixel_auc_checked(&inverted, &gt, 0.5), Some(0.0));
        assert_eq!(pixel_auc_checked(&zeros, &gt, 0.5), Some(0.5));
        assert_eq!(pixel_auc_checked(&smooth, &one_class, 0.5), None);
    }

    #[test]
    fn signed_zeros_tie_in_pixel_maps() {
        let pred = Map::from_raw(2, 1, vec![-0.0, 0.0]).unwrap();
        let gt = Map::from_raw(2, 1, vec![1.0, 0.0]).unwrap();
        assert_eq!(pixel_auc_checked(&pred, &gt, 0.5), Some(0.5));
    }

    /// Resamples with repeats, ties (across ±0 too) and one-class draws agree with `roc_auc`
    /// of the resampled lists, bit for bit.
    #[test]
    fn resampled_auc_equals_roc_auc_of_the_resample() {
        use rand::{RngExt, SeedableRng};
        let scores = [0.3, 0.9, 0.3, -0.0, 0.0, 0.7, 0.1, 0.9, 0.55, 0.3, 0.2, 0.7];
        let is_fake = [
            true, true, false, true, false, false, true, false, true, false, true, true,
        ];
        let ranked = ResampledAuc::new(&scores, &is_fake).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut one_class = 0;
        for len in (1..=24).cycle().take(400) {
            let idx: Vec<usize> = (0..len)
                .map(|_| rng.random_range(0..scores.len()))
                .collect();
            let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
            let f: Vec<bool> = idx.iter().map(|&i| is_fake[i]).collect();
            let want = roc_auc(&s, &f).unwrap();
            one_class += usize::from(want.is_none());
            assert_eq!(
                ranked.auc(&idx).map(f64::to_bits),
                want.map(f64::to_bits),
                "{idx:?}"
            );
        }
        assert!(one_class > 0, "some draws hold one class only");
        assert!(ResampledAuc::new(&[0.1, f64::NAN], &[true, false]).is_err());
    }

    #[test]
    fn single_class_is_none() {
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]).unwrap(), None);
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, false]).unwrap(), None);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            roc_auc(&[0.1], &[true, false]),
            Err(MetricError::LengthMismatch { .. })
        ));
        assert!(matches!(roc_auc(&[], &[]), Err(MetricError::Empty)));
        assert!(matches!(
            roc_auc(&[0.1, f64::NAN], &[true, false]),
            Err(MetricError::NonFiniteValue { index: 1, .. })
        ));
    }
}
