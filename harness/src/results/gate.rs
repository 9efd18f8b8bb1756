//! `harness gate`: compares a run against a committed baseline and fails (exit 3) on a metric
//! regression, so CI can tell a regression from a crash (1) or a usage error (2).
//!
//! A baseline is a run's aggregates plus its per-image rows (so `--paired` can test the
//! per-image differences), tied to the suite configuration and data it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metrics::Bootstrap;
use serde::{Deserialize, Serialize};

use crate::results::{Aggregate, Metric, Results, Row, ALL};

/// Version of the baseline file layout.
pub const BASELINE_SCHEMA_VERSION: u32 = 1;

/// A committed baseline (`results/baselines/<suite>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub baseline_schema_version: u32,
    pub suite_name: String,
    pub config_hash: String,
    pub dataset_fingerprint: String,
    /// Harness version and commit that produced it.
    pub harness_version: String,
    pub git_commit: String,
    pub aggregates: Vec<Aggregate>,
    pub rows: Vec<Row>,
}

/// Problems that make a comparison meaningless (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },
    #[error("baseline {} does not match the run: {message}", path.display())]
    Mismatch { path: PathBuf, message: String },
}

/// How the run is compared with the baseline.
#[derive(Debug, Clone, Copy)]
pub struct GateOptions {
    /// Allowed drop, as a fraction of the baseline mean (0.01 = 1 %).
    pub tolerance: f64,
    /// Fail only when the bootstrap CI of the per-image paired difference lies below zero and
    /// the mean difference is larger than the minimum effect.
    pub paired: bool,
    /// `--paired`: differences smaller than this (in the metric's unit) are never regressions
    /// (floating-point noise between machines and builds is ~1e-6).
    pub min_effect: f64,
    /// `--paired`: nor are differences smaller than this fraction of the baseline mean.
    pub min_effect_rel: f64,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            tolerance: 0.01,
            paired: false,
            min_effect: DEFAULT_MIN_EFFECT,
            min_effect_rel: DEFAULT_MIN_EFFECT_REL,
        }
    }
}

/// Default `--min-effect`: a COSS or SSIM change of 0.001 is far below what a forensic
/// comparison reports (the paper's tables have two decimals) and far above float noise.
pub const DEFAULT_MIN_EFFECT: f64 = 1e-3;
/// Default `--min-effect-rel`: 0.1 % of the baseline mean (scales the floor for PSNR in dB).
pub const DEFAULT_MIN_EFFECT_REL: f64 = 1e-3;

/// A work unit that failed in the run but not in the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFailure {
    pub localizer: String,
    pub condition: String,
    pub id: String,
    pub error: String,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub localizer: String,
    pub condition: String,
    pub category: String,
    pub metric: Metric,
    pub baseline: f64,
    pub run: Option<f64>,
    /// Why it failed.
    pub reason: String,
}

/// Result of a gate.
#[derive(Debug)]
pub struct GateReport {
    pub checked: usize,
    pub regressions: Vec<Regression>,
    /// Units that failed in the run and not in the baseline (each fails the gate).
    pub new_failures: Vec<NewFailure>,
}

impl GateReport {
    /// True when the gate passes.
    pub fn passed(&self) -> bool {
        self.regressions.is_empty() && self.new_failures.is_empty()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, GateError> {
    let bytes = std::fs::read(path).map_err(|e| GateError::Input {
        path: path.to_path_buf(),
        message: format!("cannot read the {what}: {e}"),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| GateError::Input {
        path: path.to_path_buf(),
        message: format!("not a valid {what} ({e})"),
    })
}

/// The run directory's `results.json` and `per_image.jsonl`.
pub fn load_run(run: &Path) -> Result<(Results, Vec<Row>), GateError> {
    let dir = if run.is_file() {
        run.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        run.to_path_buf()
    };
    let results: Results = read_json(&dir.join("results.json"), "results.json")?;
    let rows_path = dir.join("per_image.jsonl");
    let text = std::fs::read_to_string(&rows_path).map_err(|e| GateError::Input {
        path: rows_path.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let rows = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| GateError::Input {
                path: rows_path.clone(),
                message: format!("line {}: {e}", i + 1),
            })
        })
        .collect::<Result<Vec<Row>, _>>()?;
    Ok((results, rows))
}

/// Makes a baseline from a run.
pub fn baseline_from(results: &Results, rows: Vec<Row>) -> Baseline {
    Baseline {
        baseline_schema_version: BASELINE_SCHEMA_VERSION,
        suite_name: results.suite_name.clone(),
        config_hash: results.config_hash.clone(),
        dataset_fingerprint: results.dataset_fingerprint.clone(),
        harness_version: results.harness_version.clone(),
        git_commit: results.git_commit.clone(),
        aggregates: results.aggregates.clone(),
        rows,
    }
}

/// Checks that `--update` may write the run's baseline to `path`: refused when the file holds
/// the baseline of another suite (a wrong `--baseline` would silently replace it). Read
/// leniently, so that an old or partly broken baseline of the same suite can be refreshed.
pub fn check_update_target(path: &Path, results: &Results) -> Result<(), GateError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(());
    };
    let suite = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("suite_name")?.as_str().map(str::to_string));
    match suite {
        Some(suite) if suite != results.suite_name => Err(GateError::Input {
            path: path.to_path_buf(),
            message: format!(
                "it is the baseline of suite '{suite}', not of the run's suite '{}'; refusing to \
                 overwrite it: write the baseline of '{}' to its own file",
                results.suite_name, results.suite_name
            ),
        }),
        _ => Ok(()),
    }
}

