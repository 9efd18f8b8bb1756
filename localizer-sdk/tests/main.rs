//! The integration tests of `localizer-sdk`, in one binary
//! (`cargo test -p localizer-sdk --test integration`).

mod header;
