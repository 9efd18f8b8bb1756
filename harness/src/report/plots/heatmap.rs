//! The cross-generator matrix (paper Table 3, RQ2): rows = localizers (for RQ2, models trained on
//! one category), columns = tested on, each
//! cell coloured with viridis over a fixed range and labelled with its value.

use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{DrawingArea, DrawingBackend, RGBColor};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontTransform, ShapeStyle};

use super::axis::nice_ticks;
use super::canvas::{draw_err, render, Figure, Tile};
use super::legend::{Footer, Swatch};
use super::style::{
    self, colour_bar, format_tick, format_value, ink_on, viridis, INK, MISSING, MUTED,
};
use super::{PlotError, Rendered};

/// Draws a matrix of values: `values[r][c]` for `row_labels[r]` (a localizer) and `col_labels[c]`
/// (tested on), coloured with viridis from `value_range.0` (dark) to `value_range.1` (yellow),
/// with a colour bar. `None` cells are gray with a dash.
///
/// Values outside the range get the end colours and non-finite values are shown as missing;
/// both are listed in [`Rendered::notes`]. Errors when there are no rows or columns, when the
/// matrix shape does not match the labels, when no cell has a value, or when the range is not
/// finite and increasing.
pub fn heatmap(
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    values: &[Vec<Option<f64>>],
    value_range: (f64, f64),
) -> Result<Rendered, PlotError> {
    render(&HeatmapFigure::new(
        title,
        row_labels,
        col_labels,
        values,
        value_range,
    )?)
}

const CHART: &str = "heatmap";
const HEADER_H: i32 = 60;
const AXIS_TITLE_H: i32 = 30;
const COL_LABEL_H: i32 = 32;
const CELL_H: i32 = 52;
const ROW_AXIS_W: i32 = 44;
const BAR_GAP: i32 = 30;
const BAR_W: i32 = 22;
const BAR_LABEL_W: i32 = 64;
const MIN_BAR_H: i32 = 180;

struct HeatmapFigure<'a> {
    title: &'a str,
    row_labels: &'a [String],
    col_labels: &'a [String],
    /// Finite values; `None` for missing and non-finite cells.
    cells: Vec<Vec<Option<f64>>>,
    range: (f64, f64),
    cell_w: i32,
    /// Left edge of the grid, px.
    grid_x: i32,
    bar: Tile,
    /// Figure width, px.
    width: u32,
    footer: Footer,
    notes: Vec<String>,
}