/// Reads and checks a baseline file.
pub fn load_baseline(path: &Path) -> Result<Baseline, GateError> {
    let baseline: Baseline = read_json(path, "baseline")?;
    if baseline.baseline_schema_version != BASELINE_SCHEMA_VERSION {
        return Err(GateError::Input {
            path: path.to_path_buf(),
            message: format!(
                "baseline schema version {} is not {BASELINE_SCHEMA_VERSION}; refresh the baseline",
                baseline.baseline_schema_version
            ),
        });
    }
    if baseline.aggregates.is_empty() {
        return Err(GateError::Input {
            path: path.to_path_buf(),
            message: "the baseline has no aggregates".into(),
        });
    }
    Ok(baseline)
}

/// Compares a run with a baseline.
pub fn gate(
    baseline_path: &Path,
    baseline: &Baseline,
    results: &Results,
    rows: &[Row],
    options: GateOptions,
) -> Result<GateReport, GateError> {
    let mismatch = |message: String| GateError::Mismatch {
        path: baseline_path.to_path_buf(),
        message,
    };
    if baseline.suite_name != results.suite_name {
        return Err(mismatch(format!(
            "it is the baseline of suite '{}' and the run is of suite '{}': gate the run against \
             a baseline of '{}' (never --update another suite's baseline)",
            baseline.suite_name, results.suite_name, results.suite_name
        )));
    }
    if baseline.config_hash != results.config_hash {
        return Err(mismatch(format!(
            "suite configuration {} differs from the run's {}; if the suite was changed on \
             purpose, refresh the baseline with `harness gate RUN --baseline {} --update`",
            baseline.config_hash,
            results.config_hash,
            baseline_path.display()
        )));
    }
    if baseline.dataset_fingerprint != results.dataset_fingerprint {
        return Err(mismatch(format!(
            "the run evaluated different images (dataset fingerprint differs); if the data \
             changed on purpose, refresh the baseline with `harness gate RUN --baseline {} --update`",
            baseline_path.display()
        )));
    }
    if options.paired && baseline.rows.is_empty() {
        return Err(GateError::Input {
            path: baseline_path.to_path_buf(),
            message: "the baseline holds no per-image rows, so --paired has nothing to compare; \
                      make the baseline from a run with `--update`, or gate without --paired"
                .into(),
        });
    }
    let run_aggregates: BTreeMap<(&str, &str, &str, Metric), &Aggregate> = results
        .aggregates
        .iter()
        .map(|a| {
            (
                (
                    a.localizer.as_str(),
                    a.condition.as_str(),
                    a.category.as_str(),
                    a.metric,
                ),
                a,
            )
        })
        .collect();
    let mut regressions = Vec::new();
    for base in &baseline.aggregates {
        let key = (
            base.localizer.as_str(),
            base.condition.as_str(),
            base.category.as_str(),
            base.metric,
        );
        let regression = |run: Option<f64>, reason: String| Regression {
            localizer: base.localizer.clone(),
            condition: base.condition.clone(),
            category: base.category.clone(),
            metric: base.metric,
            baseline: base.summary.mean,
            run,
            reason,
        };
        let Some(run) = run_aggregates.get(&key) else {
            regressions.push(regression(None, "missing from the run".into()));
            continue;
        };
        if run.summary.n != base.summary.n {
            regressions.push(regression(
                Some(run.summary.mean),
                format!(
                    "computed over {} images, the baseline over {} (failed or missing units)",
                    run.summary.n, base.summary.n
                ),
            ));
            continue;
        }
        let (b, r) = (base.summary.mean, run.summary.mean);
        // How much worse the run is, in the metric's own direction.
        let worse_by = if base.metric.higher_is_better() {
            b - r
        } else {
            r - b
        };
        let failed = if options.paired && !base.metric.is_image_level() {
            paired_regression(baseline, rows, base, &options)
        } else {
            (worse_by > options.tolerance * b.abs()).then(|| {
                format!(
                    "worse by {worse_by:.4} (more than {:.1} % of the baseline)",
                    options.tolerance * 100.0
                )
            })
        };
        if let Some(reason) = failed {
            regressions.push(regression(Some(r), reason));
        }
    }
    let failed_before: std::collections::HashSet<(String, String, String)> = baseline
        .rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(Row::key)
        .collect();
    let new_failures = rows
        .iter()
        .filter(|r| r.error.is_some() && !failed_before.contains(&r.key()))
        .map(|r| NewFailure {
            localizer: r.localizer.clone(),
            condition: r.condition.clone(),
            id: r.id.clone(),
            error: r.error.clone().unwrap_or_default(),
        })
        .collect();
    Ok(GateReport {
        checked: baseline.aggregates.len(),
        regressions,
        new_failures,
    })
}

