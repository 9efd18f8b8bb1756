//! The generators' decoders: ×2 upsampling stages (transposed convolution, nearest, bilinear,
//! bicubic, max-unpooling), each followed by a fixed seeded 3×3 "decoder" filter, with optional
//! StyleGAN-like per-stage noise injection (paper §3.2, Figure 3).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::raster::{Image3, Plane};
use crate::data::seeds;

/// A generator of the benchmark, named by its decoder's upsampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeneratorInfo {
    /// Stable short name used in sample ids and manifests.
    pub name: &'static str,
    /// The decoder's ×2 upsampling: `tconv4x4s2`, `nearest`, `bilinear`, `bicubic` or `max_unpool`.
    pub upsampler: &'static str,
    /// Global-reconstruction weight α in [0, 1): 0 = selective skip connections (only the edited
    /// region is replaced), > 0 = the whole image is re-synthesised with weight α.
    pub alpha: f32,
    /// True for full-synthesis generators (property `entire`, ground truth all ones).
    pub entire: bool,
    /// The GANs of the paper this generator stands for.
    pub analogy: &'static str,
    /// Latent downsampling factors f (one is drawn per sample, seeded).
    pub factors: &'static [u32],
    /// Standard deviation of the StyleGAN-like noise injected after each stage, in [0, 1]
    /// intensity units (0 = none); every decoder also synthesises texture before each stage.
    pub noise: f32,
}

static GENERATORS: [GeneratorInfo; 11] = [
    GeneratorInfo { name: "tconv", upsampler: "tconv4x4s2", alpha: 0.0, entire: false, analogy: "STGAN (selective transfer units, transposed-convolution decoder)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "nearest", upsampler: "nearest", alpha: 0.0, entire: false, analogy: "STGAN-like local edit with a nearest-neighbour decoder (upsampler ablation, paper Fig. 3)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "bilinear", upsampler: "bilinear", alpha: 0.0, entire: false, analogy: "STGAN-like local edit with a bilinear decoder (upsampler ablation)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "bicubic", upsampler: "bicubic", alpha: 0.0, entire: false, analogy: "STGAN-like local edit with a bicubic decoder (upsampler ablation)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "unpool", upsampler: "max_unpool", alpha: 0.0, entire: false, analogy: "SegNet-style max-unpooling decoder (paper Fig. 3, unpooling)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "tconv_recon", upsampler: "tconv4x4s2", alpha: 0.35, entire: false, analogy: "AttGAN / StarGAN (transposed-convolution decoder re-synthesises the whole image)", factors: &[4, 8], noise: 0.0 },
    GeneratorInfo { name: "bilinear_recon", upsampler: "bilinear", alpha: 0.5, entire: false, analogy: "IcGAN (interpolation decoder, whole image reconstructed from the latent code)", factors: &[4, 8], noise: 0.0 },
    GeneratorInfo { name: "style", upsampler: "bilinear", alpha: 0.6, entire: false, analogy: "StyleGAN latent editing (smile, age, gender): whole image re-synthesised with noise injection", factors: &[4], noise: 0.004 },
    GeneratorInfo { name: "full_nearest", upsampler: "nearest", alpha: 1.0, entire: true, analogy: "PGGAN (nearest-neighbour upsampling + convolution)", factors: &[4], noise: 0.0 },
    GeneratorInfo { name: "full_style", upsampler: "bilinear", alpha: 1.0, entire: true, analogy: "StyleGAN (upsampling + blur, per-stage noise injection)", factors: &[4], noise: 0.004 },
    GeneratorInfo { name: "full_tconv", upsampler: "tconv4x4s2", alpha: 1.0, entire: true, analogy: "StyleGAN2 (transposed convolution with FIR filter, noise injection)", factors: &[4], noise: 0.003 },
];

/// All generators: partial-manipulation ones first, then full-synthesis ones.
pub fn generators() -> &'static [GeneratorInfo] {
    &GENERATORS
}

/// Looks a generator up by name.
pub fn generator(name: &str) -> Option<&'static GeneratorInfo> {
    GENERATORS.iter().find(|g| g.name == name)
}

