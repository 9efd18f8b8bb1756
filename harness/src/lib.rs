//! harness: evaluation and benchmarking of fake-region localizers (FakeLocator, SPEC).

pub mod plots;
pub mod synth;
