//! The run's figures (paper Figures 1, 6, 8, per-category bars and the FPR on real images under
//! degradation), built from `results.json` and written as PNG and SVG under `plots/`.

use std::path::Path;

use rayon::prelude::*;

use super::plots::{
    self, BarGroup, LevelPanel, PointCi, QualitativeRow, Rendered, Series, ValueAxis,
};
use super::tables::{confidence_label, is_generator_category, GAMMA_METRICS};
use crate::config::{Condition, Suite};
use crate::results::maps::{read_captured, read_index};
use crate::results::{Aggregate, Metric, Results, ALL};

/// Why a figure could not be drawn or written; reported, never fatal.
type FigureError = String;

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
) -> Result<(), FigureError> {
    let plots = dir.join("plots");
    for (ext, bytes) in [
        ("png", rendered.png.as_slice()),
        ("svg", rendered.svg.as_bytes()),
    ] {
        let path = plots.join(format!("{stem}.{ext}"));
        crate::util::write_atomic(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    out.push(Figure {
        title,
        stem: stem.to_string(),
        png: rendered.png,
    });
    Ok(())
}

fn plot_err(what: &str) -> impl FnOnce(plots::PlotError) -> FigureError + '_ {
    move |e| format!("plot {what}: {e}")
}

/// Categories per bar chart; more are split over several charts.
const CATEGORIES_PER_CHART: usize = 12;

/// Renders and writes every figure; returns them for embedding in the HTML report, and what
/// could not be drawn (one line each). The kinds of figure are drawn in parallel (rendering and
/// PNG encoding were the report's time), and listed in this fixed order.
pub fn write_figures(dir: &Path, suite: &Suite, results: &Results) -> (Vec<Figure>, Vec<String>) {
    type Draw = fn(&Path, &Suite, &Results, &mut Vec<Figure>) -> Result<(), FigureError>;
    let kinds: [(&str, Draw); 6] = [
        ("γ curves", gamma_curves),
        ("FPR curves", fpr_curves),
        ("disorganization", disorganization),
        ("categories", categories),
        ("cross-generator", cross_generator),
        ("qualitative", |dir, _, _, figures| {
            qualitative(dir, figures)
        }),
    ];
    let drawn: Vec<(Vec<Figure>, Option<String>)> = kinds
        .par_iter()
        .map(|(what, draw)| {
            let mut figures = Vec::new();
            let failure = draw(dir, suite, results, &mut figures)
                .err()
                .map(|e| format!("{what}: {e}"));
            (figures, failure)
        })
        .collect();
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for (drawn, failure) in drawn {
        figures.extend(drawn);
        failures.extend(failure);
    }
    (figures, failures)
}

/// The degradations swept over levels (every test but clean and disorganize), in suite order.
fn swept_tests(suite: &Suite) -> Vec<&str> {
    let mut tests: Vec<&str> = Vec::new();
    for c in suite.conditions.iter().filter(|c| c.level.is_some()) {
        if !tests.contains(&c.test.as_str()) {
            tests.push(&c.test);
        }
    }
    tests
}

/// Where the clean images sit on a degradation's level axis: its identity level, or on a quality
/// axis (JPEG, which changes pixels at every quality) the best quality, 100.
fn clean_level(test: &str) -> Option<f64> {
    let op = degradations::op_info(test)?;
    op.identity_level
        .or_else(|| op.level_is_quality.then_some(100.0))
}

/// The point of an aggregate (or γ) at its level, with its CI.
fn point(a: &Aggregate) -> Option<PointCi> {
    Some(PointCi {
        x: a.level?,
        y: a.summary.mean,
        lo: a.summary.ci_low,
        hi: a.summary.ci_high,
    })
}

/// One panel per swept degradation with one series per localizer, its points given by
/// `points(localizer, test)`; series without points and panels without series are left out.
/// The tick at [`clean_level`], where every sweep puts its clean point, reads "clean".
fn level_panels(suite: &Suite, points: impl Fn(&str, &str) -> Vec<PointCi>) -> Vec<LevelPanel> {
    swept_tests(suite)
        .into_iter()
        .map(|test| LevelPanel {
            degradation: test.to_string(),
            x_label: degradations::op_info(test)
                .map_or("level", |op| op.axis_label)
                .to_string(),
            reverse_x: degradations::op_info(test).is_some_and(|op| op.level_is_quality),
            series: suite
                .localizers
                .iter()
                .map(|l| Series {
                    label: l.name.clone(),
                    points: points(&l.name, test),
                })
                .filter(|s| !s.points.is_empty())
                .collect(),
            clean_level: clean_level(test),
        })
        .filter(|p| !p.series.is_empty())
        .collect()
}

/// Figure 8: γ curves, one figure per metric (image-level ACC and AUC too), one panel per
/// degradation; every sweep starts from the clean images at [`clean_level`], where γ is 100 by
/// definition.
fn gamma_curves(
    dir: &Path,
    suite: &Suite,
    results: &Results,
    figures: &mut Vec<Figure>,
) -> Result<(), FigureError> {
    for metric in GAMMA_METRICS {
        let panels = level_panels(suite, |localizer, test| {
            let clean = clean_level(test).map(|x| PointCi {
                x,
                y: 100.0,
                lo: 100.0,
                hi: 100.0,
            });
            clean
                .into_iter()
                .chain(
                    results
                        .gamma
                        .iter()
                        .filter(|g| {
                            g.localizer == localizer
                                && g.test == test
                                && g.metric == metric
                                && g.category == ALL
                        })
                        .filter_map(point),
                )
                .collect()
        });
        if panels.is_empty() {
            continue;
        }
        let rendered = plots::gamma_curves(metric.label(), &panels).map_err(plot_err("gamma"))?;
        save(
            dir,
            &format!("gamma_{metric}"),
            format!("γ of {} under degradation", metric.label()),
            rendered,
            figures,
        )?;
    }
    Ok(())
}

/// The FPR on real images against level, one panel per degradation, clean at [`clean_level`]:
/// its level, not its γ, because the clean FPR of a good localizer is 0.
fn fpr_curves(
    dir: &Path,
    suite: &Suite,
    results: &Results,
    figures: &mut Vec<Figure>,
) -> Result<(), FigureError> {
    let fpr_at = |localizer: &str, test: &str| -> Vec<PointCi> {
        let clean = clean_level(test).and_then(|x| {
            let s = results.aggregate(localizer, Condition::CLEAN, ALL, Metric::Fpr)?;
            Some(PointCi {
                x,
                y: s.mean,
                lo: s.ci_low,
                hi: s.ci_high,
            })
        });
        let degraded = results.aggregates.iter().filter(|a| {
            a.localizer == localizer
                && a.test == test
                && a.metric == Metric::Fpr
                && a.category == ALL
        });
        clean
            .into_iter()
            .chain(degraded.filter_map(point))
            .collect()
    };
    let degraded_fpr = results
        .aggregates
        .iter()
        .any(|a| a.metric == Metric::Fpr && a.level.is_some());
    let panels = level_panels(suite, fpr_at);
    if !degraded_fpr || panels.is_empty() {
        return Ok(());
    }
    let axis = ValueAxis {
        title: "FPR on real images under degradation".into(),
        subtitle: format!(
            "share of real images scored ≥ 0.5 (called fake); lower is better; \
             \"clean\": undegraded images; shaded: {} confidence interval",
            confidence_label(suite)
        ),
        label: Metric::Fpr.label().into(),
        reference: None,
        in_view: vec![0.0, 1.0],
        robust: None,
    };
    let rendered = plots::level_curves(&axis, &panels).map_err(plot_err("FPR"))?;
    save(
        dir,
        "fpr_reals",
        "FPR on real images (share called fake) under degradation".into(),
        rendered,
        figures,
    )
}

/// Figure 6: γ under disorganization.
fn disorganization(
    dir: &Path,
    suite: &Suite,
    results: &Results,
    figures: &mut Vec<Figure>,
) -> Result<(), FigureError> {
    if results
        .gamma
        .iter()
        .any(|g| g.test == Condition::DISORGANIZE)
    {
        let groups: Vec<BarGroup> = GAMMA_METRICS
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
                                    && g.test == Condition::DISORGANIZE
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
                    label: metric.label().to_string(),
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
            figures,
        )?;
    }
    Ok(())
}

