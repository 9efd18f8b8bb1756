//! harness: evaluation and benchmarking of fake-region localizers (FakeLocator, SPEC).
//!
//! `data` reads images and manifests and derives ground truth; `synth` is the embedded
//! synthetic benchmark; `suite` validates suite files; `runner` executes work units;
//! `results` aggregates per-image rows into `results.json`; `report` and `plots` render it.

pub mod commands;
pub mod data;
pub mod dataset;
pub mod fsutil;
pub mod gate;
pub mod plots;
pub mod report;
pub mod results;
pub mod rows;
pub mod run;
pub mod runner;
pub mod suite;
pub mod synth;
pub mod train;
