//! The dataset manifest (docs/data.md): a CSV with header
//! `id,split,generator,property,kind,fake,real,mask`, paths relative to the manifest file.
//!
//! `fake` is always the image a localizer sees (for `kind = real` it is the real photo);
//! `real` is the source image of a `partial` manipulation; `mask` optionally overrides the
//! eq. 2 ground truth. Every row is checked before a run starts (files exist, headers decode,
//! sizes agree, ids are unique) and all problems are reported with their line numbers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::data::{Kind, Split};

use super::DataError;

/// The manifest columns, in the order `harness synth` writes them.
pub const COLUMNS: [&str; 8] = [
    "id",
    "split",
    "generator",
    "property",
    "kind",
    "fake",
    "real",
    "mask",
];

/// The header line of a manifest as `harness synth` writes it.
pub fn header_line() -> String {
    format!("{}\n", COLUMNS.join(","))
}

/// Appends the manifest row of an exported sample: `fake` is the image a localizer sees (the
/// real image itself for `kind = real`), `real` the source of a partial manipulation; `mask`
/// stays empty, since the harness derives ground truth from the pair.
pub fn push_row(
    csv: &mut String,
    sample: (&str, Split, &str, &str, Kind),
    fake_path: &str,
    real_path: &str,
) {
    let (id, split, generator, property, kind) = sample;
    let (fake, real) = match kind {
        Kind::Real => (real_path, ""),
        Kind::Partial => (fake_path, real_path),
        Kind::Entire => (fake_path, ""),
    };
    csv.push_str(&format!(
        "{id},{split},{generator},{property},{kind},{fake},{real},\n"
    ));
}

/// One validated manifest row.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestEntry {
    /// 1-based line number in the manifest (the header is line 1).
    pub line: usize,
    pub id: String,
    pub split: Split,
    pub generator: String,
    pub property: String,
    pub kind: Kind,
    /// The image a localizer sees.
    pub fake: PathBuf,
    /// Source image of a partial manipulation.
    pub real: Option<PathBuf>,
    /// Precomputed ground truth overriding eq. 2.
    pub mask: Option<PathBuf>,
    /// Width and height of `fake`.
    pub size: (u32, u32),
}

/// A validated manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub path: PathBuf,
    pub entries: Vec<ManifestEntry>,
}

/// How many problems a manifest error lists before summarising the rest.
const MAX_LISTED_PROBLEMS: usize = 20;

impl Manifest {
    /// Reads and validates a manifest; a broken manifest is one error listing every problem.
    pub fn load(path: &Path) -> Result<Manifest, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing {
                path: path.to_path_buf(),
            },
            _ => DataError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut problems = Vec::new();
        let mut entries = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| DataError::Manifest {
                path: path.to_path_buf(),
                problems: vec![format!("line 1: {e}")],
            })?
            .clone();
        let mut column = HashMap::new();
        for name in COLUMNS {
            match header.iter().position(|h| h == name) {
                Some(i) => {
                    column.insert(name, i);
                }
                None => problems.push(format!(
                    "line 1: missing column '{name}'; the header must name {}",
                    COLUMNS.join(",")
                )),
            }
        }
        if !problems.is_empty() {
            return Err(DataError::Manifest {
                path: path.to_path_buf(),
                problems,
            });
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                    problems.push(format!("line {line}: {e}"));
                    continue;
                }
            };
            let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
            let field = |name: &str| record.get(column[name]).unwrap_or("").to_string();
            match parse_row(line, &field, base, &mut seen) {
                Ok(entry) => entries.push(entry),
                Err(mut row_problems) => problems.append(&mut row_problems),
            }
        }
        if entries.is_empty() && problems.is_empty() {
            problems.push("the manifest has no rows".into());
        }
        if !problems.is_empty() {
            if problems.len() > MAX_LISTED_PROBLEMS {
                let more = problems.len() - MAX_LISTED_PROBLEMS;
                problems.truncate(MAX_LISTED_PROBLEMS);
                problems.push(format!("… and {more} more problems"));
            }
            return Err(DataError::Manifest {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            entries,
        })
    }
}

