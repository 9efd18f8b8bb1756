//! The CLI's commands, callable from tests. Errors carry the exit code: 2 for usage and
//! configuration errors (found before any work unit ran; checking a suite does start its
//! `subprocess` and isolated `plugin` localizers, to have them check their parameters), 1 for
//! runtime errors. SIGINT and SIGTERM exit with 130 and 143 (main.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Condition, Suite, TrainConfig};
use crate::data::photos::{self, PhotoConfig};
use crate::data::synth::{self, SynthConfig};
use crate::data::{self, DataError, DatasetError, Split};
use crate::report::tables;
use crate::run::{self, Resume, RunError, RunOptions};
use crate::training::{self, TrainError, TrainOptions};

/// Exit code of a metric regression found by the gate.
pub const EXIT_REGRESSION: i32 = 3;

/// A command failure with its exit code.
#[derive(Debug)]
pub struct CommandError {
    pub code: i32,
    pub message: String,
}

impl CommandError {
    /// A usage or configuration error (exit 2).
    pub fn config(message: impl std::fmt::Display) -> Self {
        CommandError {
            code: 2,
            message: message.to_string(),
        }
    }
    /// A runtime error (exit 1).
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        CommandError {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<RunError> for CommandError {
    fn from(e: RunError) -> Self {
        match &e {
            // A broken manifest or an empty selection is found before anything runs.
            RunError::Dataset(DatasetError::Data(DataError::Manifest { .. }))
            | RunError::Dataset(DatasetError::Selection(_))
            | RunError::NotTrained(_)
            | RunError::Merge(_) => CommandError::config(e),
            _ => CommandError::runtime(e),
        }
    }
}

/// An input file named on the command line that cannot be used: a missing one is a usage
/// error (exit 2, as a missing suite file), an unreadable or unsupported one a runtime error.
fn input_error(e: DataError) -> CommandError {
    match e {
        DataError::Missing { .. } => CommandError::config(e),
        _ => CommandError::runtime(e),
    }
}

/// `harness train`.
pub fn train(
    config_path: &Path,
    out: Option<PathBuf>,
    fresh: bool,
    progress: bool,
    stop_after: Option<usize>,
    quick: bool,
    extend_from: Option<PathBuf>,
) -> Result<(), CommandError> {
    let config = TrainConfig::load(config_path).map_err(CommandError::config)?;
    let config = if quick { config.quick() } else { config };
    let outcome = training::train(
        &config,
        &TrainOptions {
            out,
            fresh,
            progress,
            stop_after,
            extend_from,
        },
    )
    .map_err(|e| match e {
        TrainError::Config(_) | TrainError::Dataset(DatasetError::Selection(_)) => {
            CommandError::config(e)
        }
        _ => CommandError::runtime(e),
    })?;
    let m = &outcome.best_metrics;
    if outcome.steps_run == 0 {
        println!("already trained: {}", outcome.dir.display());
    }
    if !outcome.finished {
        println!(
            "stopped at step {} of {}; run the same command again to continue",
            outcome.step, config.steps
        );
    }
    println!(
        "selected step {} (val loss {:.4}, COSS {:.4}{}{}); {:.0} s of training",
        outcome.best_step,
        m.loss,
        m.coss,
        m.ssim.map(|s| format!(", SSIM {s:.4}")).unwrap_or_default(),
        m.acc.map(|a| format!(", ACC {a:.3}")).unwrap_or_default(),
        outcome.wall_s
    );
    println!("weights: {}", outcome.best.display());
    Ok(())
}

/// `harness run`'s options for sharded runs and their training step.
#[derive(Default)]
pub struct RunExtras {
    /// `--shard I/N` or `auto`.
    pub shard: Option<String>,
    pub train_only: bool,
    pub train_dir: Option<PathBuf>,
}

/// `harness run`.
pub fn run(
    suite_path: &Path,
    out: &Path,
    resume: Resume,
    progress: bool,
    quick: bool,
    extras: &RunExtras,
) -> Result<(), CommandError> {
    let suite = Suite::load(suite_path).map_err(CommandError::config)?;
    let suite = if quick {
        suite.quick().map_err(CommandError::config)?
    } else {
        suite
    };
    let suite = match &extras.train_dir {
        Some(dir) => suite.with_train_root(dir),
        None => suite,
    };
    if extras.train_only {
        let trained = run::train_only(&suite, progress)?;
        if trained.is_empty() {
            println!(
                "nothing to train: suite '{}' has no training steps",
                suite.name
            );
        } else {
            println!("trained (or reused): {}", trained.join(", "));
        }
        return Ok(());
    }
    let shard = match extras.shard.as_deref() {
        None => None,
        Some("auto") => Some(
            run::Shard::from_env(|k| std::env::var(k).ok())
                .map_err(|e| CommandError::config(format!("--shard auto: {e}")))?,
        ),
        Some(text) => Some(text.parse::<run::Shard>().map_err(CommandError::config)?),
    };
    let outcome = run::run(
        &suite,
        &RunOptions {
            out_parent: out.to_path_buf(),
            resume,
            progress,
            shard,
        },
    )?;
    if let Some(shard) = shard {
        println!(
            "shard {shard}: {} work units; merge all {} shards with `harness merge`",
            outcome.results.shard.as_ref().map_or(0, |r| r.units),
            shard.count
        );
    } else {
        print!(
            "{}",
            tables::to_text(&tables::overall(&suite, &outcome.results, Condition::CLEAN))
        );
    }
    finish(&outcome.dir, &outcome.results, &outcome.figure_failures)
}

/// `harness merge`.
pub fn merge(out: &Path, runs: &[PathBuf]) -> Result<(), CommandError> {
    let outcome = run::merge(out, runs)?;
    let suite = Suite::from_snapshot(
        &outcome.dir.join(run::SUITE_SNAPSHOT),
        &std::fs::read_to_string(outcome.dir.join(run::SUITE_SNAPSHOT))
            .map_err(CommandError::runtime)?,
    )
    .map_err(CommandError::runtime)?;
    print!(
        "{}",
        tables::to_text(&tables::overall(&suite, &outcome.results, Condition::CLEAN))
    );
    let result = finish(&outcome.dir, &outcome.results, &outcome.figure_failures);
    // The last line names the merged run, for scripts (scripts/slurm/harness_merge.sbatch).
    println!("{}", outcome.dir.display());
    result
}

/// The lines after a run or merge; exit 1 when work units failed (their results are written).
fn finish(
    dir: &Path,
    results: &crate::results::Results,
    figure_failures: &[String],
) -> Result<(), CommandError> {
    for failure in figure_failures {
        eprintln!("warning: figure not drawn: {failure}");
    }
    println!("\nresults: {}", dir.display());
    println!("report:  {}", dir.join("report.html").display());
    if !results.failures.is_empty() {
        return Err(CommandError::runtime(format!(
            "{} work units failed (see the Failures section of {}); the other results were written",
            results.failures.len(),
            dir.join("report.md").display()
        )));
    }
    Ok(())
}

/// `harness synth`.
pub fn synth(
    out: &Path,
    splits: &[Split],
    count: Option<usize>,
    seed: u64,
    size: u32,
) -> Result<(), CommandError> {
    if size < 32 {
        return Err(CommandError::config("--size must be at least 32"));
    }
    let cfg = SynthConfig {
        seed,
        size,
        ..SynthConfig::default()
    };
    let splits = if splits.is_empty() {
        vec![Split::Train, Split::Val, Split::Test]
    } else {
        splits.to_vec()
    };
    let manifest =
        synth::write_dataset(&cfg, out, &splits, count).map_err(CommandError::runtime)?;
    println!("wrote {}", manifest.display());
    Ok(())
}

/// `harness synth --source photos`.
pub fn synth_photos(
    out: &Path,
    splits: &[Split],
    count: Option<usize>,
    seed: u64,
    size: u32,
    crops_per_photo: Option<u32>,
    resamplers: bool,
) -> Result<(), CommandError> {
    let cfg = PhotoConfig {
        seed,
        size,
        crops_per_photo: crops_per_photo.unwrap_or(photos::DEFAULT_CROPS_PER_PHOTO),
    };
    cfg.validate()
        .map_err(|e| CommandError::config(format!("--size/--crops-per-photo: {e}")))?;
    let splits = if splits.is_empty() {
        vec![Split::Train, Split::Val, Split::Test]
    } else {
        splits.to_vec()
    };
    let selected: Vec<String> = if resamplers {
        photos::RESAMPLERS
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let manifest = photos::write_dataset(&cfg, out, &splits, count, &selected)
        .map_err(CommandError::runtime)?;
    println!("wrote {}", manifest.display());
    Ok(())
}

/// `harness list`.
pub fn list() {
    println!("Localizers (suite `localizers:` entries, `harness predict --localizer`):");
    for info in localizers::available() {
        println!(
            "  {:<12} {}\n  {:<12} params: {}",
            info.name, info.description, "", info.params
        );
    }
    println!("\nDegradations (suite `tests.degrade[].op`, `harness degrade --op`):");
    for op in degradations::OPS {
        println!("  {:<12} {}", op.form, op.description);
    }
    println!("\nSynthetic generators (suite `data.generators`):");
    for g in synth::generators() {
        println!(
            "  {:<16} {} upsampling, alpha {}; like {}",
            g.name, g.upsampler, g.alpha, g.analogy
        );
    }
    println!(
        "\nSynthetic properties (suite `data.properties`): {}, entire",
        synth::PROPERTIES.join(", ")
    );
    match photos::photos() {
        Ok(table) => println!(
            "\nReal-photo source (`data: {{source: photos}}`, docs/photos.md): {} photographs \
             ({} train, {} val, {} test), manipulated by the generators above.\n  \
             Edits (suite `data.properties`): {}, entire\n  \
             Opt-in resampler generators (named in `data.generators`): {}",
            table.len(),
            table.iter().filter(|p| p.split == Split::Train).count(),
            table.iter().filter(|p| p.split == Split::Val).count(),
            table.iter().filter(|p| p.split == Split::Test).count(),
            photos::EDITS.join(", "),
            photos::RESAMPLERS.map(|r| r.name).join(", ")
        ),
        Err(e) => println!("\nReal-photo source: unavailable ({e})"),
    }
    if let Ok(entries) = std::fs::read_dir("suites") {
        let mut suites: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().display().to_string())
            .filter(|p| p.ends_with(".yaml"))
            .collect();
        suites.sort();
        println!("\nSuites: {}", suites.join(", "));
    }
}

/// `harness gt REAL FAKE OUT.png`: writes Gray(|X − X'|) as an 8-bit gray PNG.
pub fn gt(real: &Path, fake: &Path, out: &Path) -> Result<(), CommandError> {
    let real_img = data::load_rgb(real).map_err(input_error)?;
    let fake_img = data::load_rgb(fake).map_err(input_error)?;
    let gray = data::difference_gray(&real_img, &fake_img).map_err(|e| {
        CommandError::runtime(format!("{} and {}: {e}", real.display(), fake.display()))
    })?;
    data::save_gray_png(out, &gray).map_err(CommandError::runtime)
}

/// Quality of `harness degrade`'s JPEG output: high, since it compresses the degraded image a
/// second time (on top of the degradation being studied).
pub const DEGRADE_JPEG_QUALITY: u8 = 95;

/// `harness degrade`'s output formats, chosen by the output's extension.
enum ImageFormat {
    Png,
    Jpeg,
}

impl ImageFormat {
    /// The extensions `harness degrade` writes, for its messages.
    const SUPPORTED: &'static str = ".png, .jpg, .jpeg";

    fn of(path: &Path) -> Result<ImageFormat, CommandError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("jpg" | "jpeg") => Ok(ImageFormat::Jpeg),
            _ => Err(CommandError::config(format!(
                "{}: unsupported output format; the extension must be one of {}",
                path.display(),
                ImageFormat::SUPPORTED
            ))),
        }
    }
}