/// Per-category bars of the clean condition.
fn categories(
    dir: &Path,
    suite: &Suite,
    results: &Results,
    figures: &mut Vec<Figure>,
) -> Result<(), FigureError> {
    for metric in [Metric::Coss, Metric::Ssim] {
        let categories: Vec<&str> = results
            .aggregates
            .iter()
            .filter(|a| {
                a.condition == Condition::CLEAN
                    && is_generator_category(&a.category)
                    && a.metric == metric
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
                                .aggregate(&l.name, Condition::CLEAN, cat, metric)
                                .map(|s| (l.name.clone(), s.mean, s.ci_low, s.ci_high))
                        })
                        .collect(),
                })
                .collect();
            let (title, stem) = if parts == 1 {
                (
                    format!("{} per generator (clean)", metric.label()),
                    format!("categories_{metric}"),
                )
            } else {
                (
                    format!(
                        "{} per generator (clean), part {} of {parts}",
                        metric.label(),
                        part + 1
                    ),
                    format!("categories_{metric}_{}", part + 1),
                )
            };
            let rendered = plots::grouped_bars(&title, metric.label(), &groups, None)
                .map_err(plot_err("categories"))?;
            save(dir, &stem, title, rendered, figures)?;
        }
    }
    Ok(())
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
) -> Result<(), FigureError> {
    for metric in [Metric::Coss, Metric::Ssim] {
        for per_generator in [true, false] {
            let columns: Vec<&str> = results
                .aggregates
                .iter()
                .filter(|a| {
                    a.condition == Condition::CLEAN
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
                        .map(|cat| {
                            results
                                .aggregate(row, Condition::CLEAN, cat, metric)
                                .map(|s| s.mean)
                        })
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
                metric.label()
            );
            let rendered = plots::heatmap(&title, &rows, &labels, &values, (0.0, 1.0))
                .map_err(plot_err("cross-generator heat map"))?;
            save(dir, &format!("{stem}_{metric}"), title, rendered, figures)?;
        }
    }
    Ok(())
}

/// Figure 1 (and 7 with disorganization): image, GT, prediction, overlay for a few images of
/// distinct categories, per localizer, from the maps captured while the suite ran
/// (`evaluation::Capture`); an image a localizer failed on is left out of its panel.
fn qualitative(dir: &Path, figures: &mut Vec<Figure>) -> Result<(), FigureError> {
    let Some(index) = read_index(dir) else {
        return Ok(());
    };
    let panels: Vec<_> = index
        .conditions
        .iter()
        .flat_map(|condition| index.localizers.iter().map(move |l| (condition, l)))
        .collect();
    // Each panel is read and rendered on its own thread; written in order.
    let rendered: Vec<Option<Result<Rendered, FigureError>>> = panels
        .par_iter()
        .map(|(condition, localizer)| {
            let rows: Vec<QualitativeRow> = index
                .images
                .iter()
                .filter_map(|image| {
                    let (shown, gt, pred) =
                        read_captured(dir, condition, &image.stem, &localizer.stem)?;
                    Some(QualitativeRow {
                        label: image.category.clone(),
                        fake: shown,
                        ground_truth: gt,
                        prediction: pred,
                    })
                })
                .collect();
            if rows.is_empty() {
                return None;
            }
            let title = format!("{} — {}", localizer.name, condition);
            Some(plots::qualitative_panel(&title, &rows).map_err(plot_err("qualitative")))
        })
        .collect();
    for ((condition, localizer), rendered) in panels.iter().zip(rendered) {
        let Some(rendered) = rendered else {
            continue;
        };
        save(
            dir,
            &format!("qualitative_{}_{}", localizer.stem, condition),
            format!("Predictions of {} ({})", localizer.name, condition),
            rendered?,
            figures,
        )?;
    }
    Ok(())
}
