//! `harness run`: creates (or resumes) a run directory, executes the suite (or one shard of
//! it) and writes every artefact atomically; [`merge`] joins the shards of a run.

mod merge;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use merge::{merge, MergeOutcome};

use crate::config::Suite;
use crate::data::Dataset;
pub use crate::error::RunError;
pub use crate::evaluation::Shard;
use crate::evaluation::{self, ExecuteOptions};
use crate::report;
use crate::results::maps::Capture;
use crate::results::timing::{self, Phase, Stopwatch, Timing};
use crate::results::{self, Environment, Results, RowLog, RunRecord};

/// Which run directory to use.
pub enum Resume {
    /// Start a new run directory.
    No,
    /// Continue the newest run directory of this suite with the same config hash.
    Latest,
    /// Continue this run directory.
    Dir(PathBuf),
}

/// Options of [`run`].
pub struct RunOptions {
    /// Parent of the per-suite run directories (default `results/runs`).
    pub out_parent: PathBuf,
    pub resume: Resume,
    pub progress: bool,
    /// Evaluate only this shard's work units (training must have run before: a shard never
    /// trains).
    pub shard: Option<Shard>,
}

/// What a finished run produced.
pub struct RunOutcome {
    pub dir: PathBuf,
    pub results: Results,
    /// Figures that could not be drawn (the report lists them too); the results are complete.
    pub figure_failures: Vec<String>,
}

/// The resolved suite as the run directory records it (resume and merge check it).
pub const SUITE_SNAPSHOT: &str = "suite.resolved.json";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    crate::util::write_atomic(path, bytes).map_err(io_err(path))
}

/// Finds the directory to resume, checking it belongs to this suite configuration.
fn resume_dir(suite: &Suite, options: &RunOptions) -> Result<Option<PathBuf>, RunError> {
    let hash = suite.config_hash();
    let dir = match &options.resume {
        Resume::No => return Ok(None),
        Resume::Dir(dir) => dir.clone(),
        Resume::Latest => {
            let parent = options.out_parent.join(&suite.name);
            let mut candidates: Vec<PathBuf> = std::fs::read_dir(&parent)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| {
                            p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.ends_with(&dir_tail(&hash, options.shard)))
                        })
                        .collect()
                })
                .unwrap_or_default();
            candidates.sort();
            match candidates.pop() {
                Some(dir) => dir,
                None => {
                    return Err(RunError::Other(format!(
                        "--resume: no run of suite '{}' with config hash {hash} under {}; run without --resume to start one",
                        suite.name,
                        parent.display()
                    )))
                }
            }
        }
    };
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if let Some(shard) = options.shard {
        if !name.ends_with(&shard.dir_suffix()) {
            return Err(RunError::Other(format!(
                "--resume {}: not a run directory of shard {shard} (its name ends in -{})",
                dir.display(),
                shard.dir_suffix()
            )));
        }
    }
    let snapshot = dir.join(SUITE_SNAPSHOT);
    let text = std::fs::read_to_string(&snapshot).map_err(io_err(&snapshot))?;
    // Compare the text, not parsed numbers: parsing JSON floats need not round-trip exactly.
    if text.as_bytes() != serde_json::to_vec_pretty(suite).expect("suite serializes") {
        return Err(RunError::Other(format!(
            "{} was made by a different suite configuration; resuming would mix results. Start a new run instead",
            dir.display()
        )));
    }
    Ok(Some(dir))
}

