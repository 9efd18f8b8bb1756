//! The integration tests of `metrics`, in one binary (`cargo test -p metrics --test integration`).

mod edge_cases;
mod properties;
mod reference;