/// The ×2 upsamplers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upsampler {
    TConv,
    Nearest,
    Bilinear,
    Bicubic,
    Unpool,
}

/// Keys' cubic convolution kernel with a = −0.75 (PyTorch's bicubic).
fn cubic(x: f32) -> f32 {
    let a = -0.75;
    let x = x.abs();
    if x <= 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    } else {
        0.0
    }
}

/// 1-D taps (input offset, weight) for the two output phases of a half-pixel ×2 interpolation.
fn interp_taps(up: Upsampler) -> [Vec<(isize, f32)>; 2] {
    match up {
        Upsampler::Nearest => [vec![(0, 1.0)], vec![(0, 1.0)]],
        Upsampler::Bilinear => [vec![(-1, 0.25), (0, 0.75)], vec![(0, 0.75), (1, 0.25)]],
        Upsampler::Bicubic => [
            vec![
                (-2, cubic(1.75)),
                (-1, cubic(0.75)),
                (0, cubic(0.25)),
                (1, cubic(1.25)),
            ],
            vec![
                (-1, cubic(1.25)),
                (0, cubic(0.25)),
                (1, cubic(0.75)),
                (2, cubic(1.75)),
            ],
        ],
        Upsampler::TConv | Upsampler::Unpool => unreachable!("not a separable interpolation"),
    }
}

/// Weights of one decoder stage.
struct Stage {
    /// Transposed-convolution kernels `[out][in][ky·4+kx]` (TConv only).
    tconv: [[[f32; 16]; 3]; 3],
    /// Per-channel 3×3 decoder filter (row-major).
    filter: [[f32; 9]; 3],
    /// Per-channel noise-injection scales.
    noise_scale: [f32; 3],
}

/// A generator's decoder with its fixed, seeded weights.
pub(crate) struct Decoder {
    up: Upsampler,
    stages: Vec<Stage>,
    noise: f32,
}

impl Decoder {
    /// Builds the fixed decoder of `info` (weights depend on the generator's name only, so a
    /// generator is the same "trained network" whatever the data-set seed).
    pub fn new(info: &GeneratorInfo) -> Self {
        let up = match info.upsampler {
            "tconv4x4s2" => Upsampler::TConv,
            "nearest" => Upsampler::Nearest,
            "bilinear" => Upsampler::Bilinear,
            "bicubic" => Upsampler::Bicubic,
            _ => Upsampler::Unpool,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seeds::mix(&[
            seeds::fnv1a("decoder"),
            seeds::fnv1a(info.name),
        ]));
        let stages = (0..4)
            .map(|_| Stage::random(&mut rng, info.entire))
            .collect();
        Self {
            up,
            stages,
            noise: info.noise,
        }
    }

    /// Upsamples `z` by 2^`stages` (at most 4). `switches[s]` (max-unpooling only) holds, per
    /// cell of the stage-s input, the argmax position 0..4 recorded by the encoder's pooling;
    /// without it the decoder unpools to the top-left position.
    pub fn decode(
        &self,
        z: &Image3,
        stages: usize,
        switches: &[Vec<u8>],
        rng: &mut ChaCha8Rng,
    ) -> Image3 {
        let mut x = z.clone();
        for (s, stage) in self.stages.iter().take(stages).enumerate() {
            // The texture a decoder's convolutions synthesise at this resolution; upsampling it
            // is what leaves the periodic "fake texture" (paper §3.2) at pixel level.
            add_grain(&mut x, TEXTURE, &stage.noise_scale, rng);
            x = match self.up {
                Upsampler::TConv => tconv2x(&x, &stage.tconv),
                Upsampler::Unpool => match switches.get(s) {
                    Some(sw) => unpool2x(&x, sw),
                    None => unpool2x(&x, &vec![0; x.w * x.h]),
                },
                other => interp2x(&x, &interp_taps(other)),
            };
            x = filter3x3(&x, &stage.filter);
            if self.noise > 0.0 {
                add_grain(&mut x, self.noise, &stage.noise_scale, rng);
            }
        }
        x
    }
}

