//! The error that stops a run (exit code 1). Rows already computed stay on disk, so
//! `--resume` continues where it stopped.

use std::path::PathBuf;

use crate::data::DatasetError;

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    /// A sharded run found a training step without a finished run (a usage error: exit 2).
    #[error("{0}")]
    NotTrained(String),
    /// Shards that cannot be merged (a usage error: exit 2).
    #[error("{0}")]
    Merge(String),
}
