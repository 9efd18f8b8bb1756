//! Tables shared by `report.md`, `report.html` and the console summary.

use std::collections::BTreeSet;

use metrics::Summary;

use crate::config::{Condition, Suite};
use crate::results::gate::Regression;
use crate::results::{Metric, Results, ALL};

/// A titled table of text cells, with notes printed under it.
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// What a reader must know to read the table right (e.g. a skewed class mix under ACC).
    pub notes: Vec<String>,
}

/// Decimals of γ (a percentage) in tables.
const GAMMA_DECIMALS: usize = 2;

/// The metrics with γ tables and figures, in report order: the paper's three, then image-level
/// ACC and AUC (FPR has no γ, see [`Metric::has_gamma`]).
pub const GAMMA_METRICS: [Metric; 5] = [
    Metric::Coss,
    Metric::Psnr,
    Metric::Ssim,
    Metric::Acc,
    Metric::Auc,
];

/// Below this share of the minority class, ACC mostly measures the class mix and the report
/// says so.
pub const MIX_MINORITY_SHARE: f64 = 0.35;

/// `mean [lo, hi]` with `decimals` decimals, or a dash when there is no value.
pub fn cell(summary: Option<&Summary>, decimals: usize) -> String {
    match summary {
        None => "–".into(),
        Some(s) => format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            s.mean,
            s.ci_low,
            s.ci_high,
            d = decimals
        ),
    }
}

/// "95%" for a confidence of 0.95.
pub fn confidence_label(suite: &Suite) -> String {
    format!("{}%", 100.0 * suite.evaluation.confidence)
}

fn metrics_present(results: &Results) -> Vec<Metric> {
    Metric::ALL
        .into_iter()
        .filter(|m| results.aggregates.iter().any(|a| a.metric == *m))
        .collect()
}

/// `n` and the noun, plural unless n is 1.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The fake and real images behind ACC of one localizer under one condition: ACC's n counts
/// every scored image and FPR's the real ones. `None` without both aggregates.
fn class_mix(results: &Results, localizer: &str, condition: &str) -> Option<(usize, usize)> {
    let scored = results.aggregate(localizer, condition, ALL, Metric::Acc)?.n;
    let reals = results.aggregate(localizer, condition, ALL, Metric::Fpr)?.n;
    Some((scored.saturating_sub(reals), reals))
}

/// The note beside ACC over `fakes` and `reals` when one class is under
/// [`MIX_MINORITY_SHARE`] of them: answering the majority class every time then scores a high
/// ACC, which AUC and FPR do not reward.
pub fn mix_note(fakes: usize, reals: usize) -> Option<String> {
    let total = fakes + reals;
    let (majority, class) = if fakes >= reals {
        (fakes, "fake")
    } else {
        (reals, "real")
    };
    let minority = total - majority;
    if total == 0 || minority as f64 >= MIX_MINORITY_SHARE * total as f64 {
        return None;
    }
    let share = majority as f64 / total as f64;
    Some(format!(
        "ACC over {} and {} ({:.0} % {class}): always answering '{class}' scores {share:.2}; \
         read AUC and FPR.",
        count(fakes, "fake"),
        count(reals, "real"),
        100.0 * share
    ))
}

/// The mix notes of ACC under `conditions`, once per distinct note over the localizers (they
/// differ only where units failed).
fn mix_notes(suite: &Suite, results: &Results, conditions: &[&str]) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    for l in &suite.localizers {
        for condition in conditions {
            let note = class_mix(results, &l.name, condition).and_then(|(f, r)| mix_note(f, r));
            if let Some(note) = note.filter(|n| !notes.contains(n)) {
                notes.push(note);
            }
        }
    }
    notes
}

/// The metrics of the report's summary, in its order: the map's agreement with the ground truth
/// (COSS, SSIM), then the image-level decision (ACC, AUC, FPR on reals).
pub const HEADLINE_METRICS: [Metric; 5] = [
    Metric::Coss,
    Metric::Ssim,
    Metric::Acc,
    Metric::Auc,
    Metric::Fpr,
];

