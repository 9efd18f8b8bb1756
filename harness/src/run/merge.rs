//! `harness merge`: joins the shard run directories of one sharded run into one run directory
//! whose `results.json` equals an unsharded run's (apart from `environment`, `timing` and the
//! shard bookkeeping): every aggregate, γ, comparison and failure is recomputed from the union
//! of the shards' per-image rows, and the qualitative panels come from the maps the shards
//! captured. Its `timing` sums the shards' and adds the merge's own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{io_err, new_run_dir, write, write_results_and_report, RunError, SUITE_SNAPSHOT};
use crate::config::Suite;
use crate::results::timing::{Phase, Stopwatch, Timing};
use crate::results::{self, maps::MAPS_DIR, Environment, Results, Row, RunRecord};

/// What a merge produced.
pub struct MergeOutcome {
    pub dir: PathBuf,
    pub results: Results,
    /// Figures that could not be drawn (the report lists them too).
    pub figure_failures: Vec<String>,
}

/// One shard as read from its run directory.
struct ShardRun {
    dir: PathBuf,
    snapshot: String,
    results: Results,
    rows: Vec<Row>,
}

fn bad(message: String) -> RunError {
    RunError::Merge(message)
}

fn read_shard(dir: &Path) -> Result<ShardRun, RunError> {
    let read = |name: &str| -> Result<Vec<u8>, RunError> {
        std::fs::read(dir.join(name)).map_err(|e| {
            bad(format!(
                "{}: cannot read {name} ({e}); is it a finished shard run directory? A shard that \
                 stopped early is finished with `harness run SUITE --shard I/N --resume DIR`",
                dir.display()
            ))
        })
    };
    let snapshot = String::from_utf8(read(SUITE_SNAPSHOT)?)
        .map_err(|_| bad(format!("{}: {SUITE_SNAPSHOT} is not UTF-8", dir.display())))?;
    // The same reader as `harness gate`: results.json and per_image.jsonl of a run directory.
    let (results, rows) = crate::results::gate::load_run(dir).map_err(|e| {
        bad(format!(
            "{e}; is {} a finished shard run directory? A shard that stopped early is finished \
             with `harness run SUITE --shard I/N --resume DIR`",
            dir.display()
        ))
    })?;
    Ok(ShardRun {
        dir: dir.to_path_buf(),
        snapshot,
        results,
        rows,
    })
}

/// Checks that the shards are shards 0..N−1 of one run, each exactly once, and complete.
fn check(shards: &[ShardRun]) -> Result<(), RunError> {
    let first = &shards[0];
    let record = |s: &ShardRun| {
        s.results.shard.clone().ok_or_else(|| {
            bad(format!(
                "{} is not a shard (its results.json has no `shard`): merge only the run \
                 directories of `harness run --shard I/N`",
                s.dir.display()
            ))
        })
    };
    let first_record = record(first)?;
    let count = first_record.count;
    let mut by_index: BTreeMap<usize, Vec<&Path>> = BTreeMap::new();
    for s in shards {
        let r = record(s)?;
        let differs = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            bad(format!(
                "{} and {} are not shards of one run: {what} {a} vs {b}",
                first.dir.display(),
                s.dir.display()
            ))
        };
        if r.count != count {
            return Err(differs("shard count", &count, &r.count));
        }
        if s.results.config_hash != first.results.config_hash || s.snapshot != first.snapshot {
            return Err(differs(
                "suite configuration",
                &first.results.config_hash,
                &s.results.config_hash,
            ));
        }
        if r.selection_fingerprint != first_record.selection_fingerprint
            || s.results.dataset != first.results.dataset
        {
            return Err(differs(
                "selected images (selection fingerprint)",
                &first_record.selection_fingerprint,
                &r.selection_fingerprint,
            ));
        }
        if r.units != s.rows.len() {
            return Err(bad(format!(
                "{}: per_image.jsonl holds {} rows but the shard finished with {}; it was \
                 changed after the run",
                s.dir.display(),
                s.rows.len(),
                r.units
            )));
        }
        by_index.entry(r.index).or_default().push(&s.dir);
    }
    for (index, dirs) in &by_index {
        if dirs.len() > 1 {
            let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            return Err(bad(format!(
                "shard {index}/{count} is given {} times: {}; pass each shard once",
                dirs.len(),
                dirs.join(", ")
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing shard(s) {} of {count}: run them (`harness run SUITE --shard I/{count}`) \
             and merge all {count} run directories",
            missing.join(", ")
        )));
    }
    let mut seen: HashMap<(String, String, String), &Path> = HashMap::new();
    for s in shards {
        for row in &s.rows {
            if let Some(other) = seen.insert(row.key(), &s.dir) {
                return Err(bad(format!(
                    "work unit ({}, {}, {}) is in both {} and {}: the shards overlap",
                    row.localizer,
                    row.condition,
                    row.id,
                    other.display(),
                    s.dir.display()
                )));
            }
        }
    }
    Ok(())
}

