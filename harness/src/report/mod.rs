//! Run reports: `tables.csv`, `report.md`, a self-contained `report.html` and `plots/`, written
//! from `results.json` and the maps captured during the run, never by running a localizer.

mod figures;
pub mod plots;
mod summary;
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

/// A piece of a report section, rendered alike into Markdown and HTML.
pub(crate) enum Block<'a> {
    Text(String),
    Bullets(Vec<String>),
    Table(tables::Table),
    Figure(&'a figures::Figure),
}

/// A `##` section of a report. Its `id` is the anchor GitHub derives from its title, so the
/// same table of contents serves both formats.
struct Section<'a> {
    id: &'static str,
    title: &'static str,
    blocks: Vec<Block<'a>>,
}

/// The report in reader order: what was found (summary), what it looks like (figures), every
/// number (tables), where the time went, then what went wrong.
fn sections<'a>(
    suite: &Suite,
    results: &Results,
    figures: &'a [figures::Figure],
    figure_failures: &[String],
) -> Vec<Section<'a>> {
    let mut out = vec![
        Section {
            id: "summary",
            title: "Summary",
            blocks: summary::blocks(suite, results, figure_failures),
        },
        Section {
            id: "figures",
            title: "Figures",
            blocks: figures.iter().map(Block::Figure).collect(),
        },
        Section {
            id: "tables",
            title: "Tables",
            blocks: tables::all_tables(suite, results)
                .into_iter()
                .map(Block::Table)
                .collect(),
        },
        Section {
            id: "where-the-time-went",
            title: "Where the time went",
            blocks: tables::timing_tables(results)
                .into_iter()
                .map(Block::Table)
                .collect(),
        },
    ];
    if !results.failures.is_empty() {
        out.push(Section {
            id: "failures",
            title: "Failures",
            blocks: vec![
                Block::Text(format!(
                    "{} work units failed{}:",
                    results.failures.len(),
                    if results.failures.len() > FAILURES_LISTED {
                        format!("; the first {FAILURES_LISTED}")
                    } else {
                        String::new()
                    }
                )),
                Block::Bullets(
                    results
                        .failures
                        .iter()
                        .take(FAILURES_LISTED)
                        .map(|f| {
                            format!("{} on {} ({}): {}", f.localizer, f.id, f.condition, f.error)
                        })
                        .collect(),
                ),
            ],
        });
    }
    if !figure_failures.is_empty() {
        out.push(Section {
            id: "figures-not-drawn",
            title: "Figures not drawn",
            blocks: vec![Block::Bullets(figure_failures.to_vec())],
        });
    }
    out.retain(|s| !s.blocks.is_empty());
    out
}

/// Failures listed in a report; the rest are in `results.json`.
const FAILURES_LISTED: usize = 50;

/// The anchors of a section's blocks, in order: `<section>-<k>` for its k-th table and
/// `fig-<stem>` for a figure (stems are unique file names); `None` for other blocks.
fn anchors(section: &Section) -> Vec<Option<String>> {
    let mut k = 0;
    section
        .blocks
        .iter()
        .map(|b| match b {
            Block::Table(_) => {
                k += 1;
                Some(format!("{}-{k}", section.id))
            }
            Block::Figure(f) => Some(format!("fig-{}", f.stem)),
            _ => None,
        })
        .collect()
}

fn markdown(suite: &Suite, results: &Results, sections: &[Section]) -> String {
    let mut md = format!("# {}\n\n{}\n\n", suite.name, suite.description.trim());
    for line in header_lines(suite, results) {
        md.push_str(&format!("- {line}\n"));
    }
    md.push_str("\n## Contents\n\n");
    for (i, s) in sections.iter().enumerate() {
        md.push_str(&format!("{}. [{}](#{})\n", i + 1, s.title, s.id));
    }
    for s in sections {
        md.push_str(&format!("\n## {}\n\n", s.title));
        for b in &s.blocks {
            match b {
                Block::Text(t) => md.push_str(&format!("{t}\n\n")),
                Block::Bullets(items) => {
                    for item in items {
                        md.push_str(&format!("- {item}\n"));
                    }
                    md.push('\n');
                }
                Block::Table(t) => {
                    md.push_str(&tables::to_markdown(t));
                    md.push('\n');
                }
                Block::Figure(f) => md.push_str(&format!(
                    "![{}](plots/{}.png) ([SVG](plots/{}.svg))\n\n",
                    f.title, f.stem, f.stem
                )),
            }
        }
    }
    md
}

