//! Renders every chart of `harness::report::plots` from made-up data, to look at them.
//!
//! Usage: `cargo run -p harness --example plots_demo -- OUT_DIR`
//! Writes `OUT_DIR/<chart>.png` and `.svg` for: γ curves (Figure 8), γ bars under
//! disorganization (Figure 6), per-category bars, the cross-generator heat map (Table 3) and a
//! qualitative panel (Figure 1). The numbers are invented; only the look matters here.

use std::path::Path;

use harness::report::plots::{
    gamma_curves, grouped_bars, heatmap, qualitative_panel, BarGroup, LevelPanel, PointCi,
    QualitativeRow, Rendered, Series,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: plots_demo OUT_DIR")?;
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    let localizers = ["deeplabv3", "stehouwer", "resampling-trace"];

    save(
        out,
        "gamma_ssim",
        &gamma_curves("SSIM", &gamma_panels(&localizers))?,
    )?;
    // A failed level (NaN) shows how skipped values are reported under the chart.
    let mut panels = gamma_panels(&localizers);
    panels[2].series[1].points[3].y = f64::NAN;
    save(out, "gamma_coss", &gamma_curves("COSS", &panels)?)?;

    let disorganization: Vec<BarGroup> = ["ACC", "COSS", "PSNR", "SSIM"]
        .iter()
        .enumerate()
        .map(|(m, metric)| BarGroup {
            label: (*metric).into(),
            bars: localizers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let v = 99.0 - 6.0 * i as f64 - 1.5 * m as f64;
                    (
                        (*l).to_string(),
                        v,
                        v - 2.0 - i as f64,
                        v + 1.5 + 0.5 * i as f64,
                    )
                })
                .collect(),
        })
        .collect();
    let bars = grouped_bars(
        "γ under disorganization (Figure 6)",
        "γ (%)",
        &disorganization,
        Some(100.0),
    )?;
    save(out, "disorganization", &bars)?;

    let categories = [
        "bald",
        "bangs",
        "black_hair",
        "blond_hair",
        "eyeglasses",
        "mustache",
        "smile",
        "entire",
    ];
    let per_category: Vec<BarGroup> = categories
        .iter()
        .enumerate()
        .map(|(c, cat)| BarGroup {
            label: (*cat).into(),
            bars: localizers[..2]
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let v = 0.9 - 0.05 * ((c * 3 + i * 5) % 7) as f64 - 0.12 * i as f64;
                    ((*l).to_string(), v, v - 0.03, v + 0.03)
                })
                .collect(),
        })
        .collect();
    save(
        out,
        "per_category_ssim",
        &grouped_bars("SSIM per property", "SSIM", &per_category, None)?,
    )?;

    let gans: Vec<String> = ["STGAN", "AttGAN", "StarGAN", "StyleGAN"]
        .iter()
        .map(|s| (*s).into())
        .collect();
    let values: Vec<Vec<Option<f64>>> = (0..4)
        .map(|r| {
            (0..4)
                .map(|c| {
                    if r == 3 && c == 1 {
                        None
                    } else {
                        Some(if r == c {
                            0.93
                        } else {
                            0.45 + 0.08 * ((r + 2 * c) % 4) as f64
                        })
                    }
                })
                .collect()
        })
        .collect();
    save(
        out,
        "cross_gan_coss",
        &heatmap(
            "COSS across generators (Table 3)",
            &gans,
            &gans,
            &values,
            (0.0, 1.0),
        )?,
    )?;

    let rows = vec![
        demo_row("STGAN · bald", 256, 224, (0.5, 0.22), 0.3, 0.0),
        demo_row("AttGAN · eyeglasses", 256, 224, (0.5, 0.45), 0.15, 0.25),
        demo_row("StyleGAN · entire", 224, 224, (0.5, 0.5), 2.0, 0.1),
    ];
    save(
        out,
        "qualitative",
        &qualitative_panel("Fake region localization (Figure 1)", &rows)?,
    )?;
    println!("wrote the charts to {}", out.display());
    Ok(())
}

