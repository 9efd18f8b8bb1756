//! Paper Figure 6 (γ under disorganization, one group per metric) and per-category bars: grouped
//! bars, one colour per localizer, confidence-interval whiskers, an optional dashed reference line.

use plotters::coord::Shift;
use plotters::element::{Rectangle, Text};
use plotters::prelude::{ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, RGBColor};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::Color;

use super::axis::{nice_ticks, Ticked};
use super::canvas::{draw_err, render, Figure};
use super::legend::{Footer, Swatch};
use super::style::{self, format_tick, INK, MUTED};
use super::{PlotError, Rendered};

/// One group of bars on the horizontal axis (a metric, or a category).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Axis label of the group (e.g. `"SSIM"`, `"black_hair"`).
    pub label: String,
    /// One bar per series: (series label, value, CI low, CI high), all in the y axis unit.
    pub bars: Vec<(String, f64, f64, f64)>,
}

/// Draws grouped bars: one group per [`BarGroup`], one bar per series label (same colour and
/// slot in every group), CI whiskers, and a dashed line at `reference_line` (Figure 6: 100).
///
/// Non-finite values skip their bar and non-finite bounds their whisker; both are listed in
/// [`Rendered::notes`] and printed under the chart. Errors when there are no groups, no finite
/// value, an empty group or series label, a series twice in one group, or a non-finite reference.
pub fn grouped_bars(
    title: &str,
    y_label: &str,
    groups: &[BarGroup],
    reference_line: Option<f64>,
) -> Result<Rendered, PlotError> {
    render(&BarsFigure::new(title, y_label, groups, reference_line)?)
}

const CHART: &str = "grouped_bars";
const HEADER_H: u32 = 60;
const PLOT_H: u32 = 460;
const Y_AREA_W: u32 = 80;
const RIGHT_MARGIN: u32 = 30;
const BAR_PX: u32 = 30;
/// Fraction of a group's slot covered by its bars; the rest separates groups.
const GROUP_FILL: f64 = 0.8;

struct BarsFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    groups: &'a [BarGroup],
    /// Series index of every bar, parallel to `groups[g].bars`.
    slots: Vec<Vec<usize>>,
    n_series: usize,
    reference_line: Option<f64>,
    slot_px: u32,
    y_range: (f64, f64),
    y_ticks: Vec<f64>,
    footer: Footer,
    notes: Vec<String>,
}

impl<'a> BarsFigure<'a> {
    fn new(
        title: &'a str,
        y_label: &'a str,
        groups: &'a [BarGroup],
        reference_line: Option<f64>,
    ) -> Result<Self, PlotError> {
        if groups.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: "no groups; pass one BarGroup per metric or category".into(),
            });
        }
        if reference_line.is_some_and(|r| !r.is_finite()) {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: "the reference line is not finite; pass e.g. Some(100.0) or None".into(),
            });
        }
        let mut labels: Vec<String> = Vec::new();
        let mut slots = Vec::with_capacity(groups.len());
        let mut notes = Vec::new();
        let mut finite = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            if group.label.trim().is_empty() {
                return Err(PlotError::Invalid {
                    chart: CHART,
                    what: format!("group {g} has an empty label; name the metric or category"),
                });
            }
            let mut group_slots = Vec::with_capacity(group.bars.len());
            for (k, (label, value, lo, hi)) in group.bars.iter().enumerate() {
                if label.trim().is_empty() {
                    return Err(PlotError::Invalid {
                        chart: CHART,
                        what: format!(
                            "bar {k} of group {:?} has an empty series label; name the localizer",
                            group.label
                        ),
                    });
                }
                if group.bars[..k].iter().any(|b| b.0 == *label) {
                    return Err(PlotError::Invalid {
                        chart: CHART,
                        what: format!(
                            "group {:?} has two bars for {label:?}; pass one value per series",
                            group.label
                        ),
                    });
                }
                let index = labels.iter().position(|l| l == label).unwrap_or_else(|| {
                    labels.push(label.clone());
                    labels.len() - 1
                });
                group_slots.push(index);
                if !value.is_finite() {
                    notes.push(format!(
                        "{}, {label}: non-finite value, bar not drawn.",
                        group.label
                    ));
                    continue;
                }
                finite.push(*value);
                if lo.is_finite() && hi.is_finite() {
                    finite.extend([*lo, *hi]);
                } else {
                    notes.push(format!(
                        "{}, {label}: non-finite interval bounds, whisker not drawn.",
                        group.label
                    ));
                }
            }
            slots.push(group_slots);
        }
        if finite.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: format!("no finite value in any of the {} groups", groups.len()),
            });
        }
        // Bars grow from zero, so zero is always in view.
        let lo = finite
            .iter()
            .copied()
            .chain(reference_line)
            .fold(0.0, f64::min);
        let hi = finite
            .iter()
            .copied()
            .chain(reference_line)
            .fold(0.0, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let y_range = (
            if lo < 0.0 { lo - 0.08 * span } else { 0.0 },
            hi + 0.1 * span,
        );
        let y_ticks = nice_ticks(y_range.0, y_range.1, 6);
        let tick_font = style::text(style::TICK_PX);
        let widest_label = groups
            .iter()
            .map(|g| style::text_size(&tick_font, &g.label).map(|s| s.0))
            .try_fold(0, |m, w| w.map(|w| m.max(w)))?;
        let slot_px = (labels.len() as u32 * BAR_PX + 36)
            .max(widest_label + 20)
            .max(90);
        let width = (Y_AREA_W + groups.len() as u32 * slot_px + RIGHT_MARGIN).max(620);
        let footer = Footer::new(Swatch::Box, &labels, &notes, width)?;
        Ok(Self {
            title,
            y_label,
            groups,
            slots,
            n_series: labels.len(),
            reference_line,
            slot_px,
            y_range,
            y_ticks,
            footer,
            notes,
        })
    }

    /// Left and right edges of bar `slot` in group `g`, in axis units (group centres at 0, 1, …).
    fn bar_span(&self, g: usize, slot: usize) -> (f64, f64) {
        let width = GROUP_FILL / self.n_series as f64;
        let left = g as f64 - GROUP_FILL / 2.0 + slot as f64 * width;
        // A hairline of white between neighbouring bars keeps similar colours apart.
        (left + 0.04 * width, left + 0.96 * width)
    }
}