impl Stage {
    fn random(rng: &mut ChaCha8Rng, entire: bool) -> Self {
        // Transposed convolution: bilinear-equivalent base [1,3,3,1]/4 ⊗ same, perturbed so the
        // four output phases get different gains and shapes (the checkerboard of Odena 2016).
        let base = [0.25f32, 0.75, 0.75, 0.25];
        let tconv = std::array::from_fn(|o| {
            std::array::from_fn(|i| {
                let mut k: [f32; 16] = std::array::from_fn(|t| {
                    let diag = if o == i {
                        base[t / 4] * base[t % 4]
                    } else {
                        0.0
                    };
                    let jit: f32 = rng.sample(StandardNormal);
                    diag + jit * if o == i { 0.012 } else { 0.006 }
                });
                if o == i {
                    // Keep the mean gain 1 (sum 4 over the 4×4 kernel) so colours are preserved.
                    let s: f32 = k.iter().sum();
                    k.iter_mut().for_each(|v| *v *= 4.0 / s);
                }
                k
            })
        });
        // Near-identity 3×3 filter: identity blended with a [1,2,1]² blur (s > 0) or its
        // sharpening opposite (s < 0); full-synthesis decoders sharpen a little more.
        let s_lo = if entire { -0.5 } else { -0.3 };
        let filter = std::array::from_fn(|_| {
            let s = rng.random_range(s_lo..0.4f32);
            let mut k: [f32; 9] = std::array::from_fn(|t| {
                let b = [1.0, 2.0, 1.0][t / 3] * [1.0, 2.0, 1.0][t % 3] / 16.0;
                let id = if t == 4 { 1.0 } else { 0.0 };
                let jit: f32 = rng.sample(StandardNormal);
                (1.0 - s) * id + s * b + 0.006 * jit
            });
            let gain = rng.random_range(0.995f32..1.005);
            let sum: f32 = k.iter().sum();
            k.iter_mut().for_each(|v| *v *= gain / sum);
            k
        });
        let noise_scale = std::array::from_fn(|_| rng.random_range(0.6f32..1.0));
        Self {
            tconv,
            filter,
            noise_scale,
        }
    }
}

/// Standard deviation of the decoder texture injected before each ×2 stage (intensity units;
/// 0.012 ≈ 3 levels of 255, comparable to the real photos' sensor noise).
const TEXTURE: f32 = 0.012;

/// Adds single-channel Gaussian grain of standard deviation `sd`, scaled per channel.
fn add_grain(x: &mut Image3, sd: f32, scale: &[f32; 3], rng: &mut ChaCha8Rng) {
    for p in &mut x.px {
        let n: f32 = rng.sample(StandardNormal);
        for k in 0..3 {
            p[k] += sd * scale[k] * n;
        }
    }
}

/// Separable half-pixel ×2 interpolation with per-phase taps (clamped borders).
fn interp2x(x: &Image3, taps: &[Vec<(isize, f32)>; 2]) -> Image3 {
    let (w, h) = (x.w * 2, x.h * 2);
    // Horizontal pass.
    let mut tmp = Image3::filled(w, x.h, [0.0; 3]);
    for y in 0..x.h {
        for ox in 0..w {
            let (m, ph) = ((ox / 2) as isize, ox % 2);
            let mut acc = [0.0f32; 3];
            for &(d, wt) in &taps[ph] {
                let p = x.at(m + d, y as isize);
                (0..3).for_each(|k| acc[k] += wt * p[k]);
            }
            tmp.px[y * w + ox] = acc;
        }
    }
    let mut out = Image3::filled(w, h, [0.0; 3]);
    for oy in 0..h {
        let (m, ph) = ((oy / 2) as isize, oy % 2);
        for ox in 0..w {
            let mut acc = [0.0f32; 3];
            for &(d, wt) in &taps[ph] {
                let p = tmp.at(ox as isize, m + d);
                (0..3).for_each(|k| acc[k] += wt * p[k]);
            }
            out.px[oy * w + ox] = acc;
        }
    }
    out
}