/// Per test condition: localizers × metrics over all images.
pub fn overall(suite: &Suite, results: &Results, condition: &str) -> Table {
    metric_table(suite, results, condition, &metrics_present(results), "")
}

/// The summary's table: localizers × [`HEADLINE_METRICS`] (those the run has) under `clean`.
pub fn headline(suite: &Suite, results: &Results) -> Table {
    let present = metrics_present(results);
    let metrics: Vec<Metric> = HEADLINE_METRICS
        .into_iter()
        .filter(|m| present.contains(m))
        .collect();
    metric_table(
        suite,
        results,
        Condition::CLEAN,
        &metrics,
        "headline metrics, ",
    )
}

/// Localizers × `metrics` under `condition`; `what` goes into the title before "mean".
fn metric_table(
    suite: &Suite,
    results: &Results,
    condition: &str,
    metrics: &[Metric],
    what: &str,
) -> Table {
    let mut header = vec!["localizer".to_string()];
    header.extend(metrics.iter().map(|m| m.label().to_string()));
    let rows = suite
        .localizers
        .iter()
        .map(|l| {
            let mut row = vec![l.name.clone()];
            row.extend(
                metrics
                    .iter()
                    .map(|&m| cell(results.aggregate(&l.name, condition, ALL, m), m.decimals())),
            );
            row
        })
        .collect();
    let n = results
        .aggregates
        .iter()
        .find(|a| a.condition == condition && a.category == ALL && a.metric == Metric::Coss);
    Table {
        title: format!(
            "{condition}: {what}mean [{} CI]{}",
            confidence_label(suite),
            n.map(|a| format!(" over {} fake images", a.summary.n))
                .unwrap_or_default()
        ),
        header,
        rows,
        notes: mix_notes(suite, results, &[condition]),
    }
}

/// True for the per-generator categories `generator/*`.
pub fn is_generator_category(category: &str) -> bool {
    category.ends_with("/*")
}

/// Per category under `clean`: categories × localizers for one metric; per generator
/// (`generator/*`) or per generator and property.
pub fn by_category(suite: &Suite, results: &Results, metric: Metric, per_generator: bool) -> Table {
    let categories: BTreeSet<&str> = results
        .aggregates
        .iter()
        .filter(|a| a.condition == Condition::CLEAN && a.category != ALL && a.metric == metric)
        .filter(|a| is_generator_category(&a.category) == per_generator)
        .map(|a| a.category.as_str())
        .collect();
    let mut header = vec![if per_generator {
        "generator"
    } else {
        "generator/property"
    }
    .to_string()];
    header.extend(suite.localizers.iter().map(|l| l.name.clone()));
    let rows = categories
        .iter()
        .map(|c| {
            let mut row = vec![c.to_string()];
            row.extend(suite.localizers.iter().map(|l| {
                cell(
                    results.aggregate(&l.name, Condition::CLEAN, c, metric),
                    metric.decimals(),
                )
            }));
            row
        })
        .collect();
    let per = if per_generator {
        "generator"
    } else {
        "generator and property"
    };
    Table {
        title: format!("clean, {} per {per}", metric.label()),
        header,
        rows,
        notes: Vec::new(),
    }
}

