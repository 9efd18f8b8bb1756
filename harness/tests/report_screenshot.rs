//! The report of a quick smoke run, rendered in headless Chromium at 1280 px by
//! `scripts/report_screenshot.sh`: no sideways overflow, figures before the tables. Skipped
//! (with a note) where Chromium is not installed; `apt-get install chromium` to run it.

use std::process::Command;

use crate::common::*;

fn chromium() -> Option<String> {
    let name = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then_some(name)
}

#[test]
fn the_smoke_report_fits_1280_px_and_shows_figures_before_tables() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "note: chromium not found, report_screenshot test skipped \
             (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let suite = workspace().join("suites/smoke.yaml");
    let run = harness(
        &workspace(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--quick",
            "--no-progress",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run_dir = single_run(&out.path().join("smoke_quick"));
    let shot = out.path().join("top.png");
    let check = Command::new(workspace().join("scripts/report_screenshot.sh"))
        .arg(&run_dir)
        .arg(&shot)
        .env("CHROMIUM", chromium)
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The script exits 1 on overflow or a table before the figures; these say it measured.
    for expected in ["scrollWidth=", "tableBeforeFigure=false", "summary=true"] {
        assert!(stdout.contains(expected), "{expected} not in {stdout}");
    }
    // A screenshot, not an empty file.
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
}
