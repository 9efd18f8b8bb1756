//! `plugin`: a localizer in a shared library speaking the C ABI of `localizer-sdk`.

use crate::batch_label;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use localizer_sdk::{
    HarnessEntryFn, HarnessImage, HarnessLocalizerV1, HarnessOutput, HARNESS_ABI_VERSION,
    HARNESS_ERROR, HARNESS_OK, HARNESS_PANIC,
};
use serde_json::{Map as JsonMap, Value};
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;

/// Registry kind.
pub(crate) const KIND: &str = "plugin";
/// The entry symbol of ABI v1, NUL-terminated for `dlsym`.
const ENTRY_SYMBOL: &[u8] = b"harness_localizer_entry_v1\0";

/// The file cargo builds for a `cdylib` crate named `crate_name` on this platform:
/// `libmy_plugin.so` on Linux, `libmy_plugin.dylib` on macOS, `my_plugin.dll` on Windows.
pub fn library_file_name(crate_name: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// A loaded plugin instance; `destroy` runs on drop, before the library is unloaded.
pub struct SharedLibraryLocalizer {
    name: String,
    input_size: InputSize,
    max_batch: usize,
    table: HarnessLocalizerV1,
    instance: *mut c_void,
    // Declared last so it is dropped (unloaded) after `Drop::drop` destroyed the instance.
    _library: libloading::Library,
}

// SAFETY: the C ABI (docs/plugins.md) requires an instance to be usable from any thread, one call
// at a time; `&mut self` on every call gives the "one at a time".
unsafe impl Send for SharedLibraryLocalizer {}

impl SharedLibraryLocalizer {
    /// Loads the plugin at `path`, checks its ABI table and creates an instance with `params`.
    ///
    /// Errors ([`LocalizerError::BadParameter`]): `path` when the library cannot be loaded, lacks
    /// the entry symbol or has an incompatible table; `params` when the plugin's `create` fails.
    pub fn load(path: &Path, params: &JsonMap<String, Value>) -> Result<Self, LocalizerError> {
        let bad = |param: &str, message: String| LocalizerError::BadParameter {
            localizer: KIND.to_string(),
            param: param.to_string(),
            message,
        };
        let shown = path.display();
        if !path.exists() {
            return Err(bad(
                "path",
                format!("no file at '{shown}'; build the plugin (e.g. `cargo build --release -p my_detector`) or fix the path"),
            ));
        }
        // SAFETY: loading runs the library's initialisers; that is the trust a plugin asks for.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| {
            bad(
                "path",
                format!(
                    "cannot load '{shown}' as a shared library: {}; check that it was built for \
                     this platform and that the libraries it needs are installed (ldd shows them)",
                    with_reason(&e)
                ),
            )
        })?;
        // SAFETY: the symbol's type is fixed by the ABI the symbol name versions.
        let entry = unsafe { library.get::<HarnessEntryFn>(ENTRY_SYMBOL) }.map_err(|e| {
            bad(
                "path",
                format!(
                    "'{shown}' is not a harness localizer plugin: it does not export \
                 `harness_localizer_entry_v1` ({}){}; plugins use localizer-sdk's \
                 `export_localizer!` or include/harness_localizer.h",
                    with_reason(&e),
                    other_abi_hint(&library)
                ),
            )
        })?;
        // SAFETY: the entry takes no arguments and returns a pointer to a static table.
        let table =
            unsafe { check_table(entry()) }.map_err(|m| bad("path", format!("'{shown}': {m}")))?;
        // SAFETY: `check_table` verified `name` is non-null; it is a static C string.
        let name = unsafe { CStr::from_ptr(table.name) }
            .to_str()
            .map_err(|_| bad("path", format!("'{shown}': the plugin name is not UTF-8")))?
            .to_string();
        let json = CString::new(serde_json::to_string(params).expect("JSON maps serialize"))
            .map_err(|_| bad("params", "a string contains a NUL character".into()))?;
        let mut instance: *mut c_void = std::ptr::null_mut();
        let create = table.create.expect("checked");
        // SAFETY: arguments follow the ABI: a NUL-terminated JSON object and an out slot.
        let status = unsafe { create(json.as_ptr(), &mut instance) };
        if status != HARNESS_OK || instance.is_null() {
            let why = call_error(&table, status, "create");
            return Err(bad(
                "params",
                format!("plugin '{name}' ({shown}) refused its parameters: {why}"),
            ));
        }
        let input_size = match (table.input_width, table.input_height) {
            (0, 0) => InputSize::Native,
            (width, height) => InputSize::Fixed { width, height },
        };
        Ok(Self {
            name,
            input_size,
            max_batch: table.max_batch as usize,
            table,
            instance,
            _library: library,
        })
    }
}