/// γ (% of clean) of one test: levels × localizers for each metric.
pub fn gamma_table(suite: &Suite, results: &Results, test: &str, metric: Metric) -> Option<Table> {
    let conditions: Vec<&crate::config::Condition> =
        suite.conditions.iter().filter(|c| c.test == test).collect();
    if conditions.is_empty()
        || !results
            .gamma
            .iter()
            .any(|g| g.test == test && g.metric == metric)
    {
        return None;
    }
    let mut header = vec!["level".to_string()];
    header.extend(suite.localizers.iter().map(|l| l.name.clone()));
    let rows = conditions
        .iter()
        .map(|c| {
            let mut row = vec![c.key.clone()];
            row.extend(suite.localizers.iter().map(|l| {
                let g = results
                    .gamma
                    .iter()
                    .find(|g| g.localizer == l.name && g.condition == c.key && g.metric == metric)
                    .map(|g| &g.summary);
                cell(g, GAMMA_DECIMALS)
            }));
            row
        })
        .collect();
    let notes = if metric == Metric::Acc {
        let keys: Vec<&str> = conditions.iter().map(|c| c.key.as_str()).collect();
        mix_notes(suite, results, &keys)
    } else {
        Vec::new()
    };
    Some(Table {
        title: format!(
            "{test}: γ of {} (% of clean) [{} CI]",
            metric.label(),
            confidence_label(suite)
        ),
        header,
        rows,
        notes,
    })
}

/// FPR on real images of one test, clean first, then each level: conditions × localizers. The
/// FPR itself, not its γ: a good localizer's clean FPR is 0.
pub fn fpr_table(suite: &Suite, results: &Results, test: &str) -> Option<Table> {
    let metric = Metric::Fpr;
    if !results
        .aggregates
        .iter()
        .any(|a| a.test == test && a.metric == metric)
    {
        return None;
    }
    let conditions = std::iter::once(Condition::CLEAN).chain(
        suite
            .conditions
            .iter()
            .filter(|c| c.test == test)
            .map(|c| c.key.as_str()),
    );
    let mut header = vec!["condition".to_string()];
    header.extend(suite.localizers.iter().map(|l| l.name.clone()));
    let rows = conditions
        .map(|c| {
            let mut row = vec![c.to_string()];
            row.extend(suite.localizers.iter().map(|l| {
                cell(
                    results.aggregate(&l.name, c, ALL, metric),
                    metric.decimals(),
                )
            }));
            row
        })
        .collect();
    let n = results
        .aggregates
        .iter()
        .find(|a| a.condition == Condition::CLEAN && a.metric == metric);
    Some(Table {
        title: format!(
            "{test}: {}, the share of real images scored ≥ 0.5 (lower is better), \
             mean [{} CI]{}",
            metric.label(),
            confidence_label(suite),
            n.map(|a| format!(" over {}", count(a.summary.n, "real image")))
                .unwrap_or_default()
        ),
        header,
        rows,
        notes: Vec::new(),
    })
}

/// Paired differences between localizers under `clean` (later minus earlier in the suite).
pub fn comparisons(suite: &Suite, results: &Results) -> Option<Table> {
    let rows: Vec<Vec<String>> = results
        .comparisons
        .iter()
        .filter(|c| {
            c.condition == Condition::CLEAN
                && [Metric::Coss, Metric::Psnr, Metric::Ssim].contains(&c.metric)
        })
        .map(|c| comparison_row(&c.localizer, &c.reference, c.metric, &c.summary))
        .collect();
    (!rows.is_empty()).then(|| Table {
        title: format!(
            "clean: paired differences between localizers, mean [{} CI] over the same fake images",
            confidence_label(suite)
        ),
        header: COMPARISON_HEADER.map(String::from).to_vec(),
        rows,
        notes: Vec::new(),
    })
}

/// The columns of a table of paired differences.
pub const COMPARISON_HEADER: [&str; 5] = ["comparison", "metric", "n", "difference", "verdict"];

/// What a paired difference `a − b` of a higher-is-better metric says: "better" (its CI above
/// 0), "worse" (below) or "no clear difference".
pub fn verdict(difference: &Summary) -> &'static str {
    if difference.ci_low > 0.0 {
        "better"
    } else if difference.ci_high < 0.0 {
        "worse"
    } else {
        "no clear difference"
    }
}

/// One row of a table of paired differences: `localizer − reference` of `metric`.
pub fn comparison_row(
    localizer: &str,
    reference: &str,
    metric: Metric,
    difference: &Summary,
) -> Vec<String> {
    vec![
        format!("{localizer} − {reference}"),
        metric.label().to_string(),
        difference.n.to_string(),
        cell(Some(difference), metric.decimals()),
        verdict(difference).to_string(),
    ]
}

