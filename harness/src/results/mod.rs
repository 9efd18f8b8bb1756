//! `results.json` (docs/results.md): the single source of truth that reports, plots and the gate read.
//! Every aggregate is recomputed from the per-image rows.

use std::collections::BTreeMap;

use metrics::{Bootstrap, Summary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod gate;
pub mod maps;
mod metric;
pub mod rows;
#[cfg(test)]
pub(crate) mod testing;
pub mod timing;

pub use metric::Metric;
pub use rows::{dataset_fingerprint, done_keys, resume_rows, to_jsonl, ResumeRows, Row, RowLog};
pub use timing::Timing;

use crate::config::{Condition, LocalizerConfig, Suite};
use crate::data::Kind;

/// Version of the `results.json` layout; bumped on incompatible changes.
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

/// Category of aggregates over all fake images.
pub const ALL: &str = "all";

/// One aggregate: a metric's mean with n, std and a bootstrap CI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub localizer: String,
    pub condition: String,
    /// `clean`, `disorganize`, `jpeg`, …
    pub test: String,
    pub level: Option<f64>,
    /// `all`, `generator/*` (one generator, every property) or `generator/property`.
    pub category: String,
    pub metric: Metric,
    #[serde(flatten)]
    pub summary: Summary,
}

/// γ of one metric at one condition: `100 · mean(condition) / mean(clean)` over the same images,
/// with a paired bootstrap CI; the same fields as an [`Aggregate`], `summary.mean` being γ.
pub type Gamma = Aggregate;

/// The difference `localizer − reference` of one metric under one condition, paired over the
/// fake images both scored, with a paired bootstrap CI (docs/design.md §4: paired when two localizers
/// are compared).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub localizer: String,
    pub reference: String,
    pub condition: String,
    pub metric: Metric,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A work unit that failed (its localizer's error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub localizer: String,
    pub condition: String,
    pub id: String,
    pub error: String,
}

/// A localizer as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalizerRecord {
    pub name: String,
    pub kind: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// SHA-256 of the weights file, for localizers that load one.
    pub weights_sha256: Option<String>,
}

/// Where and how the run happened; excluded from determinism comparisons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub os: String,
    pub arch: String,
    pub threads: usize,
    pub started_utc: String,
    pub finished_utc: String,
    pub wall_seconds: f64,
    pub resumed: bool,
    /// What `--resume` found in the log (absent when the run was not resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeCounts>,
}

/// Work units a resumed run took over from the log, computed again, and dropped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResumeCounts {
    /// Successful units kept.
    pub kept: usize,
    /// Failed units computed again.
    pub retried: usize,
    /// Duplicate rows dropped.
    pub duplicates: usize,
}

/// The whole `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    pub harness_version: String,
    pub git_commit: String,
    pub suite_name: String,
    pub config_hash: String,
    /// The resolved suite.
    pub suite: serde_json::Value,
    pub ground_truth_policy: String,
    pub dataset: serde_json::Value,
    /// SHA-256 over the ids and pixels of every evaluated image, in id order.
    pub dataset_fingerprint: String,
    pub localizers: Vec<LocalizerRecord>,
    pub aggregates: Vec<Aggregate>,
    pub gamma: Vec<Gamma>,
    /// Paired differences between localizers on the same images.
    pub comparisons: Vec<Comparison>,
    pub failures: Vec<Failure>,
    pub environment: Environment,
    /// Where the time went; like `environment`, excluded from determinism comparisons. Absent
    /// in runs made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    /// The shard this run evaluated (`harness run --shard`); its aggregates cover only its
    /// own images. Absent for whole runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRecord>,
    /// The shard run directories a merged run was made from (`harness merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<Vec<String>>,
}

/// What a shard's `results.json` records so that `harness merge` can check the shards fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: usize,
    pub count: usize,
    /// Work units (rows) the shard evaluated.
    pub units: usize,
    /// Fingerprint of the whole selection every shard draws from (see
    /// `Dataset::selection_fingerprint`), equal in all shards of one run.
    pub selection_fingerprint: String,
}

impl Results {
    /// Aggregates of one localizer/condition/category/metric.
    pub fn aggregate(
        &self,
        localizer: &str,
        condition: &str,
        category: &str,
        metric: Metric,
    ) -> Option<&Summary> {
        self.aggregates
            .iter()
            .find(|a| {
                a.localizer == localizer
                    && a.condition == condition
                    && a.category == category
                    && a.metric == metric
            })
            .map(|a| &a.summary)
    }
}

