//! harness: evaluation and benchmarking of fake-region localizers (FakeLocator, Huang et al.
//! 2020). docs/design.md describes the pipeline; the modules follow it in order:
//!
//! - [`config`]: suite files and training configs, validated before anything runs;
//! - [`data`]: samples, seeds, images, ground truth, manifests, the synthetic benchmark and the
//!   selection of a suite's images;
//! - [`evaluation`]: work units prepared, localized and scored into rows;
//! - [`results`]: rows, their aggregation into `results.json`, and the regression gate;
//! - [`report`]: tables, figures and the report files, read from results only;
//! - [`training`]: `harness train`;
//! - [`run`]: `harness run`, orchestrating the above; [`cli`]: the other commands.
//!
//! Dependencies point one way: `config` → `data`; `evaluation` → `config`, `data`, `results`;
//! `report` → `results`, `config`; `training` → `config`, `data`, `report`; `run` and `cli` use
//! everything. `util` and `error` are leaves.

pub mod cli;
pub mod config;
pub mod data;
pub mod error;
pub mod evaluation;
pub mod report;
pub mod results;
pub mod run;
pub mod training;
pub mod util;
