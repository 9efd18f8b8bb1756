//! `harness`: command-line entry point. Parses flags and dispatches to `harness::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::cli::{self as commands, CommandError};
use harness::data::Split;
use harness::run::Resume;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Evaluate and benchmark fake-region localizers (FakeLocator)"
)]
struct Cli {
    /// Worker threads for data preparation, metrics and the candle models (default: all cores,
    /// or RAYON_NUM_THREADS when set).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a suite and write results, tables, reports and plots.
    Run {
        /// Suite YAML file, e.g. suites/rq4_robustness.yaml.
        suite: PathBuf,
        /// Parent directory of run directories.
        #[arg(long, default_value = "results/runs")]
        out: PathBuf,
        /// Continue an interrupted run: the newest one of this suite configuration, or DIR.
        #[arg(long, num_args = 0..=1, value_name = "DIR")]
        resume: Option<Option<PathBuf>>,
        /// Never draw a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Quick profile: at most 4 fakes per category, 10 reals, training steps ÷ 10.
        #[arg(long)]
        quick: bool,
        /// Evaluate one shard: I/N (0-based), or `auto` from Slurm's SLURM_ARRAY_TASK_ID and
        /// SLURM_ARRAY_TASK_COUNT or Kubernetes' JOB_COMPLETION_INDEX and HARNESS_SHARDS.
        /// Shards never train; join them with `harness merge` (docs/scale-out.md).
        #[arg(long, value_name = "I/N|auto", conflicts_with = "train_only")]
        shard: Option<String>,
        /// Only run the suite's training steps (once, before the shards of a sharded run).
        #[arg(long)]
        train_only: bool,
        /// Where training runs are cached (default results/train); shards and the training
        /// job must see the same directory.
        #[arg(long, value_name = "DIR")]
        train_dir: Option<PathBuf>,
    },
    /// Merge the run directories of the shards of one run into one run directory.
    Merge {
        /// Parent directory of the merged run directory.
        #[arg(long, default_value = "results/runs")]
        out: PathBuf,
        /// The shards' run directories (all N of them, each once).
        #[arg(required = true)]
        runs: Vec<PathBuf>,
    },
    /// Train a model (deeplabv3, stehouwer) from a training config; resumes an interrupted run.
    Train {
        /// Training config YAML, e.g. configs/deeplabv3_synth.yaml.
        config: PathBuf,
        /// Output directory (default results/train/<name>-<config hash>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Start over instead of resuming or reusing a finished run.
        #[arg(long)]
        fresh: bool,
        /// Never draw a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Stop after this many steps in total (with a checkpoint); rerun to continue.
        #[arg(long, value_name = "STEPS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        stop_after: Option<usize>,
        /// Quick profile: a tenth of the steps (at least 10), a smaller validation set.
        #[arg(long)]
        quick: bool,
        /// Continue the run in this directory, trained from the same config with fewer
        /// training.steps, instead of starting over (the result is the same).
        #[arg(long, value_name = "DIR", conflicts_with = "fresh")]
        extend_from: Option<PathBuf>,
    },
    /// Write the synthetic benchmark (or the real-photo source) as PNGs, ground-truth maps and
    /// a manifest.csv.
    Synth {
        #[arg(long)]
        out: PathBuf,
        /// Which embedded source to export: the procedural faces, or the real photographs
        /// manipulated by the same generators (docs/photos.md).
        #[arg(long, value_enum, default_value_t = SynthSource::Synth)]
        source: SynthSource,
        /// Split(s) to write (train, val, test); default all.
        #[arg(long = "split")]
        splits: Vec<Split>,
        /// At most this many images per split.
        #[arg(long)]
        count: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Image side in pixels (photos: the crop side, at most 320).
        #[arg(long, default_value_t = 224)]
        size: u32,
        /// --source photos only: crops per photograph.
        #[arg(long)]
        crops_per_photo: Option<u32>,
        /// --source photos only: add the opt-in resampler generators (`resize_*`, docs/photos.md).
        #[arg(long)]
        resamplers: bool,
    },
    /// List localizers, degradations, generators, properties and suites.
    List,
    /// Write the ground truth Gray(|REAL − FAKE|) of paper eq. 2 as an 8-bit gray PNG.
    Gt {
        real: PathBuf,
        fake: PathBuf,
        out: PathBuf,
    },
    /// Apply one degradation (jpeg:Q, blur:K, noise:V, lowres:R, disorganize) to an image.
    ///
    /// The output's extension picks its format: .png (lossless) or .jpg/.jpeg (quality 95).
    /// A JPEG output compresses the degraded image once more, on top of the degradation; write
    /// .png to keep exactly what the harness evaluates.
    Degrade {
        input: PathBuf,
        /// Output image: .png, .jpg or .jpeg.
        output: PathBuf,
        #[arg(long)]
        op: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Score saved maps (8-bit gray PNG, value/255): two files, or two directories paired by
    /// name (then also each metric's mean over the pairs with a 95 % bootstrap CI).
    Score {
        #[arg(long)]
        pred: PathBuf,
        #[arg(long)]
        gt: PathBuf,
        /// One JSON object per pair; for directories, then a summary object
        /// `{"type":"summary",...}` with each metric's mean and 95 % bootstrap CI.
        #[arg(long)]
        json: bool,
        /// Threshold on the prediction for F1 and IoU, in [0, 1].
        // Negative numbers reach the range check (a clear message), not clap's "unexpected
        // argument".
        #[arg(long, default_value_t = metrics::DEFAULT_TAU, allow_negative_numbers = true)]
        tau: f32,
        /// Threshold that binarises the ground truth, in [0, 1].
        #[arg(long, default_value_t = metrics::DEFAULT_GT_THRESHOLD, allow_negative_numbers = true)]
        gt_threshold: f32,
    },
    /// Compare a run with a baseline; exit 3 on a metric regression.
    Gate {
        /// Run directory (or its results.json).
        run: PathBuf,
        /// Baseline file, e.g. results/baselines/smoke.json.
        #[arg(long)]
        baseline: PathBuf,
        /// Allowed drop as a fraction of the baseline mean.
        #[arg(long, default_value_t = 0.01)]
        tolerance: f64,
        /// Fail only when the CI of the per-image paired difference lies below zero and the
        /// mean difference exceeds the minimum effect.
        #[arg(long)]
        paired: bool,
        /// With --paired: ignore mean differences smaller than this, in the metric's unit.
        #[arg(long, default_value_t = harness::results::gate::DEFAULT_MIN_EFFECT)]
        min_effect: f64,
        /// With --paired: ignore mean differences smaller than this fraction of the baseline.
        #[arg(long, default_value_t = harness::results::gate::DEFAULT_MIN_EFFECT_REL)]
        min_effect_rel: f64,
        /// Write the baseline from the run instead of checking it.
        #[arg(long)]
        update: bool,
    },
    /// Write one 8-bit gray PNG map per image, at the image's size.
    Predict {
        #[arg(long)]
        localizer: String,
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Localizer parameter KEY=VALUE (VALUE as JSON, else a string); repeatable.
        #[arg(long = "param", value_parser = parse_param)]
        params: Vec<(String, String)>,
        #[arg(long)]
        out: PathBuf,
        /// Size localizers with input size "evaluation" see.
        #[arg(long, default_value_t = 224)]
        size: u32,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
}

/// `harness synth --source`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SynthSource {
    /// The embedded synthetic benchmark (procedural faces).
    Synth,
    /// The embedded real photographs.
    Photos,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("'{s}' is not KEY=VALUE"))
}

