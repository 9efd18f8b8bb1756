//! The integration tests of `degradations`, in one binary
//! (`cargo test -p degradations --test integration`).

mod properties;
mod reference;
