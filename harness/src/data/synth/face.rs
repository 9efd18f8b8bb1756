//! Identity parameters of a procedural portrait: one `FaceParams` per identity, drawn from a
//! seeded RNG. Geometry is in *face units*: origin at the head centre, x right, y down, the head's
//! half-width is 1. The renderer (`draw.rs`) maps face units to pixels through the pose.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Hair colour families; the `*_hair` properties switch between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HairColour {
    Black,
    Brown,
    Blond,
    Red,
}

impl HairColour {
    /// A representative sRGB colour in [0, 1].
    pub fn rgb(self) -> [f32; 3] {
        match self {
            HairColour::Black => [0.11, 0.09, 0.085],
            HairColour::Brown => [0.33, 0.21, 0.13],
            HairColour::Blond => [0.80, 0.66, 0.42],
            HairColour::Red => [0.56, 0.26, 0.13],
        }
    }
}

/// How far the hair falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum HairLength {
    Short,
    Medium,
    Long,
}

/// Every parameter of one portrait (identity, pose, light, camera).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaceParams {
    pub male: bool,
    /// 0 = young adult, 1 = elderly.
    pub age: f32,
    pub skin: [f32; 3],
    /// Horizontal scale of the jaw relative to the cranium (1 = no taper).
    pub jaw: f32,
    /// Vertical head radius (chin/cranium) in face units.
    pub head_h: f32,
    pub hair_colour: HairColour,
    /// Multiplicative jitter on the hair colour.
    pub hair_tint: [f32; 3],
    pub hair_len: HairLength,
    pub hair_volume: f32,
    pub hairline: f32,
    pub part_x: f32,
    pub bald: bool,
    pub bangs: bool,
    pub eye_dx: f32,
    pub eye_y: f32,
    pub eye_size: f32,
    pub iris: [f32; 3],
    pub brow_t: f32,
    pub brow_arch: f32,
    pub nose_len: f32,
    pub nose_w: f32,
    pub mouth_y: f32,
    pub mouth_w: f32,
    pub lip: [f32; 3],
    pub lip_t: f32,
    /// 0 = neutral, 1 = open smile.
    pub smile: f32,
    pub glasses: bool,
    pub glasses_round: bool,
    pub glasses_colour: [f32; 3],
    pub beard: bool,
    pub mustache: bool,
    pub stubble: f32,
    pub clothes: [f32; 3],
    pub bg0: [f32; 3],
    pub bg1: [f32; 3],
    pub bg_angle: f32,
    /// Background low-frequency texture: (frequency x, frequency y, phase, amplitude).
    pub bg_waves: [[f32; 4]; 4],
    /// Face centre in image units ([0, 1] across the image).
    pub centre: [f32; 2],
    /// Head half-width in image units.
    pub scale: f32,
    /// In-plane rotation (radians).
    pub roll: f32,
    /// Out-of-plane turn (−0.2..0.2): shifts the inner features sideways.
    pub yaw: f32,
    /// Light direction (unit vector, z towards the camera).
    pub light: [f32; 3],
    /// Diffuse light strength relative to ambient.
    pub light_k: f32,
    /// Exposure and white-balance gains per channel.
    pub gain: [f32; 3],
    /// Hair strand phases and skin-texture seed.
    pub texture_seed: u64,
    pub strand_phase: [f32; 4],
}

fn jitter(rng: &mut ChaCha8Rng, c: [f32; 3], amount: f32) -> [f32; 3] {
    c.map(|v| (v * (1.0 + rng.random_range(-amount..amount))).clamp(0.0, 1.0))
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    std::array::from_fn(|k| a[k] + (b[k] - a[k]) * t)
}

/// Skin tones from light to dark (sRGB), interpolated between neighbours.
const SKIN_TONES: [[f32; 3]; 6] = [
    [0.96, 0.80, 0.69],
    [0.92, 0.74, 0.60],
    [0.84, 0.64, 0.50],
    [0.72, 0.52, 0.38],
    [0.55, 0.38, 0.27],
    [0.38, 0.26, 0.19],
];

