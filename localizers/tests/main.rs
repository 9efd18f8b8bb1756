//! The integration tests of `localizers`, in one binary
//! (`cargo test -p localizers --test integration`): the registry, the reference localizers and
//! output validation, and the resampling detector on synthetic manipulations.

mod common {
    pub mod synth;
}

mod reference_localizers;
mod resampling;