/// The inputs of [`build`] that are not rows.
pub struct RunRecord<'a> {
    pub suite: &'a Suite,
    /// The selection's summary ([`crate::data::DatasetSummary`] serialised).
    pub dataset: serde_json::Value,
    pub dataset_fingerprint: String,
    pub environment: Environment,
    pub shard: Option<ShardRecord>,
    pub merged_from: Option<Vec<String>>,
}

fn bootstrap(suite: &Suite, parts: &[&str]) -> Bootstrap {
    seeded_bootstrap(
        suite.evaluation.bootstrap_resamples,
        suite.evaluation.confidence,
        suite.seed,
        parts,
    )
}

/// The bootstrap of one aggregate: its resamples are seeded from `seed` and the aggregate's
/// labels, so every aggregate draws its own resamples and a rerun draws the same ones.
pub fn seeded_bootstrap(resamples: usize, confidence: f64, seed: u64, parts: &[&str]) -> Bootstrap {
    Bootstrap {
        resamples,
        confidence,
        seed: crate::data::seeds::from_labels(seed, parts),
    }
}

/// Sorts rows into a canonical order (localizer and condition as in the suite, then image id).
pub fn sort_rows(suite: &Suite, rows: &mut [Row]) {
    let loc_index: BTreeMap<&str, usize> = suite
        .localizers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let cond_index: BTreeMap<&str, usize> = suite
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    rows.sort_by(|a, b| {
        let ka = (
            loc_index.get(a.localizer.as_str()),
            cond_index.get(a.condition.as_str()),
            &a.id,
        );
        let kb = (
            loc_index.get(b.localizer.as_str()),
            cond_index.get(b.condition.as_str()),
            &b.id,
        );
        ka.cmp(&kb)
    });
}

/// Builds `results.json` from canonically sorted rows.
pub fn build(record: RunRecord<'_>, rows: &[Row]) -> Results {
    let suite = record.suite;
    // One cell per (localizer, condition), computed in parallel: each bootstrap is seeded from
    // its own labels, so the results do not depend on the order or the thread count.
    let cells: Vec<(&LocalizerConfig, &Condition)> = suite
        .localizers
        .iter()
        .flat_map(|loc| suite.conditions.iter().map(move |c| (loc, c)))
        .collect();
    // Each cell's rows, gathered in one pass.
    let mut by_cell: BTreeMap<(&str, &str), Vec<&Row>> = BTreeMap::new();
    for row in rows {
        by_cell
            .entry((row.localizer.as_str(), row.condition.as_str()))
            .or_default()
            .push(row);
    }
    let (aggregates, gamma): (Vec<Vec<Aggregate>>, Vec<Vec<Gamma>>) = cells
        .par_iter()
        .map(|(loc, condition)| {
            let loc_name = loc.name.as_str();
            let these = by_cell.get(&(loc_name, condition.key.as_str()));
            let clean = by_cell.get(&(loc_name, Condition::CLEAN));
            let (these, clean) = (these.map_or(&[][..], |r| r), clean.map_or(&[][..], |r| r));
            cell(suite, loc, condition, these, clean)
        })
        .unzip();
    let (aggregates, gamma) = (aggregates.concat(), gamma.concat());
    let comparisons = compare_localizers(suite, rows);
    let failures = rows
        .iter()
        .filter_map(|r| {
            r.error.as_ref().map(|e| Failure {
                localizer: r.localizer.clone(),
                condition: r.condition.clone(),
                id: r.id.clone(),
                error: e.clone(),
            })
        })
        .collect();
    Results {
        schema_version: RESULTS_SCHEMA_VERSION,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("HARNESS_GIT_COMMIT")
            .unwrap_or("unknown")
            .to_string(),
        suite_name: suite.name.clone(),
        config_hash: suite.config_hash(),
        suite: serde_json::to_value(suite).expect("suite serializes"),
        ground_truth_policy: serde_json::to_value(suite.ground_truth)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        dataset: record.dataset,
        dataset_fingerprint: record.dataset_fingerprint,
        localizers: suite
            .localizers
            .iter()
            .map(|l| LocalizerRecord {
                name: l.name.clone(),
                kind: l.kind.clone(),
                params: l.params.clone(),
                weights_sha256: None,
            })
            .collect(),
        aggregates,
        gamma,
        comparisons,
        failures,
        environment: record.environment,
        // Known only once the results are built: the caller adds it.
        timing: None,
        shard: record.shard,
        merged_from: record.merged_from,
    }
}

