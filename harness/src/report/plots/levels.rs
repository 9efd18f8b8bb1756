//! A value against degradation level, one panel per degradation, one line per localizer with its
//! confidence band: γ in percent of clean (paper Figure 8, [`gamma_curves`], one figure per
//! metric) or a value read as it is, such as the FPR on real images ([`level_curves`]).

use plotters::coord::Shift;
use plotters::element::{EmptyElement, PathElement, Polygon, Text};
use plotters::prelude::{
    ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries, RGBColor,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::Color;

use super::axis::{level_ticks, nice_ticks, padded, robust_range, Ticked};
use super::canvas::{draw_err, render, Figure};
use super::legend::{Footer, Swatch};
use super::style::{self, format_tick, MUTED};
use super::{PlotError, PointCi, Rendered, Series};

/// What the vertical axis of [`level_curves`] shows and how the figure is read.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    /// Figure title.
    pub title: String,
    /// How to read the figure, printed under the title.
    pub subtitle: String,
    /// Vertical axis label with its unit (e.g. `"γ (%)"`).
    pub label: String,
    /// A value drawn as a dashed line across every panel (γ: 100, no change).
    pub reference: Option<f64>,
    /// Values kept in view whatever the data (the reference; a rate's 0 and 1), so that panels
    /// and figures are read on a familiar scale.
    pub in_view: Vec<f64>,
    /// With `Some(core)`, the axis spans the points' 5th to 95th percentile widened to `core`
    /// ([`robust_range`]) and values beyond it are drawn at its edge (points as arrows) and
    /// listed in a note, so that one localizer's outlier does not flatten every other line.
    /// `None`: every value and interval in view.
    pub robust: Option<(f64, f64)>,
}

impl ValueAxis {
    /// γ of `metric` (e.g. `"SSIM"`) in percent of clean, read against 100.
    pub fn gamma(metric: &str) -> ValueAxis {
        ValueAxis {
            title: format!("γ of {metric} under degradation"),
            subtitle: "γ = 100 · mean(degraded) / mean(clean) on the same images; \
                       \"clean\": undegraded; dashed: no change; shaded: confidence interval"
                .into(),
            label: "γ (%)".into(),
            reference: Some(100.0),
            in_view: vec![100.0],
            robust: Some(GAMMA_CORE),
        }
    }
}

/// The γ range always in view (%): halving to a 50 % rise, what a reader scans first.
pub const GAMMA_CORE: (f64, f64) = (50.0, 150.0);

/// One panel of [`level_curves`]: the localizers' values over the levels of one degradation.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelPanel {
    /// Panel title, the degradation's name (e.g. `"jpeg"`).
    pub degradation: String,
    /// Horizontal axis label with its unit (e.g. `"JPEG quality"`, `"kernel size (px)"`).
    pub x_label: String,
    /// One series per localizer: `x` = level, `y` = the value (e.g. γ), `lo`/`hi` = its CI.
    pub series: Vec<Series>,
    /// Draw the level axis decreasing to the right (JPEG: quality falls, degradation grows).
    pub reverse_x: bool,
    /// The level at which the series place the clean images; its tick reads "clean", since
    /// there a point is the undegraded images and not necessarily that level applied (JPEG at
    /// quality 100 still recompresses).
    pub clean_level: Option<f64>,
}

/// Draws paper Figure 8 for one metric (e.g. `"SSIM"`): γ in percent against level, one panel per
/// degradation (shared γ axis, a dashed line at 100), one line per localizer with a shaded
/// confidence band (a whisker where a point's neighbours lack a CI), a legend below the panels.
///
/// Points with a non-finite `x` or `y` are skipped and non-finite `lo`/`hi` drop the interval;
/// both are listed in [`Rendered::notes`] and printed under the chart. Errors when there are no
/// panels, no finite point at all, an empty or duplicated series label within a panel, or an
/// empty metric name.
pub fn gamma_curves(metric: &str, panels: &[LevelPanel]) -> Result<Rendered, PlotError> {
    if metric.trim().is_empty() {
        return Err(PlotError::Invalid {
            chart: CHART,
            what: "the metric name is empty; pass e.g. \"SSIM\"".into(),
        });
    }
    level_curves(&ValueAxis::gamma(metric), panels)
}

/// Draws values against level as [`gamma_curves`] draws γ, on the vertical axis `axis`
/// describes (its reference line, if any, dashed). Errors as [`gamma_curves`], and for an empty
/// title.
pub fn level_curves(axis: &ValueAxis, panels: &[LevelPanel]) -> Result<Rendered, PlotError> {
    render(&LevelFigure::new(axis, panels)?)
}

