//! Shared look: fonts, sizes, colours (series palette, viridis, gray), markers and number format.

use plotters::coord::CoordTranslate;
use plotters::element::{Circle, EmptyElement, PathElement, Polygon, Rectangle};
use plotters::prelude::{DrawingArea, DrawingBackend, IntoFont, RGBColor, ShapeStyle, TextStyle};
use plotters::style::{FontDesc, FontStyle};

use super::canvas::draw_err;
use super::PlotError;

/// The family every text uses; registered with the embedded DejaVu Sans by `ensure_fonts`.
pub(crate) const FONT: &str = "sans-serif";
/// Figure title size (plotters text size, px).
pub(crate) const TITLE_PX: f64 = 26.0;
/// Panel title and heat-map header size.
pub(crate) const PANEL_TITLE_PX: f64 = 20.0;
/// Axis label size.
pub(crate) const LABEL_PX: f64 = 18.0;
/// Tick label and cell value size.
pub(crate) const TICK_PX: f64 = 16.0;
/// Legend entry size.
pub(crate) const LEGEND_PX: f64 = 17.0;
/// Footnote size (skipped-value notes).
pub(crate) const NOTE_PX: f64 = 14.0;

/// Near-black for text and axes (pure black is harsh next to the colours).
pub(crate) const INK: RGBColor = RGBColor(34, 34, 34);
/// Gray for reference lines, footnotes and frames.
pub(crate) const MUTED: RGBColor = RGBColor(110, 110, 110);
/// Fill of cells without a value.
pub(crate) const MISSING: RGBColor = RGBColor(225, 225, 225);

/// Registers DejaVu Sans (regular and bold) as `FONT`, once per process.
pub(crate) fn ensure_fonts() -> Result<(), PlotError> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let regular =
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let bold = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
        regular.is_ok() && bold.is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw(
            "the embedded DejaVu Sans font could not be parsed".into(),
        ))
    }
}

/// Regular text of `size` px in `INK`.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    // A font description resolves its face when built, so registration must come first; a
    // failure surfaces from `text_size` and `render`, which call this again.
    let _ = ensure_fonts();
    (FONT, size).into_font().color(&INK)
}

/// Bold text of `size` px in `INK`.
pub(crate) fn bold(size: f64) -> TextStyle<'static> {
    let _ = ensure_fonts();
    FontDesc::new(FONT.into(), size, FontStyle::Bold).color(&INK)
}

/// Width and height in pixels of `s` set in `style`.
pub(crate) fn text_size(style: &TextStyle<'_>, s: &str) -> Result<(u32, u32), PlotError> {
    style
        .font
        .box_size(s)
        .map_err(|e| PlotError::Draw(format!("text layout of {s:?}: {e}")))
}

/// The colour of the `i`-th series: matplotlib's tab10 (= d3 category10), cycled.
pub(crate) fn series_colour(i: usize) -> RGBColor {
    let c = colorous::CATEGORY10[i % colorous::CATEGORY10.len()];
    RGBColor(c.r, c.g, c.b)
}

/// Draws the marker of the `i`-th series at `at` (shapes cycle so lines stay apart in gray print).
pub(crate) fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    i: usize,
    at: CT::From,
    colour: RGBColor,
) -> Result<(), PlotError>
where
    CT::From: Clone,
{
    let r = 5;
    let fill = ShapeStyle::from(&colour).filled();
    let base = EmptyElement::at(at);
    match i % 4 {
        0 => area.draw(&(base + Circle::new((0, 0), r, fill))),
        1 => area.draw(&(base + Rectangle::new([(-r + 1, -r + 1), (r - 1, r - 1)], fill))),
        2 => area
            .draw(&(base + Polygon::new(vec![(0, -r - 1), (r + 1, r - 1), (-r - 1, r - 1)], fill))),
        _ => area.draw(
            &(base + Polygon::new(vec![(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)], fill)),
        ),
    }
    .map_err(draw_err)
}

