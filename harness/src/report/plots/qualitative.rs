//! Paper Figure 1: per row, the fake image, its ground truth (gray), the prediction (viridis) and
//! the prediction overlaid on the fake. Each map is stretched from 0 to its own maximum, written
//! on its colour bar: a localizer whose maps peak at 0.2 would otherwise look like no prediction
//! at all, and its overlay like the fake image.

use image::imageops::{self, FilterType};
use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontTransform, ShapeStyle};

use super::canvas::{draw_err, render, Figure, Tile};
use super::legend::{Footer, Swatch};
use super::style::{self, colour_bar, gray, viridis, INK, MUTED};
use super::{PlotError, Rendered, MAX_SIDE_PX};

/// One row of [`qualitative_panel`]: a fake image with its ground truth and a localizer's map.
#[derive(Debug, Clone, PartialEq)]
pub struct QualitativeRow {
    /// Row caption, e.g. `"STGAN · bald"` (printed vertically on the left, as in the paper).
    pub label: String,
    /// The (possibly degraded) fake image given to the localizer.
    pub fake: image::RgbImage,
    /// Ground-truth map in [0,1] (paper eq. 2); any size, scaled to the fake's display size.
    pub ground_truth: metrics::Map,
    /// Predicted map in [0,1]; any size, scaled to the fake's display size.
    pub prediction: metrics::Map,
}

/// Draws paper Figure 1: one row per [`QualitativeRow`] with four tiles, *Fake*, *Ground truth*
/// (black 0 to white at its maximum), *Prediction* (viridis from 0 to its maximum) and *Overlay*
/// (`(1 − p)·fake + p·viridis(p)` per pixel, p the prediction divided by its maximum). Each map
/// has a colour bar from 0 to its own maximum (a map of zeros: 0 to 1), and the figure says so
/// under its title. Each tile fits a 200 px box with the fake's aspect ratio; maps are scaled to
/// it bilinearly (antialiased) whatever their size.
///
/// Map values outside [0,1] are clamped for display and noted in [`Rendered::notes`]. Errors
/// when there are no rows, an image or map is empty, or a map holds NaN or infinity.
pub fn qualitative_panel(title: &str, rows: &[QualitativeRow]) -> Result<Rendered, PlotError> {
    render(&QualitativeFigure::new(title, rows, TILE)?)
}

const CHART: &str = "qualitative_panel";
/// The box each tile fits in, px.
const TILE: u32 = 200;
const HEADER_H: u32 = 76;
const COLUMN_TITLE_H: u32 = 34;
const LABEL_W: u32 = 40;
const GAP: u32 = 14;
const ROW_GAP: u32 = 14;
const BAR_GAP: u32 = 6;
const BAR_W: u32 = 14;
const BAR_LABEL_W: u32 = 48;
const MARGIN: u32 = 16;
const COLUMNS: [&str; 4] = ["Fake", "Ground truth", "Prediction", "Overlay"];
/// Tiles per row: fake, ground truth, its colour bar, prediction, its colour bar, overlay.
const TILES_PER_ROW: usize = 6;
/// What a reader must know to read the maps, printed under the title.
pub const SCALE_NOTE: &str = "Each map is stretched from 0 to its own maximum (the top of its \
                              colour bar); the overlay blends the stretched prediction.";

struct QualitativeFigure<'a> {
    title: &'a str,
    labels: Vec<&'a str>,
    tile: u32,
    /// [`TILES_PER_ROW`] per row.
    tiles: Vec<Tile>,
    /// Per row, the top of the ground truth's and the prediction's colour bar.
    tops: Vec<[f64; 2]>,
    footer: Footer,
    notes: Vec<String>,
}

/// The value a map's display stretches to 1: its maximum within [0,1], or 1 for a map of zeros.
fn display_top(map: &metrics::Map) -> f64 {
    let max = map
        .pixels()
        .map(|p| f64::from(p.0[0]).clamp(0.0, 1.0))
        .fold(0.0, f64::max);
    if max > 0.0 {
        max
    } else {
        1.0
    }
}

