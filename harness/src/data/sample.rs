//! The vocabulary of samples shared by every data source: splits, kinds and a loaded sample.

use std::fmt;
use std::str::FromStr;

use image::RgbImage;
use metrics::Map;

/// A name (split, kind) that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; valid values: {valid}")]
pub struct UnknownName {
    /// What was named.
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The valid names, comma separated.
    pub valid: String,
}

/// A data-set split; identities never cross splits.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training identities.
    Train,
    /// Validation identities (checkpoint selection).
    Val,
    /// Test identities.
    Test,
}

impl Split {
    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The manifest spelling: `train`, `val` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Split::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "split",
                name: s.to_string(),
                valid: "train, val, test".into(),
            })
    }
}

/// What a sample is: a real photo, a partial manipulation, or a full synthesis.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An unmanipulated photo (ground truth all 0).
    Real,
    /// A property edit of a real photo (ground truth from the real/fake difference).
    Partial,
    /// A fully synthesised face (ground truth all 1).
    Entire,
}

impl Kind {
    /// The manifest spelling: `real`, `partial` or `entire`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Real => "real",
            Kind::Partial => "partial",
            Kind::Entire => "entire",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        [Kind::Real, Kind::Partial, Kind::Entire]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "kind",
                name: s.to_string(),
                valid: "real, partial, entire".into(),
            })
    }
}

/// A loaded image with what its ground truth is derived from.
pub struct LoadedImage {
    /// The image a localizer sees (before degradation).
    pub fake: RgbImage,
    /// Source of a partial manipulation.
    pub real: Option<RgbImage>,
    /// Precomputed ground truth (manifest `mask`), overriding eq. 2.
    pub mask: Option<Map>,
}
