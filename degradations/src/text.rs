//! The text form of degradations (`jpeg:50`, `lowres:2:bicubic:nearest`, …): parsing with
//! helpful errors, canonical display, serde as that text.

use std::fmt;
use std::str::FromStr;

use crate::{Degradation, ResizeFilter, MAX_BLUR_KERNEL};

/// Every accepted form, listed in error messages.
const ALLOWED: &str = "jpeg:Q, blur:K, noise:V, lowres:R, lowres:R:DOWN:UP, disorganize";
/// Degradation names in the order of [`ALLOWED`].
const NAMES: [&str; 5] = ["jpeg", "blur", "noise", "lowres", "disorganize"];

/// Why a degradation (or resize filter) text was rejected; each message says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The text was empty or blank.
    #[error("empty degradation: write one of {ALLOWED}")]
    Empty,
    /// The name before the first `:` is not a degradation.
    #[error("unknown degradation '{name}'{}; allowed: {ALLOWED}", did_you_mean(.suggestion))]
    UnknownName {
        /// The name as written.
        name: String,
        /// The closest known name, if close enough.
        suggestion: Option<&'static str>,
    },
    /// A degradation that needs a level was written without one.
    #[error("{name} needs a parameter: write {}", form(.name))]
    MissingParameter {
        /// Degradation name.
        name: &'static str,
    },
    /// Too many (or, for `lowres`, a wrong number of) `:`-separated parameters.
    #[error("'{text}' gives {name} {given} parameter(s): write {}", form(.name))]
    WrongParameterCount {
        /// The whole text.
        text: String,
        /// Degradation name.
        name: &'static str,
        /// Number of parameters given.
        given: usize,
    },
    /// The level is not a number, or outside the allowed range.
    #[error("invalid {name} level '{value}': write {}", form(.name))]
    InvalidLevel {
        /// Degradation name.
        name: &'static str,
        /// The level as written (or as displayed, for a constructed value).
        value: String,
    },
    /// A resize filter name is unknown.
    #[error("unknown resize filter '{name}'{}; allowed: nearest, box, bilinear, bicubic, lanczos3", did_you_mean(.suggestion))]
    UnknownFilter {
        /// The filter as written.
        name: String,
        /// The closest known filter, if close enough.
        suggestion: Option<&'static str>,
    },
}

/// The accepted form of one degradation, with its parameter range.
fn form(name: &str) -> String {
    match name {
        "jpeg" => "jpeg:Q with Q an integer from 1 to 100".to_owned(),
        "blur" => format!("blur:K with K an odd integer from 1 (identity) to {MAX_BLUR_KERNEL}"),
        "noise" => "noise:V with V a finite variance >= 0 on the 0..255 scale".to_owned(),
        "lowres" => "lowres:R or lowres:R:DOWN:UP with R a finite ratio >= 1 and DOWN, UP \
                     among nearest, box, bilinear, bicubic, lanczos3"
            .to_owned(),
        _ => "disorganize, without a parameter".to_owned(),
    }
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean '{s}'?)"))
}

