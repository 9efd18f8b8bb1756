//! The built-in localizers by name: one table of constructors, used by `harness list` and suites.

use crate::models::{DeepLabV3Localizer, StehouwerLocalizer};
use crate::{plugin, Constant, Localizer, LocalizerError, Oracle, Resampling, ResamplingParams};
use localizer_api::params::{suggestion, Params};
use serde_json::{Map as JsonMap, Value};

/// What `harness list` shows about a localizer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalizerInfo {
    /// Kind, as written in suites.
    pub name: &'static str,
    /// One line: what it is and what it is for.
    pub description: &'static str,
    /// Accepted parameters with types, ranges and defaults; `""` when there are none.
    pub params: &'static str,
}

/// One registry row: how to describe and how to build a localizer kind.
struct Entry {
    info: LocalizerInfo,
    build: fn(&Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError>,
    /// Parameter names `build` reads; anything else is rejected before `build` runs.
    params: &'static [&'static str],
}

/// All built-in kinds. To add one: a constructor function and a row here (docs/localizers.md).
const REGISTRY: &[Entry] = &[
    Entry {
        info: LocalizerInfo {
            name: Oracle::NAME,
            description: "returns the ground truth (upper bound and harness self-check)",
            params: "",
        },
        build: |_| Ok(Box::new(Oracle)),
        params: &[],
    },
    Entry {
        info: LocalizerInfo {
            name: Constant::NAME,
            description: "the same value at every pixel (lower bound)",
            params: "value: f32 in [0,1], default 0.5",
        },
        build: |p| {
            Ok(Box::new(Constant::new(
                p.f64_or("value", Constant::DEFAULT_VALUE.into())? as f32,
            )?))
        },
        params: &["value"],
    },
    Entry {
        info: LocalizerInfo {
            name: Resampling::NAME,
            description: "training-free upsampling-trace detector (derivative periodicity, \
                          Gallagher 2005 / Popescu-Farid 2005)",
            params: "window: int ≥ 4 px, default 24; smoothing: int ≥ 1 px, default 16; \
                     epsilon: f32 > 0 gray levels, default 0.5; midpoint: f32 > 0, default 3; \
                     scale: f32 > 0, default 0.5; score_quantile: f32 in [0,1], default 0.95",
        },
        build: build_resampling,
        params: &[
            "window",
            "smoothing",
            "epsilon",
            "midpoint",
            "scale",
            "score_quantile",
        ],
    },
    Entry {
        info: LocalizerInfo {
            name: plugin::build::PLUGIN.name,
            description: "a shared library speaking the C ABI of localizer-sdk (docs/plugins.md)",
            params: "path: string, required, the library file; isolate: bool, default false, \
                     run it in a child process so a crash fails only its images; \
                     hello_timeout_s: seconds, default 60, with isolate, longest wait for the child to start; \
                     timeout_s: seconds, default 600, with isolate, longest wait for one batch (the child is then killed); \
                     params: object, default {}, passed to the plugin's create",
        },
        build: plugin::build::PLUGIN.build,
        params: plugin::build::PLUGIN.params,
    },
    Entry {
        info: LocalizerInfo {
            name: plugin::build::SUBPROCESS.name,
            description: "a program in any language speaking the subprocess protocol \
                          on stdin/stdout (docs/plugins.md)",
            params: "command: array of strings, required, program and arguments; \
                     cwd: string, default the harness's working directory; \
                     hello_timeout_s: seconds, default 60, longest wait for the handshake; \
                     timeout_s: seconds, default 600, longest wait for one batch (the process is then killed); \
                     params: object, default {}, sent in the handshake",
        },
        build: plugin::build::SUBPROCESS.build,
        params: plugin::build::SUBPROCESS.params,
    },
    Entry {
        info: LocalizerInfo {
            name: plugin::build::TORCHSCRIPT.name,
            description: "a traced or scripted PyTorch module through libtorch \
                          (build feature `torch`)",
            params: "path: string, required, the .pt file; input_size: [width, height] px, \
                     default native; device: string, default \"cpu\", or \"cuda\" / a numbered GPU \
                     as PyTorch writes it",
        },
        build: plugin::build::TORCHSCRIPT.build,
        params: plugin::build::TORCHSCRIPT.params,
    },
    Entry {
        info: LocalizerInfo {
            name: plugin::build::SAVED_MAPS.name,
            description: "predictions saved beforehand, one <image id>.png or .npy per image",
            params: "dir: string, required, the directory; extension: \"png\" or \"npy\", \
                     default whichever exists",
        },
        build: plugin::build::SAVED_MAPS.build,
        params: plugin::build::SAVED_MAPS.params,
    },
    Entry {
        info: LocalizerInfo {
            name: DeepLabV3Localizer::NAME,
            description: "FakeLocator's DeepLabv3 (torchvision-exact ResNet-50/101, smaller CPU presets) \
                          with the sigmoid limiting layer; default: the bundled checkpoint trained on faces and photographs with degradation augmentation (docs/training.md)",
            params: "weights: bundled (default) | none (seeded, untrained) | .safetensors or .pth path; \
                     preset: resnet50 | resnet101 | resnet18_os16 | resnet10_os16_w8, default the checkpoint's (else resnet50); \
                     seed: int, default 0, with weights none; size: int px, default the checkpoint's training size (else 224); \
                     device: cpu or cuda (GPU 0; append the index after a colon for another GPU), default cpu; batch: int, default 8",
        },
        build: |p| Ok(Box::new(DeepLabV3Localizer::build_from_params(p.given())?)),
        params: &["preset", "weights", "seed", "device", "size", "batch"],
    },
    Entry {
        info: LocalizerInfo {
            name: StehouwerLocalizer::NAME,
            description: "DFFD's attention baseline (Stehouwer et al. 2020): Xception with the \
                          regression attention map after block 7, upsampled to the input, and a \
                          softmax fake score; default: the bundled checkpoint trained on faces and photographs with degradation augmentation (docs/training.md)",
            params: "weights: bundled (default) | none (seeded, untrained) | .safetensors or .pth path; \
                     preset: xception | xception_w8, default the checkpoint's (else xception_w8); \
                     seed: int, default 0, with weights none; \
                     device: cpu or cuda (GPU 0; append the index after a colon for another GPU), default cpu; \
                     size: int px ≥ 7, default the checkpoint's training size (else the preset's, 299 or 160); batch: int, default 8",
        },
        build: |p| Ok(Box::new(StehouwerLocalizer::build_from_params(p.given())?)),
        params: &["preset", "weights", "seed", "device", "size", "batch"],
    },
];