fn parse_row(
    line: usize,
    field: &dyn Fn(&str) -> String,
    base: &Path,
    seen: &mut HashMap<String, usize>,
) -> Result<ManifestEntry, Vec<String>> {
    let mut problems = Vec::new();
    let id = field("id");
    if id.is_empty() {
        problems.push(format!("line {line}: empty id"));
    } else if let Some(first) = seen.insert(id.clone(), line) {
        problems.push(format!(
            "line {line}: duplicate id '{id}' (first used on line {first})"
        ));
    }
    let split = field("split").parse::<Split>().map_err(|_| {
        format!(
            "line {line}: unknown split '{}'; use train, val or test",
            field("split")
        )
    });
    let kind = field("kind").parse::<Kind>().map_err(|_| {
        format!(
            "line {line}: unknown kind '{}'; use real, partial or entire",
            field("kind")
        )
    });
    let file = |column: &str| -> Option<PathBuf> {
        let value = field(column);
        (!value.is_empty()).then(|| base.join(value))
    };
    let fake = file("fake");
    let real = file("real");
    let mask = file("mask");
    let fake_size = match &fake {
        Some(p) => image_size(line, "fake", p, &mut problems),
        None => {
            problems.push(format!(
                "line {line}: empty 'fake' column (the image to localize)"
            ));
            None
        }
    };
    let real_size = real
        .as_deref()
        .and_then(|p| image_size(line, "real", p, &mut problems));
    let mask_size = mask
        .as_deref()
        .and_then(|p| image_size(line, "mask", p, &mut problems));
    for (column, size) in [("real", real_size), ("mask", mask_size)] {
        if let (Some(a), Some(b)) = (fake_size, size) {
            if a != b {
                problems.push(format!(
                    "line {line}: {column} image is {}×{} but the fake is {}×{}; they must match",
                    b.0, b.1, a.0, a.1
                ));
            }
        }
    }
    if let Ok(Kind::Partial) = kind {
        if real.is_none() && mask.is_none() {
            problems.push(format!(
                "line {line}: a partial manipulation needs its 'real' source image (or a 'mask')"
            ));
        }
    }
    let split = split.map_err(|p| problems.push(p)).ok();
    let kind = kind.map_err(|p| problems.push(p)).ok();
    match (split, kind, fake, fake_size) {
        (Some(split), Some(kind), Some(fake), Some(size)) if problems.is_empty() => {
            Ok(ManifestEntry {
                line,
                id,
                split,
                generator: field("generator"),
                property: field("property"),
                kind,
                fake,
                real,
                mask,
                size,
            })
        }
        _ => Err(problems),
    }
}

/// Width and height from the image header; a missing, unreadable, unsupported or oversized
/// file is a problem of its line.
fn image_size(
    line: usize,
    column: &str,
    path: &Path,
    problems: &mut Vec<String>,
) -> Option<(u32, u32)> {
    let size = match column {
        "mask" => super::image_io::map_dimensions(path),
        _ => super::image_io::image_dimensions(path),
    };
    match size {
        Ok(size) => Some(size),
        Err(DataError::Missing { .. }) => {
            problems.push(format!(
                "line {line}: {column} file {} does not exist",
                path.display()
            ));
            None
        }
        Err(DataError::Unreadable { path, reason }) => {
            problems.push(format!(
                "line {line}: {column} file {} is unreadable: {reason}",
                path.display()
            ));
            None
        }
        Err(DataError::Unsupported { path, reason }) => {
            problems.push(format!(
                "line {line}: {column} file {} cannot be used: {reason}",
                path.display()
            ));
            None
        }
        Err(e) => {
            problems.push(format!("line {line}: {column} file: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Any CSV-like text: a manifest or an error naming the manifest, never a panic, and
        /// never more listed problems than the cap (plus its summary line).
        #[test]
        fn arbitrary_manifests_never_panic(
            body in "[a-z0-9_,.\"/\n]{0,300}",
            header in prop_oneof![
                Just("id,split,generator,property,kind,fake,real,mask\n".to_string()),
                Just(String::new()),
                "[a-z,]{0,40}\n",
            ],
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.csv");
            std::fs::write(&path, format!("{header}{body}")).unwrap();
            match Manifest::load(&path) {
                Ok(m) => prop_assert!(!m.entries.is_empty()),
                Err(DataError::Manifest { path: p, problems }) => {
                    prop_assert_eq!(p, path);
                    prop_assert!(problems.len() <= MAX_LISTED_PROBLEMS + 1);
                }
                Err(e) => prop_assert!(e.to_string().contains("m.csv"), "{}", e),
            }
        }
    }
}
