//! The integration tests of `localizer-api`, in one binary
//! (`cargo test -p localizer-api --test integration`).

mod validate;
