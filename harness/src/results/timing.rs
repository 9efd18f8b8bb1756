//! `timing` of `results.json` (docs/results.md#timing): where a run's time went, per localizer
//! and per phase of the harness's own work. Like `environment`, it differs between identical
//! runs and is left out of every determinism comparison.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Where a run's time went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall-clock seconds of the whole run, from its start to the end of its report.
    pub wall_seconds: f64,
    /// `wall_seconds` minus the phases' `wall_seconds`: progress output, bookkeeping between
    /// phases (negative only in a merged run, whose phases include the shards').
    pub unaccounted_seconds: f64,
    /// Time inside each localizer's `localize` calls, in suite order.
    pub localizers: Vec<LocalizerTiming>,
    /// The phases of the run, in run order; `localize` is every localizer's batches together.
    pub phases: Vec<PhaseTiming>,
    /// A merged run: each shard's `wall_seconds`, in shard order (its localizers and phases are
    /// the sums over the shards, plus the merge's own aggregation, writing and report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_wall_seconds: Option<Vec<f64>>,
}

/// One localizer's time inside `localize`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalizerTiming {
    pub name: String,
    /// Seconds inside `localize` calls, retries of a failed batch image by image included.
    pub seconds: f64,
    /// Work units (images × conditions) this process ran through it.
    pub images: usize,
    /// `images / seconds`; absent when no time was measured.
    pub images_per_second: Option<f64>,
    /// The largest batch it was given: the suite's batch, capped by the localizer's `max_batch`.
    pub batch: usize,
    /// Rayon threads of the harness, which built-in and candle localizers use; absent for
    /// plugins, whose threads the harness does not know.
    pub threads: Option<usize>,
}

/// One phase of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTiming {
    pub phase: String,
    /// Wall-clock seconds of the phase, measured where the run enters it; the phases run one
    /// after another, so these add up to (nearly) the run's wall time.
    pub wall_seconds: f64,
    /// Seconds of the phase's items summed over threads (CPU-seconds-like): above
    /// `wall_seconds` where items run in parallel, equal where the phase is sequential.
    pub summed_seconds: f64,
}

/// The phases of a run, in run order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Training steps (a cached checkpoint costs almost nothing).
    Training,
    /// Opening the data set, loading or synthesising the images, hashing their inputs.
    Load,
    /// Building the localizers (loading weights, starting plugins).
    Setup,
    /// Degrading the images and resizing them to each localizer's input.
    Prepare,
    /// The localizers' batches, validation and image-by-image retries included.
    Localize,
    /// Metrics of every prediction.
    Score,
    /// Sorting the rows, aggregates, bootstrap intervals, γ and comparisons.
    Aggregate,
    /// `per_image.jsonl`, `results.json` and the captured maps.
    Write,
    /// `tables.csv`, figures and the reports.
    Report,
}

impl Phase {
    pub const ALL: [Phase; 9] = [
        Phase::Training,
        Phase::Load,
        Phase::Setup,
        Phase::Prepare,
        Phase::Localize,
        Phase::Score,
        Phase::Aggregate,
        Phase::Write,
        Phase::Report,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Training => "training",
            Phase::Load => "load",
            Phase::Setup => "setup",
            Phase::Prepare => "prepare",
            Phase::Localize => "localize",
            Phase::Score => "score",
            Phase::Aggregate => "aggregate",
            Phase::Write => "write",
            Phase::Report => "report",
        }
    }
}

fn add(counter: &AtomicU64, elapsed: Duration) {
    counter.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
}

fn seconds(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64 / 1e9
}

/// Collects a run's times; shared by reference with the parallel code (atomic counters).
pub struct Stopwatch {
    started: Instant,
    wall: [AtomicU64; Phase::ALL.len()],
    summed: [AtomicU64; Phase::ALL.len()],
    localizers: Vec<LocalizerClock>,
}

struct LocalizerClock {
    name: String,
    nanos: AtomicU64,
    images: AtomicU64,
    /// Batch size and threads, known once the localizer is built.
    shape: Mutex<(usize, Option<usize>)>,
}

impl Stopwatch {
    /// Starts the run's clock, with a counter per localizer name.
    pub fn start(localizers: &[String]) -> Stopwatch {
        Stopwatch {
            started: Instant::now(),
            wall: Default::default(),
            summed: Default::default(),
            localizers: localizers
                .iter()
                .map(|name| LocalizerClock {
                    name: name.clone(),
                    nanos: AtomicU64::new(0),
                    images: AtomicU64::new(0),
                    shape: Mutex::new((0, None)),
                })
                .collect(),
        }
    }

    /// Runs a sequential step of a phase: its wall time is also its summed time.
    pub fn time<T>(&self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        add(&self.wall[phase as usize], elapsed);
        add(&self.summed[phase as usize], elapsed);
        out
    }

    /// Runs a parallel section of a phase: wall time only, its items add theirs by [`item`].
    ///
    /// [`item`]: Stopwatch::item
    pub fn wall<T>(&self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        add(&self.wall[phase as usize], start.elapsed());
        out
    }

    /// Runs one item of a parallel section: summed time only.
    pub fn item<T>(&self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        add(&self.summed[phase as usize], start.elapsed());
        out
    }

