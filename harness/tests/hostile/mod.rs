//! Regression tests for hostile inputs and faults that no other module covers end to end.
//! docs/reliability.md ("Regression set") lists every reported case with the test that keeps
//! it fixed, here or in the module closest to the code it exercises.

use std::path::Path;

use crate::common::*;

#[test]
fn a_batch_over_the_pixel_budget_is_refused_before_anything_is_decoded() {
    // Two fakes with their reals, 49 Mpx each (under the 64 Mpx per-image limit; a few kB of
    // PNG), would hold 196 Mpx in one batch: the pre-check refuses the suite, names the largest
    // image's line and says how to fix it, before any image is decoded.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image::GrayImage::new(7000, 7000)
        .save(d.join("big.png"))
        .unwrap();
    manifest_suite(
        d,
        "h",
        "f1,test,g,p,partial,big.png,big.png,\n\
         f2,test,g,p,partial,big.png,big.png,\n",
        "  - constant\n",
    );
    let (code, err) = code_and_stderr(&harness(d, &["run", "s.yaml", "--out", "runs"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("196 Mpx")
            && err.contains("over the budget of 134 Mpx per batch")
            && err.contains("lower evaluation.batch")
            && err.contains("line 2 of the manifest, 7000×7000"),
        "{err}"
    );
    assert!(!d.join("runs").exists(), "nothing ran");
}

#[test]
fn two_runs_started_together_get_their_own_directories() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let suite = TINY_SUITE.replace("GEN", harness::data::synth::generators()[0].name);
    std::fs::write(d.join("tiny.yaml"), suite).unwrap();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["run", "tiny.yaml", "--out", "runs", "--no-progress"])
            .current_dir(d)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs: Vec<_> = std::fs::read_dir(d.join("runs/tiny"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    // Each holds one whole run: every unit once, as in a run alone.
    let rows = |run: &Path| {
        std::fs::read_to_string(run.join("per_image.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(rows(&runs[0]), rows(&runs[1]));
    for run in &runs {
        assert!(read_results(run).failures.is_empty());
    }
}

#[test]
fn localizer_names_with_unsafe_characters_keep_their_own_files_and_table_rows() {
    // `a/b` and `a_b` once wrote one figure file; `x|y` once broke report.md's tables.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixture_dir = fixture("");
    for f in ["fake.png", "real.png"] {
        std::fs::copy(fixture_dir.join(f), d.join(f)).unwrap();
    }
    let localizers = "  - {kind: constant, name: a/b, params: {value: 0.2}}\n  - {kind: constant, name: a_b, params: {value: 0.7}}\n  - {kind: constant, name: 'x|y', params: {value: 0.5}}\n";
    manifest_suite(
        d,
        "h",
        "f,test,g,p,partial,fake.png,real.png,\n\
         r,test,r,none,real,real.png,,\n",
        localizers,
    );
    let (code, err) = code_and_stderr(&harness(d, &["run", "s.yaml", "--out", "runs"]));
    assert_eq!(code, 0, "{err}");
    let run = single_run(&d.join("runs/h"));
    let qualitative = png_figures(&run, "qualitative_a_b");
    assert_eq!(qualitative.len(), 2, "one panel file each: {qualitative:?}");
    assert_ne!(qualitative[0], qualitative[1]);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains(r"x\|y"), "the name is escaped in table cells");
    // Every table row has as many cell separators as its table's header.
    let unescaped_pipes = |l: &str| l.replace(r"\|", "").matches('|').count();
    let lines: Vec<&str> = md.lines().collect();
    let mut checked = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('|') && line.contains(r"x\|y") {
            let header = (0..i)
                .rev()
                .take_while(|&j| lines[j].starts_with('|'))
                .last()
                .unwrap_or(i);
            assert_eq!(
                unescaped_pipes(line),
                unescaped_pipes(lines[header]),
                "{line}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "x|y appears in the tables");
}