/// Four degradations with a gentle, a steep and a flat localizer.
fn gamma_panels(localizers: &[&str]) -> Vec<LevelPanel> {
    let curve = |levels: &[f64], severity: &dyn Fn(f64) -> f64| -> Vec<Series> {
        localizers
            .iter()
            .enumerate()
            .map(|(i, l)| Series {
                label: (*l).into(),
                points: levels
                    .iter()
                    .map(|&x| {
                        let y = 100.0 - severity(x) * [0.5, 1.0, 0.2][i % 3] * 40.0;
                        let half = 1.0 + 4.0 * severity(x);
                        PointCi {
                            x,
                            y,
                            lo: y - half,
                            hi: y + half,
                        }
                    })
                    .collect(),
            })
            .collect()
    };
    vec![
        LevelPanel {
            degradation: "JPEG compression".into(),
            x_label: "JPEG quality".into(),
            series: curve(&[100.0, 90.0, 80.0, 70.0, 60.0, 50.0], &|q| {
                (100.0 - q) / 50.0
            }),
            reverse_x: true,
            clean_level: None,
        },
        LevelPanel {
            degradation: "Blur".into(),
            x_label: "Gaussian kernel size (px)".into(),
            series: curve(&[1.0, 3.0, 5.0, 7.0, 9.0], &|k| (k - 1.0) / 8.0),
            reverse_x: false,
            clean_level: None,
        },
        LevelPanel {
            degradation: "Noise".into(),
            x_label: "noise variance (8-bit levels²)".into(),
            series: curve(&[0.0, 5.0, 10.0, 20.0, 40.0], &|v| (v / 40.0).sqrt()),
            reverse_x: false,
            clean_level: None,
        },
        LevelPanel {
            degradation: "Low resolution".into(),
            x_label: "downscale factor".into(),
            series: curve(&[1.0, 2.0, 3.0, 4.0], &|r| (r - 1.0) / 3.0),
            reverse_x: false,
            clean_level: None,
        },
    ]
}

/// A synthetic face-ish image with an elliptic fake region at `centre` (fractions of the side).
fn demo_row(
    label: &str,
    image_side: u32,
    map_side: u32,
    centre: (f64, f64),
    radius: f64,
    miss: f64,
) -> QualitativeRow {
    let fake = image::RgbImage::from_fn(image_side, image_side, |x, y| {
        let (u, v) = (
            f64::from(x) / f64::from(image_side),
            f64::from(y) / f64::from(image_side),
        );
        let face = ((u - 0.5).powi(2) / 0.09 + (v - 0.55).powi(2) / 0.16) < 1.0;
        let base = if face {
            [222.0, 180.0, 150.0]
        } else {
            [70.0 + 90.0 * v, 90.0, 140.0 - 60.0 * u]
        };
        let texture = 12.0 * ((x * 7 + y * 13) % 5) as f64 / 5.0;
        image::Rgb(base.map(|c: f64| (c + texture).min(255.0) as u8))
    });
    let region = |u: f64, v: f64, r: f64| {
        let d = ((u - centre.0).powi(2) + ((v - centre.1) * 2.0).powi(2)).sqrt() / r;
        (1.0 - d).clamp(0.0, 1.0)
    };
    let map = |f: &dyn Fn(f64, f64) -> f64| {
        metrics::Map::from_fn(map_side, map_side, |x, y| {
            image::Luma([f(
                f64::from(x) / f64::from(map_side),
                f64::from(y) / f64::from(map_side),
            ) as f32])
        })
    };
    let ground_truth =
        map(&|u, v| (region(u, v, radius) * 2.0).min(1.0) * (0.7 + 0.3 * ((u * 40.0).sin().abs())));
    let prediction =
        map(&|u, v| (region(u - miss * 0.1, v, radius * 1.2) * 1.6).min(1.0) * (1.0 - miss));
    QualitativeRow {
        label: label.into(),
        fake,
        ground_truth,
        prediction,
    }
}

fn save(dir: &Path, name: &str, chart: &Rendered) -> std::io::Result<()> {
    std::fs::write(dir.join(format!("{name}.png")), &chart.png)?;
    std::fs::write(dir.join(format!("{name}.svg")), &chart.svg)?;
    for note in &chart.notes {
        println!("{name}: {note}");
    }
    Ok(())
}