/// The known word most similar to `word` (case-insensitive), if similar enough.
fn closest(word: &str, known: &[&'static str]) -> Option<&'static str> {
    suggest::closest(word, known.iter().copied())
}

fn invalid(name: &'static str, value: impl fmt::Display) -> ParseError {
    ParseError::InvalidLevel {
        name,
        value: value.to_string(),
    }
}

/// Checks a degradation's parameter; shared by parsing and [`Degradation::apply`].
pub(crate) fn validate(degradation: &Degradation) -> Result<(), ParseError> {
    match *degradation {
        Degradation::Jpeg { quality } => check_quality(quality),
        Degradation::Blur { kernel } => check_kernel(kernel),
        Degradation::Noise { variance } => check_variance(variance),
        Degradation::LowRes { ratio, .. } => check_ratio(ratio),
        Degradation::Disorganize => Ok(()),
    }
}

pub(crate) fn check_quality(quality: u8) -> Result<(), ParseError> {
    match quality {
        1..=100 => Ok(()),
        _ => Err(invalid("jpeg", quality)),
    }
}

pub(crate) fn check_kernel(kernel: u32) -> Result<(), ParseError> {
    if kernel % 2 == 1 && kernel <= MAX_BLUR_KERNEL {
        Ok(())
    } else {
        Err(invalid("blur", kernel))
    }
}

pub(crate) fn check_variance(variance: f64) -> Result<(), ParseError> {
    if variance.is_finite() && variance >= 0.0 {
        Ok(())
    } else {
        Err(invalid("noise", variance))
    }
}

pub(crate) fn check_ratio(ratio: f64) -> Result<(), ParseError> {
    if ratio.is_finite() && ratio >= 1.0 {
        Ok(())
    } else {
        Err(invalid("lowres", ratio))
    }
}

/// Parses a number for `name`, reporting the raw text when it is not one.
fn number<T: FromStr>(name: &'static str, value: &str) -> Result<T, ParseError> {
    value.parse().map_err(|_| invalid(name, value))
}

impl FromStr for Degradation {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut parts = text.split(':').map(str::trim);
        let written = parts.next().unwrap_or_default();
        let params: Vec<&str> = parts.collect();
        let name = NAMES
            .iter()
            .copied()
            .find(|n| *n == written)
            .ok_or_else(|| ParseError::UnknownName {
                name: written.to_owned(),
                suggestion: closest(written, &NAMES),
            })?;
        let wrong_count = || ParseError::WrongParameterCount {
            text: text.to_owned(),
            name,
            given: params.len(),
        };
        let degradation = match (name, params.as_slice()) {
            ("disorganize", []) => Degradation::Disorganize,
            ("disorganize", _) => return Err(wrong_count()),
            (_, []) => return Err(ParseError::MissingParameter { name }),
            ("jpeg", [q]) => Degradation::Jpeg {
                quality: number(name, q)?,
            },
            ("blur", [k]) => Degradation::Blur {
                kernel: number(name, k)?,
            },
            ("noise", [v]) => Degradation::Noise {
                variance: number(name, v)?,
            },
            ("lowres", [r]) => Degradation::lowres(number(name, r)?),
            ("lowres", [r, down, up]) => Degradation::LowRes {
                ratio: number(name, r)?,
                down: down.parse()?,
                up: up.parse()?,
            },
            _ => return Err(wrong_count()),
        };
        validate(&degradation)?;
        Ok(degradation)
    }
}

impl fmt::Display for Degradation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Degradation::Jpeg { quality } => write!(f, "jpeg:{quality}"),
            Degradation::Blur { kernel } => write!(f, "blur:{kernel}"),
            // f64 Display prints the shortest digits that parse back to the same value.
            Degradation::Noise { variance } => write!(f, "noise:{variance}"),
            Degradation::LowRes {
                ratio,
                down: ResizeFilter::Bilinear,
                up: ResizeFilter::Bilinear,
            } => write!(f, "lowres:{ratio}"),
            Degradation::LowRes { ratio, down, up } => write!(f, "lowres:{ratio}:{down}:{up}"),
            Degradation::Disorganize => f.write_str("disorganize"),
        }
    }
}

impl ResizeFilter {
    /// All filters, in the order of the text form's list.
    pub const ALL: [ResizeFilter; 5] = [
        ResizeFilter::Nearest,
        ResizeFilter::Box,
        ResizeFilter::Bilinear,
        ResizeFilter::Bicubic,
        ResizeFilter::Lanczos3,
    ];

    /// The lowercase name used in text: `nearest`, `box`, `bilinear`, `bicubic`, `lanczos3`.
    pub fn name(self) -> &'static str {
        match self {
            ResizeFilter::Nearest => "nearest",
            ResizeFilter::Box => "box",
            ResizeFilter::Bilinear => "bilinear",
            ResizeFilter::Bicubic => "bicubic",
            ResizeFilter::Lanczos3 => "lanczos3",
        }
    }
}