/// Runs (or resumes) a suite and writes all artefacts.
pub fn run(suite: &Suite, options: &RunOptions) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let started_utc = chrono::Utc::now();
    let names: Vec<String> = suite.localizers.iter().map(|l| l.name.clone()).collect();
    let clock = Stopwatch::start(&names);
    // Validate the data (a broken manifest is reported in full) before creating anything.
    let dataset = clock.time(Phase::Load, || Dataset::open(&suite.data))?;
    dataset.check_batch_pixels(suite.evaluation.batch)?;
    let resumed = resume_dir(suite, options)?;
    clock.time(Phase::Training, || match options.shard {
        None => run_training_steps(suite, options.progress),
        Some(_) => check_trained(suite),
    })?;
    let dir = match &resumed {
        Some(dir) => dir.clone(),
        None => {
            let stamp = started_utc.format("%Y%m%dT%H%M%SZ").to_string();
            let suffix = options
                .shard
                .map(|s| format!("-{}", s.dir_suffix()))
                .unwrap_or_default();
            let dir = new_run_dir(&options.out_parent, suite, &stamp, &suffix)?;
            let snapshot = serde_json::to_vec_pretty(suite).expect("suite serializes");
            write(&dir.join(SUITE_SNAPSHOT), &snapshot)?;
            dir
        }
    };
    let _lock = lock_run_dir(&dir)?;
    let log_path = dir.join("per_image.jsonl");
    let (mut log, logged) = RowLog::open(&log_path).map_err(io_err(&log_path))?;
    let resume = results::resume_rows(logged);
    if resumed.is_some() {
        eprintln!(
            "resuming {}: {} work units done{}{}",
            dir.display(),
            resume.kept.len(),
            match resume.retried {
                0 => String::new(),
                n => format!(", {n} failed ones computed again"),
            },
            match resume.duplicates {
                0 => String::new(),
                n => format!(", {n} duplicate rows dropped"),
            },
        );
    }
    let resume_counts = resumed.as_ref().map(|_| results::ResumeCounts {
        kept: resume.kept.len(),
        retried: resume.retried,
        duplicates: resume.duplicates,
    });
    let existing = resume.kept;
    let capture = clock.time(Phase::Write, || Capture::start(&dir, suite, &dataset))?;
    let mut rows = evaluation::execute(
        suite,
        &dataset,
        &mut log,
        existing,
        &capture,
        &ExecuteOptions {
            progress: options.progress,
            shard: options.shard,
        },
        &clock,
    )?;
    clock.time(Phase::Aggregate, || results::sort_rows(suite, &mut rows));
    let environment = Environment {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        threads: rayon::current_num_threads(),
        started_utc: started_utc.to_rfc3339(),
        finished_utc: chrono::Utc::now().to_rfc3339(),
        wall_seconds: started.elapsed().as_secs_f64(),
        resumed: resumed.is_some(),
        resume: resume_counts,
    };
    let record = RunRecord {
        suite,
        dataset: serde_json::to_value(dataset.summary()).expect("summary serializes"),
        dataset_fingerprint: results::dataset_fingerprint(&rows),
        environment,
        shard: options.shard.map(|shard| results::ShardRecord {
            index: shard.index,
            count: shard.count,
            units: rows.len(),
            selection_fingerprint: dataset.selection_fingerprint(),
        }),
        merged_from: None,
    };
    let mut results = clock.time(Phase::Aggregate, || results::build(record, &rows));
    // Rewrite the append log in canonical order (atomically: the old file stays until then).
    drop(log);
    clock.time(Phase::Write, || write(&log_path, &results::to_jsonl(&rows)))?;
    let figure_failures = write_results_and_report(&dir, suite, &mut results, &clock, &[])?;
    Ok(RunOutcome {
        dir,
        results,
        figure_failures,
    })
}

/// Writes `results.json`, then the report, then `results.json` again with the report's time and
/// the final wall time in `timing` (the report shows the times up to itself). The results come
/// first: a report or figure that fails must not lose them. `shards` are the timings of the
/// shards a merged run is made of (none for a run).
fn write_results_and_report(
    dir: &Path,
    suite: &Suite,
    results: &mut Results,
    clock: &Stopwatch,
    shards: &[&Timing],
) -> Result<Vec<String>, RunError> {
    let with_timing = |results: &mut Results| {
        results.timing = Some(match shards {
            [] => clock.timing(),
            _ => timing::merge(shards, &clock.timing()),
        });
    };
    let path = dir.join("results.json");
    let bytes = |results: &Results| serde_json::to_vec_pretty(results).expect("results serialize");
    clock.time(Phase::Write, || {
        with_timing(results);
        write(&path, &bytes(results))
    })?;
    let figure_failures = clock.time(Phase::Report, || report::write_all(dir, suite, results))?;
    with_timing(results);
    write(&path, &bytes(results))?;
    Ok(figure_failures)
}