fn html(suite: &Suite, results: &Results, sections: &[Section]) -> String {
    let esc = tables::escape_html;
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\n\
         <style>{}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n<ul>",
        esc(&suite.name),
        CSS,
        esc(&suite.name),
        esc(suite.description.trim())
    );
    for line in header_lines(suite, results) {
        html.push_str(&format!("<li>{}</li>", esc(&line)));
    }
    html.push_str("</ul>\n<nav class=\"toc\"><h2>Contents</h2><ol>\n");
    for s in sections {
        let entries: Vec<String> = s
            .blocks
            .iter()
            .zip(anchors(s))
            .filter_map(|(b, id)| {
                let title = match b {
                    Block::Table(t) => &t.title,
                    Block::Figure(f) => &f.title,
                    _ => return None,
                };
                Some(format!("<a href=\"#{}\">{}</a>", esc(&id?), esc(title)))
            })
            .collect();
        html.push_str(&format!("<li><a href=\"#{}\">{}</a>", s.id, s.title));
        // A long list of entries is folded like a long table, so the summary stays near the top.
        let list = entries.join(" · ");
        if entries.len() > tables::COLLAPSE_ROWS {
            html.push_str(&format!(
                "<details class=\"entries\"><summary>{} entries</summary>{list}</details>",
                entries.len()
            ));
        } else if !entries.is_empty() {
            html.push_str(&format!("<span class=\"entries\">{list}</span>"));
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ol></nav>\n");
    for s in sections {
        html.push_str(&format!("<section id=\"{}\"><h2>{}</h2>\n", s.id, s.title));
        for (b, id) in s.blocks.iter().zip(anchors(s)) {
            let id = id.unwrap_or_default();
            match b {
                Block::Text(t) => html.push_str(&format!("<p>{}</p>\n", esc(t))),
                Block::Bullets(items) => {
                    html.push_str("<ul>");
                    for item in items {
                        html.push_str(&format!("<li>{}</li>", esc(item)));
                    }
                    html.push_str("</ul>\n");
                }
                Block::Table(t) => html.push_str(&tables::to_html(t, &id)),
                Block::Figure(f) => {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(&f.png);
                    html.push_str(&format!(
                        "<figure id=\"{}\"><img alt=\"{1}\" src=\"data:image/png;base64,{2}\">\
                         <figcaption>{1}</figcaption></figure>\n",
                        esc(&id),
                        esc(&f.title),
                        b64
                    ));
                }
            }
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// Writes `tables.csv`, `plots/`, `report.md` and `report.html` into the run directory, from
/// the results and the maps captured during the run only. Returns the figures that could not be
/// drawn (also listed in the reports): a figure never costs the results.
pub fn write_all(dir: &Path, suite: &Suite, results: &Results) -> Result<Vec<String>, RunError> {
    write(&dir.join("tables.csv"), &csv(results))?;
    let (figures, figure_failures) = figures::write_figures(dir, suite, results);
    let sections = sections(suite, results, &figures, &figure_failures);
    write(
        &dir.join("report.md"),
        markdown(suite, results, &sections).as_bytes(),
    )?;
    write(
        &dir.join("report.html"),
        html(suite, results, &sections).as_bytes(),
    )?;
    Ok(figure_failures)
}

/// Wide tables scroll inside their container and figures shrink to the page, so the page itself
/// never scrolls sideways; a cell breaks before its interval when a table would not fit.
const CSS: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
nav.toc ol{padding-left:1.4em}nav.toc li{margin:.3em 0}nav.toc .entries{display:block;font-size:.85em;color:#555;margin:0}\
nav.toc .entries a{color:#35a}\
.scroll{max-width:100%;overflow-x:auto;margin:0.5em 0 1.5em}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 6px;text-align:right;font-variant-numeric:tabular-nums}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
td .ci{color:#555;font-size:.9em;white-space:nowrap}\
details{margin:0 0 1.5em}details>summary{cursor:pointer;color:#35a}\
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:0.9em}p.note{margin:-1em 0 1.5em;color:#555;font-size:0.9em}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Condition;
    use crate::results::testing::{results, row, suite};

    /// A run with 30 categories (so the per-category tables are long) and two figures.
    fn report() -> (String, String) {
        let suite = suite();
        let rows: Vec<_> = (0..34)
            .map(|i| {
                let mut r = row(&suite, Condition::CLEAN, &format!("img-{i}"), i < 30, 0.6);
                r.generator = format!("g{i:02}");
                r
            })
            .collect();
        let results = results(&suite, rows);
        let figures: Vec<figures::Figure> = ["gamma_coss", "fpr_reals"]
            .map(|stem| figures::Figure {
                title: format!("figure {stem}"),
                stem: stem.into(),
                png: vec![0x89, b'P', b'N', b'G'],
            })
            .into();
        let sections = sections(&suite, &results, &figures, &[]);
        (
            markdown(&suite, &results, &sections),
            html(&suite, &results, &sections),
        )
    }

    fn positions<'a>(text: &'a str, pattern: &'a str) -> impl Iterator<Item = usize> + 'a {
        text.match_indices(pattern).map(|(i, _)| i)
    }

    #[test]
    fn the_report_reads_summary_then_figures_then_tables() {
        let (md, html) = report();
        let at =
            |text: &str, pattern: &str| text.find(pattern).unwrap_or_else(|| panic!("{pattern}"));
        let summary = at(&html, "<section id=\"summary\">");
        let figure = at(&html, "<figure");
        let tables = at(&html, "<section id=\"tables\">");
        assert!(summary < figure && figure < tables);
        // Only the summary's short tables come before the figures.
        let summary_end = summary + at(&html[summary..], "</section>");
        for table in positions(&html, "<table").filter(|&t| t < figure) {
            assert!(summary < table && table < summary_end);
        }
        assert!(html[summary..summary_end].contains("headline metrics"));
        for heading in ["## Summary", "## Figures", "## Tables"] {
            assert!(md.contains(&format!("\n{heading}\n")), "{heading}");
        }
        assert!(at(&md, "\n## Summary") < at(&md, "\n## Figures"));
        assert!(at(&md, "\n## Figures") < at(&md, "\n## Tables"));
        assert!(at(&md, "![figure gamma_coss]") < at(&md, "\n## Tables"));
    }

    #[test]
    fn every_contents_link_has_its_anchor() {
        let (md, html) = report();
        let links: Vec<&str> = html
            .split("href=\"#")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert!(links.len() >= 9, "{links:?}");
        for id in ["summary", "figures", "tables", "fig-gamma_coss", "tables-1"] {
            assert!(links.contains(&id), "no link to {id}");
        }
        for id in &links {
            assert_eq!(
                html.matches(&format!(" id=\"{id}\"")).count(),
                1,
                "anchor {id} missing or repeated"
            );
        }
        // Markdown links to its headings by the anchors GitHub derives from them.
        for (title, id) in [
            ("Summary", "summary"),
            ("Figures", "figures"),
            ("Tables", "tables"),
        ] {
            assert!(md.contains(&format!("[{title}](#{id})")));
            assert_eq!(title.to_lowercase().replace(' ', "-"), id);
        }
    }

    #[test]
    fn long_tables_are_folded_and_wide_ones_scroll() {
        let (md, html) = report();
        let folded = html.matches("<details><summary>30 rows").count();
        // COSS per generator and per generator and property: 30 rows each.
        assert_eq!(folded, 2, "{html}");
        assert_eq!(md.matches("<details><summary>30 rows").count(), 2);
        // The short tables are not folded, and every table is in a scrolling container.
        assert_eq!(
            html.matches("<details><summary>").count(),
            folded,
            "only long tables fold (contents lists have their own class)"
        );
        assert_eq!(
            html.matches("<table>").count(),
            html.matches("<div class=\"scroll\"><table>").count()
        );
        assert!(CSS.contains(".scroll{max-width:100%;overflow-x:auto"));
        assert!(CSS.contains("img{max-width:100%"));
    }
}
