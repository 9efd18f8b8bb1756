//! The report's summary, what a reader looks for first: the headline metrics of the clean
//! condition, the best localizer per metric, each localizer against the reference localizers,
//! and whether anything failed. Every number in it is also in the tables further down.

use metrics::Summary;

use super::tables::{self, cell, comparison_row, Table, COMPARISON_HEADER, HEADLINE_METRICS};
use super::Block;
use crate::config::{Condition, Suite};
use crate::results::{Metric, Results, ALL};

/// The kind of the localizer that returns the ground truth: a self-check, never "best".
const ORACLE: &str = "oracle";

/// The segmentation metrics whose paired differences the summary shows.
const PAIRED_METRICS: [Metric; 2] = [Metric::Coss, Metric::Ssim];

/// How much of a reference a localizer kind is: `constant` (the floor) above `resampling` (the
/// training-free baseline) above a localizer under test. A summary pair is `a − b` with `b`
/// ranked above `a`, so every localizer is read against the references and the references
/// against each other, and never against the oracle.
fn reference_rank(kind: &str) -> u8 {
    match kind {
        "constant" => 2,
        "resampling" => 1,
        _ => 0,
    }
}

/// The summary's blocks: headline table, best per metric, the reference pairs, failures.
pub(super) fn blocks<'a>(
    suite: &Suite,
    results: &Results,
    figure_failures: &[String],
) -> Vec<Block<'a>> {
    let mut out = vec![Block::Table(tables::headline(suite, results))];
    let best: Vec<String> = HEADLINE_METRICS
        .into_iter()
        .filter_map(|m| best_line(suite, results, m))
        .collect();
    if !best.is_empty() {
        let oracle = suite.localizers.iter().any(|l| l.kind == ORACLE);
        out.push(Block::Text(format!(
            "Best on clean images{}:",
            if oracle {
                " (oracle left out: it returns the ground truth)"
            } else {
                ""
            }
        )));
        out.push(Block::Bullets(best));
    }
    out.extend(reference_pairs(suite, results).map(Block::Table));
    out.push(Block::Text(failure_line(results, figure_failures)));
    out
}