fn build_resampling(p: &Params<'_>) -> Result<Box<dyn Localizer>, LocalizerError> {
    let d = ResamplingParams::default();
    let params = ResamplingParams {
        window: p.usize_or("window", d.window)?,
        smoothing: p.usize_or("smoothing", d.smoothing)?,
        epsilon: p.f64_or("epsilon", d.epsilon.into())? as f32,
        midpoint: p.f64_or("midpoint", d.midpoint.into())? as f32,
        scale: p.f64_or("scale", d.scale.into())? as f32,
        score_quantile: p.f64_or("score_quantile", d.score_quantile.into())? as f32,
    };
    Ok(Box::new(Resampling::new(params)?))
}

/// The built-in localizer kinds, in registry order (for `harness list`).
pub fn available() -> Vec<LocalizerInfo> {
    REGISTRY.iter().map(|e| e.info).collect()
}

/// Builds the localizer `kind` with JSON `params` (as written in a suite).
///
/// Errors: [`LocalizerError::Unknown`] for an unknown kind (with a "did you mean" and the list),
/// [`LocalizerError::BadParameter`] for an unknown, ill-typed or out-of-range parameter.
pub fn build(
    kind: &str,
    params: &JsonMap<String, Value>,
) -> Result<Box<dyn Localizer>, LocalizerError> {
    let entry = REGISTRY
        .iter()
        .find(|e| e.info.name == kind)
        .ok_or_else(|| {
            let names = || REGISTRY.iter().map(|e| e.info.name);
            LocalizerError::Unknown {
                name: kind.to_string(),
                suggestion: suggestion(kind, names()),
                available: names().collect::<Vec<_>>().join(", "),
            }
        })?;
    (entry.build)(&Params::new(entry.info.name, params, entry.params)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_documents_exactly_its_parameters() {
        for e in REGISTRY {
            for name in e.params {
                assert!(
                    e.info.params.contains(&format!("{name}:")),
                    "{}: {name} undocumented",
                    e.info.name
                );
            }
            assert_eq!(
                e.info.params.matches(':').count(),
                e.params.len(),
                "{}",
                e.info.name
            );
            let built = build(e.info.name, &JsonMap::new());
            // A kind with a required parameter must say which one is missing.
            match e.info.params.split("; ").find(|p| p.contains("required")) {
                None => assert!(built.is_ok(), "{} defaults", e.info.name),
                Some(required) => {
                    let name = required.split(':').next().unwrap();
                    assert!(
                        matches!(&built, Err(LocalizerError::BadParameter { param, .. }) if param == name),
                        "{} without {name}",
                        e.info.name
                    );
                }
            }
        }
    }
}
