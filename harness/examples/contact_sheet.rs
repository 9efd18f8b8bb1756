//! Renders `docs/synthetic_contact_sheet.png`: six test identities, each with its real photo,
//! four partial fakes and their ground truth `Gray(|X − X'|)`, and one full synthesis; then
//! times rendering (run with `--release` for representative numbers).
//!
//! With `--photos` it renders `docs/photos_contact_sheet.png` instead: six test photographs of
//! the real-photo source (docs/photos.md), each crop with four partial manipulations by the
//! benchmark's generators and their ground truth, and one whole-image re-synthesis.
//!
//! `cargo run -p harness --example contact_sheet --release [-- [--photos] [OUT.png]]`

use std::time::Instant;

use harness::data::photos::{self, PhotoConfig, PhotoKey};
use harness::data::synth::{
    catalogue, difference_preview, generators, render, SampleKey, SynthConfig, PROPERTIES,
};
use harness::data::Split;
use image::{imageops, DynamicImage, RgbImage};
use plotters::prelude::*;

/// Tile side in the sheet (the 224-pixel samples are shown at this size).
const TILE: u32 = 120;
/// Height of the header row with column titles.
const HEADER: u32 = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--photos") {
        args.remove(i);
        let out = args
            .first()
            .cloned()
            .unwrap_or_else(|| "docs/photos_contact_sheet.png".into());
        return photo_sheet(&out);
    }
    let out = args
        .first()
        .cloned()
        .unwrap_or_else(|| "docs/synthetic_contact_sheet.png".into());
    let cfg = SynthConfig::default();
    let partial: Vec<_> = generators().iter().filter(|g| !g.entire).collect();
    let entire: Vec<_> = generators().iter().filter(|g| g.entire).collect();
    let (rows, fakes) = (6u32, 4u32);
    let cols = 2 + 2 * fakes;
    let mut sheet =
        RgbImage::from_pixel(cols * TILE, HEADER + rows * TILE, image::Rgb([24, 24, 24]));
    let mut labels = Vec::new();
    let mut place = |sheet: &mut RgbImage, img: &RgbImage, col: u32, row: u32, label: String| {
        let small = imageops::resize(img, TILE, TILE, imageops::FilterType::Triangle);
        imageops::replace(
            sheet,
            &small,
            (col * TILE) as i64,
            (HEADER + row * TILE) as i64,
        );
        labels.push((label, col * TILE + 3, HEADER + row * TILE + 2));
    };
    for row in 0..rows {
        let real = render(&cfg, &SampleKey::real(Split::Test, row))?;
        place(&mut sheet, &real.fake, 0, row, format!("test {row}"));
        for j in 0..fakes {
            // Walk generators and properties so the sheet shows many combinations.
            let t = (row * fakes + j) as usize;
            let g = partial[t % partial.len()];
            let p = PROPERTIES[(t * 3 + row as usize) % PROPERTIES.len()];
            let s = render(&cfg, &SampleKey::partial(Split::Test, row, g.name, p))?;
            let gt = difference_preview(s.real.as_ref().expect("partial has a source"), &s.fake)?;
            let gt = DynamicImage::ImageLuma8(gt).to_rgb8();
            place(
                &mut sheet,
                &s.fake,
                1 + 2 * j,
                row,
                format!("{} / {p}", g.name),
            );
            place(&mut sheet, &gt, 2 + 2 * j, row, "GT".into());
        }
        let g = entire[row as usize % entire.len()];
        let s = render(&cfg, &SampleKey::entire(Split::Test, row, g.name))?;
        place(
            &mut sheet,
            &s.fake,
            cols - 1,
            row,
            format!("{} / entire", g.name),
        );
    }
    let mut titles = vec![("real X".to_string(), 0)];
    for j in 0..fakes {
        titles.push((format!("fake X' #{}", j + 1), 1 + 2 * j));
        titles.push(("Gray(|X - X'|)".to_string(), 2 + 2 * j));
    }
    titles.push(("full synthesis".to_string(), cols - 1));
    annotate(&mut sheet, titles, labels)?;
    sheet.save(&out)?;
    println!("wrote {out} ({} bytes)", std::fs::metadata(&out)?.len());

    // Timing: every sample of three identities (real, 80 partial, 3 entire), one thread.
    // Minimum and median per sample: the minimum is the least disturbed by other processes.
    let keys: Vec<SampleKey> = catalogue(&cfg, Split::Test).take(3 * 84).collect();
    for kind in ["real", "partial", "entire"] {
        let mut ms = Vec::new();
        for k in keys.iter().filter(|k| k.kind.as_str() == kind) {
            let t0 = Instant::now();
            render(&cfg, k)?;
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{kind:>7}: min {:.1} ms, median {:.1} ms per {}x{} sample ({} samples)",
            ms[0],
            ms[ms.len() / 2],
            cfg.size,
            cfg.size,
            ms.len()
        );
    }
    Ok(())
}

