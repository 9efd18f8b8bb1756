//! The run's figures (paper Figures 1, 6, 8 and per-category bars), built from `results.json`
//! and written as PNG and SVG under `plots/`.

use std::path::Path;

use crate::dataset::{Dataset, ImageRef};
use crate::plots::{self, BarGroup, GammaPanel, PointCi, QualitativeRow, Rendered, Series};
use crate::results::{Results, ALL};
use crate::runner::{self, RunError};
use crate::suite::Suite;

use super::tables::{is_generator_category, metric_label};

/// A written figure: title and the file stem under `plots/`.
pub struct Figure {
    pub title: String,
    pub stem: String,
    pub png: Vec<u8>,
}

fn save(
    dir: &Path,
    stem: &str,
    title: String,
    rendered: Rendered,
    out: &mut Vec<Figure>,
) -> Result<(), RunError> {
    let plots = dir.join("plots");
    for (ext, bytes) in [
        ("png", rendered.png.as_slice()),
        ("svg", rendered.svg.as_bytes()),
    ] {
        let path = plots.join(format!("{stem}.{ext}"));
        crate::fsutil::write_atomic(&path, bytes)
            .map_err(|source| RunError::Io { path, source })?;
    }
    out.push(Figure {
        title,
        stem: stem.to_string(),
        png: rendered.png,
    });
    Ok(())
}

fn plot_err(what: &str) -> impl FnOnce(plots::PlotError) -> RunError + '_ {
    move |e| RunError::Other(format!("plot {what}: {e}"))
}

fn x_label(test: &str) -> &'static str {
    match test {
        "jpeg" => "JPEG quality",
        "blur" => "Gaussian kernel size (px)",
        "noise" => "noise variance (8-bit scale)",
        "lowres" => "down-scaling ratio per side",
        _ => "level",
    }
}

/// Categories per bar chart; more are split over several charts.
const CATEGORIES_PER_CHART: usize = 12;

/// The level at which a degradation changes nothing (the clean image, γ = 100 by definition).
fn identity_level(test: &str) -> Option<f64> {
    match test {
        "jpeg" => None, // JPEG at quality 100 still changes pixels
        "blur" => Some(1.0),
        "noise" => Some(0.0),
        "lowres" => Some(1.0),
        _ => None,
    }
}

