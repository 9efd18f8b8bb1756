//! What callers show about each degradation: its text form, a one-line description, the axis
//! label of a sweep over its level, and the level at which it changes nothing. Kept beside the
//! implementations so that a new degradation brings its own vocabulary.

/// Metadata of one degradation operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpInfo {
    /// The operation's name (`jpeg`, …), as [`crate::Degradation::name`] gives it.
    pub name: &'static str,
    /// The text form with its level, as parsed (`jpeg:Q`).
    pub form: &'static str,
    /// What it does and which reference it reproduces.
    pub description: &'static str,
    /// The label of an axis over its level (empty for operations without a level).
    pub axis_label: &'static str,
    /// The level at which the output equals the input, if any (the clean point of a sweep).
    pub identity_level: Option<f64>,
    /// True when quality rises with the level (JPEG quality), so sweeps read right to left.
    pub level_is_quality: bool,
}

/// Every operation, in the order listings show them.
pub const OPS: [OpInfo; 5] = [
    OpInfo {
        name: "jpeg",
        form: "jpeg:Q",
        description: "JPEG quality Q in 1..=100, as PIL save(quality=Q)",
        axis_label: "JPEG quality",
        // JPEG at quality 100 still changes pixels.
        identity_level: None,
        level_is_quality: true,
    },
    OpInfo {
        name: "blur",
        form: "blur:K",
        description: "Gaussian blur, odd kernel K >= 3, as cv2.GaussianBlur((K,K), 0)",
        axis_label: "Gaussian kernel size (px)",
        identity_level: Some(1.0),
        level_is_quality: false,
    },
    OpInfo {
        name: "noise",
        form: "noise:V",
        description: "additive Gaussian noise of variance V >= 0 on the 0..255 scale",
        axis_label: "noise variance (8-bit scale)",
        identity_level: Some(0.0),
        level_is_quality: false,
    },
    OpInfo {
        name: "lowres",
        form: "lowres:R",
        description: "down-scale each side by R >= 1, then back (bilinear)",
        axis_label: "down-scaling ratio per side",
        identity_level: Some(1.0),
        level_is_quality: false,
    },
    OpInfo {
        name: "disorganize",
        form: "disorganize",
        description: "2x2 tile shuffle (seeded, never the identity)",
        axis_label: "",
        identity_level: None,
        level_is_quality: false,
    },
];

/// The metadata of an operation by name.
pub fn op_info(name: &str) -> Option<&'static OpInfo> {
    OPS.iter().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Degradation;

    #[test]
    fn every_operation_parses_and_names_itself() {
        for (op, text) in
            OPS.iter()
                .zip(["jpeg:50", "blur:5", "noise:4", "lowres:2", "disorganize"])
        {
            let d: Degradation = text.parse().unwrap();
            assert_eq!(d.name(), op.name);
            assert!(op.form.starts_with(op.name));
        }
    }

    #[test]
    fn identity_levels_change_nothing() {
        let img = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([(x * 13) as u8, (y * 7) as u8, 90])
        });
        for op in OPS.iter().filter(|op| op.identity_level.is_some()) {
            let level = op.identity_level.unwrap();
            let d = match op.name {
                "blur" => Degradation::Blur {
                    kernel: level as u32,
                },
                "noise" => Degradation::Noise { variance: level },
                "lowres" => Degradation::lowres(level),
                other => panic!("no identity check for {other}"),
            };
            assert_eq!(d.apply(&img, 3).unwrap().image, img, "{}", op.name);
        }
    }
}
