//! The localizers that ship with the harness, by name: the registry ([`build`], [`available`]),
//! the reference localizers (`oracle`, `constant`, `resampling`), the candle networks
//! ([`models`]) and the plugin hosts ([`plugin`]). The `Localizer` trait and its types live in
//! the `localizer-api` crate and are re-exported here.

/// The candle networks (the `models` crate).
pub use ::models;
pub use localizer_api::{
    validate_predictions, InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction,
};
/// The plugin hosts (the `plugin-host` crate).
pub use plugin_host as plugin;

mod constant;
mod oracle;
mod periodicity;
mod registry;
mod resampling;
mod window_sum;

pub use constant::Constant;
pub use oracle::Oracle;
pub use registry::{available, build, LocalizerInfo};
pub use resampling::{Resampling, ResamplingParams};