impl<'a> QualitativeFigure<'a> {
    fn new(title: &'a str, rows: &'a [QualitativeRow], tile: u32) -> Result<Self, PlotError> {
        if rows.is_empty() {
            return Err(PlotError::Empty {
                chart: CHART,
                what: "no rows; pass one QualitativeRow per example image".into(),
            });
        }
        // Refuse an oversized panel before scaling any image.
        let height = row_top(rows.len(), tile);
        if height > MAX_SIDE_PX {
            let width = column_lefts(tile)[3] + tile + MARGIN;
            return Err(PlotError::TooLarge {
                chart: CHART,
                width,
                height,
                max: MAX_SIDE_PX,
            });
        }
        let mut tiles = Vec::with_capacity(rows.len() * TILES_PER_ROW);
        let mut tops = Vec::with_capacity(rows.len());
        let mut notes = Vec::new();
        let columns = column_lefts(tile);
        for (r, row) in rows.iter().enumerate() {
            check_row(row)?;
            let clamped = [
                ("ground truth", &row.ground_truth),
                ("prediction", &row.prediction),
            ]
            .iter()
            .filter(|(_, m)| m.pixels().any(|p| !(0.0..=1.0).contains(&p.0[0])))
            .map(|(name, _)| *name)
            .collect::<Vec<_>>();
            if !clamped.is_empty() {
                notes.push(format!(
                    "{}: {} values outside [0,1] clamped for display.",
                    row.label,
                    clamped.join(" and ")
                ));
            }
            let (w, h) = fit(row.fake.dimensions(), tile);
            let fake = if row.fake.dimensions() == (w, h) {
                row.fake.clone()
            } else {
                imageops::resize(&row.fake, w, h, FilterType::Triangle)
            };
            let (gt_top, pred_top) = (display_top(&row.ground_truth), display_top(&row.prediction));
            let gt = scaled(&row.ground_truth, w, h);
            let pred = scaled(&row.prediction, w, h);
            let stretched = |map: &metrics::Map, top: f64, x: u32, y: u32| {
                f64::from(map.get_pixel(x, y).0[0]).clamp(0.0, 1.0) / top
            };
            let ground_truth = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb(gray(stretched(&gt, gt_top, x, y)))
            });
            let prediction = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb(viridis(stretched(&pred, pred_top, x, y)))
            });
            let overlay = image::RgbImage::from_fn(w, h, |x, y| {
                let p = stretched(&pred, pred_top, x, y).clamp(0.0, 1.0);
                let (f, c) = (fake.get_pixel(x, y).0, viridis(p));
                image::Rgb(std::array::from_fn(|k| {
                    ((1.0 - p) * f64::from(f[k]) + p * f64::from(c[k])).round() as u8
                }))
            });
            // Centre each tile in its box.
            let top = row_top(r, tile) + (tile - h) / 2;
            let dx = (tile - w) / 2;
            tiles.push(Tile {
                x: columns[0] + dx,
                y: top,
                image: fake,
            });
            tiles.push(Tile {
                x: columns[1] + dx,
                y: top,
                image: ground_truth,
            });
            tiles.push(Tile {
                x: columns[1] + tile + BAR_GAP,
                y: top,
                image: colour_bar(BAR_W, h, gray),
            });
            tiles.push(Tile {
                x: columns[2] + dx,
                y: top,
                image: prediction,
            });
            tiles.push(Tile {
                x: columns[2] + tile + BAR_GAP,
                y: top,
                image: colour_bar(BAR_W, h, viridis),
            });
            tiles.push(Tile {
                x: columns[3] + dx,
                y: top,
                image: overlay,
            });
            tops.push([gt_top, pred_top]);
        }
        let width = columns[3] + tile + MARGIN;
        let footer = Footer::new(Swatch::Box, &[], &notes, width)?;
        Ok(Self {
            title,
            labels: rows.iter().map(|r| r.label.as_str()).collect(),
            tile,
            tiles,
            tops,
            footer,
            notes,
        })
    }

    fn draw_row_label<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        r: usize,
    ) -> Result<(), PlotError> {
        let label = self.labels[r];
        // Shrink long captions to the tile height rather than let them run into the next row.
        let mut size = style::LABEL_PX;
        while size > 10.0 && style::text_size(&style::bold(size), label)?.0 > self.tile {
            size -= 1.0;
        }
        let font = style::bold(size)
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate270);
        let at = (
            (LABEL_W / 2) as i32,
            (row_top(r, self.tile) + self.tile / 2) as i32,
        );
        root.draw(&Text::new(label, at, font)).map_err(draw_err)
    }

    /// The frame and the ticks of a colour bar from 0 to `top`.
    fn draw_colour_bar_ticks<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        bar: &Tile,
        top: f64,
    ) -> Result<(), PlotError> {
        let (x, y, h) = (bar.x as i32, bar.y as i32, bar.image.height() as i32);
        root.draw(&Rectangle::new(
            [(x, y), (x + BAR_W as i32, y + h)],
            ShapeStyle::from(&MUTED).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let font = style::text(style::NOTE_PX).pos(Pos::new(HPos::Left, VPos::Center));
        for v in [0.0, 0.5, 1.0] {
            let text = bar_tick(v * top);
            let ty = y + h - 1 - (v * f64::from(h - 1)).round() as i32;
            let right = x + BAR_W as i32;
            root.draw(&PathElement::new(
                vec![(right, ty), (right + 4, ty)],
                ShapeStyle::from(&INK),
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(text, (right + 6, ty), font.clone()))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

impl Figure for QualitativeFigure<'_> {
    const CHART: &'static str = CHART;

    fn size(&self) -> (u32, u32) {
        let width = column_lefts(self.tile)[3] + self.tile + MARGIN;
        (
            width,
            row_top(self.labels.len(), self.tile) + MARGIN + self.footer.height(),
        )
    }

    fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let width = self.size().0 as i32;
        let title = style::bold(style::TITLE_PX).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(self.title, (width / 2, 16), title))
            .map_err(draw_err)?;
        let note = style::text(style::NOTE_PX)
            .color(&MUTED)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(SCALE_NOTE, (width / 2, 52), note))
            .map_err(draw_err)?;
        let heading = style::bold(style::LABEL_PX).pos(Pos::new(HPos::Center, VPos::Center));
        for (name, left) in COLUMNS.iter().zip(column_lefts(self.tile)) {
            let at = (
                (left + self.tile / 2) as i32,
                (HEADER_H + COLUMN_TITLE_H / 2) as i32,
            );
            root.draw(&Text::new(*name, at, heading.clone()))
                .map_err(draw_err)?;
        }
        for (r, row_tiles) in self.tiles.chunks_exact(TILES_PER_ROW).enumerate() {
            self.draw_row_label(root, r)?;
            for (k, t) in row_tiles.iter().enumerate() {
                if k == 2 || k == 4 {
                    self.draw_colour_bar_ticks(root, t, self.tops[r][k / 2 - 1])?;
                } else {
                    let (x, y) = (t.x as i32, t.y as i32);
                    let (w, h) = (t.image.width() as i32, t.image.height() as i32);
                    // The frame sits just outside the tile so no pixel of the image is covered.
                    let frame = [(x - 1, y - 1), (x + w, y + h)];
                    root.draw(&Rectangle::new(
                        frame,
                        ShapeStyle::from(&MUTED).stroke_width(1),
                    ))
                    .map_err(draw_err)?;
                }
            }
        }
        self.footer.draw(
            root,
            (row_top(self.labels.len(), self.tile) + MARGIN / 2) as i32,
        )
    }
}

/// A colour bar's tick label: two decimals, more for a map that peaks below 0.01.
fn bar_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

/// Left edges of the four tile columns, px; the ground truth and the prediction each have a
/// colour bar to their right.
fn column_lefts(tile: u32) -> [u32; 4] {
    let fake = LABEL_W;
    let bar = BAR_GAP + BAR_W + BAR_LABEL_W;
    let gt = fake + tile + GAP;
    let pred = gt + tile + bar + GAP;
    let overlay = pred + tile + bar + GAP;
    [fake, gt, pred, overlay]
}

/// Top edge of row `r`'s tile boxes, px.
fn row_top(r: usize, tile: u32) -> u32 {
    HEADER_H + COLUMN_TITLE_H + r as u32 * (tile + ROW_GAP)
}

/// The largest size with the aspect ratio of `(w, h)` that fits a `tile`×`tile` box.
fn fit((w, h): (u32, u32), tile: u32) -> (u32, u32) {
    if w >= h {
        (
            tile,
            ((f64::from(tile) * f64::from(h) / f64::from(w)).round() as u32).max(1),
        )
    } else {
        (
            ((f64::from(tile) * f64::from(w) / f64::from(h)).round() as u32).max(1),
            tile,
        )
    }
}

/// `map` resized to `w`×`h` (bilinear, antialiased when shrinking); untouched when it already fits.
fn scaled(map: &metrics::Map, w: u32, h: u32) -> metrics::Map {
    if map.dimensions() == (w, h) {
        map.clone()
    } else {
        imageops::resize(map, w, h, FilterType::Triangle)
    }
}

fn check_row(row: &QualitativeRow) -> Result<(), PlotError> {
    let invalid = |what: String| PlotError::Invalid { chart: CHART, what };
    let (w, h) = row.fake.dimensions();
    if w == 0 || h == 0 {
        return Err(invalid(format!(
            "row {:?}: the fake image is empty ({w}x{h})",
            row.label
        )));
    }
    for (name, map) in [
        ("ground truth", &row.ground_truth),
        ("prediction", &row.prediction),
    ] {
        let (mw, mh) = map.dimensions();
        if mw == 0 || mh == 0 {
            return Err(invalid(format!(
                "row {:?}: the {name} map is empty ({mw}x{mh})",
                row.label
            )));
        }
        if let Some((x, y, p)) = map.enumerate_pixels().find(|(_, _, p)| !p.0[0].is_finite()) {
            return Err(invalid(format!(
                "row {:?}: the {name} map holds {} at ({x}, {y}); maps must be finite values in [0,1]",
                row.label, p.0[0]
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::canvas::tests::{check_svg, decode_png};
    use crate::report::plots::style::tests::matplotlib_viridis;

    fn row(label: &str, size: (u32, u32), map_size: (u32, u32)) -> QualitativeRow {
        let fake = image::RgbImage::from_fn(size.0, size.1, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let ramp = |x: u32, _| image::Luma([x as f32 / (map_size.0 - 1) as f32]);
        let ground_truth = metrics::Map::from_fn(map_size.0, map_size.1, ramp);
        let prediction = metrics::Map::from_fn(map_size.0, map_size.1, |x, y| {
            image::Luma([if y < map_size.1 / 2 {
                0.0
            } else {
                x as f32 / (map_size.0 - 1) as f32
            }])
        });
        QualitativeRow {
            label: label.into(),
            fake,
            ground_truth,
            prediction,
        }
    }

    #[test]
    fn tiles_show_the_maps_exactly_at_native_size() {
        let rows = vec![row("STGAN · bald", (200, 200), (200, 200))];
        let out = qualitative_panel("Localization examples", &rows).unwrap();
        let fig = QualitativeFigure::new("Localization examples", &rows, TILE).unwrap();
        let (w, h) = fig.size();
        let img = decode_png(&out.png, w, h);
        check_svg(&out.svg, w, h);
        let [fake, gt, _gt_bar, pred, _bar, overlay] = &fig.tiles[..] else {
            panic!("6 tiles")
        };
        let at = |t: &Tile, x: u32, y: u32| img.get_pixel(t.x + x, t.y + y).0;
        for (x, y) in [(0, 150), (50, 150), (120, 160), (199, 199), (37, 10)] {
            let f = rows[0].fake.get_pixel(x, y).0;
            assert_eq!(at(fake, x, y), f);
            let g = rows[0].ground_truth.get_pixel(x, y).0[0];
            assert_eq!(at(gt, x, y), gray(f64::from(g)));
            let p = f64::from(rows[0].prediction.get_pixel(x, y).0[0]);
            assert_eq!(at(pred, x, y), viridis(p));
            let c = viridis(p);
            let want: [u8; 3] = std::array::from_fn(|k| {
                ((1.0 - p) * f64::from(f[k]) + p * f64::from(c[k])).round() as u8
            });
            assert_eq!(at(overlay, x, y), want);
        }
        // Prediction colours are matplotlib's viridis (independent reference, ±1 level).
        for (v, want) in matplotlib_viridis() {
            let x = (v * 199.0).round() as u32;
            let p = f64::from(rows[0].prediction.get_pixel(x, 150).0[0]);
            if (p - v).abs() < 1e-3 {
                let got = at(pred, x, 150);
                assert!(
                    (0..3).all(|k| (i16::from(got[k]) - i16::from(want[k])).abs() <= 1),
                    "{v}: {got:?} vs {want:?}"
                );
            }
        }
        assert_eq!(out.svg.matches("<image ").count(), 6);
        for text in [
            "Localization examples",
            "Fake",
            "Ground truth",
            "Prediction",
            "Overlay",
            "STGAN · bald",
        ] {
            assert!(out.svg.contains(text), "SVG lacks {text:?}");
        }
    }

    #[test]
    fn maps_of_another_size_are_scaled_to_the_fake() {
        let rows = vec![
            row("a", (256, 256), (224, 224)),
            row("b", (300, 150), (64, 32)),
        ];
        let out = qualitative_panel("t", &rows).unwrap();
        let fig = QualitativeFigure::new("t", &rows, TILE).unwrap();
        decode_png(&out.png, fig.size().0, fig.size().1);
        let dims: Vec<(u32, u32)> = fig.tiles.iter().map(|t| t.image.dimensions()).collect();
        assert_eq!(
            dims[..6],
            [
                (200, 200),
                (200, 200),
                (BAR_W, 200),
                (200, 200),
                (BAR_W, 200),
                (200, 200)
            ]
        );
        assert_eq!(
            dims[6..],
            [
                (200, 100),
                (200, 100),
                (BAR_W, 100),
                (200, 100),
                (BAR_W, 100),
                (200, 100)
            ]
        );
        // The GT ramp survives scaling: dark on the left, light on the right.
        let gt = &fig.tiles[1].image;
        assert!(gt.get_pixel(2, 100).0[0] < 10 && gt.get_pixel(197, 100).0[0] > 245);
        assert_eq!(out.svg.matches("<image ").count(), 12);
    }

    #[test]
    fn a_faint_map_is_stretched_to_its_maximum_and_says_so() {
        let mut r = row("faint", (200, 200), (200, 200));
        // A prediction peaking at 0.2 shows as the full colour scale, its bar topped by 0.20.
        for p in r.prediction.pixels_mut() {
            p.0[0] *= 0.2;
        }
        let rows = vec![r];
        let fig = QualitativeFigure::new("t", &rows, TILE).unwrap();
        assert_eq!(fig.tops, vec![[1.0, 0.2f32 as f64]]);
        let pred = &fig.tiles[3].image;
        assert_eq!(pred.get_pixel(199, 199).0, viridis(1.0));
        assert_eq!(pred.get_pixel(0, 0).0, viridis(0.0));
        let out = qualitative_panel("t", &rows).unwrap();
        assert!(out.svg.contains("0.20"), "the bar's top value is written");
        assert!(out.svg.contains("stretched from 0 to its own maximum"));
        // A map of zeros keeps the 0–1 scale.
        let zeros = metrics::Map::new(4, 4);
        assert_eq!(display_top(&zeros), 1.0);
        assert_eq!(bar_tick(0.0), "0");
        assert_eq!(bar_tick(0.5), "0.50");
        assert_eq!(bar_tick(0.004), "4.0e-3");
    }

    #[test]
    fn deterministic() {
        let rows = vec![row("a", (64, 64), (48, 48))];
        assert_eq!(
            qualitative_panel("t", &rows).unwrap(),
            qualitative_panel("t", &rows).unwrap()
        );
    }

    #[test]
    fn bad_rows_are_clear_errors() {
        assert!(matches!(
            qualitative_panel("t", &[]),
            Err(PlotError::Empty { .. })
        ));
        let mut r = row("x", (32, 32), (32, 32));
        r.prediction.put_pixel(3, 4, image::Luma([f32::NAN]));
        let err = qualitative_panel("t", &[r]).unwrap_err();
        assert!(
            err.to_string()
                .contains("prediction map holds NaN at (3, 4)"),
            "{err}"
        );
        let mut r = row("x", (32, 32), (32, 32));
        r.fake = image::RgbImage::new(0, 0);
        assert!(matches!(
            qualitative_panel("t", &[r]),
            Err(PlotError::Invalid { .. })
        ));
        let mut r = row("x", (32, 32), (32, 32));
        r.ground_truth = metrics::Map::new(0, 3);
        assert!(matches!(
            qualitative_panel("t", &[r]),
            Err(PlotError::Invalid { .. })
        ));
    }

    #[test]
    fn out_of_range_values_are_clamped_and_noted() {
        let mut r = row("x", (32, 32), (32, 32));
        r.prediction.put_pixel(0, 0, image::Luma([1.5]));
        let out = qualitative_panel("t", &[r]).unwrap();
        assert_eq!(
            out.notes,
            vec!["x: prediction values outside [0,1] clamped for display.".to_string()]
        );
    }

    #[test]
    fn too_many_rows_is_refused_before_drawing() {
        let rows = vec![row("x", (8, 8), (8, 8)); 40];
        assert!(matches!(
            qualitative_panel("t", &rows),
            Err(PlotError::TooLarge { .. })
        ));
    }

    #[test]
    fn fit_keeps_aspect() {
        assert_eq!(fit((256, 256), 200), (200, 200));
        assert_eq!(fit((300, 150), 200), (200, 100));
        assert_eq!(fit((10, 1000), 200), (2, 200));
        assert_eq!(fit((1000, 1), 200), (200, 1));
    }
}
