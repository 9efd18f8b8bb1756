//! Constructors of the plugin kinds (the localizers registry's `plugin`, `subprocess`,
//! `torchscript` and `saved_maps` rows), and readers of their non-numeric parameters.

use crate::host::host_command;
use crate::{shared_library, subprocess};
use crate::{MapFormat, SavedMaps, SharedLibraryLocalizer, SubprocessConfig, SubprocessLocalizer};
use localizer_api::params::{suggestion, Params};
use localizer_api::{Localizer, LocalizerError};
use serde_json::{Map as JsonMap, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A plugin kind: its name in suites, the parameters it accepts and its constructor.
#[derive(Clone, Copy)]
pub struct Kind {
    /// Name in suites (the registry's kind).
    pub name: &'static str,
    /// The parameter names `build` reads; [`build`] rejects any other before calling it.
    pub params: &'static [&'static str],
    /// Builds the localizer from checked parameters.
    pub build: fn(&Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError>,
}

/// `plugin`: a shared library, in process or (`isolate`) behind `localizer-host`.
pub const PLUGIN: Kind = Kind {
    name: crate::shared_library::KIND,
    params: &["path", "isolate", "params", "timeout_s", "hello_timeout_s"],
    build: build_plugin,
};
/// `subprocess`: any program speaking the subprocess protocol.
pub const SUBPROCESS: Kind = Kind {
    name: crate::subprocess::KIND,
    params: &["command", "cwd", "params", "timeout_s", "hello_timeout_s"],
    build: build_subprocess,
};
/// `torchscript`: a traced or scripted PyTorch module (feature `torch`).
pub const TORCHSCRIPT: Kind = Kind {
    name: "torchscript",
    params: &["path", "input_size", "device"],
    build: build_torchscript,
};
/// `saved_maps`: a directory of maps named after the image ids.
pub const SAVED_MAPS: Kind = Kind {
    name: SavedMaps::NAME,
    params: &["dir", "extension"],
    build: build_saved_maps,
};
/// Every plugin kind, in the registry's order.
pub const KINDS: [Kind; 4] = [PLUGIN, SUBPROCESS, TORCHSCRIPT, SAVED_MAPS];

/// Builds the plugin kind `kind` (one of [`KINDS`]) with JSON `params`, as the localizers
/// registry does: [`LocalizerError::Unknown`] for another kind, [`LocalizerError::BadParameter`]
/// for an unknown, ill-typed or missing parameter.
pub fn build(
    kind: &str,
    params: &JsonMap<String, Value>,
) -> Result<Box<dyn Localizer>, LocalizerError> {
    let names = || KINDS.iter().map(|k| k.name);
    let entry = KINDS
        .iter()
        .find(|k| k.name == kind)
        .ok_or_else(|| LocalizerError::Unknown {
            name: kind.to_string(),
            suggestion: suggestion(kind, names()),
            available: names().collect::<Vec<_>>().join(", "),
        })?;
    (entry.build)(&Params::new(entry.name, params, entry.params)?)
}

/// `plugin`: a shared library, in process or (`isolate`) behind `localizer-host`.
pub fn build_plugin(p: &Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError> {
    let path = PathBuf::from(required_string(
        p,
        "path",
        "the plugin's shared library, e.g. target/release/libmy_detector.so",
    )?);
    let params = object_or_empty(p, "params")?;
    if !bool_or(p, "isolate", false)? {
        if let Some(name) = ["timeout_s", "hello_timeout_s"]
            .into_iter()
            .find(|name| p.raw(name).is_some())
        {
            return Err(p.bad(
                name,
                "needs `isolate: true`: a plugin running inside the harness cannot be stopped"
                    .into(),
            ));
        }
        return Ok(Box::new(SharedLibraryLocalizer::load(&path, &params)?));
    }
    if !path.exists() {
        return Err(p.bad(
            "path",
            format!(
                "no file at '{}'; build the plugin or fix the path",
                path.display()
            ),
        ));
    }
    let path = std::path::absolute(&path)
        .map_err(|e| p.bad("path", format!("cannot resolve '{}': {e}", path.display())))?;
    let command = host_command(&path).map_err(|message| p.bad("isolate", message))?;
    Ok(Box::new(SubprocessLocalizer::spawn(SubprocessConfig {
        kind: shared_library::KIND,
        command_param: "isolate",
        command,
        cwd: None,
        params,
        hello_timeout: seconds_or(p, "hello_timeout_s", subprocess::DEFAULT_HELLO_TIMEOUT)?,
        timeout: seconds_or(p, "timeout_s", subprocess::DEFAULT_TIMEOUT)?,
    })?))
}

/// `subprocess`: any program speaking the subprocess protocol.
pub fn build_subprocess(p: &Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError> {
    let command = match p.raw("command") {
        None => {
            return Err(p.bad(
                "command",
                "required: the program and its arguments, e.g. [python3, my_localizer.py]".into(),
            ))
        }
        Some(Value::Array(words)) if !words.is_empty() => words
            .iter()
            .map(|w| w.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                p.bad(
                    "command",
                    format!(
                        "expected an array of strings, got {}",
                        Value::Array(words.clone())
                    ),
                )
            })?,
        Some(other) => {
            return Err(p.bad(
                "command",
                format!("expected a non-empty array of strings, got {other}"),
            ))
        }
    };
    Ok(Box::new(SubprocessLocalizer::spawn(SubprocessConfig {
        kind: subprocess::KIND,
        command_param: "command",
        command,
        cwd: optional_string(p, "cwd")?.map(PathBuf::from),
        params: object_or_empty(p, "params")?,
        hello_timeout: seconds_or(p, "hello_timeout_s", subprocess::DEFAULT_HELLO_TIMEOUT)?,
        timeout: seconds_or(p, "timeout_s", subprocess::DEFAULT_TIMEOUT)?,
    })?))
}

/// `saved_maps`: a directory of maps named after the image ids.
pub fn build_saved_maps(p: &Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError> {
    let dir = required_string(
        p,
        "dir",
        "the directory holding <image id>.png or <image id>.npy",
    )?;
    let format = match optional_string(p, "extension")? {
        None => None,
        Some(ext) => Some(MapFormat::from_extension(ext).ok_or_else(|| {
            p.bad(
                "extension",
                format!("unknown extension '{ext}'; use \"png\" or \"npy\""),
            )
        })?),
    };
    Ok(Box::new(
        SavedMaps::new(Path::new(dir), format).map_err(|m| p.bad("dir", m))?,
    ))
}

/// `torchscript`: a traced or scripted PyTorch module through tch (feature `torch`).
pub fn build_torchscript(p: &Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError> {
    let path = required_string(
        p,
        "path",
        "the TorchScript file (torch.jit.trace(...).save(path))",
    )?;
    let input_size = match p.raw("input_size") {
        None | Some(Value::Null) => None,
        Some(Value::Array(wh)) if wh.len() == 2 => match (wh[0].as_u64(), wh[1].as_u64()) {
            (Some(w @ 1..=65535), Some(h @ 1..=65535)) => Some((w as u32, h as u32)),
            _ => {
                return Err(p.bad(
                    "input_size",
                    format!("expected [width, height] in pixels, got {:?}", wh),
                ))
            }
        },
        Some(other) => {
            return Err(p.bad(
                "input_size",
                format!("expected [width, height] in pixels or null, got {other}"),
            ))
        }
    };
    let device = optional_string(p, "device")?.unwrap_or("cpu");
    torchscript(p, Path::new(path), input_size, device)
}

#[cfg(feature = "torch")]
fn torchscript(
    p: &Params<'_>,
    path: &Path,
    input_size: Option<(u32, u32)>,
    device: &str,
) -> Result<Box<dyn Localizer>, LocalizerError> {
    Ok(Box::new(
        crate::TorchScript::load(path, input_size, device).map_err(|(param, m)| p.bad(param, m))?,
    ))
}

#[cfg(not(feature = "torch"))]
fn torchscript(
    p: &Params<'_>,
    _: &Path,
    _: Option<(u32, u32)>,
    _: &str,
) -> Result<Box<dyn Localizer>, LocalizerError> {
    Err(p.bad(
        "path",
        "this build has no TorchScript support; rebuild with `--features localizers/torch` \
        (needs libtorch 2.13, see docs/plugins.md) or run the model through a `subprocess` plugin"
            .into(),
    ))
}

fn required_string<'a>(p: &Params<'a>, name: &str, what: &str) -> Result<&'a str, LocalizerError> {
    optional_string(p, name)?.ok_or_else(|| p.bad(name, format!("required: {what}")))
}

fn optional_string<'a>(p: &Params<'a>, name: &str) -> Result<Option<&'a str>, LocalizerError> {
    match p.raw(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(p.bad(name, format!("expected a string, got {other}"))),
    }
}

fn bool_or(p: &Params<'_>, name: &str, default: bool) -> Result<bool, LocalizerError> {
    match p.raw(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(p.bad(name, format!("expected true or false, got {other}"))),
    }
}

/// A positive number of seconds under `name`, or `default` when absent.
fn seconds_or(p: &Params<'_>, name: &str, default: Duration) -> Result<Duration, LocalizerError> {
    let seconds = p.f64_or(name, default.as_secs_f64())?;
    (seconds > 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
        .ok_or_else(|| {
            p.bad(
                name,
                format!("expected a positive number of seconds, got {seconds}"),
            )
        })
}

fn object_or_empty(p: &Params<'_>, name: &str) -> Result<JsonMap<String, Value>, LocalizerError> {
    match p.raw(name) {
        None => Ok(JsonMap::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(p.bad(
            name,
            format!("expected an object (key: value pairs), got {other}"),
        )),
    }
}