impl fmt::Display for ResizeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResizeFilter {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        ResizeFilter::ALL
            .into_iter()
            .find(|f| f.name() == text)
            .ok_or_else(|| ParseError::UnknownFilter {
                name: text.to_owned(),
                suggestion: closest(text, &ResizeFilter::ALL.map(ResizeFilter::name)),
            })
    }
}

/// Serde as the canonical text, so suite files and results read like the command line.
macro_rules! serde_as_text {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$ty, E> {
                        text.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

serde_as_text!(
    Degradation,
    "a degradation such as \"jpeg:50\" or \"disorganize\""
);
serde_as_text!(ResizeFilter, "a resize filter name such as \"bilinear\"");

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        text.parse::<Degradation>().unwrap_err().to_string()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!("jpeg:50".parse(), Ok(Degradation::Jpeg { quality: 50 }));
        assert_eq!(" blur : 7 ".parse(), Ok(Degradation::Blur { kernel: 7 }));
        assert_eq!(
            "noise:2.5".parse(),
            Ok(Degradation::Noise { variance: 2.5 })
        );
        assert_eq!("lowres:2".parse(), Ok(Degradation::lowres(2.0)));
        assert_eq!(
            "lowres:3.5:bicubic:nearest".parse(),
            Ok(Degradation::LowRes {
                ratio: 3.5,
                down: ResizeFilter::Bicubic,
                up: ResizeFilter::Nearest
            })
        );
        assert_eq!("disorganize".parse(), Ok(Degradation::Disorganize));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(
            Degradation::Noise { variance: 25.0 }.to_string(),
            "noise:25"
        );
        assert_eq!(Degradation::lowres(2.0).to_string(), "lowres:2");
        let custom = Degradation::LowRes {
            ratio: 2.0,
            down: ResizeFilter::Lanczos3,
            up: ResizeFilter::Bilinear,
        };
        assert_eq!(custom.to_string(), "lowres:2:lanczos3:bilinear");
    }

    #[test]
    fn serde_uses_the_text() {
        let d = Degradation::Jpeg { quality: 75 };
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"jpeg:75\"");
        let back: Degradation = serde_json::from_str("\"lowres:4:box:nearest\"").unwrap();
        assert_eq!(back.to_string(), "lowres:4:box:nearest");
        let e = serde_json::from_str::<Degradation>("\"jpg:75\"").unwrap_err();
        assert!(e.to_string().contains("did you mean 'jpeg'?"), "{e}");
        assert_eq!(
            serde_json::to_string(&ResizeFilter::Lanczos3).unwrap(),
            "\"lanczos3\""
        );
        let f: ResizeFilter = serde_json::from_str("\"bicubic\"").unwrap();
        assert_eq!(f, ResizeFilter::Bicubic);
    }

    #[test]
    fn empty_text() {
        assert_eq!(
            err("  "),
            "empty degradation: write one of jpeg:Q, blur:K, noise:V, lowres:R, lowres:R:DOWN:UP, disorganize"
        );
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        assert_eq!(
            err("jpg:50"),
            "unknown degradation 'jpg' (did you mean 'jpeg'?); allowed: jpeg:Q, blur:K, noise:V, \
             lowres:R, lowres:R:DOWN:UP, disorganize"
        );
        assert!(err("JPEG:50").contains("did you mean 'jpeg'?"));
        assert!(err("blurr:3").contains("did you mean 'blur'?"));
        assert!(err("low-res:2").contains("did you mean 'lowres'?"));
        assert!(err("disorganise").contains("did you mean 'disorganize'?"));
        let far = err("sharpen:2");
        assert!(!far.contains("did you mean"), "{far}");
        assert!(far.contains("allowed: jpeg:Q"), "{far}");
    }

    #[test]
    fn jpeg_quality_out_of_range() {
        let expected = "invalid jpeg level '0': write jpeg:Q with Q an integer from 1 to 100";
        assert_eq!(err("jpeg:0"), expected);
        assert!(err("jpeg:101").starts_with("invalid jpeg level '101'"));
        assert!(err("jpeg:300").starts_with("invalid jpeg level '300'"));
        assert!(err("jpeg:50.5").starts_with("invalid jpeg level '50.5'"));
        assert!(err("jpeg:-3").starts_with("invalid jpeg level '-3'"));
    }

    #[test]
    fn blur_kernel_even_or_non_positive() {
        let expected = format!(
            "invalid blur level '4': write blur:K with K an odd integer from 1 (identity) to {MAX_BLUR_KERNEL}"
        );
        assert_eq!(err("blur:4"), expected);
        assert!(err("blur:0").starts_with("invalid blur level '0'"));
        assert!(err("blur:-3").starts_with("invalid blur level '-3'"));
        assert!(err("blur:1001").starts_with("invalid blur level '1001'"));
        assert!(err("blur:3x3").starts_with("invalid blur level '3x3'"));
    }

    #[test]
    fn noise_variance_negative_or_nan() {
        let expected = "invalid noise level '-1': write noise:V with V a finite variance >= 0 on the 0..255 scale";
        assert_eq!(err("noise:-1"), expected);
        assert!(err("noise:NaN").starts_with("invalid noise level 'NaN'"));
        assert!(err("noise:inf").starts_with("invalid noise level 'inf'"));
        assert!(err("noise:lots").starts_with("invalid noise level 'lots'"));
    }

    #[test]
    fn lowres_ratio_below_one() {
        let expected = "invalid lowres level '0.5': write lowres:R or lowres:R:DOWN:UP with R a \
                        finite ratio >= 1 and DOWN, UP among nearest, box, bilinear, bicubic, lanczos3";
        assert_eq!(err("lowres:0.5"), expected);
        assert!(err("lowres:-2").starts_with("invalid lowres level '-2'"));
        assert!(err("lowres:NaN").starts_with("invalid lowres level 'NaN'"));
    }

    #[test]
    fn unknown_filter() {
        assert_eq!(
            err("lowres:2:bilinar:nearest"),
            "unknown resize filter 'bilinar' (did you mean 'bilinear'?); allowed: nearest, box, \
             bilinear, bicubic, lanczos3"
        );
        assert!(err("lowres:2:bilinear:bicubc").contains("did you mean 'bicubic'?"));
        // Jaro–Winkler 0.77, below the suggestion threshold: only the list helps.
        let far = err("lowres:2:bilinear:cubic");
        assert!(
            !far.contains("did you mean") && far.contains("bicubic"),
            "{far}"
        );
    }

    #[test]
    fn missing_parameter() {
        assert_eq!(
            err("jpeg"),
            "jpeg needs a parameter: write jpeg:Q with Q an integer from 1 to 100"
        );
        assert!(err("blur").starts_with("blur needs a parameter: write blur:K"));
        assert!(err("noise").starts_with("noise needs a parameter: write noise:V"));
        assert!(err("lowres").starts_with("lowres needs a parameter: write lowres:R"));
        // An empty parameter after the colon is a level that is not a number.
        assert!(err("jpeg:").starts_with("invalid jpeg level ''"));
    }

    #[test]
    fn extra_parameter() {
        assert_eq!(
            err("jpeg:50:2"),
            "'jpeg:50:2' gives jpeg 2 parameter(s): write jpeg:Q with Q an integer from 1 to 100"
        );
        assert_eq!(
            err("disorganize:3"),
            "'disorganize:3' gives disorganize 1 parameter(s): write disorganize, without a parameter"
        );
        assert!(
            err("lowres:2:bicubic").starts_with("'lowres:2:bicubic' gives lowres 2 parameter(s)")
        );
        assert!(err("noise:1:2").starts_with("'noise:1:2' gives noise 2 parameter(s)"));
    }

    #[test]
    fn validate_catches_constructed_values() {
        let bad = Degradation::Noise { variance: f64::NAN };
        assert!(bad.validate().is_err());
        assert!(Degradation::Blur { kernel: 2 }.validate().is_err());
        assert!(Degradation::Jpeg { quality: 0 }.validate().is_err());
        assert!(Degradation::lowres(0.99).validate().is_err());
        assert!(Degradation::Disorganize.validate().is_ok());
    }
}
