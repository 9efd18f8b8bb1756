//! Per-image result rows (`per_image.jsonl`): one row per (localizer, condition, image), the
//! unit of work that `--resume` skips and every aggregate is recomputed from.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Metric;
use crate::data::Kind;

/// Metrics and score of one localizer on one image under one condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub localizer: String,
    /// Condition key: `clean`, `disorganize`, `jpeg:50`, …
    pub condition: String,
    pub id: String,
    pub kind: Kind,
    pub generator: String,
    pub property: String,
    /// Segmentation metrics; only for fake (partial/entire) images.
    pub coss: Option<f64>,
    pub psnr: Option<f64>,
    pub ssim: Option<f64>,
    /// None when the binarised ground truth has a single class.
    pub pixel_auc: Option<f64>,
    pub f1: Option<f64>,
    pub iou: Option<f64>,
    /// Image-level fake score (the localizer's own, else `metrics::map_fake_score`).
    pub score: Option<f64>,
    /// Set when the localizer failed on this image; metrics are then absent.
    pub error: Option<String>,
    /// SHA-256 of the clean input pixels (fake, then real if any): the dataset fingerprint.
    pub input_sha256: String,
}

impl Row {
    /// The work-unit key.
    pub fn key(&self) -> (String, String, String) {
        (
            self.localizer.clone(),
            self.condition.clone(),
            self.id.clone(),
        )
    }

    /// A segmentation metric's value (None for image-level metrics, which need many rows).
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Coss => self.coss,
            Metric::Psnr => self.psnr,
            Metric::Ssim => self.ssim,
            Metric::PixelAuc => self.pixel_auc,
            Metric::F1 => self.f1,
            Metric::Iou => self.iou,
            Metric::Acc | Metric::Auc | Metric::Fpr => None,
        }
    }
}

/// Appends rows as they are computed, so an interrupted run keeps them.
pub struct RowLog {
    path: PathBuf,
    file: File,
}

impl RowLog {
    /// Opens `path` for appending, returning the rows already there. A torn last line (from a
    /// crash mid-write) is dropped and truncated away.
    pub fn open(path: &Path) -> std::io::Result<(RowLog, Vec<Row>)> {
        let mut rows = Vec::new();
        let mut good_len = 0u64;
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            for line in reader.split(b'\n') {
                let line = line?;
                match serde_json::from_slice::<Row>(&line) {
                    Ok(row) => {
                        rows.push(row);
                        good_len += line.len() as u64 + 1;
                    }
                    Err(_) => break,
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        file.set_len(good_len)?;
        Ok((
            RowLog {
                path: path.to_path_buf(),
                file,
            },
            rows,
        ))
    }

    /// Appends rows and flushes them to disk.
    pub fn append(&mut self, rows: &[Row]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut buf, row).expect("rows serialize");
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }

    /// Path of the log.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The rows of an existing log that a resumed run keeps, and what it dropped.
#[derive(Debug, Default, PartialEq)]
pub struct ResumeRows {
    /// Successful rows, one per work unit (the first logged), in log order.
    pub kept: Vec<Row>,
    /// Units whose logged rows are all failures: they are computed again, so a transient fault
    /// (a plugin timeout, a killed process) does not stay in the results.
    pub retried: usize,
    /// Rows dropped because an earlier row had the same unit (a crash between appending and
    /// the final rewrite, or a log concatenated by hand).
    pub duplicates: usize,
}

/// Prepares logged rows for `--resume`: one successful row per unit, failed units retried.
pub fn resume_rows(rows: Vec<Row>) -> ResumeRows {
    let mut seen = HashSet::new();
    let mut failed = HashSet::new();
    let mut out = ResumeRows::default();
    for row in rows {
        if row.error.is_some() {
            failed.insert(row.key());
        } else if seen.insert(row.key()) {
            out.kept.push(row);
        } else {
            out.duplicates += 1;
        }
    }
    out.retried = failed.difference(&seen).count();
    out
}

/// Keys of the rows already computed.
pub fn done_keys(rows: &[Row]) -> HashSet<(String, String, String)> {
    rows.iter().map(Row::key).collect()
}

/// Serialises rows as JSON lines.
pub fn to_jsonl(rows: &[Row]) -> Vec<u8> {
    let mut buf = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut buf, row).expect("rows serialize");
        buf.push(b'\n');
    }
    buf
}

/// Fingerprint of the evaluated data: SHA-256 over (id, input hash) of every image, in id order.
pub fn dataset_fingerprint(rows: &[Row]) -> String {
    use sha2::Digest;
    let unique: std::collections::BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.input_sha256.as_str()))
        .collect();
    let mut hasher = sha2::Sha256::new();
    for (id, hash) in unique {
        hasher.update(id.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.as_bytes());
        hasher.update(b"\n");
    }
    crate::data::seeds::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(localizer: &str, id: &str, error: Option<&str>, coss: f64) -> Row {
        Row {
            localizer: localizer.into(),
            condition: "clean".into(),
            id: id.into(),
            kind: Kind::Partial,
            generator: "g".into(),
            property: "p".into(),
            coss: error.is_none().then_some(coss),
            psnr: None,
            ssim: None,
            pixel_auc: None,
            f1: None,
            iou: None,
            score: None,
            error: error.map(String::from),
            input_sha256: "h".into(),
        }
    }

    #[test]
    fn resume_keeps_the_first_success_and_retries_failed_units() {
        let rows = vec![
            row("a", "1", None, 0.1),
            row("a", "2", Some("timeout"), 0.0),
            row("a", "1", None, 0.9), // a duplicate of the first
            row("b", "1", Some("crash"), 0.0),
            row("b", "1", None, 0.5), // a retry that succeeded
            row("b", "2", Some("x"), 0.0),
            row("b", "2", Some("x"), 0.0), // one unit, failed twice
        ];
        let r = resume_rows(rows);
        let kept: Vec<(String, Option<f64>)> = r
            .kept
            .iter()
            .map(|r| (format!("{}{}", r.localizer, r.id), r.coss))
            .collect();
        assert_eq!(
            kept,
            vec![("a1".to_string(), Some(0.1)), ("b1".to_string(), Some(0.5))]
        );
        assert_eq!((r.retried, r.duplicates), (2, 1));
    }
}
