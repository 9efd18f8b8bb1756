//! Sharding a suite over N processes (docs/scale-out.md). Every work unit of an image goes to
//! the same shard, so an image is rendered or read, and degraded, in one process only; the shard
//! of an image is decided by the hash of its id, not by its position in the selection: images
//! are ranked by that hash and dealt out in turn, so shard sizes differ by at most one image and
//! adding an image to the data set moves few others.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::{seeds, ImageRef};

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Largest shard count accepted: more shards than that is a typo, not a cluster.
pub const MAX_SHARDS: usize = 100_000;

impl Shard {
    /// A checked shard.
    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "the shard count must be between 1 and {MAX_SHARDS}, got {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range for {count} shards (use 0..{})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard of this process from a job scheduler's environment: Slurm job arrays
    /// (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`) or
    /// Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX` of `HARNESS_SHARDS`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<usize>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a non-negative integer")),
            }
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (Slurm 17.11 or newer sets both)",
            )?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            return Shard::new(index, count).map_err(|e| {
                format!(
                    "{e} (from Slurm: submit the array as --array=0-{})",
                    count.max(1) - 1
                )
            });
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("HARNESS_SHARDS")?.ok_or(
                "JOB_COMPLETION_INDEX is set but HARNESS_SHARDS is not: set it to the Job's completions",
            )?;
            return Shard::new(index, count);
        }
        Err(
            "--shard auto needs a job scheduler's environment: SLURM_ARRAY_TASK_ID and \
             SLURM_ARRAY_TASK_COUNT (a Slurm job array) or JOB_COMPLETION_INDEX and HARNESS_SHARDS \
             (a Kubernetes Indexed Job); neither is set. Use --shard I/N to choose one by hand"
                .into(),
        )
    }

    /// The ids of the images of this shard.
    pub fn select<'a>(&self, images: &'a [ImageRef]) -> HashSet<&'a str> {
        self.select_ids(images.iter().map(|i| i.id.as_str()))
    }

    /// The ids of this shard among `ids`.
    pub fn select_ids<'a>(&self, ids: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
        let mut ranked: Vec<(u64, &str)> = ids
            .map(|id| (seeds::from_labels(0, &["shard", id]), id))
            .collect();
        ranked.sort_unstable();
        ranked
            .into_iter()
            .enumerate()
            .filter(|(rank, _)| rank % self.count == self.index)
            .map(|(_, (_, id))| id)
            .collect()
    }

    /// The suffix of this shard's run directory name.
    pub fn dir_suffix(&self) -> String {
        format!("shard-{}of{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, e.g. `0/3`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard {s:?}: expected I/N (e.g. 0/3) or auto"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("--shard {s:?}: {v:?} is not a non-negative integer"))
        };
        Shard::new(parse(i)?, parse(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn shards_partition_the_images_in_balanced_parts_by_id_not_position() {
        let ids: Vec<String> = (0..103).map(|i| format!("img-{i}")).collect();
        let count = 4;
        let parts: Vec<HashSet<&str>> = (0..count)
            .map(|index| Shard { index, count }.select_ids(ids.iter().map(String::as_str)))
            .collect();
        let sizes: Vec<usize> = parts.iter().map(HashSet::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), ids.len());
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        for (a, pa) in parts.iter().enumerate() {
            for pb in &parts[a + 1..] {
                assert!(pa.is_disjoint(pb));
            }
        }
        // The same ids in another order land in the same shards.
        let reversed: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
        assert_eq!(
            Shard { index: 1, count }.select_ids(reversed.into_iter()),
            parts[1]
        );
    }

    #[test]
    fn parses_and_checks_i_of_n() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert!("3/3".parse::<Shard>().unwrap_err().contains("out of range"));
        assert!("0/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("-1/3".parse::<Shard>().is_err());
    }

    #[test]
    fn reads_slurm_relative_to_the_array_minimum_and_kubernetes() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(Shard::from_env(slurm), Ok(Shard { index: 2, count: 3 }));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1"), ("HARNESS_SHARDS", "4")]);
        assert_eq!(Shard::from_env(k8s), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::from_env(env(&[]))
            .unwrap_err()
            .contains("neither is set"));
        let no_count = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert!(Shard::from_env(no_count)
            .unwrap_err()
            .contains("HARNESS_SHARDS"));
        let beyond = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert!(Shard::from_env(beyond).is_err());
    }
}