/// Checks and copies the table at `ptr`: non-null, ABI version, size, name, functions, sizes.
///
/// # Safety
/// `ptr` is null or points to at least two readable `u32` (and, if those pass, to
/// `struct_size` readable bytes).
pub(crate) unsafe fn check_table(
    ptr: *const HarnessLocalizerV1,
) -> Result<HarnessLocalizerV1, String> {
    if ptr.is_null() {
        return Err("harness_localizer_entry_v1 returned NULL".into());
    }
    // Read only the two leading fields until the size says the rest is there.
    // SAFETY: per the contract above.
    let [abi_version, struct_size] = unsafe { ptr.cast::<[u32; 2]>().read_unaligned() };
    if abi_version != HARNESS_ABI_VERSION {
        return Err(format!(
            "plugin ABI version {abi_version} is not supported; this harness speaks ABI version \
             {HARNESS_ABI_VERSION}: rebuild the plugin against the matching localizer-sdk / header"
        ));
    }
    let needed = std::mem::size_of::<HarnessLocalizerV1>();
    if (struct_size as usize) < needed {
        return Err(format!(
            "plugin table is {struct_size} bytes but ABI version {HARNESS_ABI_VERSION} needs at least \
             {needed}: the plugin was built against an incompatible header; rebuild it"
        ));
    }
    // SAFETY: `struct_size` covers the whole struct.
    let table = unsafe { ptr.read() };
    let missing: Vec<&str> = [
        ("create", table.create.is_none()),
        ("localize", table.localize.is_none()),
        ("last_error", table.last_error.is_none()),
        ("destroy", table.destroy.is_none()),
        ("name", table.name.is_null()),
    ]
    .into_iter()
    .filter_map(|(field, absent)| absent.then_some(field))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "plugin table has NULL {}; every field must be set",
            missing.join(", ")
        ));
    }
    if table.max_batch == 0 {
        return Err("plugin table has max_batch 0; it must be at least 1".into());
    }
    if (table.input_width == 0) != (table.input_height == 0) {
        return Err(format!(
            "plugin input size {}×{} is half native; use 0×0 for native or both non-zero",
            table.input_width, table.input_height
        ));
    }
    Ok(table)
}

/// libloading's error with the system's reason: its own text is only "dlopen failed" or
/// "dlsym failed", the dlerror() text (missing file or dependency, wrong architecture, undefined
/// symbol) is its source.
fn with_reason(error: &libloading::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(reason) = source {
        text.push_str(&format!(": {reason}"));
        source = reason.source();
    }
    text
}

/// Names a later ABI the library exports instead, if any, for the "not a plugin" message.
fn other_abi_hint(library: &libloading::Library) -> String {
    (2..=4)
        .find(|v| {
            let symbol = format!("harness_localizer_entry_v{v}\0");
            // SAFETY: only checks that the symbol exists; it is never called.
            unsafe { library.get::<*const c_void>(symbol.as_bytes()) }.is_ok()
        })
        .map(|v| format!(" (it exports `harness_localizer_entry_v{v}`: it was built for ABI version {v}; use a harness that speaks it or rebuild the plugin)"))
        .unwrap_or_default()
}

