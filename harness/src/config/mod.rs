//! Configuration: suite files and training configs, parsed from YAML and validated before
//! anything runs (every problem at `file:line:column`), resolved into the types the rest of
//! the harness reads. See docs/suites.md and docs/training.md.

mod schema;
pub mod suite;
pub mod training;
mod yaml;

pub use suite::{Condition, EvaluationConfig, LocalizerConfig, Suite, TrainStep, SCHEMA_VERSION};
pub use training::{
    cache_dir, Augment, AugmentOp, Selection, TrainConfig, BEST_WEIGHTS, TRAIN_SCHEMA_VERSION,
};
pub use yaml::ConfigError;
