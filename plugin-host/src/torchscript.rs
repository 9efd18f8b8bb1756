//! `torchscript`: a traced or scripted PyTorch module run through libtorch (tch, feature `torch`).
//!
//! Input: a float32 tensor `[N, 3, H, W]`, RGB, values = 8-bit value / 255 (no mean/std
//! normalisation: put it in the module). Output: maps `[N, 1, H, W]` or `[N, H, W]` in [0,1], or
//! a tuple `(maps, scores)` with scores `[N]` or `[N, 1]` in [0,1].

use crate::batch_label;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use std::path::Path;
use tch::{CModule, Device, IValue, Kind, Tensor};

/// A TorchScript module as a localizer.
pub struct TorchScript {
    name: String,
    module: CModule,
    device: Device,
    input_size: Option<(u32, u32)>,
}

// SAFETY: a CModule is a libtorch `torch::jit::Module`, whose forward may run on any thread; the
// harness calls one localizer from one thread at a time (`&mut self`).
unsafe impl Send for TorchScript {}

impl TorchScript {
    /// Largest batch handed to the module at once.
    const MAX_BATCH: usize = 8;

    /// Loads the module at `path` onto `device` (`cpu`, `cuda` or `cuda:N`). `input_size` is
    /// `(width, height)` in pixels, `None` for the native size. The error names the parameter
    /// at fault and says what is wrong.
    pub fn load(
        path: &Path,
        input_size: Option<(u32, u32)>,
        device: &str,
    ) -> Result<Self, (&'static str, String)> {
        let device = parse_device(device).map_err(|m| ("device", m))?;
        if !path.is_file() {
            return Err((
                "path",
                format!("no file at '{}'; save the module with torch.jit.trace(model, example).save(path)", path.display()),
            ));
        }
        let mut module = CModule::load_on_device(path, device).map_err(|e| {
            (
                "path",
                format!(
                    "libtorch cannot load '{}' as TorchScript: {e}",
                    path.display()
                ),
            )
        })?;
        module.set_eval();
        let name = path
            .file_stem()
            .map_or("torchscript".into(), |s| s.to_string_lossy().into_owned());
        Ok(Self {
            name,
            module,
            device,
            input_size,
        })
    }

    /// Runs the module on same-sized images; returns maps and optional scores.
    fn forward(&self, batch: &[LocalizerInput<'_>]) -> Result<Vec<Prediction>, String> {
        let (w, h) = batch[0].image.dimensions();
        let images: Vec<Tensor> = batch
            .iter()
            .map(|input| {
                Tensor::from_slice(input.image.as_raw().as_slice())
                    .view([i64::from(h), i64::from(w), 3])
                    .permute([2, 0, 1])
            })
            .collect();
        let x = (Tensor::stack(&images, 0).to_kind(Kind::Float) / 255.0).to_device(self.device);
        let output = tch::no_grad(|| self.module.forward_is(&[IValue::Tensor(x)]))
            .map_err(|e| format!("the module failed: {e}"))?;
        let (maps, scores) = match output {
            IValue::Tensor(maps) => (maps, None),
            IValue::Tuple(mut parts) if parts.len() == 2 => {
                match (parts.remove(0), parts.remove(0)) {
                    (IValue::Tensor(maps), IValue::Tensor(scores)) => (maps, Some(scores)),
                    _ => {
                        return Err(
                            "the module returned a tuple that is not (maps, scores) tensors".into(),
                        )
                    }
                }
            }
            other => {
                return Err(format!(
                    "the module returned {other:?}; return maps [N,1,H,W] or (maps, scores)"
                ))
            }
        };
        let n = batch.len() as i64;
        let shape = maps.size();
        let expected_4d = [n, 1, i64::from(h), i64::from(w)];
        if shape != expected_4d
            && shape
                != expected_4d[..1]
                    .iter()
                    .chain(&expected_4d[2..])
                    .copied()
                    .collect::<Vec<_>>()
        {
            return Err(format!(
                "the module returned maps of shape {shape:?} for input [{n}, 3, {h}, {w}]; return [N,1,H,W] or [N,H,W] at the input size"
            ));
        }
        let maps: Vec<f32> = Vec::try_from(
            maps.to_kind(Kind::Float)
                .to_device(Device::Cpu)
                .flatten(0, -1),
        )
        .map_err(|e| format!("cannot read the maps: {e}"))?;
        let scores: Option<Vec<f32>> = match scores {
            None => None,
            Some(s) if s.numel() == batch.len() => Some(
                Vec::try_from(s.to_kind(Kind::Float).to_device(Device::Cpu).flatten(0, -1))
                    .map_err(|e| format!("cannot read the scores: {e}"))?,
            ),
            Some(s) => {
                return Err(format!(
                    "the module returned scores of shape {:?}; return [N] or [N,1]",
                    s.size()
                ))
            }
        };
        let pixels = (w * h) as usize;
        Ok(maps
            .chunks_exact(pixels)
            .enumerate()
            .map(|(i, map)| Prediction {
                map: Map::from_raw(w, h, map.to_vec()).expect("w × h values"),
                score: scores.as_ref().map(|s| s[i]),
            })
            .collect())
    }
}

fn parse_device(device: &str) -> Result<Device, String> {
    let device = match device {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        other => match other.strip_prefix("cuda:").and_then(|i| i.parse().ok()) {
            Some(index) => Device::Cuda(index),
            None => {
                return Err(format!(
                    "unknown device '{other}'; use \"cpu\", \"cuda\" or \"cuda:N\""
                ))
            }
        },
    };
    if let Device::Cuda(index) = device {
        let count = tch::Cuda::device_count();
        if index as i64 >= count {
            return Err(format!("'{device:?}' asked for, but this machine has {count} CUDA device(s) visible to libtorch; use \"cpu\""));
        }
    }
    Ok(device)
}

impl Localizer for TorchScript {
    fn name(&self) -> &str {
        &self.name
    }

    fn input_size(&self) -> InputSize {
        self.input_size
            .map_or(InputSize::Native, |(width, height)| InputSize::Fixed {
                width,
                height,
            })
    }

    fn max_batch(&self) -> usize {
        // At native size images differ in size and cannot share a tensor.
        if self.input_size.is_some() {
            Self::MAX_BATCH
        } else {
            1
        }
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
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if batch
            .iter()
            .any(|i| i.image.dimensions() != batch[0].image.dimensions())
        {
            return Err(failed(
                "images in one batch differ in size; a tensor batch needs one size".into(),
            ));
        }
        self.forward(batch).map_err(failed)
    }
}