/// With `--paired`: the per-image differences (run − baseline) of one aggregate; a regression
/// when their bootstrap CI lies entirely on the worse side of zero and their mean is larger
/// than the minimum effect.
fn paired_regression(
    baseline: &Baseline,
    rows: &[Row],
    base: &Aggregate,
    options: &GateOptions,
) -> Option<String> {
    let in_category = |r: &Row| {
        base.category == ALL
            || base.category == format!("{}/*", r.generator)
            || base.category == format!("{}/{}", r.generator, r.property)
    };
    let select = |rows: &[Row]| -> BTreeMap<String, f64> {
        rows.iter()
            .filter(|r| {
                r.localizer == base.localizer && r.condition == base.condition && in_category(r)
            })
            .filter_map(|r| r.metric(base.metric).map(|v| (r.id.clone(), v)))
            .collect()
    };
    let before = select(&baseline.rows);
    let after = select(rows);
    let (run, base_values): (Vec<f64>, Vec<f64>) = before
        .iter()
        .filter_map(|(id, b)| after.get(id).map(|r| (*r, *b)))
        .unzip();
    if run.len() < before.len() {
        return Some(format!(
            "{} of {} images missing from the run",
            before.len() - run.len(),
            before.len()
        ));
    }
    let bootstrap = Bootstrap {
        seed: 0,
        ..Bootstrap::default()
    };
    let diff = bootstrap.paired_difference(&run, &base_values).ok()?;
    // In the metric's direction: a positive `worse` is a drop of a higher-is-better metric.
    let sign = if base.metric.higher_is_better() {
        1.0
    } else {
        -1.0
    };
    let worse = -sign * diff.mean;
    let floor = options
        .min_effect
        .max(options.min_effect_rel * base.summary.mean.abs());
    let ci_on_worse_side = if sign > 0.0 {
        diff.ci_high < 0.0
    } else {
        diff.ci_low > 0.0
    };
    (ci_on_worse_side && worse > floor).then(|| {
        format!(
            "paired difference {:.4} [{:.4}, {:.4}] lies below zero and exceeds the minimum \
             effect {floor:.4}",
            diff.mean, diff.ci_low, diff.ci_high
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Condition;
    use crate::results::testing::{results, row, suite};

    /// Clean rows: fakes scoring 0.9 and 0.8, reals scoring `reals`.
    fn rows(reals: [f64; 3]) -> Vec<Row> {
        let suite = suite();
        let fakes = [0.9, 0.8].map(|s| (true, s));
        fakes
            .into_iter()
            .chain(reals.map(|s| (false, s)))
            .enumerate()
            .map(|(i, (fake, s))| row(&suite, Condition::CLEAN, &format!("img-{i}"), fake, s))
            .collect()
    }

    /// The gate of a run of `run_rows` against a baseline made from `base_rows`.
    fn gate_rows(
        base_rows: Vec<Row>,
        run_rows: Vec<Row>,
        keep: impl Fn(&Aggregate) -> bool,
    ) -> GateReport {
        let suite = suite();
        let mut baseline = baseline_from(&results(&suite, base_rows.clone()), base_rows);
        baseline.aggregates.retain(keep);
        let run = results(&suite, run_rows.clone());
        gate(
            Path::new("b.json"),
            &baseline,
            &run,
            &run_rows,
            GateOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_higher_fpr_is_a_regression_and_a_lower_one_is_not() {
        // FPR 1/3 (0.5 is called fake) against 2/3 (0.5 and 0.7).
        let (low, high) = (rows([0.2, 0.1, 0.5]), rows([0.2, 0.7, 0.5]));
        let worse = gate_rows(low.clone(), high.clone(), |_| true);
        assert!(
            worse.regressions.iter().any(|r| r.metric == Metric::Fpr),
            "{:?}",
            worse.regressions
        );
        let better = gate_rows(high, low, |_| true);
        assert!(better.passed(), "{:?}", better.regressions);
    }

    #[test]
    fn a_baseline_without_fpr_gates_a_run_with_it() {
        let base = rows([0.2, 0.7, 0.5]);
        let report = gate_rows(base.clone(), base, |a| a.metric != Metric::Fpr);
        assert!(report.passed(), "{:?}", report.regressions);
        assert!(report.checked > 0);
    }
}