/// Draws a confidence-interval whisker from `lo` to `hi` at `x` (data coordinates), with caps
/// `cap_px` wide each side.
pub(crate) fn draw_whisker<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    (x, lo, hi): (f64, f64, f64),
    cap_px: i32,
    colour: RGBColor,
) -> Result<(), PlotError> {
    let line = ShapeStyle::from(&colour).stroke_width(2);
    area.draw(&PathElement::new(vec![(x, lo), (x, hi)], line))
        .map_err(draw_err)?;
    for y in [lo, hi] {
        area.draw(
            &(EmptyElement::at((x, y)) + PathElement::new(vec![(-cap_px, 0), (cap_px, 0)], line)),
        )
        .map_err(draw_err)?;
    }
    Ok(())
}

/// matplotlib's viridis for a value in [0,1] (clamped): LUT entry `floor(v·256)`, as `imshow` shows it.
pub(crate) fn viridis(v: f64) -> [u8; 3] {
    let index = (v.clamp(0.0, 1.0) * 256.0).floor().min(255.0) as usize;
    let c = colorous::VIRIDIS.eval_rational(index, 256);
    [c.r, c.g, c.b]
}

/// A vertical ramp of colour map `cmap` (e.g. [`viridis`]), 1 at the top, 0 at the bottom.
pub(crate) fn colour_bar(width: u32, height: u32, cmap: fn(f64) -> [u8; 3]) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |_, y| {
        let top = height.saturating_sub(1);
        let v = f64::from(top - y) / f64::from(top.max(1));
        image::Rgb(cmap(v))
    })
}

/// Gray level for a value in [0,1] (clamped): 0 black, 1 white, as matplotlib's `gray`.
pub(crate) fn gray(v: f64) -> [u8; 3] {
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    [g, g, g]
}

/// Black or white, whichever reads better on `rgb` (Rec. 709 luma threshold).
pub(crate) fn ink_on(rgb: [u8; 3]) -> RGBColor {
    let luma = 0.2126 * f64::from(rgb[0]) + 0.7152 * f64::from(rgb[1]) + 0.0722 * f64::from(rgb[2]);
    if luma > 140.0 {
        RGBColor(0, 0, 0)
    } else {
        RGBColor(255, 255, 255)
    }
}

/// Formats `v` with as many decimals as a value range of `span` needs (3 for [0,1], 1 for dB or %).
pub(crate) fn format_value(v: f64, span: f64) -> String {
    let decimals = if span <= 2.0 {
        3
    } else if span <= 20.0 {
        2
    } else {
        1
    };
    format!("{v:.decimals$}")
}

/// Formats a tick `v` without trailing zeros (`100`, `2.5`, `0.25`).
pub(crate) fn format_tick(v: f64) -> String {
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The committed reference values of `tests/fixtures/plots/make_fixtures.py`.
    pub(crate) fn reference() -> serde_json::Value {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/plots/reference.json"
        ));
        serde_json::from_str(text).expect("reference.json parses")
    }

    /// Expected viridis colours from matplotlib, as (value, rgb).
    pub(crate) fn matplotlib_viridis() -> Vec<(f64, [u8; 3])> {
        reference()["viridis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let rgb = e["rgb"].as_array().unwrap();
                let c = |i: usize| rgb[i].as_u64().unwrap() as u8;
                (e["value"].as_f64().unwrap(), [c(0), c(1), c(2)])
            })
            .collect()
    }

    #[test]
    fn viridis_matches_matplotlib_within_one_level() {
        let cases = matplotlib_viridis();
        assert!(cases.len() > 20);
        for (v, want) in cases {
            let got = viridis(v);
            for ch in 0..3 {
                let d = (i16::from(got[ch]) - i16::from(want[ch])).abs();
                assert!(d <= 1, "viridis({v}) = {got:?}, matplotlib {want:?}");
            }
        }
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_value(0.87349, 1.0), "0.873");
        assert_eq!(format_value(24.06, 10.0), "24.06");
        assert_eq!(format_value(98.74, 100.0), "98.7");
        assert_eq!(format_tick(100.0), "100");
        assert_eq!(format_tick(2.5), "2.5");
        assert_eq!(format_tick(-0.00001), "0");
    }

    #[test]
    fn ink_contrasts() {
        assert_eq!(ink_on(viridis(0.0)), RGBColor(255, 255, 255));
        assert_eq!(ink_on(viridis(1.0)), RGBColor(0, 0, 0));
    }
}