/// Transposed convolution, 4×4 kernel, stride 2, padding 1 (output 2H×2W), mixing channels.
fn tconv2x(x: &Image3, k: &[[[f32; 16]; 3]; 3]) -> Image3 {
    let (w, h) = (x.w * 2, x.h * 2);
    // Output phase 0 reads inputs m (tap 1) and m−1 (tap 3); phase 1 reads m+1 (tap 0), m (tap 2).
    const TAPS: [[(isize, usize); 2]; 2] = [[(0, 1), (-1, 3)], [(1, 0), (0, 2)]];
    let mut out = Image3::filled(w, h, [0.0; 3]);
    for oy in 0..h {
        let (my, py) = ((oy / 2) as isize, oy % 2);
        for ox in 0..w {
            let (mx, px) = ((ox / 2) as isize, ox % 2);
            let mut acc = [0.0f32; 3];
            for &(dy, ky) in &TAPS[py] {
                for &(dx, kx) in &TAPS[px] {
                    let v = x.at(mx + dx, my + dy);
                    let t = ky * 4 + kx;
                    for (o, a) in acc.iter_mut().enumerate() {
                        *a += k[o][0][t] * v[0] + k[o][1][t] * v[1] + k[o][2][t] * v[2];
                    }
                }
            }
            out.px[oy * w + ox] = acc;
        }
    }
    out
}

/// Max-unpooling: each input value goes to the position its encoder pooling took the maximum
/// from; the other three positions are filled by normalised convolution with a [1,2,1]²/4 tent
/// (the role of the first convolution after SegNet's unpooling).
fn unpool2x(x: &Image3, switches: &[u8]) -> Image3 {
    let (w, h) = (x.w * 2, x.h * 2);
    let mut sparse = Image3::filled(w, h, [0.0; 3]);
    let mut occupied = Plane::filled(w, h, 0.0);
    for cy in 0..x.h {
        for cx in 0..x.w {
            let s = switches[cy * x.w + cx] as usize;
            let (ox, oy) = (cx * 2 + s % 2, cy * 2 + s / 2);
            sparse.px[oy * w + ox] = x.px[cy * x.w + cx];
            occupied.v[oy * w + ox] = 1.0;
        }
    }
    let tent = [0.5f32, 1.0, 0.5];
    let mut out = Image3::filled(w, h, [0.0; 3]);
    for oy in 0..h as isize {
        for ox in 0..w as isize {
            let (mut acc, mut norm) = ([0.0f32; 3], 0.0f32);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (sx, sy) = (ox + dx, oy + dy);
                    if sx < 0 || sy < 0 || sx >= w as isize || sy >= h as isize {
                        continue;
                    }
                    let i = sy as usize * w + sx as usize;
                    let wt = tent[(dy + 1) as usize] * tent[(dx + 1) as usize] * occupied.v[i];
                    norm += wt;
                    (0..3).for_each(|k| acc[k] += wt * sparse.px[i][k]);
                }
            }
            // Every 3×3 window contains a whole 2×2 cell, hence at least one switch.
            out.px[oy as usize * w + ox as usize] = acc.map(|a| a / norm);
        }
    }
    out
}

/// Per-channel 3×3 filter (clamped borders).
fn filter3x3(x: &Image3, k: &[[f32; 9]; 3]) -> Image3 {
    let mut out = Image3::filled(x.w, x.h, [0.0; 3]);
    for y in 0..x.h as isize {
        for xx in 0..x.w as isize {
            let mut acc = [0.0f32; 3];
            for dy in 0..3 {
                for dx in 0..3 {
                    let p = x.at(xx + dx as isize - 1, y + dy as isize - 1);
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += k[c][dy * 3 + dx] * p[c];
                    }
                }
            }
            out.px[y as usize * x.w + xx as usize] = acc;
        }
    }
    out
}

