//! The integration tests of `plugin-host`, in one binary
//! (`cargo test -p plugin-host --test integration`): shared-library plugins (in process and
//! behind `localizer-host`), subprocess plugins (needs `python3` with numpy), hostile plugins
//! (timeouts, stderr floods, protocol violations, leftover processes), saved maps and,
//! with feature `torch`, TorchScript (scripts/ci_torch.sh). Fixtures are in the workspace's
//! tests/fixtures.

mod common;

mod hostile_plugins;
mod saved_maps;
mod shared_library_plugins;
mod subprocess_plugins;
#[cfg(feature = "torch")]
mod torchscript;