const CHART: &str = "gamma_curves";
const PANEL_W: u32 = 540;
const PANEL_H: u32 = 410;
const HEADER_H: u32 = 84;

/// A series reduced to its drawable points, in plotted order.
struct CleanSeries {
    /// Index into the figure's label list (colour and marker).
    index: usize,
    /// Finite points with `x` already multiplied by the panel's sign, sorted by it.
    points: Vec<PointCi>,
}

struct PanelData<'a> {
    panel: &'a LevelPanel,
    /// −1 when the axis is reversed: plotting −x keeps plotters' ranges increasing.
    sign: f64,
    series: Vec<CleanSeries>,
    x_range: (f64, f64),
    x_ticks: Vec<f64>,
}

struct LevelFigure<'a> {
    axis: &'a ValueAxis,
    panels: Vec<PanelData<'a>>,
    cols: u32,
    rows: u32,
    y_range: (f64, f64),
    y_ticks: Vec<f64>,
    footer: Footer,
    notes: Vec<String>,
}

impl<'a> LevelFigure<'a> {
    fn new(axis: &'a ValueAxis, panels: &'a [LevelPanel]) -> Result<Self, PlotError> {
        if axis.title.trim().is_empty() {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: "the figure title is empty; name the value drawn".into(),
            });
        }
        if panels.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: "no panels; pass one LevelPanel per degradation".into(),
            });
        }
        let mut labels: Vec<String> = Vec::new();
        let mut notes = Vec::new();
        let mut data = Vec::with_capacity(panels.len());
        for panel in panels {
            data.push(clean_panel(panel, &mut labels, &mut notes)?);
        }
        let finite: Vec<f64> = data
            .iter()
            .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter()))
            .flat_map(|p| [p.y, p.lo, p.hi])
            .filter(|v| v.is_finite())
            .collect();
        if finite.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: format!(
                    "no finite value in any of the {} panels of {:?}",
                    panels.len(),
                    axis.title
                ),
            });
        }
        let (lo, hi) = match axis.robust {
            Some(core) => {
                let ys: Vec<f64> = data
                    .iter()
                    .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|q| q.y)))
                    .collect();
                robust_range(&ys, core)
            }
            None => (
                finite.iter().copied().fold(f64::INFINITY, f64::min),
                finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
        };
        let lo = axis.in_view.iter().copied().fold(lo, f64::min);
        let hi = axis.in_view.iter().copied().fold(hi, f64::max);
        // A flat γ (one value, nothing else in view) gets ±5 percentage points.
        let y_range = padded(lo, hi, 0.06, 5.0);
        if let Some(core) = axis.robust {
            notes.extend(clipped_notes(&data, &labels, y_range, core, &axis.label));
        }
        let y_ticks = nice_ticks(y_range.0, y_range.1, 6);
        let n = panels.len() as u32;
        let cols = if n <= 3 {
            n
        } else {
            (f64::from(n)).sqrt().ceil() as u32
        };
        let rows = n.div_ceil(cols);
        let footer = Footer::new(Swatch::Line, &labels, &notes, cols * PANEL_W)?;
        Ok(Self {
            axis,
            panels: data,
            cols,
            rows,
            y_range,
            y_ticks,
            footer,
            notes,
        })
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &PanelData,
    ) -> Result<(), PlotError> {
        let (x0, x1) = p.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(area)
            .caption(&p.panel.degradation, style::bold(style::PANEL_TITLE_PX))
            .margin(12)
            .margin_right(26)
            .x_label_area_size(58)
            .y_label_area_size(74)
            .build_cartesian_2d(
                Ticked {
                    lo: x0,
                    hi: x1,
                    ticks: p.x_ticks.clone(),
                },
                Ticked {
                    lo: y0,
                    hi: y1,
                    ticks: self.y_ticks.clone(),
                },
            )
            .map_err(draw_err)?;
        let (sign, clean) = (p.sign, p.panel.clean_level);
        let x_tick = |v: &f64| match sign * v {
            level if clean == Some(level) => "clean".to_string(),
            level => format_tick(level),
        };
        chart
            .configure_mesh()
            .x_desc(&p.panel.x_label)
            .y_desc(&self.axis.label)
            .x_label_formatter(&x_tick)
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(style::text(style::TICK_PX))
            .axis_desc_style(style::text(style::LABEL_PX))
            .bold_line_style(RGBColor(228, 228, 228))
            .axis_style(MUTED)
            .draw()
            .map_err(draw_err)?;
        if let Some(y) = self.axis.reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, y), (x1, y)],
                    9,
                    6,
                    MUTED.stroke_width(2),
                ))
                .map_err(draw_err)?;
        }
        // Values beyond the axis (a robust axis clips outliers) are drawn at its edge.
        let clip = |v: f64| v.clamp(y0, y1);
        // All bands first, so no band veils another localizer's line.
        for s in &p.series {
            let colour = style::series_colour(s.index);
            for run in ci_runs(&s.points) {
                if run.len() >= 2 {
                    let outline: Vec<(f64, f64)> = run
                        .iter()
                        .map(|q| (q.x, clip(q.hi)))
                        .chain(run.iter().rev().map(|q| (q.x, clip(q.lo))))
                        .collect();
                    chart
                        .draw_series([Polygon::new(outline, colour.mix(0.18).filled())])
                        .map_err(draw_err)?;
                } else {
                    let q = run[0];
                    let whisker = (q.x, clip(q.lo), clip(q.hi));
                    style::draw_whisker(chart.plotting_area(), whisker, 5, colour)?;
                }
            }
        }
        for s in &p.series {
            let colour = style::series_colour(s.index);
            let line = colour.stroke_width(3);
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|q| (q.x, clip(q.y))),
                    line,
                ))
                .map_err(draw_err)?;
            for q in &s.points {
                if q.y > y1 || q.y < y0 {
                    draw_clip_arrow(chart.plotting_area(), (q.x, clip(q.y)), q.y > y1, colour)?;
                } else {
                    style::draw_marker(chart.plotting_area(), s.index, (q.x, q.y), colour)?;
                }
            }
        }
        if p.series.iter().all(|s| s.points.is_empty()) {
            let centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let muted = style::text(style::LABEL_PX)
                .color(&MUTED)
                .pos(Pos::new(HPos::Center, VPos::Center));
            chart
                .plotting_area()
                .draw(&Text::new("no finite data", centre, muted))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

impl Figure for LevelFigure<'_> {
    const CHART: &'static str = CHART;

    fn size(&self) -> (u32, u32) {
        (
            self.cols * PANEL_W,
            HEADER_H + self.rows * PANEL_H + self.footer.height(),
        )
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let width = (self.cols * PANEL_W) as i32;
        let centred = Pos::new(HPos::Center, VPos::Top);
        root.draw(&Text::new(
            self.axis.title.as_str(),
            (width / 2, 14),
            style::bold(style::TITLE_PX).pos(centred),
        ))
        .map_err(draw_err)?;
        let sub_style = style::text(style::NOTE_PX + 1.0).color(&MUTED).pos(centred);
        root.draw(&Text::new(
            self.axis.subtitle.as_str(),
            (width / 2, 50),
            sub_style,
        ))
        .map_err(draw_err)?;
        let body = root
            .clone()
            .shrink((0, HEADER_H), (self.cols * PANEL_W, self.rows * PANEL_H));
        let cells = body.split_evenly((self.rows as usize, self.cols as usize));
        for (cell, panel) in cells.iter().zip(&self.panels) {
            self.draw_panel(cell, panel)?;
        }
        self.footer
            .draw(root, (HEADER_H + self.rows * PANEL_H) as i32)
    }
}

