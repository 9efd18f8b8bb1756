//! Run reports: `tables.csv`, `report.md`, a self-contained `report.html` and `plots/`, written
//! from `results.json` and the maps captured during the run, never by running a localizer.

mod figures;
pub mod plots;
pub mod tables;

use std::path::Path;

use base64::Engine;

use crate::config::Suite;
use crate::error::RunError;
use crate::results::Results;

fn write(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    crate::util::write_atomic(path, bytes).map_err(|source| RunError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `tables.csv`: every aggregate and γ, one row each.
pub fn csv(results: &Results) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "localizer",
        "condition",
        "test",
        "level",
        "category",
        "metric",
        "n",
        "mean",
        "std",
        "ci_low",
        "ci_high",
    ])
    .expect("in-memory write");
    let level = |l: Option<f64>| l.map(|l| l.to_string()).unwrap_or_default();
    let rows = results
        .aggregates
        .iter()
        .map(|a| {
            (
                "aggregate",
                &a.localizer,
                &a.condition,
                &a.test,
                a.level,
                &a.category,
                &a.metric,
                &a.summary,
            )
        })
        .chain(results.gamma.iter().map(|g| {
            (
                "gamma",
                &g.localizer,
                &g.condition,
                &g.test,
                g.level,
                &g.category,
                &g.metric,
                &g.summary,
            )
        }));
    for (kind, loc, cond, test, lvl, cat, metric, s) in rows {
        w.write_record([
            kind.to_string(),
            loc.clone(),
            cond.clone(),
            test.clone(),
            level(lvl),
            cat.clone(),
            metric.to_string(),
            s.n.to_string(),
            s.mean.to_string(),
            s.std.to_string(),
            s.ci_low.to_string(),
            s.ci_high.to_string(),
        ])
        .expect("in-memory write");
    }
    w.into_inner().expect("in-memory write")
}

fn header_lines(suite: &Suite, results: &Results) -> Vec<String> {
    vec![
        format!(
            "suite `{}` (config {}), harness {} ({})",
            suite.name, results.config_hash, results.harness_version, results.git_commit
        ),
        format!(
            "data: {} images ({} fake, {} real) from {}, split {}; ground truth policy: {}",
            results.dataset["images"],
            results.dataset["fakes"],
            results.dataset["reals"],
            results.dataset["source"].as_str().unwrap_or("?"),
            suite.data.split,
            results.ground_truth_policy
        ),
        format!(
            "evaluation size {0}×{0}; {1}% CIs from {2} bootstrap resamples",
            suite.evaluation.size,
            100.0 * suite.evaluation.confidence,
            suite.evaluation.bootstrap_resamples
        ),
    ]
}

/// Writes `tables.csv`, `plots/`, `report.md` and `report.html` into the run directory, from
/// the results and the maps captured during the run only. Returns the figures that could not be
/// drawn (also listed in the reports): a figure never costs the results.
pub fn write_all(dir: &Path, suite: &Suite, results: &Results) -> Result<Vec<String>, RunError> {
    write(&dir.join("tables.csv"), &csv(results))?;
    let (figures, figure_failures) = figures::write_figures(dir, suite, results);
    let tables = tables::all_tables(suite, results);
    let failures = if results.failures.is_empty() {
        String::new()
    } else {
        let mut s = format!("\n## Failures ({})\n\n", results.failures.len());
        for f in results.failures.iter().take(50) {
            s.push_str(&format!(
                "- {} on {} ({}): {}\n",
                f.localizer, f.id, f.condition, f.error
            ));
        }
        s
    };

    let mut md = format!("# {}\n\n{}\n\n", suite.name, suite.description.trim());
    for line in header_lines(suite, results) {
        md.push_str(&format!("- {line}\n"));
    }
    md.push('\n');
    for t in &tables {
        md.push_str(&tables::to_markdown(t));
        md.push('\n');
    }
    md.push_str("## Figures\n\n");
    for f in &figures {
        md.push_str(&format!(
            "![{}](plots/{}.png) ([SVG](plots/{}.svg))\n\n",
            f.title, f.stem, f.stem
        ));
    }
    md.push_str(&failures);
    if !figure_failures.is_empty() {
        md.push_str("\n## Figures not drawn\n\n");
        for f in &figure_failures {
            md.push_str(&format!("- {f}\n"));
        }
    }
    write(&dir.join("report.md"), md.as_bytes())?;

    let esc = tables::escape_html;
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n<ul>",
        esc(&suite.name), CSS, esc(&suite.name), esc(suite.description.trim())
    );
    for line in header_lines(suite, results) {
        html.push_str(&format!("<li>{}</li>", esc(&line)));
    }
    html.push_str("</ul>\n");
    for t in &tables {
        html.push_str(&tables::to_html(t));
    }
    html.push_str("<h2>Figures</h2>\n");
    for f in &figures {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&f.png);
        html.push_str(&format!(
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}</figcaption></figure>\n",
            esc(&f.title),
            b64
        ));
    }
    if !results.failures.is_empty() {
        html.push_str(&format!(
            "<h2>Failures ({})</h2><ul>",
            results.failures.len()
        ));
        for f in results.failures.iter().take(50) {
            html.push_str(&format!(
                "<li>{} on {} ({}): {}</li>",
                esc(&f.localizer),
                esc(&f.id),
                esc(&f.condition),
                esc(&f.error)
            ));
        }
        html.push_str("</ul>");
    }
    if !figure_failures.is_empty() {
        html.push_str("<h2>Figures not drawn</h2><ul>");
        for f in &figure_failures {
            html.push_str(&format!("<li>{}</li>", esc(f)));
        }
        html.push_str("</ul>");
    }
    html.push_str("</body></html>\n");
    write(&dir.join("report.html"), html.as_bytes())?;
    Ok(figure_failures)
}

const CSS: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;font-variant-numeric:tabular-nums}\
th{background:#f3f3f3}td{white-space:nowrap}td:first-child,th:first-child{text-align:left}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}\
figcaption{color:#555;font-size:0.9em}p.note{margin:-1em 0 1.5em;color:#555;font-size:0.9em}";
