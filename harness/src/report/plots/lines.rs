//! Training curves: loss against step, one line per curve, the selected checkpoint marked.

use plotters::coord::Shift;
use plotters::element::Text;
use plotters::prelude::{ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor};

use super::axis::{nice_ticks, padded, Ticked};
use super::canvas::{draw_err, render, Figure};
use super::legend::{Footer, Swatch};
use super::style::{self, format_tick, MUTED};
use super::{PlotError, Rendered};

/// One line of [`loss_curves`]: `(step, loss)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct LossCurve {
    /// Legend label.
    pub label: String,
    /// Points in any order (drawn sorted by step); non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

const CHART: &str = "loss_curves";
const WIDTH: u32 = 900;
const CHART_H: u32 = 520;
const HEADER_H: u32 = 56;

struct LossFigure<'a> {
    title: &'a str,
    curves: Vec<Vec<(f64, f64)>>,
    marked: Option<f64>,
    x_range: (f64, f64),
    y_range: (f64, f64),
    footer: Footer,
}

/// Draws loss against training step for each curve, with a dashed vertical line at `marked`
/// (the step whose checkpoint was selected). Errors when no curve has a finite point.
pub fn loss_curves(
    title: &str,
    curves: &[LossCurve],
    marked: Option<f64>,
) -> Result<Rendered, PlotError> {
    let cleaned: Vec<Vec<(f64, f64)>> = curves
        .iter()
        .map(|c| {
            let mut p: Vec<(f64, f64)> = c
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            p
        })
        .collect();
    let all: Vec<(f64, f64)> = cleaned.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(PlotError::Empty {
            chart: CHART,
            what: "no finite (step, loss) point in any curve".into(),
        });
    }
    let fold = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
        all.iter().map(pick).fold(init, f)
    };
    let x_range = padded(0.0, fold(f64::max, 1.0, |p| p.0), 0.02, 1.0);
    let y_range = padded(
        fold(f64::min, f64::INFINITY, |p| p.1).min(0.0),
        fold(f64::max, f64::NEG_INFINITY, |p| p.1),
        0.05,
        1e-3,
    );
    let labels: Vec<String> = curves.iter().map(|c| c.label.clone()).collect();
    let footer = Footer::new(Swatch::Line, &labels, &[], WIDTH)?;
    render(&LossFigure {
        title,
        curves: cleaned,
        marked,
        x_range,
        y_range,
        footer,
    })
}

impl Figure for LossFigure<'_> {
    const CHART: &'static str = CHART;

    fn size(&self) -> (u32, u32) {
        (WIDTH, HEADER_H + CHART_H + self.footer.height())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        root.draw(&Text::new(
            self.title.to_string(),
            (WIDTH as i32 / 2, 14),
            style::bold(style::TITLE_PX).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(draw_err)?;
        let area = root.clone().shrink((0, HEADER_H), (WIDTH, CHART_H));
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .margin_right(30)
            .x_label_area_size(58)
            .y_label_area_size(84)
            .build_cartesian_2d(
                Ticked {
                    lo: x0,
                    hi: x1,
                    ticks: nice_ticks(x0, x1, 8),
                },
                Ticked {
                    lo: y0,
                    hi: y1,
                    ticks: nice_ticks(y0, y1, 6),
                },
            )
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("training step")
            .y_desc("loss")
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(style::text(style::TICK_PX))
            .axis_desc_style(style::text(style::LABEL_PX))
            .bold_line_style(RGBColor(228, 228, 228))
            .axis_style(MUTED)
            .draw()
            .map_err(draw_err)?;
        if let Some(step) = self.marked.filter(|s| s.is_finite()) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(step, y0), (step, y1)],
                    9,
                    6,
                    MUTED.stroke_width(2),
                ))
                .map_err(draw_err)?;
            // Labelled on the side with more room, so a final-step mark stays readable.
            let (label, anchor) = if step > (x0 + x1) / 2.0 {
                (
                    format!("selected: step {} ", format_tick(step)),
                    HPos::Right,
                )
            } else {
                (format!(" selected: step {}", format_tick(step)), HPos::Left)
            };
            chart
                .plotting_area()
                .draw(&Text::new(
                    label,
                    (step, y1),
                    style::text(style::NOTE_PX)
                        .color(&MUTED)
                        .pos(Pos::new(anchor, VPos::Top)),
                ))
                .map_err(draw_err)?;
        }
        for (index, points) in self.curves.iter().enumerate() {
            let colour = style::series_colour(index);
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(3),
                ))
                .map_err(draw_err)?;
            for &p in points {
                style::draw_marker(chart.plotting_area(), index, p, colour)?;
            }
        }
        self.footer.draw(root, (HEADER_H + CHART_H) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_png_and_svg_and_rejects_empty_input() {
        let curves = [
            LossCurve {
                label: "train".into(),
                points: (1..=10)
                    .map(|s| (s as f64 * 10.0, 1.0 / s as f64))
                    .collect(),
            },
            LossCurve {
                label: "validation".into(),
                points: vec![(50.0, 0.3), (100.0, f64::NAN)],
            },
        ];
        let out = loss_curves("run", &curves, Some(50.0)).unwrap();
        let png = image::load_from_memory(&out.png).unwrap();
        assert_eq!(png.width(), WIDTH);
        assert!(out.svg.contains("selected: step 50"));
        let late = loss_curves("run", &curves, Some(100.0)).unwrap();
        assert!(late.svg.contains("selected: step 100"));
        assert!(out.svg.contains("validation"));
        let empty = [LossCurve {
            label: "x".into(),
            points: vec![(f64::NAN, 1.0)],
        }];
        assert!(matches!(
            loss_curves("run", &empty, None),
            Err(PlotError::Empty { .. })
        ));
    }
}