/// `name mean [lo, hi]` of each of `names` under clean.
fn named_cells(results: &Results, names: &[&str], metric: Metric) -> String {
    names
        .iter()
        .map(|n| {
            let s = results.aggregate(n, Condition::CLEAN, ALL, metric);
            format!("{n} {}", cell(s, metric.decimals()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The best localizer of `metric` on clean images (ties named together), the runner-up, and
/// for segmentation metrics the paired difference between the two; `None` with fewer than two
/// localizers to rank.
fn best_line(suite: &Suite, results: &Results, metric: Metric) -> Option<String> {
    let mut ranked: Vec<(&str, f64)> = suite
        .localizers
        .iter()
        .filter(|l| l.kind != ORACLE)
        .filter_map(|l| {
            let s = results.aggregate(&l.name, Condition::CLEAN, ALL, metric)?;
            s.mean.is_finite().then_some((l.name.as_str(), s.mean))
        })
        .collect();
    if ranked.len() < 2 {
        return None;
    }
    let sign = if metric.higher_is_better() { -1.0 } else { 1.0 };
    // Stable: equal means keep suite order.
    ranked.sort_by(|a, b| (sign * a.1).total_cmp(&(sign * b.1)));
    let tier = |value: f64| -> Vec<&str> {
        ranked
            .iter()
            .filter(|(_, m)| *m == value)
            .map(|(n, _)| *n)
            .collect()
    };
    let best = tier(ranked[0].1);
    let direction = if metric.higher_is_better() {
        ""
    } else {
        " (lower is better)"
    };
    let mut line = format!(
        "{}{direction}: best {}",
        metric.label(),
        named_cells(results, &best, metric)
    );
    let Some(&(_, next_value)) = ranked.get(best.len()) else {
        line.push_str(" (all tied)");
        return Some(line);
    };
    if best.len() > 1 {
        line.push_str(" (tied)");
    }
    let next = tier(next_value);
    line.push_str(&format!(", then {}", named_cells(results, &next, metric)));
    if let (&[a], &[b]) = (best.as_slice(), next.as_slice()) {
        if let Some(d) = paired(results, a, b, metric) {
            line.push_str(&format!(
                "; paired difference {} on the same images: {}",
                cell(Some(&d), metric.decimals()),
                match tables::verdict(&d) {
                    "better" => "clearly ahead",
                    _ => "not clearly ahead (the interval reaches 0)",
                }
            ));
        }
    }
    Some(line)
}

/// The paired difference `a − b` of `metric` on clean images, from the comparison as stored
/// (later minus earlier in the suite) or its negation.
fn paired(results: &Results, a: &str, b: &str, metric: Metric) -> Option<Summary> {
    let find = |x: &str, y: &str| {
        results.comparisons.iter().find(|c| {
            c.condition == Condition::CLEAN
                && c.metric == metric
                && c.localizer == x
                && c.reference == y
        })
    };
    if let Some(c) = find(a, b) {
        return Some(c.summary.clone());
    }
    // `0.0 - v` rather than `-v`, so that a zero prints as 0, not -0.
    find(b, a).map(|c| Summary {
        n: c.summary.n,
        mean: 0.0 - c.summary.mean,
        std: c.summary.std,
        ci_low: 0.0 - c.summary.ci_high,
        ci_high: 0.0 - c.summary.ci_low,
    })
}

/// The paired differences that answer "does it beat the references?": each localizer minus
/// each reference ranked above it ([`reference_rank`]), COSS and SSIM. Without references,
/// every pair but the oracle's, as stored.
fn reference_pairs(suite: &Suite, results: &Results) -> Option<Table> {
    let candidates: Vec<_> = suite
        .localizers
        .iter()
        .filter(|l| l.kind != ORACLE)
        .collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for a in &candidates {
        for b in &candidates {
            if reference_rank(&b.kind) > reference_rank(&a.kind) {
                pairs.push((&a.name, &b.name));
            }
        }
    }
    let against_references = !pairs.is_empty();
    if !against_references {
        for (i, b) in candidates.iter().enumerate() {
            for a in &candidates[i + 1..] {
                pairs.push((&a.name, &b.name));
            }
        }
    }
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .flat_map(|&(a, b)| {
            PAIRED_METRICS
                .into_iter()
                .filter_map(move |m| paired(results, a, b, m).map(|d| comparison_row(a, b, m, &d)))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let which = if against_references {
        "each localizer against the references (constant, resampling)"
    } else {
        "paired differences between localizers"
    };
    Some(Table {
        title: format!(
            "clean: {which}, {} and {}, mean [{} CI] over the same fake images",
            PAIRED_METRICS[0].label(),
            PAIRED_METRICS[1].label(),
            tables::confidence_label(suite)
        ),
        header: COMPARISON_HEADER.map(String::from).to_vec(),
        rows,
        notes: vec![
            "better / worse: the interval of the difference lies above / below 0; every pair \
             and PSNR are in the tables."
                .into(),
        ],
    })
}

/// Whether work units failed (per localizer) and figures were left out.
fn failure_line(results: &Results, figure_failures: &[String]) -> String {
    let mut line = if results.failures.is_empty() {
        "No work unit failed.".to_string()
    } else {
        let mut per: Vec<(&str, usize)> = Vec::new();
        for f in &results.failures {
            match per.iter_mut().find(|(l, _)| *l == f.localizer) {
                Some((_, n)) => *n += 1,
                None => per.push((&f.localizer, 1)),
            }
        }
        let per: Vec<String> = per.iter().map(|(l, n)| format!("{l} {n}")).collect();
        format!(
            "{} work units failed ({}); their images are left out of those localizers' \
             aggregates; see Failures.",
            results.failures.len(),
            per.join(", ")
        )
    };
    if !figure_failures.is_empty() {
        line.push_str(&format!(
            " {} figure(s) could not be drawn; see Figures not drawn.",
            figure_failures.len()
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::testing::{results, row};
    use crate::results::{Failure, Row};
    use std::path::Path;

    /// A localizer under test (`mine`), the oracle and both references.
    fn suite() -> Suite {
        let text = "version: 1\nname: t\nseed: 0\ndata:\n  source: synth\nevaluation:\n  \
                    bootstrap_resamples: 200\nlocalizers:\n  - kind: constant\n    name: mine\n  \
                    - oracle\n  - constant\n  - resampling\n";
        let mut suite = Suite::parse(Path::new("t.yaml"), text).unwrap();
        // A constant in disguise: only the kind tells the summary what is a reference.
        suite.localizers[0].kind = "mine".into();
        suite
    }

    /// Eight fakes and two reals; `mine` scores COSS 0.8, oracle 1, constant 0.4 and
    /// resampling 0.6 plus the same per-image wobble (mean 0.00875).
    fn rows(suite: &Suite) -> Vec<Row> {
        let coss = [
            ("mine", 0.8),
            ("oracle", 1.0),
            ("constant", 0.4),
            ("resampling", 0.6),
        ];
        let mut out = Vec::new();
        for (name, base) in coss {
            for i in 0..10 {
                let mut r = row(suite, Condition::CLEAN, &format!("img-{i}"), i < 8, 0.6);
                r.localizer = name.into();
                if r.coss.is_some() {
                    let wobble = 0.01 * (i % 3) as f64;
                    r.coss = Some(base + wobble);
                    r.ssim = Some(base - wobble);
                }
                r.score = Some(if i < 8 { base } else { 0.2 });
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn pairs_read_each_localizer_against_the_references_never_the_oracle() {
        let suite = suite();
        let results = results(&suite, rows(&suite));
        let table = reference_pairs(&suite, &results).unwrap();
        let pairs: Vec<(&str, &str)> = table
            .rows
            .iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("mine − constant", "COSS"),
                ("mine − constant", "SSIM"),
                ("mine − resampling", "COSS"),
                ("mine − resampling", "SSIM"),
                ("resampling − constant", "COSS"),
                ("resampling − constant", "SSIM"),
            ]
        );
        // Stored as constant − mine (later minus earlier); shown negated, interval swapped.
        let stored = results
            .comparisons
            .iter()
            .find(|c| {
                c.localizer == "constant"
                    && c.reference == "mine"
                    && c.condition == Condition::CLEAN
                    && c.metric == Metric::Coss
            })
            .unwrap();
        let shown = paired(&results, "mine", "constant", Metric::Coss).unwrap();
        assert_eq!(shown.mean, -stored.summary.mean);
        assert_eq!(
            (shown.ci_low, shown.ci_high),
            (-stored.summary.ci_high, -stored.summary.ci_low)
        );
        assert_eq!(table.rows[0][4], "better");
        assert!(
            table.rows[0][3].starts_with("0.4000 ["),
            "{}",
            table.rows[0][3]
        );
    }

    #[test]
    fn best_leaves_the_oracle_out_and_names_the_runner_up() {
        let suite = suite();
        let results = results(&suite, rows(&suite));
        let coss = best_line(&suite, &results, Metric::Coss).unwrap();
        assert!(coss.starts_with("COSS: best mine 0.8088 ["), "{coss}");
        assert!(coss.contains(", then resampling 0.6088 ["), "{coss}");
        assert!(coss.contains(": clearly ahead"), "{coss}");
        // Every real scores 0.2: FPR 0 for all three, a tie; lower is better.
        let fpr = best_line(&suite, &results, Metric::Fpr).unwrap();
        assert!(
            fpr.starts_with("FPR (reals) (lower is better): best mine 0.0000"),
            "{fpr}"
        );
        assert!(fpr.ends_with("(all tied)"), "{fpr}");
        let text: Vec<String> = blocks(&suite, &results, &[])
            .into_iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t),
                _ => None,
            })
            .collect();
        assert!(text[0].contains("oracle left out"), "{text:?}");
        assert_eq!(text.last().unwrap(), "No work unit failed.");
    }

    #[test]
    fn failures_are_counted_per_localizer() {
        let suite = suite();
        let mut results = results(&suite, rows(&suite));
        for (l, id) in [("mine", "a"), ("resampling", "b"), ("mine", "c")] {
            results.failures.push(Failure {
                localizer: l.into(),
                condition: Condition::CLEAN.into(),
                id: id.into(),
                error: "boom".into(),
            });
        }
        let line = failure_line(&results, &["qualitative: x".into()]);
        assert!(
            line.starts_with("3 work units failed (mine 2, resampling 1)"),
            "{line}"
        );
        assert!(line.ends_with("1 figure(s) could not be drawn; see Figures not drawn."));
    }
}