/// `harness degrade IN OUT --op OP [--seed S]`.
pub fn degrade(input: &Path, output: &Path, op: &str, seed: u64) -> Result<(), CommandError> {
    let degradation: degradations::Degradation = op
        .parse()
        .map_err(|e| CommandError::config(format!("--op: {e}")))?;
    let format = ImageFormat::of(output)?;
    let image = data::load_rgb(input).map_err(input_error)?;
    let out = degradation
        .apply(&image, seed)
        .map_err(|e| CommandError::runtime(format!("{}: {e}", input.display())))?;
    match format {
        ImageFormat::Png => data::save_rgb_png(output, &out.image),
        ImageFormat::Jpeg => data::save_rgb_jpeg(output, &out.image, DEGRADE_JPEG_QUALITY),
    }
    .map_err(CommandError::runtime)?;
    if let Some(tiles) = out.tiles {
        println!("tile order: {:?}", tiles.order());
    }
    Ok(())
}

/// Pairs of (name, pred path, gt path): two files, or two directories paired by file name.
fn pairs(pred: &Path, gt: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>, CommandError> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match (pred.is_dir(), gt.is_dir()) {
        (false, false) => {
            for p in [pred, gt] {
                if !p.exists() {
                    return Err(input_error(DataError::Missing {
                        path: p.to_path_buf(),
                    }));
                }
            }
            Ok(vec![(name(pred), pred.to_path_buf(), gt.to_path_buf())])
        }
        (true, true) => {
            let list = |dir: &Path| -> Result<BTreeMap<String, PathBuf>, CommandError> {
                Ok(std::fs::read_dir(dir)
                    .map_err(|e| CommandError::runtime(format!("{}: {e}", dir.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
                    .map(|p| (name(&p), p))
                    .collect())
            };
            let preds = list(pred)?;
            let gts = list(gt)?;
            let missing: Vec<&String> = gts.keys().filter(|k| !preds.contains_key(*k)).collect();
            if !missing.is_empty() {
                return Err(CommandError::config(format!(
                    "{}: no prediction for {} ground-truth file(s), e.g. {}",
                    pred.display(),
                    missing.len(),
                    missing[0]
                )));
            }
            if gts.is_empty() {
                return Err(CommandError::config(format!(
                    "{}: no PNG ground-truth maps",
                    gt.display()
                )));
            }
            Ok(gts
                .into_iter()
                .map(|(n, g)| (n.clone(), preds[&n].clone(), g))
                .collect())
        }
        _ => Err(CommandError::config(
            "--pred and --gt must both be files or both be directories",
        )),
    }
}

/// Resamples of `harness score`'s confidence intervals (as a suite's default).
pub const SCORE_BOOTSTRAP_RESAMPLES: usize = 1000;
/// Confidence level of `harness score`'s intervals.
pub const SCORE_CONFIDENCE: f64 = 0.95;

/// `harness score --pred P --gt G [--json]`: per-pair lines, then (for directories) each
/// metric's mean over the pairs with a seeded bootstrap CI.
pub fn score(
    pred: &Path,
    gt: &Path,
    json: bool,
    tau: f32,
    gt_threshold: f32,
) -> Result<(), CommandError> {
    for (flag, value) in [("--tau", tau), ("--gt-threshold", gt_threshold)] {
        crate::config::suite::check_threshold(value)
            .map_err(|m| CommandError::config(format!("{flag} {m}")))?;
    }
    let pairs = pairs(pred, gt)?;
    let mut rows = Vec::new();
    for (name, p, g) in pairs {
        let pm = data::load_map(&p).map_err(input_error)?;
        let gm = data::load_map(&g).map_err(input_error)?;
        if pm.dimensions() != gm.dimensions() {
            return Err(CommandError::runtime(format!(
                "{name}: prediction is {}×{} but ground truth is {}×{}; score maps of the same size",
                pm.width(),
                pm.height(),
                gm.width(),
                gm.height()
            )));
        }
        let s = metrics::segmentation_scores(&pm, &gm, tau, gt_threshold)
            .map_err(|e| CommandError::runtime(format!("{name}: {e}")))?;
        rows.push((name, s));
    }
    for (name, s) in &rows {
        if json {
            let mut obj = serde_json::to_value(s).expect("scores serialize");
            obj.as_object_mut()
                .expect("struct")
                .insert("name".into(), name.clone().into());
            println!("{}", serde_json::to_string(&obj).expect("json"));
        } else {
            println!(
                "{name}: COSS {:.6}  PSNR {:.4} dB  SSIM {:.6}  F1 {:.4}  IoU {:.4}  pixel AUC {}",
                s.coss,
                s.psnr,
                s.ssim,
                s.f1,
                s.iou,
                s.pixel_auc
                    .map(|a| format!("{a:.4}"))
                    .unwrap_or_else(|| "n/a".into())
            );
        }
    }
    if pred.is_dir() {
        print_score_summary(&rows, json)?;
    }
    Ok(())
}

/// The summary after `harness score`'s pairs: mean and bootstrap CI of each metric, with the
/// same seeded bootstrap as a run's aggregates (seed 0), so reruns print the same intervals.
fn print_score_summary(
    rows: &[(String, metrics::SegmentationScores)],
    json: bool,
) -> Result<(), CommandError> {
    use crate::results::{seeded_bootstrap, Metric};
    let mut summaries = Vec::new();
    for metric in Metric::SEGMENTATION {
        let values: Vec<f64> = rows
            .iter()
            .filter_map(|(_, s)| metric.of_scores(s))
            .collect();
        // The pixel AUC is undefined on maps whose ground truth has one class.
        let summary = if values.is_empty() {
            None
        } else {
            let b = seeded_bootstrap(
                SCORE_BOOTSTRAP_RESAMPLES,
                SCORE_CONFIDENCE,
                0,
                &["score", metric.name()],
            );
            Some(
                b.summarize(&values)
                    .map_err(|e| CommandError::runtime(format!("{}: {e}", metric.name())))?,
            )
        };
        summaries.push((metric, summary));
    }
    if json {
        let metrics: serde_json::Map<String, serde_json::Value> = summaries
            .iter()
            .map(|(m, s)| {
                let value = s.as_ref().map_or(serde_json::Value::Null, |s| {
                    serde_json::json!({
                        "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, "n": s.n
                    })
                });
                (m.name().to_string(), value)
            })
            .collect();
        // Written by hand so that `type` comes first (serde_json sorts keys): line-based
        // readers can tell the summary from the pairs by its start.
        println!(
            "{{\"type\":\"summary\",\"n\":{},\"metrics\":{}}}",
            rows.len(),
            serde_json::Value::Object(metrics)
        );
    } else {
        println!(
            "mean over {} pairs [{} % bootstrap CI]:",
            rows.len(),
            SCORE_CONFIDENCE * 100.0
        );
        for (m, s) in &summaries {
            match s {
                Some(s) if s.n == rows.len() => println!(
                    "  {:<10} {:.4} [{:.4}, {:.4}]",
                    m.label(),
                    s.mean,
                    s.ci_low,
                    s.ci_high
                ),
                Some(s) => println!(
                    "  {:<10} {:.4} [{:.4}, {:.4}] over the {} pairs where it is defined",
                    m.label(),
                    s.mean,
                    s.ci_low,
                    s.ci_high,
                    s.n
                ),
                None => println!("  {:<10} n/a (undefined on every pair)", m.label()),
            }
        }
    }
    Ok(())
}

/// `harness predict --localizer NAME [--weights PATH] --out DIR IMAGE...`.
pub fn predict(
    kind: &str,
    weights: Option<&Path>,
    params: &[(String, String)],
    out: &Path,
    images: &[PathBuf],
    eval_size: u32,
) -> Result<(), CommandError> {
    let mut map = serde_json::Map::new();
    for (k, v) in params {
        let value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.clone()));
        map.insert(k.clone(), value);
    }
    if let Some(w) = weights {
        map.insert("weights".into(), w.display().to_string().into());
    }
    let mut localizer = localizers::build(kind, &map).map_err(CommandError::config)?;
    if localizer.needs_ground_truth() {
        return Err(CommandError::config(format!(
            "localizer '{kind}' needs the ground truth and cannot predict from images alone"
        )));
    }
    if images.is_empty() {
        return Err(CommandError::config("no IMAGE given"));
    }
    for path in images {
        let image = data::load_rgb(path).map_err(input_error)?;
        let view = crate::evaluation::localizer_view(&image, localizer.input_size(), eval_size);
        let id = path.display().to_string();
        let input = localizers::LocalizerInput {
            id: &id,
            image: &view,
            ground_truth: None,
        };
        let preds = localizer
            .localize(&[input])
            .map_err(CommandError::runtime)?;
        localizers::validate_predictions(kind, &[input], &preds).map_err(CommandError::runtime)?;
        let pred = &preds[0];
        let native = data::resize_map_bilinear(&pred.map, image.width(), image.height());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "map".into());
        let target = out.join(format!("{stem}.png"));
        data::save_gray_png(&target, &data::map_to_gray(&native)).map_err(CommandError::runtime)?;
        match pred.score {
            Some(s) => println!(
                "{} -> {} (fake score {s:.4})",
                path.display(),
                target.display()
            ),
            None => println!("{} -> {}", path.display(), target.display()),
        }
    }
    Ok(())
}