/// Sets `RAYON_NUM_THREADS` to the run's thread count (`--threads`, else the variable, else
/// every core), which sizes both rayon's global pool and candle's matrix products. Unset,
/// candle would read `/proc/cpuinfo` again on every product (`num_cpus::get_physical` is not
/// cached): one file read per convolution, 2 % of a smoke run's samples in `perf`.
fn pin_thread_count(threads: Option<usize>) {
    let from_env = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    let n = threads.filter(|&n| n > 0).or(from_env).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
}

fn main() -> ExitCode {
    // `harness localizer-host --plugin PATH` is the child process of an `isolate: true` plugin,
    // started by the harness itself (so no second binary is needed); not a user command.
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == localizers::plugin::HOST_COMMAND)
    {
        let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        return localizers::plugin::host_main(&rest);
    }
    let cli = Cli::parse();
    // Before any thread starts: setting a variable races with other threads reading one.
    pin_thread_count(cli.threads);
    if let Err(e) = localizers::plugin::host_with_this_program() {
        eprintln!("warning: cannot locate this program ({e}); isolated plugins need `localizer-host` on PATH");
    }
    // Plugin processes run in their own process groups (a Ctrl-C does not reach them): on SIGINT
    // or SIGTERM, kill them and exit with 130 / 143 instead of leaving them to PID 1.
    if let Err(e) = localizers::plugin::exit_on_interrupt() {
        eprintln!("warning: cannot handle SIGINT/SIGTERM ({e}); an interrupted run may leave plugin processes behind");
    }
    let result: Result<(), CommandError> = match cli.command {
        Command::Run {
            suite,
            out,
            resume,
            no_progress,
            quick,
            shard,
            train_only,
            train_dir,
        } => {
            let resume = match resume {
                None => Resume::No,
                Some(None) => Resume::Latest,
                Some(Some(dir)) => Resume::Dir(dir),
            };
            commands::run(
                &suite,
                &out,
                resume,
                !no_progress,
                quick,
                &commands::RunExtras {
                    shard,
                    train_only,
                    train_dir,
                },
            )
        }
        Command::Merge { out, runs } => commands::merge(&out, &runs),
        Command::Train {
            config,
            out,
            fresh,
            no_progress,
            stop_after,
            quick,
            extend_from,
        } => commands::train(
            &config,
            out,
            fresh,
            !no_progress,
            stop_after,
            quick,
            extend_from,
        ),
        Command::Synth {
            out,
            source,
            splits,
            count,
            seed,
            size,
            crops_per_photo,
            resamplers,
        } => match source {
            SynthSource::Synth if crops_per_photo.is_some() || resamplers => {
                Err(CommandError::config(
                    "--crops-per-photo and --resamplers are only used with --source photos",
                ))
            }
            SynthSource::Synth => commands::synth(&out, &splits, count, seed, size),
            SynthSource::Photos => commands::synth_photos(
                &out,
                &splits,
                count,
                seed,
                size,
                crops_per_photo,
                resamplers,
            ),
        },
        Command::List => {
            commands::list();
            Ok(())
        }
        Command::Gt { real, fake, out } => commands::gt(&real, &fake, &out),
        Command::Degrade {
            input,
            output,
            op,
            seed,
        } => commands::degrade(&input, &output, &op, seed),
        Command::Score {
            pred,
            gt,
            json,
            tau,
            gt_threshold,
        } => commands::score(&pred, &gt, json, tau, gt_threshold),
        Command::Gate {
            run,
            baseline,
            tolerance,
            paired,
            min_effect,
            min_effect_rel,
            update,
        } => commands::gate(
            &run,
            &baseline,
            harness::results::gate::GateOptions {
                tolerance,
                paired,
                min_effect,
                min_effect_rel,
            },
            update,
        ),
        Command::Predict {
            localizer,
            weights,
            params,
            out,
            size,
            images,
        } => commands::predict(&localizer, weights.as_deref(), &params, &out, &images, size),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code as u8)
        }
    }
}