impl Figure for BarsFigure<'_> {
    const CHART: &'static str = CHART;

    fn size(&self) -> (u32, u32) {
        let width = (Y_AREA_W + self.groups.len() as u32 * self.slot_px + RIGHT_MARGIN).max(620);
        (width, HEADER_H + PLOT_H + self.footer.height())
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (width, _) = self.size();
        let centred = Pos::new(HPos::Center, VPos::Top);
        root.draw(&Text::new(
            self.title,
            (width as i32 / 2, 16),
            style::bold(style::TITLE_PX).pos(centred),
        ))
        .map_err(draw_err)?;
        let plot = root.clone().shrink((0, HEADER_H), (width, PLOT_H));
        let n = self.groups.len();
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .margin_right(RIGHT_MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(Y_AREA_W - 8)
            .build_cartesian_2d(
                Ticked {
                    lo: -0.5,
                    hi: n as f64 - 0.5,
                    ticks: (0..n).map(|g| g as f64).collect(),
                },
                Ticked {
                    lo: y0,
                    hi: y1,
                    ticks: self.y_ticks.clone(),
                },
            )
            .map_err(draw_err)?;
        let group_label = |v: &f64| {
            let g = v.round();
            if g >= 0.0 && (g as usize) < n {
                self.groups[g as usize].label.clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(self.y_label)
            .x_label_formatter(&group_label)
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(style::text(style::TICK_PX))
            .axis_desc_style(style::text(style::LABEL_PX))
            .bold_line_style(RGBColor(228, 228, 228))
            .axis_style(MUTED)
            .draw()
            .map_err(draw_err)?;
        let base = 0f64.clamp(y0, y1);
        for (g, group) in self.groups.iter().enumerate() {
            for (&(_, value, lo, hi), &slot) in group.bars.iter().zip(&self.slots[g]) {
                if !value.is_finite() {
                    continue;
                }
                let (left, right) = self.bar_span(g, slot);
                let fill = style::series_colour(slot).filled();
                chart
                    .draw_series([Rectangle::new([(left, base), (right, value)], fill)])
                    .map_err(draw_err)?;
                if lo.is_finite() && hi.is_finite() {
                    let cap = (self.slot_px as f64 * GROUP_FILL / self.n_series as f64 / 4.0)
                        .clamp(2.0, 7.0) as i32;
                    style::draw_whisker(
                        chart.plotting_area(),
                        ((left + right) / 2.0, lo, hi),
                        cap,
                        INK,
                    )?;
                }
            }
        }
        if let Some(r) = self.reference_line {
            let dashed = DashedLineSeries::new(
                [(-0.5, r), (n as f64 - 0.5, r)],
                9,
                6,
                MUTED.stroke_width(2),
            );
            chart.draw_series(dashed).map_err(draw_err)?;
        }
        self.footer.draw(root, (HEADER_H + PLOT_H) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::canvas::tests::{check_svg, decode_png};

    fn groups() -> Vec<BarGroup> {
        ["COSS", "PSNR", "SSIM"]
            .iter()
            .enumerate()
            .map(|(i, m)| BarGroup {
                label: (*m).into(),
                bars: vec![
                    (
                        "deeplabv3".into(),
                        97.0 - i as f64,
                        95.0 - i as f64,
                        99.0 - i as f64,
                    ),
                    (
                        "stehouwer".into(),
                        80.0 + 3.0 * i as f64,
                        75.0,
                        85.0 + 3.0 * i as f64,
                    ),
                ],
            })
            .collect()
    }

    #[test]
    fn renders_bars_in_series_colours_at_their_heights() {
        let g = groups();
        let out = grouped_bars("γ under disorganization", "γ (%)", &g, Some(100.0)).unwrap();
        let fig = BarsFigure::new("γ under disorganization", "γ (%)", &g, Some(100.0)).unwrap();
        let (w, h) = fig.size();
        let img = decode_png(&out.png, w, h);
        check_svg(&out.svg, w, h);
        for i in 0..2 {
            let c = style::series_colour(i);
            let n = img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
            assert!(n > 1000, "series {i}: {n} px");
        }
        // Bar heights are proportional to values: the taller bar has more pixels.
        let count = |c: RGBColor| img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count() as f64;
        let ratio = count(style::series_colour(0)) / count(style::series_colour(1));
        let want = (97.0 + 96.0 + 95.0) / (80.0 + 83.0 + 86.0);
        assert!((ratio - want).abs() < 0.03, "ratio {ratio} vs {want}");
        for text in [
            "γ under disorganization",
            "γ (%)",
            "COSS",
            "PSNR",
            "SSIM",
            "deeplabv3",
            "stehouwer",
        ] {
            assert!(out.svg.contains(text), "SVG lacks {text:?}");
        }
        assert_eq!(fig.y_range.0, 0.0);
        assert!(fig.y_range.1 > 100.0 && fig.y_ticks.contains(&100.0));
    }

    #[test]
    fn bars_keep_their_slot_when_a_series_is_missing() {
        let mut g = groups();
        g[1].bars.remove(0);
        let fig = BarsFigure::new("t", "y", &g, None).unwrap();
        assert_eq!(fig.slots, vec![vec![0, 1], vec![1], vec![0, 1]]);
        let (l, r) = fig.bar_span(1, 1);
        assert!(l > 1.0 && r < 1.4);
    }

    #[test]
    fn deterministic_and_negative_values() {
        let mut g = groups();
        g[0].bars[0] = ("deeplabv3".into(), -5.0, -9.0, -1.0);
        let a = grouped_bars("t", "y", &g, None).unwrap();
        assert_eq!(a, grouped_bars("t", "y", &g, None).unwrap());
        let fig = BarsFigure::new("t", "y", &g, None).unwrap();
        assert!(fig.y_range.0 < -9.0);
    }

    #[test]
    fn non_finite_values_are_noted_and_empty_input_errors() {
        let mut g = groups();
        g[2].bars[1].1 = f64::NAN;
        g[0].bars[0].2 = f64::NAN;
        let out = grouped_bars("t", "y", &g, Some(100.0)).unwrap();
        assert_eq!(out.notes.len(), 2);
        assert!(out
            .notes
            .iter()
            .any(|n| n.starts_with("SSIM, stehouwer: non-finite value")));
        assert!(matches!(
            grouped_bars("t", "y", &[], None),
            Err(PlotError::Empty { .. })
        ));
        let nan_only = vec![BarGroup {
            label: "SSIM".into(),
            bars: vec![("a".into(), f64::NAN, 0.0, 1.0)],
        }];
        assert!(matches!(
            grouped_bars("t", "y", &nan_only, None),
            Err(PlotError::Empty { .. })
        ));
        assert!(matches!(
            grouped_bars("t", "y", &groups(), Some(f64::NAN)),
            Err(PlotError::Invalid { .. })
        ));
    }
}