/// All tables of a report, in order.
pub fn all_tables(suite: &Suite, results: &Results) -> Vec<Table> {
    let mut tables = vec![overall(suite, results, Condition::CLEAN)];
    tables.extend(comparisons(suite, results));
    for per_generator in [true, false] {
        for metric in [Metric::Coss, Metric::Ssim] {
            let t = by_category(suite, results, metric, per_generator);
            if t.rows.len() > 1 {
                tables.push(t);
            }
        }
    }
    let mut tests: Vec<&str> = Vec::new();
    for c in suite.conditions.iter().skip(1) {
        if !tests.contains(&c.test.as_str()) {
            tests.push(&c.test);
        }
    }
    for test in tests {
        for metric in GAMMA_METRICS {
            tables.extend(gamma_table(suite, results, test, metric));
        }
        tables.extend(fpr_table(suite, results, test));
    }
    tables
}

/// "Where the time went": each localizer's time inside `localize`, then the run's phases
/// (docs/results.md#timing); none for a run made before `timing` existed.
pub fn timing_tables(results: &Results) -> Vec<Table> {
    let Some(timing) = &results.timing else {
        return Vec::new();
    };
    let secs = |s: f64| format!("{s:.2}");
    let localizers = Table {
        title: "Time inside each localizer".into(),
        header: [
            "localizer",
            "seconds",
            "images",
            "images/s",
            "batch",
            "threads",
        ]
        .map(String::from)
        .into(),
        rows: timing
            .localizers
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    secs(l.seconds),
                    l.images.to_string(),
                    l.images_per_second
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_default(),
                    l.batch.to_string(),
                    l.threads
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "plugin".into()),
                ]
            })
            .collect(),
        notes: vec![],
    };
    let mut rows: Vec<Vec<String>> = timing
        .phases
        .iter()
        .map(|p| {
            vec![
                p.phase.clone(),
                secs(p.wall_seconds),
                secs(p.summed_seconds),
            ]
        })
        .collect();
    rows.push(vec![
        "other".into(),
        secs(timing.unaccounted_seconds),
        String::new(),
    ]);
    rows.push(vec![
        "run (wall)".into(),
        secs(timing.wall_seconds),
        String::new(),
    ]);
    let mut notes = vec![
        "wall: elapsed seconds of each phase, which run one after another, so they add up to \
         the run's wall time; summed: seconds of the phase's items added over threads, above \
         wall where they run in parallel. The report's own time is in results.json."
            .to_string(),
    ];
    if let Some(r) = results.environment.resume {
        notes.push(format!(
            "resumed run: {} work units were taken over from the earlier run's log, {} failed \
             ones were computed again and {} duplicate rows dropped",
            r.kept, r.retried, r.duplicates
        ));
    }
    if let Some(shards) = &timing.shard_wall_seconds {
        notes.push(format!(
            "merged from {} shards (wall seconds {}): localizers and phases are summed over \
             the shards, plus the merge's own work; the run's wall time is the merge's",
            shards.len(),
            shards
                .iter()
                .map(|&s| secs(s))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let phases = Table {
        title: "Time of each phase (seconds)".into(),
        header: ["phase", "wall", "summed"].map(String::from).into(),
        rows,
        notes,
    };
    vec![localizers, phases]
}

/// Tables with more rows than this are folded (`<details>`) under their title, so that a
/// per-category table does not push everything after it out of sight.
pub const COLLAPSE_ROWS: usize = 25;

/// True when `table` is folded (see [`COLLAPSE_ROWS`]).
pub fn is_collapsed(table: &Table) -> bool {
    table.rows.len() > COLLAPSE_ROWS
}

/// The line a folded table shows closed.
fn collapsed_label(table: &Table) -> String {
    format!("{} rows (click to show)", table.rows.len())
}

/// Renders a table as GitHub Markdown (which renders `<details>`), folded when long.
pub fn to_markdown(table: &Table) -> String {
    let mut out = format!("### {}\n\n", table.title);
    let collapsed = is_collapsed(table);
    if collapsed {
        // GitHub needs the blank line to read the table inside as Markdown.
        out.push_str(&format!(
            "<details><summary>{}</summary>\n\n",
            collapsed_label(table)
        ));
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .map(|c| escape_markdown_cell(c))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    out.push_str(&format!(
        "| {} |\n|{}\n",
        line(&table.header),
        "---|".repeat(table.header.len())
    ));
    for row in &table.rows {
        out.push_str(&format!("| {} |\n", line(row)));
    }
    if collapsed {
        out.push_str("\n</details>\n");
    }
    for note in &table.notes {
        out.push_str(&format!("\nNote: {note}\n"));
    }
    out
}

/// Renders a table as plain text for the terminal.
pub fn to_text(table: &Table) -> String {
    let widths: Vec<usize> = (0..table.header.len())
        .map(|i| {
            std::iter::once(&table.header[i])
                .chain(table.rows.iter().map(|r| &r[i]))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = format!("{}\n{}\n", table.title, line(&table.header));
    for row in &table.rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    for note in &table.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// Escapes a Markdown table cell: a `|` would end the cell, a line break the row, and `<` could
/// open HTML (localizer names and ids come from users).
pub fn escape_markdown_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace(['\n', '\r'], " ")
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A cell as HTML: a `mean [lo, hi]` cell keeps the interval in a span of its own, so that a
/// table too wide for the page breaks a cell before its interval instead of overflowing.
fn html_cell(cell: &str) -> String {
    match cell.split_once(" [") {
        Some((mean, ci)) => format!(
            "{} <span class=\"ci\">[{}</span>",
            escape_html(mean),
            escape_html(ci)
        ),
        None => escape_html(cell),
    }
}

/// Renders a table as HTML under a heading with anchor `id`, in a container that scrolls
/// sideways rather than widen the page, folded when long.
pub fn to_html(table: &Table, id: &str) -> String {
    let mut out = format!(
        "<h3 id=\"{}\">{}</h3>\n",
        escape_html(id),
        escape_html(&table.title)
    );
    let collapsed = is_collapsed(table);
    if collapsed {
        out.push_str(&format!(
            "<details><summary>{}</summary>\n",
            collapsed_label(table)
        ));
    }
    out.push_str("<div class=\"scroll\"><table>\n<tr>");
    for h in &table.header {
        out.push_str(&format!("<th>{}</th>", escape_html(h)));
    }
    out.push_str("</tr>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for c in row {
            out.push_str(&format!("<td>{}</td>", html_cell(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    if collapsed {
        out.push_str("</details>\n");
    }
    for note in &table.notes {
        out.push_str(&format!(
            "<p class=\"note\">Note: {}</p>\n",
            escape_html(note)
        ));
    }
    out
}

/// The table of regressions printed by `harness gate`.
pub fn regression_table(regressions: &[Regression]) -> Table {
    Table {
        title: format!("{} regression(s)", regressions.len()),
        header: [
            "metric",
            "localizer",
            "condition",
            "category",
            "baseline",
            "run",
            "why",
        ]
        .map(String::from)
        .to_vec(),
        rows: regressions
            .iter()
            .map(|r| {
                vec![
                    r.metric.to_string(),
                    r.localizer.clone(),
                    r.condition.clone(),
                    r.category.clone(),
                    format!("{:.4}", r.baseline),
                    r.run
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or_else(|| "–".into()),
                    r.reason.clone(),
                ]
            })
            .collect(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::testing::{results, row, suite};

    #[test]
    fn user_text_cannot_break_a_markdown_table() {
        let table = Table {
            title: "t".into(),
            header: vec!["localizer".into(), "COSS".into()],
            rows: vec![vec!["a|b<img src=x>\nc\\".into(), "0.5".into()]],
            notes: vec![],
        };
        let md = to_markdown(&table);
        let row = md.lines().find(|l| l.contains("0.5")).unwrap();
        assert_eq!(row, "| a\\|b&lt;img src=x> c\\\\ | 0.5 |");
        // Still two cells: only escaped bars inside the first.
        assert_eq!(row.matches(" | ").count(), 1);
    }

    #[test]
    fn mix_note_names_the_majority_below_the_minority_share() {
        assert_eq!(
            mix_note(332, 40).unwrap(),
            "ACC over 332 fakes and 40 reals (89 % fake): always answering 'fake' scores 0.89; \
             read AUC and FPR."
        );
        assert_eq!(
            mix_note(1, 9).unwrap(),
            "ACC over 1 fake and 9 reals (90 % real): always answering 'real' scores 0.90; \
             read AUC and FPR."
        );
        // 35 % is not below the limit; 30 % is.
        assert_eq!(mix_note(13, 7), None);
        assert!(mix_note(14, 6).is_some());
        assert_eq!(mix_note(20, 20), None);
        assert_eq!(mix_note(0, 0), None);
    }

    #[test]
    fn the_overall_table_reads_the_mix_from_the_scored_rows() {
        let suite = suite();
        // 8 fakes and 2 reals scored; a ninth fake failed and does not count.
        let mut rows: Vec<_> = (0..10)
            .map(|i| row(&suite, Condition::CLEAN, &format!("img-{i}"), i < 8, 0.6))
            .collect();
        let mut failed = row(&suite, Condition::CLEAN, "img-x", true, 0.6);
        failed.score = None;
        failed.coss = None;
        failed.error = Some("boom".into());
        rows.push(failed);
        let results = results(&suite, rows);
        let table = overall(&suite, &results, Condition::CLEAN);
        assert_eq!(
            table.notes,
            vec![
                "ACC over 8 fakes and 2 reals (80 % fake): always answering 'fake' scores 0.80; \
                 read AUC and FPR."
                    .to_string()
            ]
        );
        assert!(table.header.contains(&"FPR (reals)".to_string()));
        assert!(to_markdown(&table).contains("\nNote: ACC over 8 fakes"));
        assert!(to_html(&table, "t").contains("<p class=\"note\">Note: ACC over 8 fakes"));
        // A balanced mix has no note.
        let balanced: Vec<_> = (0..4)
            .map(|i| row(&suite, Condition::CLEAN, &format!("img-{i}"), i < 2, 0.6))
            .collect();
        let results = crate::results::testing::results(&suite, balanced);
        assert!(overall(&suite, &results, Condition::CLEAN).notes.is_empty());
    }

    #[test]
    fn the_fpr_table_lists_clean_then_each_level() {
        let suite = suite();
        // Reals 0.2, 0.7, 0.5 clean (FPR 2/3); every real 0.1 under jpeg:50 (FPR 0).
        let rows: Vec<_> = [(0.9, 0.9), (0.2, 0.1), (0.7, 0.1), (0.5, 0.1)]
            .into_iter()
            .enumerate()
            .flat_map(|(i, (clean, jpeg))| {
                let id = format!("img-{i}");
                [
                    row(&suite, Condition::CLEAN, &id, i == 0, clean),
                    row(&suite, "jpeg:50", &id, i == 0, jpeg),
                ]
            })
            .collect();
        let results = results(&suite, rows);
        let table = fpr_table(&suite, &results, "jpeg").unwrap();
        assert!(
            table.title.ends_with("over 3 real images"),
            "{}",
            table.title
        );
        let cells: Vec<(&str, &str)> = table
            .rows
            .iter()
            .map(|r| (r[0].as_str(), &r[1][..6]))
            .collect();
        assert_eq!(cells, vec![("clean", "0.6667"), ("jpeg:50", "0.0000")]);
        assert!(fpr_table(&suite, &results, "blur").is_none());
    }
}
