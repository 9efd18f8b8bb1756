//! Draws one figure on both backends: a PNG through an RGB buffer, an SVG through a string.
//!
//! Raster tiles (images, maps, colour bars) bypass plotters: they are copied into the PNG buffer
//! and embedded in the SVG as `<image>` data URIs, because plotters' SVG backend would otherwise
//! emit one `<rect>` per pixel. Tiles lie under everything plotters draws.

use base64::Engine as _;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};

use super::{style, PlotError, Rendered, MAX_SIDE_PX};

/// A raster placed at pixel position (`x`, `y`) of the figure.
pub(crate) struct Tile {
    /// Left edge, px.
    pub x: u32,
    /// Top edge, px.
    pub y: u32,
    /// The pixels.
    pub image: image::RgbImage,
}

/// A drawing that can be rendered to any plotters backend.
pub(crate) trait Figure {
    /// The chart function's name, for error messages.
    const CHART: &'static str;
    /// Width and height, px.
    fn size(&self) -> (u32, u32);
    /// Raster tiles, drawn first.
    fn tiles(&self) -> &[Tile] {
        &[]
    }
    /// Notes about skipped input, returned with the output.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Draws the vector part on a white (or tiled) `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Converts a plotters error into a [`PlotError::Draw`].
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Renders `figure` as PNG and SVG.
pub(crate) fn render<F: Figure>(figure: &F) -> Result<Rendered, PlotError> {
    style::ensure_fonts()?;
    let (width, height) = figure.size();
    if width == 0 || height == 0 || width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(PlotError::TooLarge {
            chart: F::CHART,
            width,
            height,
            max: MAX_SIDE_PX,
        });
    }
    for t in figure.tiles() {
        let fits = u64::from(t.x) + u64::from(t.image.width()) <= u64::from(width)
            && u64::from(t.y) + u64::from(t.image.height()) <= u64::from(height);
        if !fits {
            return Err(PlotError::Draw(format!(
                "{}: a tile lies outside the canvas (layout bug)",
                F::CHART
            )));
        }
    }
    Ok(Rendered {
        png: render_png(figure, width, height)?,
        svg: render_svg(figure, width, height)?,
        notes: figure.notes(),
    })
}

fn render_png<F: Figure>(figure: &F, width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    for t in figure.tiles() {
        let row_bytes = t.image.width() as usize * 3;
        for (row, src) in t.image.as_raw().chunks_exact(row_bytes).enumerate() {
            let start = ((t.y as usize + row) * width as usize + t.x as usize) * 3;
            buffer[start..start + row_bytes].copy_from_slice(src);
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    encode_png(&buffer, width, height)
}

fn render_svg<F: Figure>(figure: &F, width: u32, height: u32) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        figure.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    // The background and the tiles go right after the opening <svg ...> tag, under the drawing.
    let mut under =
        format!(r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>"##);
    under.push('\n');
    for t in figure.tiles() {
        let png = encode_png(t.image.as_raw(), t.image.width(), t.image.height())?;
        under.push_str(&format!(
            r#"<image x="{}" y="{}" width="{}" height="{}" image-rendering="pixelated" href="data:image/png;base64,{}"/>"#,
            t.x,
            t.y,
            t.image.width(),
            t.image.height(),
            base64::engine::general_purpose::STANDARD.encode(&png)
        ));
        under.push('\n');
    }
    let after_open = svg
        .find(">\n")
        .map(|i| i + 2)
        .ok_or_else(|| PlotError::Draw("the SVG backend wrote no opening tag".into()))?;
    svg.insert_str(after_open, &under);
    Ok(svg)
}

/// Encodes 8-bit RGB pixels as a PNG file.
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes a PNG and checks its size; returns the pixels.
    pub(crate) fn decode_png(png: &[u8], width: u32, height: u32) -> image::RgbImage {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("valid PNG")
            .to_rgb8();
        assert_eq!(img.dimensions(), (width, height));
        img
    }

    /// Checks the SVG is a complete document of the given size.
    pub(crate) fn check_svg(svg: &str, width: u32, height: u32) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains(&format!(r#"viewBox="0 0 {width} {height}""#)));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    struct Probe {
        tiles: Vec<Tile>,
    }

    impl Figure for Probe {
        const CHART: &'static str = "probe";
        fn size(&self) -> (u32, u32) {
            (40, 30)
        }
        fn tiles(&self) -> &[Tile] {
            &self.tiles
        }
        fn draw<DB: DrawingBackend>(
            &self,
            _root: &DrawingArea<DB, Shift>,
        ) -> Result<(), PlotError> {
            Ok(())
        }
    }

    #[test]
    fn tiles_land_in_png_and_svg() {
        let image =
            image::RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 60, 7]));
        let probe = Probe {
            tiles: vec![Tile {
                x: 10,
                y: 20,
                image: image.clone(),
            }],
        };
        let out = render(&probe).unwrap();
        let png = decode_png(&out.png, 40, 30);
        assert_eq!(*png.get_pixel(0, 0), image::Rgb([255, 255, 255]));
        for (x, y, p) in image.enumerate_pixels() {
            assert_eq!(png.get_pixel(10 + x, 20 + y), p);
        }
        check_svg(&out.svg, 40, 30);
        let tile_png = encode_png(image.as_raw(), 5, 4).unwrap();
        let uri = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&tile_png)
        );
        assert!(out.svg.contains(&uri));
        assert!(out
            .svg
            .contains(r#"<image x="10" y="20" width="5" height="4""#));
    }

    #[test]
    fn tile_outside_canvas_is_an_error() {
        let probe = Probe {
            tiles: vec![Tile {
                x: 38,
                y: 0,
                image: image::RgbImage::new(5, 5),
            }],
        };
        assert!(matches!(render(&probe), Err(PlotError::Draw(_))));
    }
}