/// Copies the captured maps of every shard into the merged run (they are disjoint by image,
/// except the index, which every shard writes alike).
fn copy_maps(from: &Path, to: &Path) -> Result<(), RunError> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(io_err(from))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(io_err(&path))?.is_dir() {
            copy_maps(&path, &target)?;
        } else {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            write(&target, &bytes)?;
        }
    }
    Ok(())
}

/// Merges shard run directories into `<out>/<suite name>/<UTC time>-<hash>-merged/`.
pub fn merge(out_parent: &Path, dirs: &[PathBuf]) -> Result<MergeOutcome, RunError> {
    if dirs.is_empty() {
        return Err(bad("no shard run directories given".into()));
    }
    let clock = Stopwatch::start(&[]);
    let shards = clock.time(Phase::Load, || {
        dirs.iter()
            .map(|d| read_shard(d))
            .collect::<Result<Vec<_>, _>>()
    })?;
    check(&shards)?;
    let first = &shards[0];
    let suite =
        Suite::from_snapshot(&first.dir.join(SUITE_SNAPSHOT), &first.snapshot).map_err(bad)?;
    if suite.config_hash() != first.results.config_hash {
        return Err(bad(format!(
            "{}: the recorded suite does not hash to the run's config hash {}; was it edited?",
            first.dir.display(),
            first.results.config_hash
        )));
    }
    let mut rows: Vec<Row> = shards.iter().flat_map(|s| s.rows.iter().cloned()).collect();
    clock.time(Phase::Aggregate, || results::sort_rows(&suite, &mut rows));
    let envs: Vec<&Environment> = shards.iter().map(|s| &s.results.environment).collect();
    let environment = Environment {
        os: envs[0].os.clone(),
        arch: envs[0].arch.clone(),
        threads: envs.iter().map(|e| e.threads).max().unwrap_or(1),
        started_utc: envs
            .iter()
            .map(|e| e.started_utc.clone())
            .min()
            .unwrap_or_default(),
        finished_utc: envs
            .iter()
            .map(|e| e.finished_utc.clone())
            .max()
            .unwrap_or_default(),
        // Summed: the compute the shards spent, not the elapsed time of the array.
        wall_seconds: envs.iter().map(|e| e.wall_seconds).sum(),
        resumed: envs.iter().any(|e| e.resumed),
        resume: None,
    };
    let mut sorted: Vec<&ShardRun> = shards.iter().collect();
    sorted.sort_by_key(|s| s.results.shard.as_ref().map(|r| r.index));
    let record = RunRecord {
        suite: &suite,
        dataset: first.results.dataset.clone(),
        dataset_fingerprint: results::dataset_fingerprint(&rows),
        environment,
        shard: None,
        merged_from: Some(sorted.iter().map(|s| s.dir.display().to_string()).collect()),
    };
    let mut results = clock.time(Phase::Aggregate, || results::build(record, &rows));
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let dir = new_run_dir(out_parent, &suite, &stamp, "-merged")?;
    clock.time(Phase::Write, || {
        write(&dir.join(SUITE_SNAPSHOT), first.snapshot.as_bytes())?;
        for s in &shards {
            copy_maps(&s.dir.join(MAPS_DIR), &dir.join(MAPS_DIR))?;
        }
        write(&dir.join("per_image.jsonl"), &results::to_jsonl(&rows))
    })?;
    // Shards written before `timing` existed add nothing.
    let shard_timings: Vec<&Timing> = sorted
        .iter()
        .filter_map(|s| s.results.timing.as_ref())
        .collect();
    let figure_failures =
        write_results_and_report(&dir, &suite, &mut results, &clock, &shard_timings)?;
    Ok(MergeOutcome {
        dir,
        results,
        figure_failures,
    })
}