/// Validates one panel and reduces its series to finite points; registers new labels.
fn clean_panel<'a>(
    panel: &'a LevelPanel,
    labels: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<PanelData<'a>, PlotError> {
    let sign = if panel.reverse_x { -1.0 } else { 1.0 };
    let mut series = Vec::with_capacity(panel.series.len());
    for (k, s) in panel.series.iter().enumerate() {
        if s.label.trim().is_empty() {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: format!(
                    "series {k} of panel {:?} has an empty label; name the localizer",
                    panel.degradation
                ),
            });
        }
        if panel.series[..k].iter().any(|t| t.label == s.label) {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: format!(
                    "panel {:?} has two series labelled {:?}; merge or rename them",
                    panel.degradation, s.label
                ),
            });
        }
        let index = match labels.iter().position(|l| *l == s.label) {
            Some(i) => i,
            None => {
                labels.push(s.label.clone());
                labels.len() - 1
            }
        };
        let mut points: Vec<PointCi> = s
            .points
            .iter()
            .filter(|q| q.x.is_finite() && q.y.is_finite())
            .map(|q| PointCi {
                x: sign * q.x,
                ..*q
            })
            .collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        let skipped = s.points.len() - points.len();
        if skipped > 0 {
            notes.push(format!(
                "{}, {}: {skipped} point(s) with a non-finite level or value not drawn.",
                panel.degradation, s.label
            ));
        }
        let no_ci = points
            .iter()
            .filter(|q| !(q.lo.is_finite() && q.hi.is_finite()))
            .count();
        if no_ci > 0 {
            notes.push(format!(
                "{}, {}: {no_ci} point(s) drawn without a confidence interval (non-finite bounds).",
                panel.degradation, s.label
            ));
        }
        series.push(CleanSeries { index, points });
    }
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.x))
        .collect();
    let (lo, hi) = if xs.is_empty() {
        (0.0, 1.0)
    } else {
        (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let x_range = padded(lo, hi, 0.05, 1.0);
    let x_ticks = level_ticks(&xs, x_range.0, x_range.1);
    Ok(PanelData {
        panel,
        sign,
        series,
        x_range,
        x_ticks,
    })
}

/// An arrow with its tip on the axis edge at `at`, pointing out of the plot (up when `up`): a
/// point whose value lies beyond the axis.
fn draw_clip_arrow<DB: DrawingBackend, CT: plotters::coord::CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    at: (f64, f64),
    up: bool,
    colour: RGBColor,
) -> Result<(), PlotError> {
    // Pixel offsets grow downwards; the arrow lies inside the plot, below an upper edge.
    let d = if up { 1 } else { -1 };
    let head = vec![(0, 0), (-7, 11 * d), (7, 11 * d)];
    let stem = vec![(0, 8 * d), (0, 22 * d)];
    area.draw(&(EmptyElement::at(at) + Polygon::new(head, colour.filled())))
        .map_err(draw_err)?;
    area.draw(&(EmptyElement::at(at) + PathElement::new(stem, colour.stroke_width(3))))
        .map_err(draw_err)
}