/// `harness gate RUN --baseline FILE [--tolerance T] [--paired [--min-effect A]
/// [--min-effect-rel R]] [--update]`.
pub fn gate(
    run: &Path,
    baseline: &Path,
    options: crate::results::gate::GateOptions,
    update: bool,
) -> Result<(), CommandError> {
    use crate::results::gate;
    if !(0.0..1.0).contains(&options.tolerance) {
        return Err(CommandError::config(
            "--tolerance is a fraction of the baseline, in [0, 1), e.g. 0.01",
        ));
    }
    let min_effect_ok = options.min_effect.is_finite() && options.min_effect >= 0.0;
    if !min_effect_ok || !(0.0..1.0).contains(&options.min_effect_rel) {
        return Err(CommandError::config(
            "--min-effect must be a finite number >= 0 (in the metric's unit) and \
             --min-effect-rel a fraction in [0, 1)",
        ));
    }
    let (results, rows) = gate::load_run(run).map_err(CommandError::config)?;
    if update {
        gate::check_update_target(baseline, &results).map_err(CommandError::config)?;
        let bytes = serde_json::to_vec_pretty(&gate::baseline_from(&results, rows))
            .expect("baseline serializes");
        crate::util::write_atomic(baseline, &bytes)
            .map_err(|e| CommandError::runtime(format!("{}: {e}", baseline.display())))?;
        println!(
            "wrote baseline {} from {}",
            baseline.display(),
            run.display()
        );
        return Ok(());
    }
    let base = gate::load_baseline(baseline).map_err(CommandError::config)?;
    let report =
        gate::gate(baseline, &base, &results, &rows, options).map_err(CommandError::config)?;
    if report.passed() {
        println!(
            "gate passed: {} aggregates no worse than {}{}",
            report.checked,
            baseline.display(),
            if options.paired {
                format!(
                    " (paired; minimum effect {} or {} % of the baseline)",
                    options.min_effect,
                    options.min_effect_rel * 100.0
                )
            } else {
                String::new()
            }
        );
        return Ok(());
    }
    let mut problems = Vec::new();
    if !report.regressions.is_empty() {
        print!(
            "{}",
            tables::to_text(&tables::regression_table(&report.regressions))
        );
        let metrics: std::collections::BTreeSet<&str> =
            report.regressions.iter().map(|r| r.metric.name()).collect();
        problems.push(format!(
            "{} of {} aggregates regressed (metrics: {})",
            report.regressions.len(),
            report.checked,
            metrics.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !report.new_failures.is_empty() {
        println!(
            "{} work units failed that did not fail in the baseline:",
            report.new_failures.len()
        );
        for f in report.new_failures.iter().take(20) {
            println!(
                "  {} on {} ({}): {}",
                f.localizer, f.id, f.condition, f.error
            );
        }
        problems.push(format!(
            "{} new failed work units",
            report.new_failures.len()
        ));
    }
    Err(CommandError {
        code: EXIT_REGRESSION,
        message: format!("{} against {}", problems.join("; "), baseline.display()),
    })
}