/// The aggregates and γ of one localizer under one condition, from its rows there (`these`)
/// and on clean images (`clean`).
fn cell(
    suite: &Suite,
    loc: &LocalizerConfig,
    condition: &Condition,
    these: &[&Row],
    clean: &[&Row],
) -> (Vec<Aggregate>, Vec<Gamma>) {
    let mut aggregates = Vec::new();
    let push = |category: &str, metric: Metric, summary: Summary, out: &mut Vec<Aggregate>| {
        out.push(Aggregate {
            localizer: loc.name.clone(),
            condition: condition.key.clone(),
            test: condition.test.clone(),
            level: condition.level,
            category: category.to_string(),
            metric,
            summary,
        })
    };
    // Segmentation metrics over fake images, overall and per category.
    let mut categories: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in these
        .iter()
        .filter(|r| r.kind != Kind::Real && r.error.is_none())
    {
        categories.entry(ALL.to_string()).or_default().push(row);
        categories
            .entry(format!("{}/*", row.generator))
            .or_default()
            .push(row);
        categories
            .entry(format!("{}/{}", row.generator, row.property))
            .or_default()
            .push(row);
    }
    for (category, group) in &categories {
        for metric in Metric::SEGMENTATION {
            let values: Vec<f64> = group.iter().filter_map(|r| r.metric(metric)).collect();
            if values.is_empty() {
                continue;
            }
            let b = bootstrap(suite, &[&loc.name, &condition.key, category, metric.name()]);
            if let Ok(s) = b.summarize(&values) {
                push(category, metric, s, &mut aggregates);
            }
        }
    }
    // Image-level metrics from the fake scores.
    let scored: Vec<(f64, bool)> = these
        .iter()
        .filter_map(|r| r.score.map(|s| (s, r.kind != Kind::Real)))
        .collect();
    for metric in Metric::IMAGE {
        let Some(images) = image_set(metric, &scored) else {
            continue;
        };
        let b = bootstrap(suite, &[&loc.name, &condition.key, ALL, metric.name()]);
        let image_metric = ImageMetric::new(metric, &images);
        if let Ok(s) = b.statistic(images.len(), |idx| image_metric.of(idx)) {
            push(ALL, metric, s, &mut aggregates);
        }
    }
    let gamma = match condition.is_clean() {
        true => Vec::new(),
        false => gammas(suite, &loc.name, condition, clean, these),
    };
    (aggregates, gamma)
}

/// The fake score at and above which an image is called fake (ACC and FPR).
const FAKE_THRESHOLD: f64 = 0.5;

/// The scored images, `(score, is_fake)`, that an image-level metric is computed and resampled
/// over, or `None` where it is undefined. FPR is a rate among real images, so it resamples them
/// alone and its `n` is their count (the report reads the class mix from it); ACC and AUC compare
/// the two classes, so they need both.
fn image_set(metric: Metric, scored: &[(f64, bool)]) -> Option<Vec<(f64, bool)>> {
    let has = |fake: bool| scored.iter().any(|s| s.1 == fake);
    match metric {
        Metric::Fpr => has(false).then(|| scored.iter().filter(|s| !s.1).copied().collect()),
        _ => (has(false) && has(true)).then(|| scored.to_vec()),
    }
}

/// An image-level metric of the images `scored` (`(score, is_fake)`), evaluated on resamples.
struct ImageMetric<'a> {
    metric: Metric,
    scored: &'a [(f64, bool)],
    /// The images ranked once for AUC ([`metrics::ResampledAuc`]; `None` for other metrics or
    /// a non-finite score, which `metrics::roc_auc` would reject too).
    ranked: Option<metrics::ResampledAuc>,
}