/// Renders and writes every figure; returns them for embedding in the HTML report.
pub fn write_figures(
    dir: &Path,
    suite: &Suite,
    dataset: &Dataset,
    results: &Results,
) -> Result<Vec<Figure>, RunError> {
    let mut figures = Vec::new();
    let mut tests: Vec<&str> = Vec::new();
    for c in suite.conditions.iter().filter(|c| c.level.is_some()) {
        if !tests.contains(&c.test.as_str()) {
            tests.push(&c.test);
        }
    }
    // Figure 8: γ curves, one figure per metric, one panel per degradation.
    for metric in ["coss", "psnr", "ssim", "acc"] {
        let panels: Vec<GammaPanel> = tests
            .iter()
            .map(|test| GammaPanel {
                degradation: test.to_string(),
                x_label: x_label(test).to_string(),
                reverse_x: *test == "jpeg",
                series: suite
                    .localizers
                    .iter()
                    .map(|l| Series {
                        label: l.name.clone(),
                        points: identity_level(test)
                            .map(|x| PointCi {
                                x,
                                y: 100.0,
                                lo: 100.0,
                                hi: 100.0,
                            })
                            .into_iter()
                            .chain(
                                results
                                    .gamma
                                    .iter()
                                    .filter(|g| {
                                        g.localizer == l.name
                                            && g.test == *test
                                            && g.metric == metric
                                            && g.category == ALL
                                    })
                                    .filter_map(|g| {
                                        Some(PointCi {
                                            x: g.level?,
                                            y: g.summary.mean,
                                            lo: g.summary.ci_low,
                                            hi: g.summary.ci_high,
                                        })
                                    }),
                            )
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect(),
            })
            .filter(|p| !p.series.is_empty())
            .collect();
        if panels.is_empty() {
            continue;
        }
        let rendered =
            plots::gamma_curves(metric_label(metric), &panels).map_err(plot_err("gamma"))?;
        save(
            dir,
            &format!("gamma_{metric}"),
            format!("γ of {} under degradation", metric_label(metric)),
            rendered,
            &mut figures,
        )?;
    }
    // Figure 6: γ under disorganization.
    if results.gamma.iter().any(|g| g.test == "disorganize") {
        let groups: Vec<BarGroup> = ["acc", "coss", "psnr", "ssim"]
            .iter()
            .filter_map(|metric| {
                let bars: Vec<(String, f64, f64, f64)> = suite
                    .localizers
                    .iter()
                    .filter_map(|l| {
                        results
                            .gamma
                            .iter()
                            .find(|g| {
                                g.localizer == l.name
                                    && g.test == "disorganize"
                                    && g.metric == *metric
                            })
                            .map(|g| {
                                (
                                    l.name.clone(),
                                    g.summary.mean,
                                    g.summary.ci_low,
                                    g.summary.ci_high,
                                )
                            })
                    })
                    .collect();
                (!bars.is_empty()).then(|| BarGroup {
                    label: metric_label(metric).to_string(),
                    bars,
                })
            })
            .collect();
        let rendered = plots::grouped_bars(
            "Disorganization: γ (% of clean)",
            "γ (%)",
            &groups,
            Some(100.0),
        )
        .map_err(plot_err("disorganization"))?;
        save(
            dir,
            "disorganization",
            "γ under disorganization (2×2 tile shuffle)".into(),
            rendered,
            &mut figures,
        )?;
    }
    // Per-category bars of the clean condition.
    for metric in ["coss", "ssim"] {
        let categories: Vec<&str> = results
            .aggregates
            .iter()
            .filter(|a| {
                a.condition == "clean" && is_generator_category(&a.category) && a.metric == metric
            })
            .map(|a| a.category.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if categories.len() < 2 {
            continue;
        }
        // Wide category lists are split so every chart stays legible.
        let parts = categories.len().div_ceil(CATEGORIES_PER_CHART);
        for (part, chunk) in categories.chunks(CATEGORIES_PER_CHART).enumerate() {
            let groups: Vec<BarGroup> = chunk
                .iter()
                .map(|cat| BarGroup {
                    label: cat.to_string(),
                    bars: suite
                        .localizers
                        .iter()
                        .filter_map(|l| {
                            results
                                .aggregate(&l.name, "clean", cat, metric)
                                .map(|s| (l.name.clone(), s.mean, s.ci_low, s.ci_high))
                        })
                        .collect(),
                })
                .collect();
            let (title, stem) = if parts == 1 {
                (
                    format!("{} per generator (clean)", metric_label(metric)),
                    format!("categories_{metric}"),
                )
            } else {
                (
                    format!(
                        "{} per generator (clean), part {} of {parts}",
                        metric_label(metric),
                        part + 1
                    ),
                    format!("categories_{metric}_{}", part + 1),
                )
            };
            let rendered = plots::grouped_bars(&title, metric_label(metric), &groups, None)
                .map_err(plot_err("categories"))?;
            save(dir, &stem, title, rendered, &mut figures)?;
        }
    }
    cross_generator(dir, suite, results, &mut figures)?;
    figures.extend(qualitative(dir, suite, dataset)?);
    Ok(figures)
}

/// Categories per cross-category heat map; more are drawn per generator only.
const CATEGORIES_PER_HEATMAP: usize = 30;

/// Paper Table 3 as heat maps: one row per localizer (for RQ2, models trained on one generator
/// and property each), one column per tested generator (`cross_generator_*`) and, when there are
/// few enough, per tested generator/property (`cross_category_*`); mean COSS or SSIM on clean
/// images.
fn cross_generator(
    dir: &Path,
    suite: &Suite,
    results: &Results,
    figures: &mut Vec<Figure>,
) -> Result<(), RunError> {
    for metric in ["coss", "ssim"] {
        for per_generator in [true, false] {
            let columns: Vec<&str> = results
                .aggregates
                .iter()
                .filter(|a| {
                    a.condition == "clean"
                        && a.metric == metric
                        && a.category != ALL
                        && is_generator_category(&a.category) == per_generator
                })
                .map(|a| a.category.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if columns.len() < 2 || (!per_generator && columns.len() > CATEGORIES_PER_HEATMAP) {
                continue;
            }
            let rows: Vec<String> = suite.localizers.iter().map(|l| l.name.clone()).collect();
            let values: Vec<Vec<Option<f64>>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .map(|cat| results.aggregate(row, "clean", cat, metric).map(|s| s.mean))
                        .collect()
                })
                .collect();
            let labels: Vec<String> = columns
                .iter()
                .map(|c| c.trim_end_matches("/*").to_string())
                .collect();
            let (what, stem) = if per_generator {
                ("tested generator", "cross_generator")
            } else {
                ("tested generator/property", "cross_category")
            };
            let title = format!(
                "{} by localizer (rows) and {what} (columns), clean",
                metric_label(metric)
            );
            let rendered = plots::heatmap(&title, &rows, &labels, &values, (0.0, 1.0))
                .map_err(plot_err("cross-generator heat map"))?;
            save(dir, &format!("{stem}_{metric}"), title, rendered, figures)?;
        }
    }
    Ok(())
}

/// Figure 1 (and 7 with disorganization): fake, GT, prediction, overlay for a few images of
/// distinct categories, per localizer.
fn qualitative(dir: &Path, suite: &Suite, dataset: &Dataset) -> Result<Vec<Figure>, RunError> {
    // Distinct generators first (they differ most), then distinct categories.
    let mut chosen: Vec<&ImageRef> = Vec::new();
    let fakes = || dataset.images.iter().filter(|i| i.is_fake());
    for image in fakes() {
        if chosen.len() < suite.qualitative
            && !chosen.iter().any(|c| c.generator == image.generator)
        {
            chosen.push(image);
        }
    }
    for image in fakes() {
        if chosen.len() < suite.qualitative
            && !chosen.iter().any(|c| c.category() == image.category())
        {
            chosen.push(image);
        }
    }
    let mut figures = Vec::new();
    if chosen.is_empty() {
        return Ok(figures);
    }
    let loaded = chosen
        .iter()
        .map(|i| dataset.load(i))
        .collect::<Result<Vec<_>, _>>()?;
    let conditions: Vec<&crate::suite::Condition> = suite
        .conditions
        .iter()
        .filter(|c| c.key == "clean" || c.key == "disorganize")
        .collect();
    let mut localizers = runner::build_localizers(suite)?;
    let size = suite.evaluation.size;
    for condition in conditions {
        let prepared = chosen
            .iter()
            .zip(&loaded)
            .map(|(i, l)| runner::prepare(suite, i, l, condition))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RunError::Other)?;
        for (config, localizer) in suite.localizers.iter().zip(localizers.iter_mut()) {
            let preps: Vec<&runner::Prepared> = prepared.iter().collect();
            let rows: Vec<QualitativeRow> = chosen
                .iter()
                .zip(&preps)
                .filter_map(|(image, prep)| {
                    let view = runner::localizer_view(&prep.image, localizer.input_size(), size);
                    let gt = localizer.needs_ground_truth().then(|| {
                        crate::data::resize_map_area(
                            &prep.ground_truth,
                            view.width(),
                            view.height(),
                        )
                    });
                    let input = localizers::LocalizerInput {
                        id: &image.id,
                        image: &view,
                        ground_truth: gt.as_ref(),
                    };
                    let pred = localizer.localize(&[input]).ok()?.into_iter().next()?;
                    Some(QualitativeRow {
                        label: image.category(),
                        fake: crate::data::resize_rgb(&prep.image, size, size),
                        ground_truth: prep.ground_truth.clone(),
                        prediction: crate::data::resize_map_bilinear(&pred.map, size, size),
                    })
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            let title = format!("{} — {}", config.name, condition.key);
            let rendered =
                plots::qualitative_panel(&title, &rows).map_err(plot_err("qualitative"))?;
            let stem = format!("qualitative_{}_{}", sanitize(&config.name), condition.key);
            save(
                dir,
                &stem,
                format!("Predictions of {} ({})", config.name, condition.key),
                rendered,
                &mut figures,
            )?;
        }
    }
    Ok(figures)
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
