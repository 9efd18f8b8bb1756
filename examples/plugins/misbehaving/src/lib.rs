//! Test plugin for the harness's plugin boundary: predicts a constant `value`, except that it
//! misbehaves as `mode` says (error, panic, segfault, abort, write nothing, hang) on images whose
//! id starts with `trigger` (every image by default).

use localizer_sdk::serde_json::{Map, Value};
use localizer_sdk::{export_localizer, Image, Output, PluginLocalizer};
use std::ffi::CStr;

/// How the plugin misbehaves.
#[derive(Clone, Copy)]
enum Mode {
    Ok,
    Error,
    Panic,
    Segfault,
    Abort,
    NoWrite,
    Hang,
}

struct Misbehaving {
    mode: Mode,
    trigger: String,
    value: f32,
}

impl PluginLocalizer for Misbehaving {
    const NAME: &'static CStr = c"misbehaving";
    const MAX_BATCH: u32 = 4;

    fn create(params: &Map<String, Value>) -> Result<Self, String> {
        let mode = match params.get("mode").and_then(Value::as_str).unwrap_or("ok") {
            "ok" => Mode::Ok,
            "error" => Mode::Error,
            "panic" => Mode::Panic,
            "create_panic" => panic!("create_panic mode asked for a panic in create"),
            "segfault" => Mode::Segfault,
            "abort" => Mode::Abort,
            "no_write" => Mode::NoWrite,
            "hang" => Mode::Hang,
            other => return Err(format!(
                "unknown mode '{other}'; use ok, error, panic, create_panic, segfault, abort, no_write or hang"
            )),
        };
        Ok(Self {
            mode,
            trigger: params
                .get("trigger")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            value: params.get("value").and_then(Value::as_f64).unwrap_or(0.5) as f32,
        })
    }

    fn localize(&mut self, images: &[Image<'_>], outputs: &mut [Output<'_>]) -> Result<(), String> {
        for (image, out) in images.iter().zip(outputs) {
            let triggered = image.id.starts_with(&self.trigger);
            match self.mode {
                Mode::Error if triggered => {
                    return Err(format!(
                        "refusing image '{}' as asked (mode error)",
                        image.id
                    ))
                }
                Mode::Panic if triggered => panic!("asked to panic on image '{}'", image.id),
                Mode::Segfault if triggered => {
                    // SAFETY: deliberately not safe: writing to an unmapped page faults (SIGSEGV).
                    unsafe {
                        std::ptr::write_volatile(std::ptr::without_provenance_mut::<u64>(8), 1)
                    }
                }
                Mode::Abort if triggered => std::process::abort(),
                Mode::NoWrite if triggered => continue,
                // Long enough to outlast any test's timeout (only isolated plugins can be stopped).
                Mode::Hang if triggered => std::thread::sleep(std::time::Duration::from_secs(3600)),
                _ => out.map.fill(self.value),
            }
        }
        Ok(())
    }
}

export_localizer!(Misbehaving);