impl<'a> ImageMetric<'a> {
    fn new(metric: Metric, scored: &'a [(f64, bool)]) -> ImageMetric<'a> {
        let ranked = (metric == Metric::Auc)
            .then(|| {
                let (scores, labels): (Vec<f64>, Vec<bool>) = scored.iter().copied().unzip();
                metrics::ResampledAuc::new(&scores, &labels).ok()
            })
            .flatten();
        ImageMetric {
            metric,
            scored,
            ranked,
        }
    }

    /// The metric on the images `idx` of `scored`; `None` where it is undefined on them (AUC of
    /// one class, FPR without a real image).
    fn of(&self, idx: &[usize]) -> Option<f64> {
        if self.metric == Metric::Auc {
            return self.ranked.as_ref()?.auc(idx);
        }
        let scores: Vec<f64> = idx.iter().map(|&i| self.scored[i].0).collect();
        let labels: Vec<bool> = idx.iter().map(|&i| self.scored[i].1).collect();
        match self.metric {
            Metric::Acc => metrics::accuracy(&scores, &labels, FAKE_THRESHOLD).ok(),
            Metric::Fpr => metrics::false_positive_rate(&scores, &labels, FAKE_THRESHOLD)
                .ok()
                .flatten(),
            _ => None,
        }
    }
}

/// γ per metric for one localizer and condition, paired over the images both conditions scored.
fn gammas(
    suite: &Suite,
    localizer: &str,
    condition: &Condition,
    clean: &[&Row],
    these: &[&Row],
) -> Vec<Gamma> {
    let clean_by_id: BTreeMap<&str, &Row> = clean
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| (r.id.as_str(), *r))
        .collect();
    let pairs: Vec<(&Row, &Row)> = these
        .iter()
        .filter(|r| r.error.is_none())
        .filter_map(|r| clean_by_id.get(r.id.as_str()).map(|c| (*r, *c)))
        .collect();
    let mut out = Vec::new();
    let mut push = |metric: Metric, summary: Summary| {
        out.push(Gamma {
            localizer: localizer.to_string(),
            condition: condition.key.clone(),
            test: condition.test.clone(),
            level: condition.level,
            category: ALL.to_string(),
            metric,
            summary,
        })
    };
    for metric in Metric::SEGMENTATION {
        let (num, den): (Vec<f64>, Vec<f64>) = pairs
            .iter()
            .filter(|(r, _)| r.kind != Kind::Real)
            .filter_map(|(r, c)| Some((r.metric(metric)?, c.metric(metric)?)))
            .unzip();
        if num.is_empty() || den.iter().sum::<f64>() == 0.0 {
            continue;
        }
        let b = bootstrap(suite, &["gamma", localizer, &condition.key, metric.name()]);
        if let Ok(s) = b.ratio(&num, &den, 100.0) {
            push(metric, s);
        }
    }
    let scored: Vec<(f64, f64, bool)> = pairs
        .iter()
        .filter_map(|(r, c)| Some((r.score?, c.score?, r.kind != Kind::Real)))
        .collect();
    if scored.iter().any(|s| s.2) && scored.iter().any(|s| !s.2) {
        let degraded: Vec<(f64, bool)> = scored.iter().map(|s| (s.0, s.2)).collect();
        let base: Vec<(f64, bool)> = scored.iter().map(|s| (s.1, s.2)).collect();
        for metric in Metric::IMAGE.into_iter().filter(|m| m.has_gamma()) {
            let b = bootstrap(suite, &["gamma", localizer, &condition.key, metric.name()]);
            let (degraded, base) = (
                ImageMetric::new(metric, &degraded),
                ImageMetric::new(metric, &base),
            );
            let stat = |idx: &[usize]| {
                let d = degraded.of(idx)?;
                let c = base.of(idx)?;
                (c > 0.0).then(|| 100.0 * d / c)
            };
            if let Ok(s) = b.statistic(scored.len(), stat) {
                push(metric, s);
            }
        }
    }
    out
}