/// One note per localizer with values beyond `y_range` (a robust axis), saying how many and how
/// far, and where; the first note says how they are drawn.
fn clipped_notes(
    panels: &[PanelData],
    labels: &[String],
    (y0, y1): (f64, f64),
    core: (f64, f64),
    unit: &str,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (index, label) in labels.iter().enumerate() {
        let mut count = 0;
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut panels_hit: Vec<&str> = Vec::new();
        for p in panels {
            let beyond: Vec<f64> = p
                .series
                .iter()
                .filter(|s| s.index == index)
                .flat_map(|s| s.points.iter().map(|q| q.y))
                .filter(|&y| y < y0 || y > y1)
                .collect();
            if !beyond.is_empty() {
                count += beyond.len();
                low = beyond.iter().copied().fold(low, f64::min);
                high = beyond.iter().copied().fold(high, f64::max);
                panels_hit.push(&p.panel.degradation);
            }
        }
        if count == 0 {
            continue;
        }
        let span = if low == high {
            format_tick_value(low)
        } else {
            format!("{} to {}", format_tick_value(low), format_tick_value(high))
        };
        notes.push(format!(
            "{label}: {count} point(s) beyond the axis ({span}) in {}.",
            panels_hit.join(", ")
        ));
    }
    if !notes.is_empty() {
        notes.insert(
            0,
            format!(
                "{unit} axis cut to {}–{} (5th–95th percentile of the points, at least {}–{}); \
                 values beyond sit at its edge, points as arrows.",
                format_tick_value(y0),
                format_tick_value(y1),
                format_tick_value(core.0),
                format_tick_value(core.1)
            ),
        );
    }
    notes
}

/// A value in a note: one decimal at most.
fn format_tick_value(v: f64) -> String {
    format_tick((v * 10.0).round() / 10.0)
}