    /// Runs one `localize` call of the named localizer.
    pub fn localize<T>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        if let Some(clock) = self.localizers.iter().find(|c| c.name == name) {
            add(&clock.nanos, start.elapsed());
        }
        out
    }

    /// Records the named localizer's batch size and threads.
    pub fn describe(&self, name: &str, batch: usize, threads: Option<usize>) {
        if let Some(clock) = self.localizers.iter().find(|c| c.name == name) {
            *clock.shape.lock().expect("not poisoned") = (batch, threads);
        }
    }

    /// Counts work units run through the named localizer.
    pub fn count_images(&self, name: &str, images: usize) {
        if let Some(clock) = self.localizers.iter().find(|c| c.name == name) {
            clock.images.fetch_add(images as u64, Ordering::Relaxed);
        }
    }

    /// The times so far.
    pub fn timing(&self) -> Timing {
        let phases: Vec<PhaseTiming> = Phase::ALL
            .iter()
            .map(|&p| PhaseTiming {
                phase: p.name().to_string(),
                wall_seconds: seconds(&self.wall[p as usize]),
                summed_seconds: seconds(&self.summed[p as usize]),
            })
            .collect();
        let localizers = self
            .localizers
            .iter()
            .map(|clock| {
                let (batch, threads) = *clock.shape.lock().expect("not poisoned");
                localizer_timing(
                    clock.name.clone(),
                    seconds(&clock.nanos),
                    clock.images.load(Ordering::Relaxed) as usize,
                    batch,
                    threads,
                )
            })
            .collect();
        finish(
            self.started.elapsed().as_secs_f64(),
            localizers,
            phases,
            None,
        )
    }
}

/// A localizer's timing, its rate derived from the seconds and images.
pub fn localizer_timing(
    name: String,
    seconds: f64,
    images: usize,
    batch: usize,
    threads: Option<usize>,
) -> LocalizerTiming {
    LocalizerTiming {
        name,
        seconds,
        images,
        images_per_second: (seconds > 0.0).then(|| images as f64 / seconds),
        batch,
        threads,
    }
}

/// A timing from its parts, the unaccounted time derived.
pub fn finish(
    wall_seconds: f64,
    localizers: Vec<LocalizerTiming>,
    phases: Vec<PhaseTiming>,
    shard_wall_seconds: Option<Vec<f64>>,
) -> Timing {
    let phased: f64 = phases.iter().map(|p| p.wall_seconds).sum();
    Timing {
        wall_seconds,
        unaccounted_seconds: wall_seconds - phased,
        localizers,
        phases,
        shard_wall_seconds,
    }
}

/// The timing of a merged run: the shards' localizer and phase times summed (by name, in the
/// first shard's order), plus the merge's own phases; the merge's wall time, and each shard's.
pub fn merge(shards: &[&Timing], own: &Timing) -> Timing {
    let mut localizers: Vec<LocalizerTiming> = Vec::new();
    for l in shards.iter().flat_map(|t| &t.localizers) {
        match localizers.iter_mut().find(|m| m.name == l.name) {
            Some(m) => {
                m.seconds += l.seconds;
                m.images += l.images;
                m.batch = m.batch.max(l.batch);
                m.threads = m.threads.max(l.threads);
            }
            None => localizers.push(l.clone()),
        }
    }
    let localizers = localizers
        .into_iter()
        .map(|l| localizer_timing(l.name, l.seconds, l.images, l.batch, l.threads))
        .collect();
    let mut phases = own.phases.clone();
    for p in shards.iter().flat_map(|t| &t.phases) {
        match phases.iter_mut().find(|m| m.phase == p.phase) {
            Some(m) => {
                m.wall_seconds += p.wall_seconds;
                m.summed_seconds += p.summed_seconds;
            }
            None => phases.push(p.clone()),
        }
    }
    finish(
        own.wall_seconds,
        localizers,
        phases,
        Some(shards.iter().map(|t| t.wall_seconds).collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(wall: f64, seconds: f64, images: usize) -> Timing {
        finish(
            wall,
            vec![localizer_timing("a".into(), seconds, images, 4, Some(2))],
            vec![PhaseTiming {
                phase: "score".into(),
                wall_seconds: 1.0,
                summed_seconds: 2.0,
            }],
            None,
        )
    }

    #[test]
    fn merge_sums_the_shards_and_keeps_their_wall_times() {
        let own = Stopwatch::start(&[]).timing();
        let merged = merge(&[&shard(10.0, 2.0, 6), &shard(20.0, 3.0, 4)], &own);
        assert_eq!(merged.shard_wall_seconds, Some(vec![10.0, 20.0]));
        let a = &merged.localizers[0];
        assert_eq!((a.seconds, a.images), (5.0, 10));
        assert_eq!(a.images_per_second, Some(2.0));
        let score = merged.phases.iter().find(|p| p.phase == "score").unwrap();
        assert_eq!((score.wall_seconds, score.summed_seconds), (2.0, 4.0));
        assert_eq!(merged.phases.len(), Phase::ALL.len(), "one entry per phase");
    }

    #[test]
    fn parallel_items_sum_beyond_the_wall_time() {
        use rayon::prelude::*;
        let clock = Stopwatch::start(&[]);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        pool.install(|| {
            clock.wall(Phase::Score, || {
                (0..4).into_par_iter().for_each(|_| {
                    clock.item(Phase::Score, || {
                        std::thread::sleep(Duration::from_millis(50))
                    })
                })
            })
        });
        let t = clock.timing();
        let score = t.phases.iter().find(|p| p.phase == "score").unwrap();
        assert!(score.summed_seconds >= 0.2, "{score:?}");
        assert!(score.wall_seconds < score.summed_seconds, "{score:?}");
        assert!(t.wall_seconds >= score.wall_seconds);
    }
}
