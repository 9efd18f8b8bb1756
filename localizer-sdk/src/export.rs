//! The `extern "C"` functions behind [`export_localizer!`](crate::export_localizer): C types in,
//! [`PluginLocalizer`] calls inside `catch_unwind`, status codes out.

use crate::{
    HarnessImage, HarnessLocalizerV1, HarnessOutput, Image, Output, PluginLocalizer,
    HARNESS_ABI_VERSION, HARNESS_ERROR, HARNESS_OK, HARNESS_PANIC,
};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The static entry table of one plugin type (made by the macro; not for direct use).
#[repr(transparent)]
pub struct Table(HarnessLocalizerV1);

// SAFETY: the table is immutable and its only pointer is to a `'static` C string.
unsafe impl Sync for Table {}

impl Table {
    /// The table for `T`.
    pub const fn new<T: PluginLocalizer>() -> Self {
        let (input_width, input_height) = match T::INPUT_SIZE {
            Some(size) => size,
            None => (0, 0),
        };
        Table(HarnessLocalizerV1 {
            abi_version: HARNESS_ABI_VERSION,
            struct_size: std::mem::size_of::<HarnessLocalizerV1>() as u32,
            name: T::NAME.as_ptr(),
            input_width,
            input_height,
            max_batch: T::MAX_BATCH,
            create: Some(create::<T>),
            localize: Some(localize::<T>),
            last_error: Some(last_error),
            destroy: Some(destroy::<T>),
        })
    }

    /// Pointer handed to the host.
    pub const fn as_ptr(&'static self) -> *const HarnessLocalizerV1 {
        &self.0
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    // An interior NUL would truncate the message in C; replace it rather than lose the message.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(message));
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(panic payload is not a string)")
}

/// Runs `f`, turning `Err` and panics into status codes plus a last-error message.
fn guard(f: impl FnOnce() -> Result<(), String>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => HARNESS_OK,
        Ok(Err(message)) => {
            set_last_error(message);
            HARNESS_ERROR
        }
        Err(payload) => {
            set_last_error(format!("plugin panicked: {}", panic_message(&*payload)));
            HARNESS_PANIC
        }
    }
}

unsafe extern "C" fn create<T: PluginLocalizer>(
    params_json: *const c_char,
    instance: *mut *mut c_void,
) -> i32 {
    guard(|| {
        if params_json.is_null() || instance.is_null() {
            return Err("create called with a NULL pointer".into());
        }
        // SAFETY: the ABI promises a NUL-terminated string.
        let json = unsafe { CStr::from_ptr(params_json) }
            .to_str()
            .map_err(|e| format!("params are not UTF-8: {e}"))?;
        let params: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("params are not a JSON object: {e}"))?;
        let boxed = Box::new(T::create(&params)?);
        // SAFETY: checked non-null above; the host owns the slot.
        unsafe { *instance = Box::into_raw(boxed).cast() };
        Ok(())
    })
}

unsafe extern "C" fn localize<T: PluginLocalizer>(
    instance: *mut c_void,
    images: *const HarnessImage,
    outputs: *mut HarnessOutput,
    count: usize,
) -> i32 {
    guard(|| {
        if instance.is_null() || (count > 0 && (images.is_null() || outputs.is_null())) {
            return Err("localize called with a NULL pointer".into());
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: the ABI promises `count` valid images and outputs and an instance from `create`.
        let (localizer, images, raw_outputs) = unsafe {
            (
                &mut *instance.cast::<T>(),
                std::slice::from_raw_parts(images, count),
                std::slice::from_raw_parts_mut(outputs, count),
            )
        };
        let views = images
            .iter()
            .map(image_view)
            .collect::<Result<Vec<_>, _>>()?;
        let mut outs = Vec::with_capacity(count);
        for (img, out) in images.iter().zip(raw_outputs.iter()) {
            if out.map.is_null() {
                return Err("localize called with a NULL output map".into());
            }
            let len = img.width as usize * img.height as usize;
            // SAFETY: the host allocated `width * height` floats for this image.
            let map = unsafe { std::slice::from_raw_parts_mut(out.map, len) };
            outs.push(Output { map, score: None });
        }
        localizer.localize(&views, &mut outs)?;
        for (raw, out) in raw_outputs.iter_mut().zip(outs) {
            if let Some(score) = out.score {
                raw.score = score;
                raw.has_score = 1;
            }
        }
        Ok(())
    })
}

fn image_view(img: &HarnessImage) -> Result<Image<'_>, String> {
    if img.id.is_null() || img.rgb.is_null() {
        return Err("localize called with an image whose id or pixels are NULL".into());
    }
    // SAFETY: the ABI promises a NUL-terminated id and `width * height * 3` bytes of pixels,
    // both living as long as the call.
    let (id, rgb) = unsafe {
        (
            CStr::from_ptr(img.id),
            std::slice::from_raw_parts(img.rgb, 3 * img.width as usize * img.height as usize),
        )
    };
    Ok(Image {
        id: id
            .to_str()
            .map_err(|e| format!("image id is not UTF-8: {e}"))?,
        width: img.width,
        height: img.height,
        rgb,
    })
}

unsafe extern "C" fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |m| m.as_ptr()))
}

unsafe extern "C" fn destroy<T: PluginLocalizer>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // A panicking Drop must not unwind into C; the instance is gone either way.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `instance` came from `Box::into_raw` in `create` and is destroyed once.
        drop(unsafe { Box::from_raw(instance.cast::<T>()) })
    }));
}
