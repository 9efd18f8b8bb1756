//! The footer under a chart: a legend laid out in centred rows (outside the data, so it never
//! covers a point), then the notes about skipped values.

use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{DrawingArea, DrawingBackend, RGBColor};
use plotters::style::{Color, ShapeStyle};

use super::canvas::draw_err;
use super::style::{self, MUTED};
use super::PlotError;

/// How an entry's colour sample looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    /// A line with the series marker (line charts).
    Line,
    /// A filled square (bar charts).
    Box,
}

const SWATCH_LINE_PX: i32 = 36;
const SWATCH_BOX_PX: i32 = 16;
const SWATCH_GAP_PX: i32 = 8;
const ENTRY_GAP_PX: i32 = 30;
const ROW_PX: i32 = 28;
const NOTE_ROW_PX: i32 = 20;

/// A legend and notes, measured for a given width.
pub(crate) struct Footer {
    swatch: Swatch,
    labels: Vec<String>,
    /// Entries per row, with their widths in px.
    rows: Vec<Vec<(usize, i32)>>,
    notes: Vec<String>,
}

impl Footer {
    /// Lays out one entry per label (entry `i` gets series colour and marker `i`) within `width` px.
    pub(crate) fn new(
        swatch: Swatch,
        labels: &[String],
        notes: &[String],
        width: u32,
    ) -> Result<Self, PlotError> {
        let font = style::text(style::LEGEND_PX);
        let swatch_px = if swatch == Swatch::Line {
            SWATCH_LINE_PX
        } else {
            SWATCH_BOX_PX
        };
        let mut rows: Vec<Vec<(usize, i32)>> = Vec::new();
        let mut used = 0;
        for (i, label) in labels.iter().enumerate() {
            let w = swatch_px + SWATCH_GAP_PX + style::text_size(&font, label)?.0 as i32;
            match rows.last_mut() {
                Some(row) if used + ENTRY_GAP_PX + w <= width as i32 - 20 => {
                    row.push((i, w));
                    used += ENTRY_GAP_PX + w;
                }
                _ => {
                    rows.push(vec![(i, w)]);
                    used = w;
                }
            }
        }
        Ok(Self {
            swatch,
            labels: labels.to_vec(),
            rows,
            notes: notes.to_vec(),
        })
    }

    /// Height of the footer, px (including a top margin).
    pub(crate) fn height(&self) -> u32 {
        let notes = if self.notes.is_empty() {
            0
        } else {
            6 + NOTE_ROW_PX * self.notes.len() as i32
        };
        (8 + ROW_PX * self.rows.len() as i32 + notes + 8) as u32
    }

    /// Draws the footer with its top edge at `top` px, centred across `root`.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        top: i32,
    ) -> Result<(), PlotError> {
        let width = root.dim_in_pixel().0 as i32;
        let font = style::text(style::LEGEND_PX);
        let mut y = top + 8 + ROW_PX / 2;
        for row in &self.rows {
            let total: i32 =
                row.iter().map(|(_, w)| w).sum::<i32>() + ENTRY_GAP_PX * (row.len() as i32 - 1);
            let mut x = (width - total) / 2;
            for &(i, w) in row {
                let colour = style::series_colour(i);
                self.draw_swatch(root, i, colour, x, y)?;
                let swatch_px = if self.swatch == Swatch::Line {
                    SWATCH_LINE_PX
                } else {
                    SWATCH_BOX_PX
                };
                let anchored = font.pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ));
                root.draw(&Text::new(
                    self.labels[i].clone(),
                    (x + swatch_px + SWATCH_GAP_PX, y),
                    anchored,
                ))
                .map_err(draw_err)?;
                x += w + ENTRY_GAP_PX;
            }
            y += ROW_PX;
        }
        let note_font = style::text(style::NOTE_PX).color(&MUTED);
        let mut y = top + 8 + ROW_PX * self.rows.len() as i32 + 6;
        for note in &self.notes {
            root.draw(&Text::new(
                format!("Note: {note}"),
                (12, y),
                note_font.clone(),
            ))
            .map_err(draw_err)?;
            y += NOTE_ROW_PX;
        }
        Ok(())
    }

    fn draw_swatch<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        i: usize,
        colour: RGBColor,
        x: i32,
        y: i32,
    ) -> Result<(), PlotError> {
        match self.swatch {
            Swatch::Line => {
                let line = ShapeStyle::from(&colour).stroke_width(3);
                root.draw(&PathElement::new(
                    vec![(x, y), (x + SWATCH_LINE_PX, y)],
                    line,
                ))
                .map_err(draw_err)?;
                style::draw_marker(root, i, (x + SWATCH_LINE_PX / 2, y), colour)?;
            }
            Swatch::Box => {
                let half = SWATCH_BOX_PX / 2;
                root.draw(&Rectangle::new(
                    [(x, y - half), (x + SWATCH_BOX_PX, y + half)],
                    colour.filled(),
                ))
                .map_err(draw_err)?;
            }
        }
        Ok(())
    }
}
