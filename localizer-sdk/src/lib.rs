//! Write a harness localizer plugin in Rust: implement [`PluginLocalizer`], call
//! [`export_localizer!`], build the crate as a `cdylib`, and name the library in a suite
//! (`kind: plugin`, docs/plugins.md).
//!
//! ```ignore
//! use localizer_sdk::{export_localizer, Image, Output, PluginLocalizer};
//! struct Half;
//! impl PluginLocalizer for Half {
//!     const NAME: &'static std::ffi::CStr = c"half";
//!     fn create(_: &serde_json::Map<String, serde_json::Value>) -> Result<Self, String> { Ok(Half) }
//!     fn localize(&mut self, _: &[Image<'_>], outputs: &mut [Output<'_>]) -> Result<(), String> {
//!         outputs.iter_mut().for_each(|o| o.map.fill(0.5));
//!         Ok(())
//!     }
//! }
//! export_localizer!(Half);
//! ```
//!
//! The generated exports catch every panic (a panic unwinding into C would abort the harness)
//! and turn it into [`HARNESS_PANIC`] plus a message.

mod abi;
mod export;

pub use abi::*;
#[doc(hidden)]
pub use export::Table;
pub use serde_json;

use std::ffi::CStr;

/// One input image as the plugin sees it.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// Image id (manifest `id`).
    pub id: &'a str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, 8-bit RGB, row-major, channels interleaved.
    pub rgb: &'a [u8],
}

impl Image<'_> {
    /// The RGB value at column `x`, row `y` (panics, caught at the boundary, outside the image).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Where the plugin writes its prediction for one image.
#[derive(Debug)]
pub struct Output<'a> {
    /// `width * height` values, row-major, pre-filled with NaN: write every one, each in [0,1].
    pub map: &'a mut [f32],
    /// Image-level probability of "fake" in [0,1], if the localizer has one.
    pub score: Option<f32>,
}

/// A localizer implemented in a plugin.
pub trait PluginLocalizer: Sized + 'static {
    /// Name as shown in reports.
    const NAME: &'static CStr;
    /// `(width, height)` in pixels the harness resizes images to; `None` = native size.
    const INPUT_SIZE: Option<(u32, u32)> = None;
    /// Largest batch [`PluginLocalizer::localize`] accepts (at least 1).
    const MAX_BATCH: u32 = 1;

    /// Builds the localizer from the suite's `params` object; `Err` says what is wrong.
    fn create(params: &serde_json::Map<String, serde_json::Value>) -> Result<Self, String>;

    /// Fills `outputs[i]` for `images[i]` (equal lengths, at most `MAX_BATCH`).
    fn localize(&mut self, images: &[Image<'_>], outputs: &mut [Output<'_>]) -> Result<(), String>;
}

/// Exports `$t` (a [`PluginLocalizer`]) as the plugin's `harness_localizer_entry_v1`.
/// Use it once per `cdylib`.
#[macro_export]
macro_rules! export_localizer {
    ($t:ty) => {
        /// The plugin entry point (harness localizer C ABI v1).
        #[unsafe(no_mangle)]
        pub extern "C" fn harness_localizer_entry_v1() -> *const $crate::HarnessLocalizerV1 {
            static TABLE: $crate::Table = $crate::Table::new::<$t>();
            TABLE.as_ptr()
        }
    };
}