/// Paired differences of every later localizer against every earlier one (the suite's order),
/// per condition and segmentation metric, over all fake images both scored.
fn compare_localizers(suite: &Suite, rows: &[Row]) -> Vec<Comparison> {
    let mut by_key: BTreeMap<(&str, &str), BTreeMap<&str, &Row>> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| r.kind != Kind::Real && r.error.is_none())
    {
        by_key
            .entry((row.localizer.as_str(), row.condition.as_str()))
            .or_default()
            .insert(row.id.as_str(), row);
    }
    let empty = BTreeMap::new();
    // Every (later, earlier, condition) in the suite's order, bootstrapped in parallel (each
    // seeded from its own labels).
    let pairs: Vec<(&LocalizerConfig, &LocalizerConfig, &Condition)> = suite
        .localizers
        .iter()
        .enumerate()
        .flat_map(|(j, loc)| {
            suite.localizers[..j].iter().flat_map(move |reference| {
                suite.conditions.iter().map(move |c| (loc, reference, c))
            })
        })
        .collect();
    let compared: Vec<Vec<Comparison>> = pairs
        .par_iter()
        .map(|(loc, reference, condition)| {
            let mine = by_key
                .get(&(loc.name.as_str(), condition.key.as_str()))
                .unwrap_or(&empty);
            let theirs = by_key
                .get(&(reference.name.as_str(), condition.key.as_str()))
                .unwrap_or(&empty);
            let mut out = Vec::new();
            for metric in Metric::SEGMENTATION {
                let (a, b): (Vec<f64>, Vec<f64>) = mine
                    .iter()
                    .filter_map(|(id, r)| {
                        Some((r.metric(metric)?, theirs.get(id)?.metric(metric)?))
                    })
                    .unzip();
                if a.is_empty() {
                    continue;
                }
                let bootstrap = bootstrap(
                    suite,
                    &[
                        "compare",
                        &loc.name,
                        &reference.name,
                        &condition.key,
                        metric.name(),
                    ],
                );
                if let Ok(summary) = bootstrap.paired_difference(&a, &b) {
                    out.push(Comparison {
                        localizer: loc.name.clone(),
                        reference: reference.name.clone(),
                        condition: condition.key.clone(),
                        metric,
                        summary,
                    });
                }
            }
            out
        })
        .collect();
    compared.concat()
}

#[cfg(test)]
mod tests {
    use super::testing::{results, row, suite};
    use super::*;

    /// Clean: fakes 0.9, 0.8 and reals 0.2, 0.7, 0.5; under jpeg:50 every image scores 0.9.
    fn rows(suite: &Suite) -> Vec<Row> {
        let clean = [0.9, 0.8, 0.2, 0.7, 0.5];
        (0..5)
            .flat_map(|i| {
                let id = format!("img-{i}");
                let fake = i < 2;
                [
                    row(suite, Condition::CLEAN, &id, fake, clean[i]),
                    row(suite, "jpeg:50", &id, fake, 0.9),
                ]
            })
            .collect()
    }

    #[test]
    fn fpr_is_the_share_of_reals_at_or_above_one_half() {
        let suite = suite();
        let results = results(&suite, rows(&suite));
        let loc = &suite.localizers[0].name;
        let clean = results
            .aggregate(loc, Condition::CLEAN, ALL, Metric::Fpr)
            .unwrap();
        // Reals 0.2, 0.7, 0.5: 0.7 and 0.5 are called fake.
        assert_eq!(clean.mean, 2.0 / 3.0);
        assert_eq!(clean.n, 3, "FPR is over the real images only");
        assert!(clean.ci_low <= clean.mean && clean.mean <= clean.ci_high);
        let jpeg = results.aggregate(loc, "jpeg:50", ALL, Metric::Fpr).unwrap();
        assert_eq!(jpeg.mean, 1.0);
        // ACC and AUC still cover every scored image.
        assert_eq!(
            results
                .aggregate(loc, Condition::CLEAN, ALL, Metric::Acc)
                .unwrap()
                .n,
            5
        );
    }

    #[test]
    fn gamma_covers_auc_but_never_fpr() {
        let suite = suite();
        let results = results(&suite, rows(&suite));
        let gamma_of = |m: Metric| results.gamma.iter().find(|g| g.metric == m);
        // Clean AUC 1 (fakes above every real); all scores tied at jpeg:50 give AUC 0.5.
        assert_eq!(gamma_of(Metric::Auc).unwrap().summary.mean, 50.0);
        assert!(gamma_of(Metric::Acc).is_some());
        assert!(gamma_of(Metric::Fpr).is_none());
    }

    #[test]
    fn fpr_needs_a_real_image_and_acc_needs_both_classes() {
        let suite = suite();
        let only_reals: Vec<Row> = rows(&suite)
            .into_iter()
            .filter(|r| r.kind == Kind::Real)
            .collect();
        let results = results(&suite, only_reals);
        let loc = &suite.localizers[0].name;
        assert!(results
            .aggregate(loc, Condition::CLEAN, ALL, Metric::Fpr)
            .is_some());
        assert!(results
            .aggregate(loc, Condition::CLEAN, ALL, Metric::Acc)
            .is_none());
        let only_fakes: Vec<Row> = rows(&suite)
            .into_iter()
            .filter(|r| r.kind != Kind::Real)
            .collect();
        let results = super::testing::results(&suite, only_fakes);
        assert!(results
            .aggregate(loc, Condition::CLEAN, ALL, Metric::Fpr)
            .is_none());
    }
}