impl<'a> HeatmapFigure<'a> {
    fn new(
        title: &'a str,
        row_labels: &'a [String],
        col_labels: &'a [String],
        values: &[Vec<Option<f64>>],
        range: (f64, f64),
    ) -> Result<Self, PlotError> {
        if row_labels.is_empty() || col_labels.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: format!(
                    "{} row and {} column labels; pass at least one of each",
                    row_labels.len(),
                    col_labels.len()
                ),
            });
        }
        if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: format!(
                    "value range {range:?} must be finite with low < high, e.g. (0.0, 1.0)"
                ),
            });
        }
        if values.len() != row_labels.len() {
            return Err(PlotError::Invalid {
                chart: CHART,
                what: format!(
                    "{} rows of values for {} row labels; pass one row per label",
                    values.len(),
                    row_labels.len()
                ),
            });
        }
        let mut notes = Vec::new();
        let (mut non_finite, mut outside) = (0, 0);
        let mut cells = Vec::with_capacity(values.len());
        for (r, row) in values.iter().enumerate() {
            if row.len() != col_labels.len() {
                return Err(PlotError::Invalid {
                    chart: CHART,
                    what: format!(
                        "row {r} ({:?}) has {} values for {} column labels; pass one per column (None where untested)",
                        row_labels[r],
                        row.len(),
                        col_labels.len()
                    ),
                });
            }
            let clean: Vec<Option<f64>> = row.iter().map(|v| v.filter(|v| v.is_finite())).collect();
            non_finite += row
                .iter()
                .filter(|v| v.is_some_and(|v| !v.is_finite()))
                .count();
            outside += clean
                .iter()
                .flatten()
                .filter(|v| **v < range.0 || **v > range.1)
                .count();
            cells.push(clean);
        }
        if cells.iter().flatten().all(Option::is_none) {
            return Err(PlotError::Empty {
                chart: CHART,
                what: "no cell has a finite value".into(),
            });
        }
        if non_finite > 0 {
            notes.push(format!(
                "{non_finite} non-finite value(s) shown as missing."
            ));
        }
        if outside > 0 {
            notes.push(format!(
                "{outside} value(s) outside the colour range [{}, {}] shown with the end colours.",
                format_tick(range.0),
                format_tick(range.1)
            ));
        }
        let label_font = style::text(style::LABEL_PX);
        let value_font = style::text(style::TICK_PX);
        let mut cell_w = 96;
        for l in col_labels {
            cell_w = cell_w.max(style::text_size(&label_font, l)?.0 as i32 + 16);
        }
        for v in cells.iter().flatten().flatten() {
            cell_w = cell_w.max(
                style::text_size(&value_font, &format_value(*v, range.1 - range.0))?.0 as i32 + 16,
            );
        }
        let mut widest_row = 0;
        for l in row_labels {
            widest_row = widest_row.max(style::text_size(&label_font, l)?.0 as i32);
        }
        let grid_x = ROW_AXIS_W + widest_row + 14;
        let grid_h = CELL_H * row_labels.len() as i32;
        let bar = Tile {
            x: (grid_x + cell_w * col_labels.len() as i32 + BAR_GAP) as u32,
            y: (HEADER_H + AXIS_TITLE_H + COL_LABEL_H) as u32,
            image: colour_bar(BAR_W as u32, grid_h.max(MIN_BAR_H) as u32, viridis),
        };
        // A matrix of a few columns is narrower than its title: widen the figure, not clip it.
        let title_w = style::text_size(&style::bold(style::TITLE_PX), title)?.0 + 40;
        let width = (bar.x + (BAR_W + BAR_LABEL_W) as u32).max(title_w);
        let footer = Footer::new(Swatch::Box, &[], &notes, width)?;
        Ok(Self {
            title,
            row_labels,
            col_labels,
            cells,
            range,
            cell_w,
            grid_x,
            bar,
            width,
            footer,
            notes,
        })
    }

    fn grid_y(&self) -> i32 {
        HEADER_H + AXIS_TITLE_H + COL_LABEL_H
    }

    fn body_h(&self) -> i32 {
        (CELL_H * self.row_labels.len() as i32).max(MIN_BAR_H)
    }

    /// Top-left corner of cell (`r`, `c`), px.
    fn cell_origin(&self, r: usize, c: usize) -> (i32, i32) {
        (
            self.grid_x + self.cell_w * c as i32,
            self.grid_y() + CELL_H * r as i32,
        )
    }

    fn draw_cells<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let span = self.range.1 - self.range.0;
        let centred = Pos::new(HPos::Center, VPos::Center);
        for (r, row) in self.cells.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                let (x, y) = self.cell_origin(r, c);
                let corners = [(x, y), (x + self.cell_w, y + CELL_H)];
                let centre = (x + self.cell_w / 2, y + CELL_H / 2);
                let (fill, label, ink) = match value {
                    Some(v) => {
                        let rgb = viridis((v - self.range.0) / span);
                        (
                            RGBColor(rgb[0], rgb[1], rgb[2]),
                            format_value(*v, span),
                            ink_on(rgb),
                        )
                    }
                    None => (MISSING, "–".to_string(), MUTED),
                };
                root.draw(&Rectangle::new(corners, fill.filled()))
                    .map_err(draw_err)?;
                // White gutters separate cells of similar colour.
                root.draw(&Rectangle::new(
                    corners,
                    ShapeStyle::from(&RGBColor(255, 255, 255)).stroke_width(2),
                ))
                .map_err(draw_err)?;
                let font = style::text(style::TICK_PX).color(&ink).pos(centred);
                root.draw(&Text::new(label, centre, font))
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    }

    fn draw_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let grid_w = self.cell_w * self.col_labels.len() as i32;
        let grid_h = CELL_H * self.row_labels.len() as i32;
        let header = style::bold(style::LABEL_PX).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            "Tested on",
            (self.grid_x + grid_w / 2, HEADER_H + AXIS_TITLE_H / 2),
            header.clone(),
        ))
        .map_err(draw_err)?;
        let rotated = header.transform(FontTransform::Rotate270);
        // Rows are localizers: models trained on one category (RQ2) or any other localizer.
        root.draw(&Text::new(
            "Localizer",
            (ROW_AXIS_W / 2, self.grid_y() + grid_h / 2),
            rotated,
        ))
        .map_err(draw_err)?;
        let label_font = style::text(style::LABEL_PX);
        let col_style = label_font.pos(Pos::new(HPos::Center, VPos::Center));
        for (c, l) in self.col_labels.iter().enumerate() {
            let at = (
                self.grid_x + self.cell_w * c as i32 + self.cell_w / 2,
                self.grid_y() - COL_LABEL_H / 2,
            );
            root.draw(&Text::new(l.as_str(), at, col_style.clone()))
                .map_err(draw_err)?;
        }
        let row_style = label_font.pos(Pos::new(HPos::Right, VPos::Center));
        for (r, l) in self.row_labels.iter().enumerate() {
            let at = (
                self.grid_x - 10,
                self.grid_y() + CELL_H * r as i32 + CELL_H / 2,
            );
            root.draw(&Text::new(l.as_str(), at, row_style.clone()))
                .map_err(draw_err)?;
        }
        Ok(())
    }

    fn draw_colour_bar_axis<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let (x, y) = (self.bar.x as i32, self.bar.y as i32);
        let h = self.bar.image.height() as i32;
        root.draw(&Rectangle::new(
            [(x, y), (x + BAR_W, y + h)],
            ShapeStyle::from(&MUTED).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let tick_font = style::text(style::TICK_PX).pos(Pos::new(HPos::Left, VPos::Center));
        let (lo, hi) = self.range;
        for t in nice_ticks(lo, hi, 4) {
            let ty = y + h - 1 - ((t - lo) / (hi - lo) * f64::from(h - 1)).round() as i32;
            root.draw(&PathElement::new(
                vec![(x + BAR_W, ty), (x + BAR_W + 5, ty)],
                ShapeStyle::from(&INK),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(
                format_tick(t),
                (x + BAR_W + 8, ty),
                tick_font.clone(),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

impl Figure for HeatmapFigure<'_> {
    const CHART: &'static str = CHART;

    fn size(&self) -> (u32, u32) {
        let height = (self.grid_y() + self.body_h() + 20) as u32 + self.footer.height();
        (self.width, height)
    }

    fn tiles(&self) -> &[Tile] {
        std::slice::from_ref(&self.bar)
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let width = self.size().0 as i32;
        let title = style::bold(style::TITLE_PX).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(self.title, (width / 2, 16), title))
            .map_err(draw_err)?;
        self.draw_labels(root)?;
        self.draw_cells(root)?;
        self.draw_colour_bar_axis(root)?;
        self.footer.draw(root, self.grid_y() + self.body_h() + 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::canvas::tests::{check_svg, decode_png};
    use crate::report::plots::style::tests::matplotlib_viridis;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn cells_have_matplotlib_viridis_colours() {
        let gans = labels(&["STGAN", "AttGAN", "StarGAN"]);
        let cases = matplotlib_viridis();
        // Fill a 3×3 matrix with reference values; one cell missing.
        let mut values: Vec<Vec<Option<f64>>> = (0..3)
            .map(|r| (0..3).map(|c| Some(cases[r * 3 + c].0)).collect())
            .collect();
        values[2][1] = None;
        let out = heatmap("COSS across generators", &gans, &gans, &values, (0.0, 1.0)).unwrap();
        let fig = HeatmapFigure::new("COSS across generators", &gans, &gans, &values, (0.0, 1.0))
            .unwrap();
        let (w, h) = fig.size();
        let img = decode_png(&out.png, w, h);
        check_svg(&out.svg, w, h);
        for r in 0..3 {
            for c in 0..3 {
                let (x, y) = fig.cell_origin(r, c);
                // A pixel inside the cell, clear of the printed value.
                let p = img.get_pixel((x + 5) as u32, (y + 5) as u32).0;
                let want = if (r, c) == (2, 1) {
                    [MISSING.0, MISSING.1, MISSING.2]
                } else {
                    cases[r * 3 + c].1
                };
                for ch in 0..3 {
                    assert!(
                        (i16::from(p[ch]) - i16::from(want[ch])).abs() <= 1,
                        "cell ({r},{c}): {p:?} vs {want:?}"
                    );
                }
            }
        }
        for text in [
            "COSS across generators",
            "Tested on",
            "Localizer",
            "STGAN",
            "StarGAN",
            &format_value(cases[0].0, 1.0),
        ] {
            assert!(out.svg.contains(text), "SVG lacks {text:?}");
        }
        // The colour bar runs from viridis(1) at the top to viridis(0) at the bottom.
        let (bx, by) = (fig.bar.x + 5, fig.bar.y);
        let bh = fig.bar.image.height();
        assert_eq!(
            img.get_pixel(bx, by + 1).0,
            viridis(1.0 - 1.0 / f64::from(bh - 1))
        );
        assert_eq!(
            img.get_pixel(bx, by + bh - 2).0,
            viridis(1.0 / f64::from(bh - 1))
        );
    }

    #[test]
    fn a_narrow_matrix_is_widened_to_its_title() {
        let title = "COSS by localizer (rows) and tested generator (columns), clean";
        let (rows, cols) = (labels(&["a"]), labels(&["x"]));
        let fig = HeatmapFigure::new(title, &rows, &cols, &[vec![Some(0.5)]], (0.0, 1.0)).unwrap();
        let title_w = style::text_size(&style::bold(style::TITLE_PX), title)
            .unwrap()
            .0;
        assert!(fig.size().0 >= title_w + 40, "{} < {title_w}", fig.size().0);
        // The picture itself has that width.
        let out = render(&fig).unwrap();
        let img = image::load_from_memory(&out.png).unwrap();
        assert_eq!(img.width(), fig.size().0);
    }

    #[test]
    fn range_is_applied_and_notes_outside_values() {
        let l = labels(&["a", "b"]);
        let values = vec![
            vec![Some(20.0), Some(40.0)],
            vec![Some(f64::NAN), Some(45.0)],
        ];
        let out = heatmap("PSNR (dB)", &l, &l, &values, (20.0, 40.0)).unwrap();
        assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
        let fig = HeatmapFigure::new("PSNR (dB)", &l, &l, &values, (20.0, 40.0)).unwrap();
        let img = decode_png(&out.png, fig.size().0, fig.size().1);
        let at = |r, c| {
            let (x, y) = fig.cell_origin(r, c);
            img.get_pixel((x + 5) as u32, (y + 5) as u32).0
        };
        assert_eq!(at(0, 0), viridis(0.0));
        assert_eq!(at(0, 1), viridis(1.0));
        assert_eq!(at(1, 1), viridis(1.0));
        assert_eq!(at(1, 0), [MISSING.0, MISSING.1, MISSING.2]);
        assert!(out.svg.contains("\n20.00\n") && out.svg.contains("\n45.00\n"));
    }

    #[test]
    fn deterministic() {
        let l = labels(&["a", "b"]);
        let values = vec![vec![Some(0.2), None], vec![Some(0.9), Some(0.5)]];
        let a = heatmap("t", &l, &l, &values, (0.0, 1.0)).unwrap();
        assert_eq!(a, heatmap("t", &l, &l, &values, (0.0, 1.0)).unwrap());
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let l = labels(&["a", "b"]);
        let ok = vec![vec![Some(0.2), None], vec![Some(0.9), Some(0.5)]];
        assert!(matches!(
            heatmap("t", &[], &l, &[], (0.0, 1.0)),
            Err(PlotError::Empty { .. })
        ));
        assert!(matches!(
            heatmap("t", &l, &l, &ok[..1], (0.0, 1.0)),
            Err(PlotError::Invalid { .. })
        ));
        let ragged = vec![vec![Some(0.2)], vec![Some(0.9), Some(0.5)]];
        let err = heatmap("t", &l, &l, &ragged, (0.0, 1.0)).unwrap_err();
        assert!(
            err.to_string()
                .contains("row 0 (\"a\") has 1 values for 2 column labels"),
            "{err}"
        );
        assert!(matches!(
            heatmap("t", &l, &l, &ok, (1.0, 1.0)),
            Err(PlotError::Invalid { .. })
        ));
        assert!(matches!(
            heatmap("t", &l, &l, &ok, (0.0, f64::NAN)),
            Err(PlotError::Invalid { .. })
        ));
        let none = vec![vec![None, None], vec![None, Some(f64::NAN)]];
        assert!(matches!(
            heatmap("t", &l, &l, &none, (0.0, 1.0)),
            Err(PlotError::Empty { .. })
        ));
    }
}
