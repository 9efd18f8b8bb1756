//! The harness's integration tests, one binary (so the workspace links candle once per crate):
//! each module drives the `harness` binary or library end to end.

mod common;

mod bad_input;
mod gate;
mod hostile;
mod photos;
mod plugins;
mod report_screenshot;
mod run_suite;
mod scale_out;
mod train;
mod utility_commands;