/// Draws column titles and per-tile labels (white on a black shadow) onto the sheet.
fn annotate(
    sheet: &mut RgbImage,
    titles: Vec<(String, u32)>,
    labels: Vec<(String, u32, u32)>,
) -> Result<(), Box<dyn std::error::Error>> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "cannot load the DejaVu font")?;
    let (w, h) = sheet.dimensions();
    let root = BitMapBackend::with_buffer(sheet.as_mut(), (w, h)).into_drawing_area();
    let style = ("sans-serif", 11).into_font().color(&WHITE);
    for (t, c) in titles {
        root.draw(&Text::new(
            t,
            ((c * TILE + 4) as i32, 4),
            ("sans-serif", 13).into_font().color(&WHITE),
        ))?;
    }
    for (t, x, y) in labels {
        root.draw(&Text::new(
            t.clone(),
            (x as i32 + 1, y as i32 + 1),
            ("sans-serif", 11).into_font().color(&BLACK),
        ))?;
        root.draw(&Text::new(t, (x as i32, y as i32), style.clone()))?;
    }
    root.present()?;
    Ok(())
}

/// `--photos`: six test photographs (crop 0 at the default configuration), each with four
/// partial manipulations walking the generators and edits, their ground truth, and one
/// whole-image re-synthesis; then times rendering.
fn photo_sheet(out: &str) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = PhotoConfig::default();
    let partial: Vec<_> = generators().iter().filter(|g| !g.entire).collect();
    let entire: Vec<_> = generators().iter().filter(|g| g.entire).collect();
    let test = photos::photos_of(Split::Test)?;
    let (rows, fakes) = (6u32, 4u32);
    let cols = 2 + 2 * fakes;
    let mut sheet =
        RgbImage::from_pixel(cols * TILE, HEADER + rows * TILE, image::Rgb([24, 24, 24]));
    let mut labels = Vec::new();
    let mut place = |sheet: &mut RgbImage, img: &RgbImage, col: u32, row: u32, label: String| {
        let small = imageops::resize(img, TILE, TILE, imageops::FilterType::Triangle);
        imageops::replace(
            sheet,
            &small,
            (col * TILE) as i64,
            (HEADER + row * TILE) as i64,
        );
        labels.push((label, col * TILE + 3, HEADER + row * TILE + 2));
    };
    for row in 0..rows {
        // Every third test photograph, so the sheet shows several packages and scenes.
        let photo = &test[(row as usize * 3) % test.len()].id;
        let real = photos::render(&cfg, &PhotoKey::real(Split::Test, photo, 0))?;
        let short: String = photo.chars().take(18).collect();
        place(&mut sheet, &real.fake, 0, row, short);
        for j in 0..fakes {
            let t = (row * fakes + j) as usize;
            let g = partial[(t * 3 + row as usize) % partial.len()];
            let edit = photos::EDITS[t % photos::EDITS.len()];
            let s = photos::render(
                &cfg,
                &PhotoKey::partial(Split::Test, photo, 0, g.name, edit),
            )?;
            let gt = difference_preview(s.real.as_ref().expect("partial has a source"), &s.fake)?;
            // Ground truth is mostly small: shown ×4 (clipped) so the region is visible.
            let gt = image::GrayImage::from_fn(gt.width(), gt.height(), |x, y| {
                image::Luma([gt.get_pixel(x, y)[0].saturating_mul(4)])
            });
            let gt = DynamicImage::ImageLuma8(gt).to_rgb8();
            place(
                &mut sheet,
                &s.fake,
                1 + 2 * j,
                row,
                format!("{} / {edit}", g.name),
            );
            place(&mut sheet, &gt, 2 + 2 * j, row, "GT x4".into());
        }
        let g = entire[row as usize % entire.len()];
        let s = photos::render(&cfg, &PhotoKey::entire(Split::Test, photo, 0, g.name))?;
        place(
            &mut sheet,
            &s.fake,
            cols - 1,
            row,
            format!("{} / entire", g.name),
        );
    }
    let mut titles = vec![("real crop X".to_string(), 0)];
    for j in 0..fakes {
        titles.push((format!("fake X' #{}", j + 1), 1 + 2 * j));
        titles.push(("4 Gray(|X - X'|)".to_string(), 2 + 2 * j));
    }
    titles.push(("re-synthesis".to_string(), cols - 1));
    annotate(&mut sheet, titles, labels)?;
    sheet.save(out)?;
    println!("wrote {out} ({} bytes)", std::fs::metadata(out)?.len());

    // Timing: every job of three crops (real, 40 partial, 3 entire), one thread.
    let keys: Vec<PhotoKey> = photos::catalogue_interleaved(&cfg, Split::Test, &[])?
        .into_iter()
        .take(3 * photos::jobs(&[]).len())
        .collect();
    for kind in ["real", "partial", "entire"] {
        let mut ms = Vec::new();
        for k in keys.iter().filter(|k| k.kind.as_str() == kind) {
            let t0 = Instant::now();
            photos::render(&cfg, k)?;
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{kind:>7}: min {:.1} ms, median {:.1} ms per {}x{} sample ({} samples)",
            ms[0],
            ms[ms.len() / 2],
            cfg.size,
            cfg.size,
            ms.len()
        );
    }
    Ok(())
}
