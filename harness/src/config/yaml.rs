//! What suites and training configs share: YAML with `file:line:column` errors and
//! did-you-mean hints, file headers, and the short configuration hash that names output
//! directories.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_saphyr::Spanned;

use suggest::did_you_mean;

/// A configuration problem (suite or training config), located in the file when possible.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column.
    pub location: Option<(u64, u64)>,
    pub message: String,
}

/// The problems found while validating one file. Each independent part (a section, a
/// localizer entry, a sweep) reports its first problem and validation goes on, so one pass
/// names everything to fix.
#[derive(Default)]
pub(crate) struct Problems(Vec<ConfigError>);

impl Problems {
    pub(crate) fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }

    /// The value, or `None` with the error kept.
    pub(crate) fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// One error for all problems, in file order: the first leads (its location is the
    /// error's) and each further one follows on its own line with its own `file:line:column`.
    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        let mut errors = self.0;
        // Problems without a location (a missing key) come last; equal keys keep their order.
        errors.sort_by_key(|e| e.location.map_or((1, 0, 0), |(l, c)| (0, l, c)));
        let mut errors = errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for other in errors {
            first.message.push_str(&format!("\n{other}"));
        }
        Err(first)
    }
}

pub(crate) fn err_at<T>(
    path: &Path,
    spanned: &Spanned<T>,
    message: impl Into<String>,
) -> ConfigError {
    ConfigError {
        path: path.to_path_buf(),
        location: Some((spanned.referenced.line(), spanned.referenced.column())),
        message: message.into(),
    }
}

/// Adds a did-you-mean to serde's "unknown field/variant `x`, expected one of a, b" messages
/// and drops the parser's own "line L column C:" prefix (the location is printed separately).
pub(crate) fn with_suggestion(message: &str) -> String {
    let message = message.trim_start_matches("error: ");
    let message = match message.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") && prefix.contains(" column ") => rest,
        _ => message,
    };
    let Some(start) = message
        .find("unknown field `")
        .or_else(|| message.find("unknown variant `"))
    else {
        return message.to_string();
    };
    let rest = &message[start..];
    let word = rest.split('`').nth(1).unwrap_or("");
    let expected: Vec<&str> = rest
        .split_once("expected ")
        .map(|(_, e)| {
            e.trim_start_matches("one of ")
                .split(", ")
                .map(|c| c.trim().trim_matches('`'))
                .collect()
        })
        .unwrap_or_default();
    format!("{message}{}", did_you_mean(word, expected.iter().copied()))
}

/// The text of a configuration file; `what` names the kind of file in the error.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        location: None,
        message: format!("cannot read the {what}: {e}"),
    })
}

/// Deserializes YAML with errors at `file:line:column` and a "did you mean" for unknown keys.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConfigError> {
    serde_saphyr::from_str(text).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        location: e.location().map(|l| (l.line(), l.column())),
        message: with_suggestion(&e.to_string()),
    })
}

/// First 8 hex digits of the SHA-256 of `value`'s canonical JSON: names run and training
/// directories by configuration.
pub(crate) fn short_hash<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("configurations serialize");
    sha256_hex(&json)[..8].to_string()
}

/// The SHA-256 of `bytes` in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a file's `version` and `name` (which names a directory), for suites and training
/// configs alike; `what` is the kind of file in messages.
pub(crate) fn check_header(
    path: &Path,
    what: &str,
    version: &Spanned<u32>,
    expected: u32,
    name: &Spanned<String>,
) -> Result<String, ConfigError> {
    if version.value != expected {
        return Err(err_at(
            path,
            version,
            format!(
                "unsupported {what} version {}; this harness reads version {expected}",
                version.value
            ),
        ));
    }
    // Bounded: the name becomes a directory name (255 bytes at most on common file systems).
    let valid = !name.value.is_empty()
        && name.value.len() <= 100
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(err_at(
            path,
            name,
            "name must be 1 to 100 letters, digits, '_' or '-' (it names the output directory)",
        ));
    }
    Ok(name.value.clone())
}

/// Asserts that `error` lists exactly `expected`, one `(location prefix, message part)` per
/// line, in order: the shape [`Problems::finish`] gives.
#[cfg(test)]
pub(crate) fn assert_problems(error: &str, expected: &[(&str, &str)]) {
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{error}");
    for (line, (location, message)) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(location) && line.contains(message),
            "{line}\n{error}"
        );
    }
}
