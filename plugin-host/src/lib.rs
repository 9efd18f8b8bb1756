//! Hosts for localizers that live outside the harness (docs/plugins.md): shared libraries
//! through a versioned C ABI ([`SharedLibraryLocalizer`], optionally isolated in a child
//! process: [`host_main`], run by the `localizer-host` program of this crate or by the harness), programs in any language through the
//! subprocess protocol ([`SubprocessLocalizer`]), TorchScript files (feature `torch`) and
//! directories of saved prediction maps ([`SavedMaps`]). [`build`] constructs them by kind from
//! JSON parameters, as the `localizers` registry does. Plugin processes run in their own process
//! groups, with deadlines on every exchange; a program hosting them calls [`exit_on_interrupt`]
//! so that SIGINT/SIGTERM end them too (docs/reliability.md). Depends on `localizer-api` and
//! `localizer-sdk`, not on candle.

pub mod build;
mod child;
mod groups;
mod host;
mod npy;
pub mod protocol;
mod saved_maps;
mod serve;
mod shared_library;
mod subprocess;
#[cfg(feature = "torch")]
mod torchscript;

pub use build::{build, Kind, KINDS};
pub use groups::exit_on_interrupt;
pub use host::{host_main, host_with_this_program, HOST_COMMAND, HOST_ENV};
pub use npy::read_npy_map;
pub use saved_maps::{MapFormat, SavedMaps};
pub use serve::serve;
pub use shared_library::{library_file_name, SharedLibraryLocalizer};
pub use subprocess::{
    SubprocessConfig, SubprocessLocalizer, DEFAULT_HELLO_TIMEOUT, DEFAULT_TIMEOUT,
};
#[cfg(feature = "torch")]
pub use torchscript::TorchScript;

use localizer_api::LocalizerInput;

/// The images of a batch for an error message: "a", "a, b, c" or "a, b, c and 5 more".
fn batch_label(batch: &[LocalizerInput<'_>]) -> String {
    const SHOWN: usize = 3;
    let ids: Vec<&str> = batch.iter().take(SHOWN).map(|input| input.id).collect();
    match batch.len() {
        0 => "<empty batch>".to_string(),
        n if n <= SHOWN => ids.join(", "),
        n => format!("{} and {} more", ids.join(", "), n - SHOWN),
    }
}