/// The encoder's max-pooling switches for one ×2 level: per 2×2 cell of `fine`, the position
/// (0..4, row-major) of the brightest luma.
pub(crate) fn pool_switches(fine: &Image3) -> Vec<u8> {
    let l = fine.luma();
    let (w, h) = (fine.w / 2, fine.h / 2);
    let mut s = vec![0u8; w * h];
    for cy in 0..h {
        for cx in 0..w {
            let mut best = (f32::MIN, 0u8);
            for q in 0..4u8 {
                let v = l.v[(cy * 2 + q as usize / 2) * fine.w + cx * 2 + q as usize % 2];
                if v > best.0 {
                    best = (v, q);
                }
            }
            s[cy * w + cx] = best.1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Image3 {
        let mut img = Image3::filled(n, n, [0.0; 3]);
        for y in 0..n {
            for x in 0..n {
                img.px[y * n + x] = [x as f32 / n as f32, y as f32 / n as f32, 0.5];
            }
        }
        img
    }

    #[test]
    fn interpolators_match_pytorch_half_pixel_weights() {
        // torch: F.interpolate([0,1,2,3], scale 2, bilinear, align_corners=False)
        //   = [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3]; bicubic weights are Keys a = -0.75.
        let mut x = Image3::filled(4, 1, [0.0; 3]);
        for i in 0..4 {
            x.px[i] = [i as f32; 3];
        }
        let b = interp2x(&x, &interp_taps(Upsampler::Bilinear));
        let row: Vec<f32> = b.px[..8].iter().map(|p| p[0]).collect();
        assert_eq!(row, vec![0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]);
        let taps = interp_taps(Upsampler::Bicubic);
        for ph in &taps {
            let s: f32 = ph.iter().map(|t| t.1).sum();
            assert!((s - 1.0).abs() < 1e-6);
        }
        assert!((cubic(0.25) - 0.878_906_25).abs() < 1e-6);
    }

    #[test]
    fn tconv_with_bilinear_kernel_equals_bilinear() {
        let base = [0.25f32, 0.75, 0.75, 0.25];
        let k = std::array::from_fn(|o| {
            std::array::from_fn(|i| {
                std::array::from_fn(|t| {
                    if o == i {
                        base[t / 4] * base[t % 4]
                    } else {
                        0.0
                    }
                })
            })
        });
        let x = ramp(8);
        let a = tconv2x(&x, &k);
        let b = interp2x(&x, &interp_taps(Upsampler::Bilinear));
        for (p, q) in a.px.iter().zip(&b.px) {
            for c in 0..3 {
                assert!((p[c] - q[c]).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn unpool_keeps_values_at_switches_and_constants_constant() {
        let x = Image3::filled(4, 4, [0.3, 0.6, 0.9]);
        let sw: Vec<u8> = (0..16).map(|i| (i * 7 % 4) as u8).collect();
        let y = unpool2x(&x, &sw);
        for p in &y.px {
            assert!((p[0] - 0.3).abs() < 1e-6 && (p[2] - 0.9).abs() < 1e-6);
        }
        let r = ramp(4);
        let y = unpool2x(&r, &sw);
        for cy in 0..4 {
            for cx in 0..4 {
                let s = sw[cy * 4 + cx] as usize;
                let o = (cy * 2 + s / 2) * 8 + cx * 2 + s % 2;
                // The switch position receives a tent-weighted mix dominated by its own value.
                assert!((y.px[o][0] - r.px[cy * 4 + cx][0]).abs() < 0.15);
            }
        }
    }

    #[test]
    fn decoders_preserve_flat_colour_and_are_fixed() {
        for g in generators() {
            let d = Decoder::new(g);
            let z = Image3::filled(8, 8, [0.5; 3]);
            let sw = vec![vec![0u8; 64], vec![3u8; 256]];
            let y = d.decode(&z, 2, &sw, &mut ChaCha8Rng::seed_from_u64(0));
            assert_eq!((y.w, y.h), (32, 32));
            let mean: f32 = y.px.iter().map(|p| p[1]).sum::<f32>() / y.px.len() as f32;
            assert!((mean - 0.5).abs() < 0.02, "{}: mean {mean}", g.name);
            let again = Decoder::new(g).decode(&z, 2, &sw, &mut ChaCha8Rng::seed_from_u64(0));
            assert_eq!(y, again);
        }
    }
}
