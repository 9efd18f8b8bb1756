//! The partial-manipulation properties (paper Table 1) as edits of a portrait's parameters.
//!
//! As in STGAN/AttGAN test sets, an edit *flips* its attribute: `eyeglasses` adds glasses to a
//! face without and removes them from a face with; `black_hair` dyes non-black hair black and
//! black hair brown. So a property never identifies real from fake by content alone.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::draw::Region;
use super::face::{FaceParams, HairColour, HairLength};

/// The partial-edit properties, in catalogue order (`entire` is separate: full synthesis).
pub const PROPERTIES: &[&str] = &[
    "bald",
    "bangs",
    "black_hair",
    "blond_hair",
    "brown_hair",
    "eyeglasses",
    "male",
    "mustache",
    "smile",
    "age",
];

/// The facial region a property edits.
pub(crate) fn region_of(property: &str) -> Option<Region> {
    Some(match property {
        "bald" | "bangs" | "black_hair" | "blond_hair" | "brown_hair" => Region::Hair,
        "eyeglasses" => Region::EyeBand,
        "smile" => Region::Mouth,
        "mustache" => Region::LowerFace,
        "male" | "age" => Region::Face,
        _ => return None,
    })
}

fn dye(p: &mut FaceParams, target: HairColour, otherwise: HairColour) {
    p.hair_colour = if p.hair_colour == target {
        otherwise
    } else {
        target
    };
    // Dyed hair is not grey any more; an age edit is what changes greyness.
    if p.greying() > 0.0 {
        p.hair_tint = [1.0; 3];
    }
}

/// Applies `property` to `p` (flipping the attribute); `None` for an unknown property.
pub(crate) fn apply(p: &FaceParams, property: &str, rng: &mut ChaCha8Rng) -> Option<FaceParams> {
    let mut q = p.clone();
    match property {
        "bald" => {
            q.bald = !p.bald;
            if p.bald {
                q.hair_len = HairLength::Short;
            } else {
                q.bangs = false;
            }
        }
        "bangs" => {
            q.bangs = !p.bangs;
            if p.bald {
                q.bald = false;
            }
        }
        "black_hair" => dye(&mut q, HairColour::Black, HairColour::Brown),
        "blond_hair" => dye(&mut q, HairColour::Blond, HairColour::Brown),
        "brown_hair" => dye(&mut q, HairColour::Brown, HairColour::Black),
        "eyeglasses" => {
            q.glasses = !p.glasses;
            q.glasses_round = rng.random_bool(0.4);
        }
        "mustache" => {
            q.mustache = !p.mustache;
            if p.mustache {
                q.beard = false;
            }
        }
        "smile" => q.smile = if p.smile > 0.5 { 0.0 } else { 1.0 },
        "age" => {
            q.age = if p.age < 0.5 {
                rng.random_range(0.85..1.0)
            } else {
                rng.random_range(0.05..0.25)
            };
            if q.age > 0.5 && rng.random_bool(0.4) {
                q.glasses = true;
            }
        }
        "male" => {
            q.male = !p.male;
            if q.male {
                q.hair_len = HairLength::Short;
                q.bangs = false;
                q.jaw = rng.random_range(0.76..0.86);
                q.brow_t = rng.random_range(0.036..0.05);
                q.stubble = rng.random_range(0.2..0.6);
                q.lip = std::array::from_fn(|k| p.skin[k] * 0.55 + [0.70, 0.40, 0.38][k] * 0.45);
            } else {
                q.bald = false;
                q.beard = false;
                q.mustache = false;
                q.stubble = 0.0;
                q.hair_len = if rng.random_bool(0.6) {
                    HairLength::Long
                } else {
                    HairLength::Medium
                };
                q.jaw = rng.random_range(0.62..0.72);
                q.brow_t = rng.random_range(0.02..0.03);
                q.lip = std::array::from_fn(|k| p.skin[k] * 0.3 + [0.72, 0.25, 0.30][k] * 0.7);
            }
        }
        _ => return None,
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_property_changes_every_face() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..200 {
            let p = FaceParams::random(&mut rng);
            for prop in PROPERTIES {
                let q = apply(&p, prop, &mut rng).unwrap();
                assert_ne!(p, q, "{prop} left the face unchanged");
                assert!(region_of(prop).is_some());
            }
        }
        assert!(apply(&FaceParams::random(&mut rng), "entire", &mut rng).is_none());
    }

    #[test]
    fn hair_colour_edits_flip() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut p = FaceParams::random(&mut rng);
        p.hair_colour = HairColour::Black;
        assert_eq!(
            apply(&p, "black_hair", &mut rng).unwrap().hair_colour,
            HairColour::Brown
        );
        assert_eq!(
            apply(&p, "blond_hair", &mut rng).unwrap().hair_colour,
            HairColour::Blond
        );
    }
}