/// The plugin's message for a failed call.
fn call_error(table: &HarnessLocalizerV1, status: i32, call: &str) -> String {
    // SAFETY: `last_error` is checked non-null and returns NULL or a valid C string.
    let message = unsafe {
        let ptr = (table.last_error.expect("checked"))();
        (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
    };
    let message = message.unwrap_or_else(|| "(the plugin gave no message)".into());
    match status {
        HARNESS_ERROR => message,
        HARNESS_PANIC => format!("{message} (caught at the plugin boundary)"),
        HARNESS_OK => format!("{call} returned success but no instance"),
        other => format!("{call} returned unknown status {other}: {message}"),
    }
}

impl Drop for SharedLibraryLocalizer {
    fn drop(&mut self) {
        // SAFETY: `instance` came from this table's `create` and is destroyed exactly once.
        unsafe { (self.table.destroy.expect("checked"))(self.instance) }
    }
}

impl Localizer for SharedLibraryLocalizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn input_size(&self) -> InputSize {
        self.input_size
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        let failed = |message: String| LocalizerError::Failed {
            localizer: self.name.clone(),
            image: batch_label(batch),
            message,
        };
        if batch.len() > self.max_batch {
            return Err(failed(format!(
                "batch of {} exceeds the plugin's max_batch {}",
                batch.len(),
                self.max_batch
            )));
        }
        let ids = batch
            .iter()
            .map(|input| CString::new(input.id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| failed("an image id contains a NUL character".into()))?;
        let images: Vec<HarnessImage> = batch
            .iter()
            .zip(&ids)
            .map(|(input, id)| HarnessImage {
                id: id.as_ptr() as *const c_char,
                rgb: input.image.as_raw().as_ptr(),
                width: input.image.width(),
                height: input.image.height(),
            })
            .collect();
        // NaN-filled so a pixel the plugin forgot fails validation instead of scoring as 0.
        let mut maps: Vec<Vec<f32>> = batch
            .iter()
            .map(|input| {
                vec![f32::NAN; input.image.width() as usize * input.image.height() as usize]
            })
            .collect();
        let mut outputs: Vec<HarnessOutput> = maps
            .iter_mut()
            .map(|map| HarnessOutput {
                map: map.as_mut_ptr(),
                score: f32::NAN,
                has_score: 0,
            })
            .collect();
        // SAFETY: `images` and `outputs` hold `batch.len()` entries whose buffers outlive the call.
        let status = unsafe {
            (self.table.localize.expect("checked"))(
                self.instance,
                images.as_ptr(),
                outputs.as_mut_ptr(),
                batch.len(),
            )
        };
        if status != HARNESS_OK {
            return Err(failed(call_error(&self.table, status, "localize")));
        }
        Ok(maps
            .into_iter()
            .zip(&outputs)
            .zip(batch)
            .map(|((map, out), input)| Prediction {
                map: Map::from_raw(input.image.width(), input.image.height(), map)
                    .expect("allocated width × height"),
                score: (out.has_score != 0).then_some(out.score),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn no_error() -> *const c_char {
        std::ptr::null()
    }
    unsafe extern "C" fn no_destroy(_: *mut c_void) {}
    unsafe extern "C" fn no_create(_: *const c_char, _: *mut *mut c_void) -> i32 {
        HARNESS_ERROR
    }
    unsafe extern "C" fn no_localize(
        _: *mut c_void,
        _: *const HarnessImage,
        _: *mut HarnessOutput,
        _: usize,
    ) -> i32 {
        HARNESS_ERROR
    }

    fn table() -> HarnessLocalizerV1 {
        HarnessLocalizerV1 {
            abi_version: HARNESS_ABI_VERSION,
            struct_size: std::mem::size_of::<HarnessLocalizerV1>() as u32,
            name: c"t".as_ptr(),
            input_width: 0,
            input_height: 0,
            max_batch: 1,
            create: None,
            localize: None,
            last_error: Some(no_error),
            destroy: Some(no_destroy),
        }
    }

    fn check(t: HarnessLocalizerV1) -> Result<HarnessLocalizerV1, String> {
        // SAFETY: `t` is a complete table on the stack.
        unsafe { check_table(&t) }
    }

    #[test]
    fn refuses_incomplete_or_inconsistent_tables() {
        let err = check(table()).unwrap_err();
        assert!(err.contains("NULL create, localize;"), "{err}");
        let err = check(HarnessLocalizerV1 {
            name: std::ptr::null(),
            ..table()
        })
        .unwrap_err();
        assert!(err.contains("name"), "{err}");
        let complete = HarnessLocalizerV1 {
            create: Some(no_create),
            localize: Some(no_localize),
            ..table()
        };
        assert!(check(complete).is_ok());
        let err = check(HarnessLocalizerV1 {
            max_batch: 0,
            ..complete
        })
        .unwrap_err();
        assert!(err.contains("max_batch 0"), "{err}");
        let err = check(HarnessLocalizerV1 {
            input_width: 224,
            ..complete
        })
        .unwrap_err();
        assert!(err.contains("224×0 is half native"), "{err}");
        let larger = HarnessLocalizerV1 {
            struct_size: 4096,
            ..table()
        };
        // A larger (newer minor) table passes the size check and fails only on the NULLs.
        assert!(check(larger).unwrap_err().contains("NULL create"));
        // SAFETY: a null pointer is allowed by the contract.
        let err = unsafe { check_table(std::ptr::null()) }.unwrap_err();
        assert!(err.contains("returned NULL"), "{err}");
    }
}