/// Maximal runs of consecutive points whose interval bounds are both finite.
fn ci_runs(points: &[PointCi]) -> Vec<&[PointCi]> {
    points
        .split(|q| !(q.lo.is_finite() && q.hi.is_finite()))
        .filter(|run| !run.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::canvas::tests::{check_svg, decode_png};

    fn point(x: f64, y: f64) -> PointCi {
        PointCi {
            x,
            y,
            lo: y - 3.0,
            hi: y + 3.0,
        }
    }

    fn panels() -> Vec<LevelPanel> {
        let jpeg = |label: &str, drop: f64| Series {
            label: label.into(),
            points: [100.0, 90.0, 70.0, 50.0, 30.0]
                .iter()
                .map(|&q| point(q, 100.0 - drop * (100.0 - q)))
                .collect(),
        };
        let blur = |label: &str, drop: f64| Series {
            label: label.into(),
            points: [1.0, 3.0, 5.0, 7.0, 9.0]
                .iter()
                .map(|&k| point(k, 100.0 - drop * k))
                .collect(),
        };
        vec![
            LevelPanel {
                degradation: "jpeg".into(),
                x_label: "JPEG quality".into(),
                series: vec![jpeg("deeplabv3", 0.3), jpeg("stehouwer", 0.6)],
                reverse_x: true,
                clean_level: None,
            },
            LevelPanel {
                degradation: "blur".into(),
                x_label: "kernel size (px)".into(),
                series: vec![blur("deeplabv3", 2.0), blur("stehouwer", 5.0)],
                reverse_x: false,
                clean_level: None,
            },
        ]
    }

    fn count_colour(img: &image::RgbImage, c: RGBColor) -> usize {
        img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count()
    }

    #[test]
    fn renders_valid_png_and_svg_with_every_series() {
        let p = panels();
        let out = gamma_curves("SSIM", &p).unwrap();
        let axis = ValueAxis::gamma("SSIM");
        let fig = LevelFigure::new(&axis, &p).unwrap();
        let (w, h) = fig.size();
        assert_eq!((fig.cols, fig.rows), (2, 1));
        let img = decode_png(&out.png, w, h);
        check_svg(&out.svg, w, h);
        for i in 0..2 {
            assert!(
                count_colour(&img, style::series_colour(i)) > 200,
                "series {i} colour missing"
            );
        }
        for text in [
            "γ of SSIM under degradation",
            "JPEG quality",
            "kernel size (px)",
            "γ (%)",
            "deeplabv3",
            "stehouwer",
        ] {
            assert!(out.svg.contains(text), "SVG lacks {text:?}");
        }
        assert!(out.notes.is_empty());
    }

    #[test]
    fn reversed_axis_puts_high_quality_on_the_left() {
        let p = panels();
        let axis = ValueAxis::gamma("SSIM");
        let fig = LevelFigure::new(&axis, &p).unwrap();
        let jpeg = &fig.panels[0];
        assert_eq!(jpeg.sign, -1.0);
        // Plotted order is left to right: quality 100 first.
        let xs: Vec<f64> = jpeg.series[0]
            .points
            .iter()
            .map(|q| jpeg.sign * q.x)
            .collect();
        assert_eq!(xs, vec![100.0, 90.0, 70.0, 50.0, 30.0]);
        assert!(jpeg.x_range.0 < -100.0 && jpeg.x_range.1 > -30.0);
        let blur = &fig.panels[1];
        assert_eq!(blur.x_ticks, vec![1.0, 3.0, 5.0, 7.0, 9.0]);
        // The shared γ axis shows 100 and every interval.
        assert!(fig.y_ticks.contains(&100.0));
        assert!(fig.y_range.0 < 100.0 - 5.0 * 9.0 - 3.0);
    }

    #[test]
    fn deterministic() {
        let a = gamma_curves("COSS", &panels()).unwrap();
        let b = gamma_curves("COSS", &panels()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn non_finite_points_are_skipped_and_noted() {
        let mut p = panels();
        p[0].series[0].points[1].y = f64::NAN;
        p[1].series[1].points[2].hi = f64::INFINITY;
        let out = gamma_curves("PSNR", &p).unwrap();
        assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
        assert!(out.notes[0].contains("jpeg, deeplabv3: 1 point"));
        assert!(out.notes[1]
            .contains("blur, stehouwer: 1 point(s) drawn without a confidence interval"));
        assert!(out.svg.contains("Note: jpeg, deeplabv3"));
        let axis = ValueAxis::gamma("PSNR");
        let fig = LevelFigure::new(&axis, &p).unwrap();
        assert_eq!(fig.panels[0].series[0].points.len(), 4);
        assert_eq!(
            ci_runs(&fig.panels[1].series[1].points)
                .iter()
                .map(|r| r.len())
                .collect::<Vec<_>>(),
            vec![2, 2]
        );
    }

    #[test]
    fn empty_inputs_are_clear_errors() {
        assert!(matches!(
            gamma_curves("SSIM", &[]),
            Err(PlotError::Empty { .. })
        ));
        let mut p = panels();
        for panel in &mut p {
            for s in &mut panel.series {
                s.points.clear();
            }
        }
        let err = gamma_curves("SSIM", &p).unwrap_err();
        assert!(matches!(err, PlotError::Empty { .. }));
        assert!(err.to_string().contains("no finite value"), "{err}");
        assert!(matches!(
            gamma_curves(" ", &panels()),
            Err(PlotError::Invalid { .. })
        ));
        let mut dup = panels();
        dup[0].series[1].label = "deeplabv3".into();
        assert!(matches!(
            gamma_curves("SSIM", &dup),
            Err(PlotError::Invalid { .. })
        ));
    }

    #[test]
    fn single_points_and_flat_values_render() {
        let single = LevelPanel {
            degradation: "disorganize".into(),
            x_label: "permutation".into(),
            series: vec![Series {
                label: "oracle".into(),
                points: vec![PointCi {
                    x: 1.0,
                    y: 100.0,
                    lo: 100.0,
                    hi: 100.0,
                }],
            }],
            reverse_x: false,
            clean_level: None,
        };
        let axis = ValueAxis::gamma("SSIM");
        let fig = LevelFigure::new(&axis, std::slice::from_ref(&single)).unwrap();
        assert_eq!(fig.panels[0].x_range, (0.0, 2.0));
        // A flat γ shows the core range, padded.
        assert_eq!(fig.y_range, (44.0, 156.0));
        let out = gamma_curves("SSIM", std::slice::from_ref(&single)).unwrap();
        decode_png(&out.png, fig.size().0, fig.size().1);
    }

    #[test]
    fn a_gamma_outlier_is_cut_off_drawn_at_the_edge_and_noted() {
        let mut p = panels();
        // deeplabv3 within 70–100 %; one stehouwer point at 270 %.
        p[1].series[1].points[4].y = 270.0;
        p[1].series[1].points[4].hi = 290.0;
        let axis = ValueAxis::gamma("COSS");
        let fig = LevelFigure::new(&axis, &p).unwrap();
        assert_eq!(fig.y_range, (44.0, 156.0));
        assert_eq!(
            fig.notes,
            vec![
                "γ (%) axis cut to 44–156 (5th–95th percentile of the points, at least 50–150); \
                 values beyond sit at its edge, points as arrows."
                    .to_string(),
                "stehouwer: 1 point(s) beyond the axis (270) in blur.".to_string(),
            ]
        );
        let out = gamma_curves("COSS", &p).unwrap();
        assert!(out.svg.contains("stehouwer: 1 point(s) beyond the axis"));
        let w = fig.size().0;
        decode_png(&out.png, w, fig.size().1);
        // Without the outlier nothing is cut and nothing noted.
        let plain = panels();
        let fig = LevelFigure::new(&axis, &plain).unwrap();
        assert!(fig.notes.is_empty(), "{:?}", fig.notes);
    }

    #[test]
    fn a_panel_without_data_is_drawn_empty() {
        let mut p = panels();
        p[1].series.clear();
        let out = gamma_curves("SSIM", &p).unwrap();
        assert!(out.svg.contains("no finite data"));
    }

    #[test]
    fn a_rate_keeps_zero_and_one_in_view_and_names_the_clean_tick() {
        let axis = ValueAxis {
            title: "FPR on real images under degradation".into(),
            subtitle: "share of real images called fake".into(),
            label: "FPR (reals)".into(),
            reference: None,
            in_view: vec![0.0, 1.0],
            robust: None,
        };
        let mut p = panels();
        for panel in &mut p {
            for s in &mut panel.series {
                for q in &mut s.points {
                    *q = PointCi {
                        x: q.x,
                        y: 0.25,
                        lo: 0.2,
                        hi: 0.3,
                    };
                }
            }
        }
        p[1].clean_level = Some(1.0);
        let fig = LevelFigure::new(&axis, &p).unwrap();
        assert!(
            fig.y_range.0 < 0.0 && fig.y_range.1 > 1.0,
            "{:?}",
            fig.y_range
        );
        assert!(fig.y_ticks.contains(&0.0) && fig.y_ticks.contains(&1.0));
        let out = level_curves(&axis, &p).unwrap();
        for text in [
            "FPR on real images under degradation",
            "FPR (reals)",
            "\nclean\n",
        ] {
            assert!(out.svg.contains(text), "SVG lacks {text:?}");
        }
        // Only the panel with a clean level labels a tick "clean"; γ is not mentioned.
        assert_eq!(out.svg.matches("\nclean\n").count(), 1);
        assert!(!out.svg.contains("γ"));
    }
}