/// Runs the suite's training steps that have no finished, cached run (a second run reuses
/// the checkpoint), so every trained localizer has its weights before the run starts.
pub fn run_training_steps(suite: &Suite, progress: bool) -> Result<(), RunError> {
    for localizer in &suite.localizers {
        let Some(step) = &localizer.train else {
            continue;
        };
        let fail = |e: String| {
            RunError::Other(format!(
                "training step of localizer '{}' ({}): {e}",
                localizer.name,
                step.path.display()
            ))
        };
        let config = step.config().map_err(|e| fail(e.to_string()))?;
        if config.config_hash() != step.hash {
            return Err(fail(
                "the training config changed since the suite was loaded".into(),
            ));
        }
        let outcome = crate::training::train(
            &config,
            &crate::training::TrainOptions {
                progress,
                out: Some(step.cache_dir()),
                ..Default::default()
            },
        )
        .map_err(|e| fail(e.to_string()))?;
        if outcome.steps_run == 0 {
            eprintln!(
                "localizer '{}': reusing {} (trained {} steps)",
                localizer.name,
                outcome.best.display(),
                outcome.step
            );
        }
    }
    Ok(())
}

/// The end of a run directory's name: the config hash, and the shard if any.
fn dir_tail(hash: &str, shard: Option<Shard>) -> String {
    match shard {
        None => hash.to_string(),
        Some(shard) => format!("{hash}-{}", shard.dir_suffix()),
    }
}

/// Creates a new run directory `<parent>/<suite name>/<UTC time>-<config hash><suffix>` (the
/// suffix names a shard or a merge); when a run of the same second already took that name,
/// `-2`, `-3`, … is inserted (the directory is created exclusively, so two processes never
/// share one).
fn new_run_dir(parent: &Path, suite: &Suite, utc: &str, suffix: &str) -> Result<PathBuf, RunError> {
    let suite_dir = parent.join(&suite.name);
    std::fs::create_dir_all(&suite_dir).map_err(io_err(&suite_dir))?;
    let base = format!("{utc}-{}", suite.config_hash());
    for attempt in 1.. {
        let name = match attempt {
            1 => format!("{base}{suffix}"),
            n => format!("{base}-{n}{suffix}"),
        };
        let dir = suite_dir.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        }
    }
    unreachable!("the loop returns")
}

/// Takes `<dir>/run.lock` for the rest of the run, so that a second `harness run --resume` of
/// the same directory cannot append to its log at the same time (the OS releases the lock when
/// the process ends, however it ends).
fn lock_run_dir(dir: &Path) -> Result<std::fs::File, RunError> {
    let path = dir.join("run.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(RunError::Other(format!(
            "{} is in use by another harness process (it holds {}); wait for it to finish, or start a new run without --resume",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// `harness run --train-only`: the suite's training steps and nothing else; the names of the
/// trained (or reused) localizers.
pub fn train_only(suite: &Suite, progress: bool) -> Result<Vec<String>, RunError> {
    run_training_steps(suite, progress)?;
    Ok(suite
        .localizers
        .iter()
        .filter(|l| l.train.is_some())
        .map(|l| l.name.clone())
        .collect())
}

/// A sharded run never trains (N shards would train the same model N times): every training
/// step must have a finished, cached run.
fn check_trained(suite: &Suite) -> Result<(), RunError> {
    let missing: Vec<String> = suite
        .localizers
        .iter()
        .filter_map(|l| {
            let step = l.train.as_ref()?;
            (!crate::training::is_finished(&step.cache_dir(), &step.hash))
                .then(|| format!("'{}' ({})", l.name, step.cache_dir().display()))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError::NotTrained(format!(
        "a sharded run never trains, and these localizers have no finished training run: {}. \
         Run `harness run {} --train-only` first (with the same --train-dir), then the shards",
        missing.join(", "),
        suite.path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_process_cannot_take_a_locked_run_directory() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_run_dir(dir.path()).unwrap();
        // A second open file description stands for a second process (flock semantics).
        let err = lock_run_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("in use by another harness process"), "{err}");
        assert!(err.contains("run.lock"), "{err}");
        drop(held);
        lock_run_dir(dir.path()).unwrap();
    }
}
