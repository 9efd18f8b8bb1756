//! The C ABI between the harness and a localizer plugin, version 1 (docs/plugins.md).
//!
//! A plugin exports `harness_localizer_entry_v1`, which returns a pointer to a static
//! [`HarnessLocalizerV1`] table. All data crossing the boundary is plain C: images are
//! borrowed `u8` RGB buffers, maps are `f32` buffers the host allocates, errors are status codes
//! plus a message the plugin keeps. `include/harness_localizer.h` is generated from this file.

use std::ffi::{c_char, c_void};

/// The ABI version this SDK and the harness speak; a table with any other version is refused.
pub const HARNESS_ABI_VERSION: u32 = 1;

/// Status: the call succeeded.
pub const HARNESS_OK: i32 = 0;
/// Status: the plugin reports an error; `last_error()` says what.
pub const HARNESS_ERROR: i32 = 1;
/// Status: the plugin panicked (caught at the boundary); `last_error()` has the panic message.
pub const HARNESS_PANIC: i32 = 2;

/// One input image, borrowed for the duration of a `localize` call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HarnessImage {
    /// Image id (manifest `id`), NUL-terminated UTF-8.
    pub id: *const c_char,
    /// `width * height * 3` bytes: 8-bit RGB, row-major, channels interleaved.
    pub rgb: *const u8,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Where the plugin writes its prediction for one image.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HarnessOutput {
    /// Host-allocated `width * height` floats (row-major, same size as the image), filled with NaN
    /// by the host; the plugin writes every value, each in [0,1].
    pub map: *mut f32,
    /// Image-level probability of "fake" in [0,1]; read only when `has_score` is 1.
    pub score: f32,
    /// 1 if the plugin wrote `score`, 0 (the host's initial value) otherwise.
    pub has_score: u8,
}

/// Creates an instance from a NUL-terminated UTF-8 JSON object of parameters and stores it in
/// `*instance`; returns a status code.
pub type HarnessCreateFn =
    Option<unsafe extern "C" fn(params_json: *const c_char, instance: *mut *mut c_void) -> i32>;

/// Localizes `count` images into `count` outputs (same order); returns a status code.
pub type HarnessLocalizeFn = Option<
    unsafe extern "C" fn(
        instance: *mut c_void,
        images: *const HarnessImage,
        outputs: *mut HarnessOutput,
        count: usize,
    ) -> i32,
>;

/// The message of the last failed call on the calling thread (NUL-terminated UTF-8, owned by the
/// plugin, valid until the next call into the plugin on that thread), or NULL.
pub type HarnessLastErrorFn = Option<unsafe extern "C" fn() -> *const c_char>;

/// Frees an instance made by `create`.
pub type HarnessDestroyFn = Option<unsafe extern "C" fn(instance: *mut c_void)>;

/// The table `harness_localizer_entry_v1` returns. Fields may only ever be appended (a later
/// minor revision raises `struct_size`); the host refuses a smaller `struct_size`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HarnessLocalizerV1 {
    /// Must be `HARNESS_ABI_VERSION`.
    pub abi_version: u32,
    /// `sizeof(HarnessLocalizerV1)` as the plugin was compiled.
    pub struct_size: u32,
    /// Localizer name, NUL-terminated UTF-8, static.
    pub name: *const c_char,
    /// Width the host resizes images to, in pixels; 0 together with `input_height` 0 = native size.
    pub input_width: u32,
    /// Height the host resizes images to, in pixels; 0 = native size.
    pub input_height: u32,
    /// Largest batch `localize` accepts (at least 1).
    pub max_batch: u32,
    /// See `HarnessCreateFn`.
    pub create: HarnessCreateFn,
    /// See `HarnessLocalizeFn`.
    pub localize: HarnessLocalizeFn,
    /// See `HarnessLastErrorFn`.
    pub last_error: HarnessLastErrorFn,
    /// See `HarnessDestroyFn`.
    pub destroy: HarnessDestroyFn,
}

/// The type of the exported entry symbol.
pub type HarnessEntryFn = unsafe extern "C" fn() -> *const HarnessLocalizerV1;