impl FaceParams {
    /// Draws a random identity (with its pose, light and camera) from `rng`.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        let male = rng.random_bool(0.5);
        let age = rng.random_range(0.0f32..1.0).powf(1.3);
        let tone_pos = rng.random_range(0.0f32..(SKIN_TONES.len() - 1) as f32);
        let i = tone_pos as usize;
        let skin = jitter(
            rng,
            lerp3(SKIN_TONES[i], SKIN_TONES[i + 1], tone_pos.fract()),
            0.03,
        );
        let dark_skin = tone_pos > 3.0;
        let hair_colour = {
            let r: f32 = rng.random();
            if dark_skin || r < 0.38 {
                HairColour::Black
            } else if r < 0.72 {
                HairColour::Brown
            } else if r < 0.92 {
                HairColour::Blond
            } else {
                HairColour::Red
            }
        };
        let hair_len = {
            let r: f32 = rng.random();
            let (short, medium) = if male { (0.72, 0.92) } else { (0.08, 0.42) };
            if r < short {
                HairLength::Short
            } else if r < medium {
                HairLength::Medium
            } else {
                HairLength::Long
            }
        };
        let bald = male && rng.random_bool((0.05 + 0.3 * age as f64).min(0.3));
        let facial_hair: f32 = if male { rng.random() } else { 1.0 };
        let iris = [
            [0.30, 0.18, 0.10],
            [0.20, 0.12, 0.07],
            [0.30, 0.45, 0.60],
            [0.35, 0.45, 0.30],
        ][rng.random_range(0..4usize)];
        let lip_base = if male {
            lerp3(skin, [0.70, 0.40, 0.38], 0.45)
        } else {
            lerp3(skin, [0.72, 0.25, 0.30], rng.random_range(0.55..0.85))
        };
        let bg_hue: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.25f32..0.85));
        let bg_dark = rng.random_range(0.55f32..1.0);
        let light_angle = rng.random_range(0.0f32..std::f32::consts::TAU);
        let light_tilt = rng.random_range(0.25f32..0.7);
        let temp = rng.random_range(-0.06f32..0.06);
        let exposure = rng.random_range(0.88f32..1.08);
        let clothes_dark = rng.random_range(0.15f32..0.9);
        let bg_waves = std::array::from_fn(|_| {
            [
                rng.random_range(-2.5f32..2.5),
                rng.random_range(-2.5f32..2.5),
                rng.random_range(0.0f32..std::f32::consts::TAU),
                rng.random_range(0.005f32..0.025),
            ]
        });
        Self {
            male,
            age,
            skin,
            jaw: if male {
                rng.random_range(0.74..0.86)
            } else {
                rng.random_range(0.62..0.74)
            },
            head_h: rng.random_range(1.28..1.42),
            hair_colour,
            hair_tint: std::array::from_fn(|_| rng.random_range(0.85f32..1.15)),
            hair_len,
            hair_volume: rng.random_range(1.0..1.14),
            hairline: rng.random_range(-0.98..-0.78),
            part_x: rng.random_range(-0.45..0.45),
            bald,
            bangs: !bald && rng.random_bool(if male { 0.12 } else { 0.3 }),
            eye_dx: rng.random_range(0.36..0.42),
            eye_y: rng.random_range(-0.2..-0.1),
            eye_size: rng.random_range(0.9..1.12),
            iris: jitter(rng, iris, 0.15),
            brow_t: if male {
                rng.random_range(0.034..0.05)
            } else {
                rng.random_range(0.02..0.032)
            },
            brow_arch: rng.random_range(0.02..0.07),
            nose_len: rng.random_range(0.3..0.42),
            nose_w: rng.random_range(0.85..1.2),
            mouth_y: rng.random_range(0.58..0.68),
            mouth_w: rng.random_range(0.27..0.34),
            lip: jitter(rng, lip_base, 0.04),
            lip_t: rng.random_range(0.8..1.25),
            smile: if rng.random_bool(0.4) { 1.0 } else { 0.0 },
            glasses: rng.random_bool(0.15 + 0.2 * age as f64),
            glasses_round: rng.random_bool(0.4),
            glasses_colour: [
                [0.08, 0.07, 0.07],
                [0.35, 0.22, 0.12],
                [0.55, 0.55, 0.58],
                [0.45, 0.12, 0.12],
            ][rng.random_range(0..4usize)],
            beard: facial_hair < 0.2,
            mustache: facial_hair < 0.32,
            stubble: if male {
                rng.random_range(0.0..0.6)
            } else {
                0.0
            },
            clothes: std::array::from_fn(|_| rng.random_range(0.1f32..1.0) * clothes_dark),
            bg0: bg_hue.map(|v| v * bg_dark),
            bg1: jitter(rng, bg_hue.map(|v| v * bg_dark * 0.7), 0.2),
            bg_angle: rng.random_range(0.0..std::f32::consts::TAU),
            bg_waves,
            centre: [rng.random_range(0.47..0.53), rng.random_range(0.5..0.56)],
            scale: rng.random_range(0.22..0.25),
            roll: rng.random_range(-0.12..0.12),
            yaw: rng.random_range(-0.16..0.16),
            light: {
                let (s, c) = light_angle.sin_cos();
                let z = (1.0 - light_tilt * light_tilt).sqrt();
                [c * light_tilt, s * light_tilt, z]
            },
            light_k: rng.random_range(0.35..0.7),
            gain: [exposure * (1.0 + temp), exposure, exposure * (1.0 - temp)],
            texture_seed: rng.random(),
            strand_phase: std::array::from_fn(|_| rng.random_range(0.0f32..std::f32::consts::TAU)),
        }
    }

    /// The hair colour after tint and greying with age (sRGB, [0, 1]).
    pub fn hair_rgb(&self) -> [f32; 3] {
        let base = self.hair_colour.rgb();
        let tinted: [f32; 3] = std::array::from_fn(|k| (base[k] * self.hair_tint[k]).min(1.0));
        lerp3(tinted, [0.62, 0.61, 0.6], self.greying())
    }

    /// Fraction of grey hair (0 for the young, up to 0.8).
    pub fn greying(&self) -> f32 {
        ((self.age - 0.55) * 1.8).clamp(0.0, 0.8)
    }

    /// Strength of wrinkles (0 for the young).
    pub fn wrinkles(&self) -> f32 {
        ((self.age - 0.45) * 1.8).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn identities_vary_and_are_reproducible() {
        let a = FaceParams::random(&mut ChaCha8Rng::seed_from_u64(1));
        let b = FaceParams::random(&mut ChaCha8Rng::seed_from_u64(1));
        let c = FaceParams::random(&mut ChaCha8Rng::seed_from_u64(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn attribute_frequencies_are_plausible() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let faces: Vec<_> = (0..2000).map(|_| FaceParams::random(&mut rng)).collect();
        let frac = |f: &dyn Fn(&FaceParams) -> bool| {
            faces.iter().filter(|p| f(p)).count() as f32 / faces.len() as f32
        };
        assert!((0.4..0.6).contains(&frac(&|p| p.male)));
        assert!((0.1..0.45).contains(&frac(&|p| p.glasses)));
        assert!(frac(&|p| p.bald && !p.male) == 0.0);
        assert!(frac(&|p| p.hair_colour == HairColour::Blond) > 0.05);
    }
}
